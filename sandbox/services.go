package sandbox

// newServices builds every emulated service. Services that deliver to each
// other (EventBridge and SNS to SQS and Lambda) find their peers through s at
// call time, never at construction.
func (s *Server) newServices(opts Options) []service {
	return []service{
		newLogsService(s, opts.LogRetention),
		newXRayService(s),
		newLambdaService(s),
		newSQSService(s),
		newSNSService(s),
		newEventsService(s),
	}
}

// The typed accessors below let one service reach another in-process.

func (s *Server) logs() *logsService     { return s.services["logs"].(*logsService) }
func (s *Server) xray() *xrayService     { return s.services["xray"].(*xrayService) }
func (s *Server) lambda() *lambdaService { return s.services["lambda"].(*lambdaService) }
func (s *Server) sqs() *sqsService       { return s.services["sqs"].(*sqsService) }
func (s *Server) sns() *snsService       { return s.services["sns"].(*snsService) }
func (s *Server) events() *eventsService { return s.services["events"].(*eventsService) }

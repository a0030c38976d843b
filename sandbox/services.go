package sandbox

import (
	"net/http"
	"sync"
)

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
		newOAMService(s),
		newKinesisService(s),
		newSTSService(s),
		newSFNService(s),
	}
}

// The typed accessors below let one service reach another in-process.

func (s *Server) logs() *logsService     { return s.services["logs"].(*logsService) }
func (s *Server) lambda() *lambdaService { return s.services["lambda"].(*lambdaService) }
func (s *Server) sqs() *sqsService       { return s.services["sqs"].(*sqsService) }
func (s *Server) sns() *snsService       { return s.services["sns"].(*snsService) }

// denials are the calls answered with the service's access-denied error, as
// a missing IAM permission would be: by "service" or "service.Operation".
type denials struct {
	mu      sync.Mutex
	targets map[string]bool
}

// Deny makes calls to target ("events.ListRules", or a whole service such as
// "sns", or "*" for every service) fail with the service's own access-denied
// error until [Server.Allow]: a caller lacking the IAM permission for the
// action sees exactly that. Denials hold in this server's region only; deny
// on [Server.InRegion] to cut another region off.
func (s *Server) Deny(target string) {
	s.deny.mu.Lock()
	defer s.deny.mu.Unlock()
	if s.deny.targets == nil {
		s.deny.targets = map[string]bool{}
	}
	s.deny.targets[target] = true
}

// Allow undoes [Server.Deny] for target.
func (s *Server) Allow(target string) {
	s.deny.mu.Lock()
	defer s.deny.mu.Unlock()
	delete(s.deny.targets, target)
}

// denied answers a denied call in the service's error shape and reports
// whether it did.
func (s *Server) denied(w http.ResponseWriter, svc service, op string) bool {
	s.deny.mu.Lock()
	no := s.deny.targets[svc.name()] || s.deny.targets[svc.name()+"."+op] || (s.deny.targets["*"] && svc.name() != "sts")
	s.deny.mu.Unlock()
	if !no {
		return false
	}
	action := svc.name() + ":" + op
	msg := "User: arn:aws:sts::" + Account + ":assumed-role/flowtop/sandbox is not authorized to perform: " + action +
		" because no identity-based policy allows the " + action + " action"
	switch svc.name() {
	case "sns":
		svc.writeError(w, http.StatusForbidden, "AuthorizationError", msg)
	case "sts":
		svc.writeError(w, http.StatusForbidden, "AccessDenied", msg)
	case "sqs":
		svc.writeError(w, http.StatusForbidden, "AccessDenied", msg)
	case "events", "logs":
		svc.writeError(w, http.StatusBadRequest, "AccessDeniedException", msg)
	default:
		svc.writeError(w, http.StatusForbidden, "AccessDeniedException", msg)
	}
	return true
}

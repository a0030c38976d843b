package sandbox

import "net/http"

// sqsService emulates sqs. (Placeholder: being written; answers every call as unknown.)
type sqsService struct{ s *Server }

func newSQSService(s *Server) *sqsService { return &sqsService{s: s} }

func (*sqsService) name() string                                  { return "sqs" }
func (*sqsService) operation(r *http.Request, body []byte) string { return "" }
func (*sqsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*sqsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

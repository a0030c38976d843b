package sandbox

import "net/http"

// lambdaService emulates lambda. (Placeholder: being written; answers every call as unknown.)
type lambdaService struct{ s *Server }

func newLambdaService(s *Server) *lambdaService { return &lambdaService{s: s} }

func (*lambdaService) name() string                                  { return "lambda" }
func (*lambdaService) operation(r *http.Request, body []byte) string { return "" }
func (*lambdaService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*lambdaService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

// invokeAsync runs a function as an asynchronous (Event) invocation would: it
// returns once the invocation is queued. EventBridge and SNS targets use it.
func (l *lambdaService) invokeAsync(function string, payload []byte) error {
	return errNotImplemented
}

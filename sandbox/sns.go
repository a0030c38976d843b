package sandbox

import "net/http"

// snsService emulates sns. (Placeholder: being written; answers every call as unknown.)
type snsService struct{ s *Server }

func newSNSService(s *Server) *snsService { return &snsService{s: s} }

func (*snsService) name() string                                  { return "sns" }
func (*snsService) operation(r *http.Request, body []byte) string { return "" }
func (*snsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*snsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

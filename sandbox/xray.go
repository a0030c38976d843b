package sandbox

import "net/http"

// xrayService emulates xray. (Placeholder: being written; answers every call as unknown.)
type xrayService struct{ s *Server }

func newXRayService(s *Server) *xrayService { return &xrayService{s: s} }

func (*xrayService) name() string                                  { return "xray" }
func (*xrayService) operation(r *http.Request, body []byte) string { return "" }
func (*xrayService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*xrayService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

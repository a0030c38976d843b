package sandbox

import "net/http"

// logsService emulates logs. (Placeholder: being written; answers every call as unknown.)
type logsService struct{ s *Server }

func newLogsService(s *Server) *logsService { return &logsService{s: s} }

func (*logsService) name() string                                  { return "logs" }
func (*logsService) operation(r *http.Request, body []byte) string { return "" }
func (*logsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*logsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

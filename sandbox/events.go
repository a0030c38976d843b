package sandbox

import "net/http"

// eventsService emulates events. (Placeholder: being written; answers every call as unknown.)
type eventsService struct{ s *Server }

func newEventsService(s *Server) *eventsService { return &eventsService{s: s} }

func (*eventsService) name() string                                  { return "events" }
func (*eventsService) operation(r *http.Request, body []byte) string { return "" }
func (*eventsService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
}
func (*eventsService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

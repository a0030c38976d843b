package sandbox

import (
	"fmt"
	"net/http"
)

// Compatibility modes: how far the sandbox behaves like AWS itself.
const (
	// CompatAWS (the default, "") behaves as AWS documents.
	CompatAWS = ""
	// CompatField behaves like AWS-compatible endpoints seen in the field:
	// StartMessageMoveTask is answered by an HTML 500 page, and a message
	// moved to its DLQ by a RedrivePolicy keeps its MessageId but carries no
	// DeadLetterQueueSourceArn; and an SNS subscription's dead-letter copy
	// carries Lambda-style RequestID, ErrorCode and ErrorMessage attributes.
	CompatField = "field"
)

// ParseCompat checks a --compat value.
func ParseCompat(s string) (string, error) {
	switch s {
	case CompatAWS, "aws":
		return CompatAWS, nil
	case CompatField:
		return CompatField, nil
	}
	return "", fmt.Errorf("sandbox: compat %q: want aws or field", s)
}

// Compat is the server's compatibility mode.
func (s *Server) Compat() string { return s.compat }

// fieldHTML500 answers as a proxy or an unfinished emulator does: a 500
// whose body is an HTML page, not the service's JSON.
func fieldHTML500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n<body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to complete your request.</p></body></html>\n"))
}

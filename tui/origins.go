package tui

import (
	"fmt"

	"github.com/flowtop/flowtop/tracing"
)

// origins says where a source's items come from, for the header: " 3
// senders · 5 services" (a full set reads "1024+"); "" when it does not say.
func origins(h tracing.SourceHealth) string {
	if h.Senders == 0 && h.Services == 0 {
		return ""
	}
	count := func(n int, one, many string) string {
		s := fmt.Sprint(n)
		if n >= tracing.MaxOrigins {
			s += "+"
		}
		if n == 1 {
			return s + " " + one
		}
		return s + " " + many
	}
	return " " + count(h.Senders, "sender", "senders") + " · " + count(h.Services, "service", "services")
}

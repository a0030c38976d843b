package xray

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// xrayCause is a segment's cause object: the exceptions it recorded, each
// with a stack of frames. A cause may instead be a string, the ID of an
// exception recorded in a subsegment; that one becomes an event there.
type xrayCause struct {
	WorkingDirectory string          `json:"working_directory"`
	Exceptions       []xrayException `json:"exceptions"`
}

type xrayException struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Remote    bool   `json:"remote"`
	Truncated int    `json:"truncated"` // frames left out of stack
	Skipped   int    `json:"skipped"`   // frames of a cause left out
	Cause     string `json:"cause"`     // the ID of the exception that caused this one
	Stack     []struct {
		Path  string `json:"path"`
		Line  int    `json:"line"`
		Label string `json:"label"`
	} `json:"stack"`
}

// causeEvents turns a segment's recorded exceptions into span events named
// "exception", with the OTel exception attributes (exception.type,
// exception.message, exception.stacktrace built from the frames) and X-Ray's
// own (its exception ID, the ID of its cause, remote). at is when the
// segment ended: X-Ray does not time an exception. A cause that is not an
// object, or is malformed, gives none. It returns how much the span-event
// limits cut.
func causeEvents(sp *tracing.Span, cause json.RawMessage, at time.Time) (cut int) {
	if len(cause) == 0 || cause[0] != '{' {
		return 0
	}
	var c xrayCause
	if json.Unmarshal(cause, &c) != nil {
		return 0
	}
	for _, ex := range c.Exceptions {
		attrs := map[string]string{}
		put := func(k, v string) {
			if v != "" {
				attrs[k] = v
			}
		}
		put("exception.type", ex.Type)
		put("exception.message", ex.Message)
		put("exception.id", ex.ID)
		put("exception.cause", ex.Cause)
		if ex.Remote {
			put("exception.remote", "true")
		}
		if len(ex.Stack) > 0 {
			var b strings.Builder
			for i, f := range ex.Stack {
				if b.Len() > tracing.MaxSpanEventValue {
					cut++
					break
				}
				if i > 0 {
					b.WriteByte('\n')
				}
				b.WriteString("  at ")
				b.WriteString(f.Label)
				if f.Path != "" {
					b.WriteString(" (" + f.Path + ":" + strconv.Itoa(f.Line) + ")")
				}
			}
			if ex.Truncated > 0 {
				b.WriteString("\n  ... " + strconv.Itoa(ex.Truncated) + " more")
			}
			put("exception.stacktrace", b.String())
		}
		cut += sp.AddEvent(tracing.SpanEvent{Time: at, Name: "exception", Attrs: attrs})
	}
	return cut
}

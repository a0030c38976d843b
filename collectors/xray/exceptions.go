package xray

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flowtop/flowtop/tracing"
)

// xrayCause is a segment's cause object: the exceptions it recorded, each
// with a stack of frames. A cause may instead be a string, the ID of an
// exception recorded in another segment or subsegment of the trace: the
// span then takes that exception's type and message as its status message
// (resolveCauses), and gets no event of its own, so the exception is shown
// once, where it was recorded.
type xrayCause struct {
	WorkingDirectory string          `json:"working_directory"`
	Exceptions       []xrayException `json:"exceptions"`
}

// xrayException is one exception of a cause, as the X-Ray segment document
// defines it.
type xrayException struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Remote  bool   `json:"remote"`
	// Truncated is how many stack frames the X-Ray SDK left out of Stack.
	Truncated int `json:"truncated"`
	// Skipped is how many exceptions the X-Ray SDK left out between this
	// exception and the one it caused.
	Skipped int         `json:"skipped"`
	Cause   string      `json:"cause"` // the ID of the exception that caused this one
	Stack   []xrayFrame `json:"stack"`
}

// xrayFrame is one stack frame of an exception.
type xrayFrame struct {
	Path  string `json:"path"`
	Line  int    `json:"line"`
	Label string `json:"label"`
}

// causeAttr is the span attribute that keeps a cause given as an exception
// ID, until resolveCauses finds the exception it names.
const causeAttr = "xray.cause"

// causeEvents turns a segment's recorded exceptions into span events named
// "exception", with the OTel exception attributes (exception.type,
// exception.message, exception.stacktrace built from the frames) and X-Ray's
// own (its exception ID, the ID of its cause, remote, and the frames and
// exceptions the X-Ray SDK left out: exception.truncated and
// exception.skipped). at is when the segment ended: X-Ray does not time an
// exception. A cause that is an exception ID is kept in the span's
// attributes for resolveCauses; a malformed one gives nothing. It returns how
// much flowtop's limits cut (a stack over the value limit, exceptions past
// the span-event limits), counted as the OTLP collector counts what
// [tracing.Span.AddEvent] cuts: as truncated.
func causeEvents(sp *tracing.Span, cause json.RawMessage, at time.Time) (cut int) {
	if len(cause) == 0 {
		return 0
	}
	if cause[0] == '"' {
		var id string
		if json.Unmarshal(cause, &id) == nil && id != "" && len(id) <= 64 {
			sp.Attrs[causeAttr] = id
		}
		return 0
	}
	if cause[0] != '{' {
		return 0
	}
	var c xrayCause
	if json.Unmarshal(cause, &c) != nil {
		return 0
	}
	for i, ex := range c.Exceptions {
		if len(sp.Events) >= tracing.MaxSpanEvents {
			// Past the limit AddEvent keeps none: count them without
			// building their stacks.
			cut += len(c.Exceptions) - i
			break
		}
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
		if ex.Truncated > 0 {
			put("exception.truncated", strconv.Itoa(ex.Truncated))
		}
		if ex.Skipped > 0 {
			put("exception.skipped", strconv.Itoa(ex.Skipped))
		}
		stack, n := stackTrace(ex)
		put("exception.stacktrace", stack)
		cut += n + sp.AddEvent(tracing.SpanEvent{Time: at, Name: "exception", Attrs: attrs})
	}
	return cut
}

// stackTrace renders an exception's frames, one "  at label (path:line)" a
// line, within [tracing.MaxSpanEventValue]: the frames that do not fit are
// left out and said ("... 150 more not kept"), and that cut counts 1, as
// one value cut does. The frames the X-Ray SDK left out are said too
// ("... 12 more").
func stackTrace(ex xrayException) (string, int) {
	if len(ex.Stack) == 0 && ex.Truncated <= 0 {
		return "", 0
	}
	var tail string
	if ex.Truncated > 0 {
		tail = "\n  ... " + strconv.Itoa(ex.Truncated) + " more"
	}
	var b strings.Builder
	kept, cutFrame := 0, false
	for i, f := range ex.Stack {
		line := "  at " + f.Label
		if f.Path != "" {
			line += " (" + f.Path + ":" + strconv.Itoa(f.Line) + ")"
		}
		if i > 0 {
			line = "\n" + line
		}
		// Room for this frame and the notes that may follow it.
		notes := len(tail) + len("\n  ... 0000000 more not kept")
		if b.Len()+len(line)+notes > tracing.MaxSpanEventValue {
			if i == 0 { // one frame longer than the limit: its start
				b.WriteString(cutRunes(line, tracing.MaxSpanEventValue-notes))
				kept, cutFrame = 1, true
			}
			break
		}
		b.WriteString(line)
		kept++
	}
	cut := 0
	if left := len(ex.Stack) - kept; left > 0 || cutFrame {
		cut = 1
		if left > 0 {
			b.WriteString("\n  ... " + strconv.Itoa(left) + " more not kept")
		}
	}
	b.WriteString(tail)
	return strings.TrimPrefix(b.String(), "\n"), cut
}

// cutRunes cuts s to at most n bytes on a rune boundary.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// resolveCauses gives each failed span whose cause is an exception ID
// (causeAttr) the type and message of that exception, when one of the spans
// in obs (the segment document, or the whole trace) recorded it. A span
// that already has a status message keeps it.
func resolveCauses(obs []tracing.Observation) {
	var byID map[string]string
	for _, o := range obs {
		sp := o.Span
		if sp == nil || sp.StatusMessage != "" || sp.Attrs[causeAttr] == "" {
			continue
		}
		if byID == nil {
			byID = map[string]string{}
			for _, o := range obs {
				if o.Span == nil {
					continue
				}
				for _, ev := range o.Span.Events {
					if id := ev.Attrs["exception.id"]; id != "" && ev.Name == "exception" {
						byID[id] = strings.TrimSpace(ev.Attrs["exception.type"] + " " + ev.Attrs["exception.message"])
					}
				}
			}
		}
		sp.StatusMessage = byID[sp.Attrs[causeAttr]]
	}
}

package tracing

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestParseXRayHeader(t *testing.T) {
	t.Parallel()
	root := "1-5759e988-bd862e3fe1be46a994272793"
	tests := []struct {
		in      string
		want    string // canonical form; "" means an error is expected
		wantErr string
	}{
		{in: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1", want: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1"},
		{in: "Sampled=0; Parent=53995c3f42cd8ad8 ;Root=" + root + ";", want: "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=0"},
		{in: "root=" + root + ";sampled=?", want: "Root=" + root + ";Sampled=?"},
		{in: "Root=" + root + ";Lineage=a87bd80c:1|68fd508a:5;Self=1-67891234-12456789abcdef012345678", want: "Root=" + root + ";Lineage=a87bd80c:1|68fd508a:5;Self=1-67891234-12456789abcdef012345678"},
		{in: "Root=" + strings.ToUpper(root[2:10]) + "x", wantErr: "Root"},
		{in: "Parent=53995c3f42cd8ad8;Sampled=1", wantErr: "no Root"},
		{in: "Root=" + root + ";Parent=xyz", wantErr: "Parent"},
		{in: "Root=" + root + ";Sampled=yes", wantErr: "Sampled"},
		{in: "Root=" + root + ";Root=" + root, wantErr: "twice"},
		{in: "Root=" + root + ";garbage", wantErr: "no '='"},
		{in: "Root=1-00000000-000000000000000000000000", wantErr: "all zeros"},
		{in: "Root=00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", wantErr: "Root"},
		{in: "", wantErr: "no Root"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			h, err := ParseXRayHeader(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadHeader) {
					t.Fatalf("err = %v, want ErrBadHeader mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := h.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			again, err := ParseXRayHeader(h.String())
			if err != nil || again.String() != h.String() {
				t.Errorf("round trip: %v %q", err, again.String())
			}
		})
	}
}

// TestXRayHeadersInCorpus: every trace header value in the corpus parses, or
// is rejected with a reason (the corpus normalises some IDs to placeholders).
func TestXRayHeadersInCorpus(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`Root=[^"\\ ,']*`)
	parsed, rejected := 0, 0
	for _, dir := range []string{"xray", "sqs", "sns-eventbridge", "lambda-logs"} {
		for _, f := range corpusFiles(t, dir, ".json", ".txt") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllString(string(b), -1) {
				h, err := ParseXRayHeader(m)
				if err != nil {
					if !errors.Is(err, ErrBadHeader) || err.Error() == "" {
						t.Errorf("%s: %q: error without a reason: %v", f, m, err)
					}
					rejected++
					continue
				}
				if !h.Root.IsValid() {
					t.Errorf("%s: %q parsed without a Root", f, m)
				}
				parsed++
			}
		}
	}
	if parsed < 5 {
		t.Errorf("only %d headers parsed from the corpus (rejected %d); want at least 5", parsed, rejected)
	}
}

func TestTraceparent(t *testing.T) {
	t.Parallel()
	good := []string{
		"00-000000000000000066698e63821a03f5-24b17e9b6476c018-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future-stuff",
	}
	for _, s := range good {
		tp, err := ParseTraceparent(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if tp.Version == 0 && tp.String() != s {
			t.Errorf("round trip %q -> %q", s, tp.String())
		}
	}
	bad := []string{
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
		"",
	}
	for _, s := range bad {
		if _, err := ParseTraceparent(s); err == nil {
			t.Errorf("%q: accepted", s)
		}
	}
}

func TestXRayW3CConversion(t *testing.T) {
	t.Parallel()
	h, err := ParseXRayHeader("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if err != nil {
		t.Fatal(err)
	}
	tp, ok := XRayToTraceparent(h)
	if !ok || tp.String() != "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01" {
		t.Fatalf("XRayToTraceparent = %q, %v", tp.String(), ok)
	}
	back := TraceparentToXRay(tp)
	if back.String() != h.String() {
		t.Errorf("back = %q, want %q", back.String(), h.String())
	}
	if _, ok := XRayToTraceparent(XRayHeader{Root: h.Root}); ok {
		t.Error("a header without Parent converted")
	}
	id, _ := ParseTraceID("5759e988bd862e3fe1be46a994272793")
	if id.XRay() != "1-5759e988-bd862e3fe1be46a994272793" || id != h.Root {
		t.Errorf("trace id forms disagree: %s", id.XRay())
	}
}

func FuzzParseXRayHeader(f *testing.F) {
	for _, s := range []string{
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		"Root=1-64cc2edd-112fbf1701d1355973a11d57;Parent=7d5a9776024b2d42;Sampled=0",
		"Sampled=?;Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a:1;X=y;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64<<10 {
			return
		}
		h, err := ParseXRayHeader(s)
		if err != nil {
			return
		}
		again, err := ParseXRayHeader(h.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", h.String(), err)
		}
		if again.String() != h.String() {
			t.Fatalf("not stable: %q -> %q", h.String(), again.String())
		}
	})
}

func FuzzParseTraceparent(f *testing.F) {
	f.Add("00-000000000000000066698e63821a03f5-24b17e9b6476c018-01")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTraceparent(s)
		if err != nil {
			return
		}
		again, err := ParseTraceparent(tp.String())
		if err != nil || again != (Traceparent{TraceID: tp.TraceID, SpanID: tp.SpanID, Flags: tp.Flags}) {
			t.Fatalf("round trip of %q: %v %+v", tp.String(), err, again)
		}
		x := TraceparentToXRay(tp)
		back, ok := XRayToTraceparent(x)
		if !ok || back.TraceID != tp.TraceID || back.SpanID != tp.SpanID || back.Sampled() != tp.Sampled() {
			t.Fatalf("x-ray conversion lost something: %+v -> %+v", tp, back)
		}
	})
}

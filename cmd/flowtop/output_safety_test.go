package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// hostile is text an attacker can put in a message body, an ID or a span
// attribute: OSC 52 (write the clipboard), a title change, clear screen, a
// C1 CSI, zero-width and bidi characters.
const hostile = "ord\u200ber-1\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned\x07\x1b[2J\x1b[H\u009b31m\u202eevil\u2066\ufeff\u2060\u200c\u200d\u200e\u200f\u061c\u0085"

func hostileLineage() graph.Lineage {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := []tracing.Key{{Kind: tracing.KeyMessageID, Value: hostile}, {Kind: tracing.KeyRequestID, Value: hostile}}
	return graph.Lineage{
		ID: hostile, Type: hostile, Keys: keys, First: t0, Last: t0.Add(time.Second),
		Hops: []graph.Hop{
			{Parent: -1, Kind: graph.HopPublish, Component: tracing.Component{Kind: tracing.ComponentService, Name: hostile}, Time: t0, Keys: keys, Evidence: hostile},
			{
				Parent: 0, Depth: 1, Kind: graph.HopInvoke, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: hostile}, Time: t0.Add(time.Second),
				Status: graph.HopError, ErrorType: hostile, Keys: keys, Evidence: hostile, Logs: []graph.LogLine{{Message: hostile, Level: hostile, RequestID: hostile}},
			},
		},
		DLQ: []graph.DLQMessage{{Queue: hostile, MessageID: hostile, Body: hostile, Error: hostile, SourceQueue: hostile}},
	}
}

// checkText fails if s carries a control character or a raw invisible one,
// and wants the zero-width space shown.
func checkText(t *testing.T, format, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8", format)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || tracing.Invisible(r) {
			t.Errorf("%s: %U reached the output:\n%s", format, r, s)
			return
		}
	}
	if !strings.Contains(s, "ord<U+200B>er-1") && !strings.Contains(s, "ord‹U+200B›er-1") { // mermaid turns <> into ‹›
		t.Errorf("%s: the zero-width space is not shown:\n%s", format, s)
	}
}

// checkJSON fails if JSON output carries a raw control or invisible
// character, and wants the hostile value back intact when parsed.
func checkJSON(t *testing.T, format string, out []byte) {
	t.Helper()
	for _, r := range string(out) {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || tracing.Invisible(r) {
			t.Errorf("%s: raw %U in JSON output", format, r)
			return
		}
	}
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			found = found || strings.Contains(x, hostile)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		walk(v)
	}
	if !found {
		t.Errorf("%s: the hostile value did not survive the round trip intact", format)
	}
}

// TestHostileTextEveryFormat feeds hostile IDs, bodies and attributes through
// every output format: the text ones neutralise them, the JSON ones escape
// them and keep the value.
func TestHostileTextEveryFormat(t *testing.T) {
	t.Parallel()
	l := hostileLineage()
	for _, format := range []string{"text", "dot", "mermaid", "json"} {
		var b bytes.Buffer
		if err := writeLineage(&b, l, format); err != nil {
			t.Fatal(err)
		}
		if format == "json" {
			checkJSON(t, "lineage json", b.Bytes())
		} else {
			checkText(t, "lineage "+format, b.String())
		}
	}
	fns := []graph.FunctionStats{{Name: hostile, Architecture: hostile}, {Name: "=HYPERLINK(\"http://x\")", Architecture: "x86_64"}}
	for _, format := range []string{"table", "csv", "json"} {
		var b bytes.Buffer
		if err := writeCost(&b, fns, format); err != nil {
			t.Fatal(err)
		}
		switch format {
		case "json":
			checkJSON(t, "cost json", b.Bytes())
		case "csv":
			checkText(t, "cost csv", b.String())
			if strings.Contains(b.String(), "\n\"=HYPERLINK") || strings.Contains(b.String(), "\n=HYPERLINK") {
				t.Errorf("cost csv: a formula cell reached the spreadsheet:\n%s", b.String())
			}
		default:
			checkText(t, "cost "+format, b.String())
		}
	}
	var b bytes.Buffer
	if _, err := newTailPrinter(&b).update(l); err != nil {
		t.Fatal(err)
	}
	checkJSON(t, "tail ndjson", b.Bytes())
}

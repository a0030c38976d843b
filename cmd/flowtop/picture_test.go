package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// hostileNames names try to break out of every format's quoting.
var hostileNames = []string{
	"</text><script>alert(1)</script>",
	"a\"b\\\"c\n]; n0 -> n1 [label=\"x",
	"\x1b[31mred\x1b]0;title\x07 ]]> &amp; <!-- -->",
	"x]\"] --> n9[\"pwn",
	"\xff\xfe bad utf-8 \u202e reversed",
}

func hostilePictureMap() graph.MapView {
	var m graph.MapView
	var prev tracing.Component
	for i, h := range hostileNames {
		c := tracing.Component{Kind: tracing.ComponentKind(1 + i%4), Name: h}
		m.Nodes = append(m.Nodes, graph.MapNode{Component: c, Rate: 1.5, ErrorPct: float64(i % 2), P95: 12 * time.Millisecond, Observed: i != 3})
		if i > 0 {
			m.Edges = append(m.Edges, graph.MapEdge{From: prev, To: c, Via: h, Observed: true, Rate: 2, ErrorPct: float64(i % 2)})
		}
		prev = c
	}
	// A cycle and an edge to a component with no node row.
	m.Edges = append(m.Edges, graph.MapEdge{From: prev, To: m.Nodes[0].Component, Configured: true, Via: "redrive"},
		graph.MapEdge{From: m.Nodes[0].Component, To: tracing.Component{Kind: tracing.ComponentQueue, Name: "dlq <&>"}, Configured: true})
	return m
}

func hostilePictureLineage() graph.Lineage {
	l := graph.Lineage{ID: hostileNames[0], Status: graph.StatusDeadLettered}
	for i, h := range hostileNames {
		l.Hops = append(l.Hops, graph.Hop{Parent: i - 1, Component: tracing.Component{Kind: tracing.ComponentFunction, Name: h}, ErrorType: h, Status: graph.HopError})
	}
	return l
}

// wellFormedSVG parses svg as XML to the end and checks no element or
// control character came from the data.
func wellFormedSVG(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "script" {
				t.Fatal("a name became a <script> element")
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q", root)
	}
	if strings.ContainsAny(svg, "\x1b\x07\u202e") {
		t.Fatal("terminal or bidi controls reached the svg")
	}
}

func TestBuiltinSVGIsWellFormed(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]picture{"map": mapPicture(hostilePictureMap()), "lineage": lineagePicture(hostilePictureLineage()), "empty": {title: "nothing"}} {
		t.Run(name, func(t *testing.T) {
			svg := builtinSVG(p)
			wellFormedSVG(t, svg)
			if n := strings.Count(svg, "<rect x="); n != len(p.nodes) {
				t.Errorf("%d boxes for %d nodes", n, len(p.nodes))
			}
			if n := strings.Count(svg, "marker-end="); n != len(p.edges) {
				t.Errorf("%d arrows for %d edges", n, len(p.edges))
			}
		})
	}
}

func TestLayoutLayers(t *testing.T) {
	t.Parallel()
	// a → b → d, a → c → d, d → a (a cycle), e alone.
	p := picture{nodes: make([]pnode, 5), edges: []pedge{{from: 0, to: 1}, {from: 1, to: 3}, {from: 0, to: 2}, {from: 2, to: 3}, {from: 3, to: 0}}}
	layer, order := layout(p)
	if want := []int{0, 1, 1, 2, 0}; !equalInts(layer, want) {
		t.Fatalf("layers %v, want %v", layer, want)
	}
	if len(order) != 3 || len(order[1]) != 2 {
		t.Fatalf("order %v", order)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDOTAndMermaidNeutraliseNames(t *testing.T) {
	t.Parallel()
	p := mapPicture(hostilePictureMap())
	var dot bytes.Buffer
	if err := writeDOTPicture(&dot, p); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(dot.String(), "\x1b\x07") {
		t.Fatal("controls in dot")
	}
	// Every statement stays on its own line: no name closed a quote.
	stmt := regexp.MustCompile(`^(digraph flowtop \{|  rankdir=LR;|  label="[^\n]*";|  (node|edge) \[.*\];|  n\d+ \[label="([^"\\]|\\.)*"(, [a-z]+=("[^"]*"|[a-z]+))*\];|  n\d+ -> n\d+ \[label="([^"\\]|\\.)*"(, [a-z]+=[a-z]+)*\];|\})$`)
	for _, line := range strings.Split(strings.TrimSpace(dot.String()), "\n") {
		if !stmt.MatchString(line) {
			t.Errorf("dot line out of shape: %q", line)
		}
	}
	if path, err := exec.LookPath("dot"); err == nil {
		cmd := exec.Command(path, "-Tsvg")
		cmd.Stdin = &dot
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dot -Tsvg: %v", err)
		}
		wellFormedSVG(t, string(out))
	} else {
		t.Log("graphviz not installed: dot output checked by shape only")
	}
	var mm bytes.Buffer
	_ = writeMermaidPicture(&mm, p)
	line := regexp.MustCompile(`^(flowchart LR|  n\d+\["[^"\[\]{}|<>]*"\]|  style n\d+ stroke:#d00|  n\d+ -(->|\.->)(\|"[^"\[\]{}|<>]*"\|)? n\d+)$`)
	for _, l := range strings.Split(strings.TrimSpace(mm.String()), "\n") {
		if !line.MatchString(strings.ReplaceAll(l, "<br/>", "")) {
			t.Errorf("mermaid line out of shape: %q", l)
		}
	}
}

func TestRenderSVGSaysWhichRenderer(t *testing.T) {
	t.Parallel()
	var out, note bytes.Buffer
	if err := renderSVG(context.Background(), &out, mapPicture(hostilePictureMap()), "builtin", &note); err != nil {
		t.Fatal(err)
	}
	wellFormedSVG(t, out.String())
	if note.Len() != 0 {
		t.Errorf("builtin said %q", note.String())
	}
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz not installed")
	}
	out.Reset()
	if err := renderSVG(context.Background(), &out, mapPicture(hostilePictureMap()), "auto", &note); err != nil {
		t.Fatal(err)
	}
	wellFormedSVG(t, out.String())
	if !regexp.MustCompile(`^flowtop: rendered with Graphviz dot \d+\.\d+`).MatchString(note.String()) {
		t.Errorf("note %q", note.String())
	}
}

// TestRecordThenFromFile records a one-shot lineage against the sandbox and
// answers the same question from the file: the same JSON; and cost and map
// work from the file too.
func TestRecordThenFromFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sandbox world")
	}
	env, _ := sandboxEnv(t)
	waitForDLQ(t, env)
	peek, _, _ := runCLI(t, env, "dlq", "peek", "billing-dlq", "-n", "1", "-o", "json")
	var msg struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(peek, "\n", 2)[0]), &msg); err != nil {
		t.Fatalf("peek: %v %q", err, peek)
	}
	file := filepath.Join(t.TempDir(), "incident.ftr")
	live, errOut, code := runCLI(t, env, "lineage", msg.MessageID, "-o", "json", "--since", "10m", "--record", file)
	if code != 0 {
		t.Fatalf("live lineage (%d): %s", code, errOut)
	}
	replayed, errOut, code := runCLI(t, env, "lineage", msg.MessageID, "-o", "json", "--from-file", file)
	if code != 0 {
		t.Fatalf("lineage --from-file (%d): %s", code, errOut)
	}
	if live != replayed {
		t.Errorf("lineage differs:\nlive:\n%s\nfrom file:\n%s", live, replayed)
	}
	if _, errOut, code := runCLI(t, env, "lineage", "no-such-event", "--from-file", file); code != exitNotFound || !strings.Contains(errOut, "incident.ftr") {
		t.Errorf("unknown ID from file: %d %q", code, errOut)
	}
	svg, errOut, code := runCLI(t, env, "lineage", msg.MessageID, "-o", "svg", "--from-file", file, "--render", "builtin")
	if code != 0 {
		t.Fatalf("lineage svg (%d): %s", code, errOut)
	}
	wellFormedSVG(t, svg)
	if out, _, code := runCLI(t, env, "cost", "-o", "csv", "--from-file", file); code != 0 || !strings.HasPrefix(out, "function,") {
		t.Errorf("cost --from-file (%d): %q", code, out)
	}
	mapSVG, errOut, code := runCLI(t, env, "map", "-o", "svg", "--from-file", file)
	if code != 0 {
		t.Fatalf("map svg (%d): %s", code, errOut)
	}
	wellFormedSVG(t, mapSVG)
	if _, err := exec.LookPath("dot"); err == nil && !strings.Contains(errOut, "rendered with Graphviz dot") {
		t.Errorf("map svg did not say how it was rendered: %q", errOut)
	}
	if !strings.Contains(strings.ReplaceAll(mapSVG, "&#45;", "-"), "charge-card") { // Graphviz writes - as &#45;
		t.Errorf("the map lacks charge-card:\n%s", mapSVG)
	}
	if _, errOut, code := runCLI(t, env, "open", file); code != exitUsage || !strings.Contains(errOut, "needs a terminal") {
		t.Errorf("open without a terminal: %d %q", code, errOut)
	}
}

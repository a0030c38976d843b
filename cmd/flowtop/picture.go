package main

// Pictures of an event's path and of the component map, for pasting into an
// incident document: Graphviz DOT, Mermaid, and SVG. SVG is rendered by
// Graphviz's own `dot` when it is installed (it lays out best), else by the
// small layered renderer below. Pure-Go options looked at: goccy/go-graphviz
// (v0.2.10) embeds Graphviz compiled to WebAssembly and runs it under wazero,
// megabytes of binary for one output format; nulab/autog (a Sugiyama layout)
// is not served by the module proxy. A left-to-right layered layout of boxes
// and arrows is what these pictures need, and it is a page of code.

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// picture is a directed graph to draw: boxes of text lines and labelled arrows.
type picture struct {
	title string
	nodes []pnode
	edges []pedge
}

type pnode struct {
	lines  []string // the first is the name; all raw, cleaned when drawn
	bad    bool     // drawn red: failed, or errors
	dashed bool     // drawn dashed: missing, or configured but never seen
}

type pedge struct {
	from, to int
	label    string
	bad      bool
	dashed   bool
}

// lineagePicture is one event's path: a box per hop, an arrow per parent link.
func lineagePicture(l graph.Lineage) picture {
	p := picture{title: "event " + l.ID + " (" + l.Status.String() + ")"}
	for _, h := range l.Hops {
		st := h.Kind.String() + " · " + h.Status.String()
		if h.ErrorType != "" {
			st += " " + h.ErrorType
		}
		p.nodes = append(p.nodes, pnode{lines: []string{hopLabel(h), st}, bad: h.Status == graph.HopError || h.Status == graph.HopTimeout, dashed: h.Status == graph.HopMissing})
	}
	for i, h := range l.Hops {
		if h.Parent >= 0 && h.Parent < len(l.Hops) && h.Parent != i {
			p.edges = append(p.edges, pedge{from: h.Parent, to: i, label: "+" + h.Latency.Round(time.Millisecond).String(), dashed: h.Status == graph.HopMissing})
		}
	}
	return p
}

// mapPicture is the component map: a box per component with its figures, an
// arrow per configured or observed edge.
func mapPicture(m graph.MapView) picture {
	p := picture{title: "flowtop map"}
	idx := map[tracing.Component]int{}
	add := func(c tracing.Component) int {
		if i, ok := idx[c]; ok {
			return i
		}
		idx[c] = len(p.nodes)
		p.nodes = append(p.nodes, pnode{lines: []string{c.Kind.String() + " " + c.Name}, dashed: true})
		return idx[c]
	}
	nodes := append([]graph.MapNode(nil), m.Nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Component.String() < nodes[j].Component.String() })
	for _, n := range nodes {
		i := add(n.Component)
		p.nodes[i].dashed = !n.Observed
		p.nodes[i].bad = n.ErrorPct > 0
		if n.Observed {
			p.nodes[i].lines = append(p.nodes[i].lines, figures(n.Rate, n.ErrorPct, n.P95))
		} else {
			p.nodes[i].lines = append(p.nodes[i].lines, "configured, not seen")
		}
	}
	edges := append([]graph.MapEdge(nil), m.Edges...)
	sort.Slice(edges, func(i, j int) bool {
		a, b := edges[i], edges[j]
		if a.From != b.From {
			return a.From.String() < b.From.String()
		}
		return a.To.String() < b.To.String()
	})
	for _, e := range edges {
		label := e.Via
		if e.Observed {
			if label != "" {
				label += " · "
			}
			label += figures(e.Rate, e.ErrorPct, e.P95)
		}
		p.edges = append(p.edges, pedge{from: add(e.From), to: add(e.To), label: label, bad: e.ErrorPct > 0, dashed: !e.Observed})
	}
	return p
}

func figures(rate, errPct float64, p95 time.Duration) string {
	s := fmt.Sprintf("%.1f/s", rate)
	if errPct > 0 {
		s += fmt.Sprintf(" · %.1f%% err", errPct)
	}
	if p95 > 0 {
		s += " · p95 " + p95.Round(time.Millisecond).String()
	}
	return s
}

// writeDOTPicture writes p as Graphviz DOT.
func writeDOTPicture(w io.Writer, p picture) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph flowtop {\n  rankdir=LR;\n  label=%s;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n", dotQuote(p.title))
	for i, n := range p.nodes {
		attrs := ""
		if n.bad {
			attrs += ", color=red"
		}
		if n.dashed {
			attrs += ", style=\"rounded,dashed\""
		}
		fmt.Fprintf(&b, "  n%d [label=%s%s];\n", i, dotQuote(append([]string(nil), n.lines...)...), attrs)
	}
	for _, e := range p.edges {
		attrs := ""
		if e.bad {
			attrs += ", color=red"
		}
		if e.dashed {
			attrs += ", style=dashed"
		}
		fmt.Fprintf(&b, "  n%d -> n%d [label=%s%s];\n", e.from, e.to, dotQuote(e.label), attrs)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMermaidPicture writes p as a Mermaid flowchart.
func writeMermaidPicture(w io.Writer, p picture) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for i, n := range p.nodes {
		lines := make([]string, len(n.lines))
		for j, l := range n.lines {
			lines[j] = mermaidText(l)
		}
		fmt.Fprintf(&b, "  n%d[\"%s\"]\n", i, strings.Join(lines, "<br/>"))
		if n.bad {
			fmt.Fprintf(&b, "  style n%d stroke:#d00\n", i)
		}
	}
	for _, e := range p.edges {
		arrow := "-->"
		if e.dashed {
			arrow = "-.->"
		}
		if e.label == "" {
			fmt.Fprintf(&b, "  n%d %s n%d\n", e.from, arrow, e.to)
		} else {
			fmt.Fprintf(&b, "  n%d %s|\"%s\"| n%d\n", e.from, arrow, mermaidText(e.label), e.to)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderSVG writes p as SVG: through Graphviz's dot when renderer allows and
// it is installed (saying so on note), else with the built-in renderer.
func renderSVG(ctx context.Context, w io.Writer, p picture, renderer string, note io.Writer) error {
	if renderer != "builtin" {
		if path, err := exec.LookPath("dot"); err == nil {
			var src, out, stderr bytes.Buffer
			_ = writeDOTPicture(&src, p)
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, "-Tsvg")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = &src, &out, &stderr
			if err := cmd.Run(); err == nil {
				fmt.Fprintf(note, "flowtop: rendered with Graphviz dot %s\n", dotVersion(ctx, path))
				_, err := w.Write(out.Bytes())
				return err
			} else if renderer == "graphviz" {
				return fmt.Errorf("graphviz: dot -Tsvg: %w: %s", err, clean(strings.TrimSpace(stderr.String())))
			}
			fmt.Fprintf(note, "flowtop: Graphviz dot failed (%v); rendered with flowtop's own renderer\n", err)
		} else if renderer == "graphviz" {
			return usageErrorf("graphviz: dot is not installed (install graphviz, or use --render builtin)")
		} else {
			fmt.Fprintln(note, "flowtop: Graphviz dot not found; rendered with flowtop's own renderer")
		}
	}
	_, err := io.WriteString(w, builtinSVG(p))
	return err
}

// dotVersion is what `dot -V` says, e.g. "2.43.0".
func dotVersion(ctx context.Context, path string) string {
	out, _ := exec.CommandContext(ctx, path, "-V").CombinedOutput()
	s := string(out)
	if i := strings.Index(s, "version "); i >= 0 {
		f := strings.Fields(s[i+len("version "):])
		if len(f) > 0 {
			return clean(f[0])
		}
	}
	return "(version unknown)"
}

// layout places p's nodes in layers left to right: a node's layer is the
// longest path to it from a source (edges that close a cycle are ignored for
// this), and each layer is ordered by the mean position of its nodes'
// predecessors, sweeping a few times to uncross arrows.
func layout(p picture) (layer []int, order [][]int) {
	n := len(p.nodes)
	out := make([][]int, n)
	for _, e := range p.edges {
		if e.from >= 0 && e.from < n && e.to >= 0 && e.to < n && e.from != e.to {
			out[e.from] = append(out[e.from], e.to)
		}
	}
	// Drop back edges (found by a depth-first search) to get a DAG.
	state := make([]uint8, n)
	dag := make([][]int, n)
	var visit func(int)
	visit = func(u int) {
		state[u] = 1
		for _, v := range out[u] {
			switch state[v] {
			case 0:
				dag[u] = append(dag[u], v)
				visit(v)
			case 2:
				dag[u] = append(dag[u], v)
			}
		}
		state[u] = 2
	}
	for u := range n {
		if state[u] == 0 {
			visit(u)
		}
	}
	// Longest path layering, in topological order.
	indeg := make([]int, n)
	for u := range n {
		for _, v := range dag[u] {
			indeg[v]++
		}
	}
	layer = make([]int, n)
	queue := []int{}
	for u := range n {
		if indeg[u] == 0 {
			queue = append(queue, u)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range dag[u] {
			layer[v] = max(layer[v], layer[u]+1)
			if indeg[v]--; indeg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}
	layers := 0
	for _, l := range layer {
		layers = max(layers, l+1)
	}
	order = make([][]int, layers)
	for u := range n {
		order[layer[u]] = append(order[layer[u]], u)
	}
	pos := make([]float64, n)
	preds := make([][]int, n)
	for u := range n {
		for _, v := range dag[u] {
			preds[v] = append(preds[v], u)
		}
	}
	for range 4 {
		for _, l := range order {
			for i, u := range l {
				pos[u] = float64(i)
			}
		}
		for li := 1; li < layers; li++ {
			bary := map[int]float64{}
			for i, u := range order[li] {
				if len(preds[u]) == 0 {
					bary[u] = float64(i)
					continue
				}
				s := 0.0
				for _, v := range preds[u] {
					s += pos[v]
				}
				bary[u] = s / float64(len(preds[u]))
			}
			l := order[li]
			sort.SliceStable(l, func(i, j int) bool { return bary[l[i]] < bary[l[j]] })
			for i, u := range l {
				pos[u] = float64(i)
			}
		}
	}
	return layer, order
}

// svgText makes text safe inside an SVG element or attribute: terminal
// controls neutralised, then XML-escaped.
func svgText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(clean(s)))
	return b.String()
}

// builtinSVG draws p with the layered layout: rounded boxes, arrows with
// their labels, red for errors, dashed for what was configured but not seen.
func builtinSVG(p picture) string {
	const (
		charW, lineH, padX, padY = 7.0, 16.0, 10.0, 8.0
		gapX, gapY, margin, top  = 90.0, 28.0, 20.0, 40.0
	)
	layer, order := layout(p)
	w := make([]float64, len(p.nodes))
	h := make([]float64, len(p.nodes))
	for i, n := range p.nodes {
		longest := 0
		for _, l := range n.lines {
			longest = max(longest, utf8.RuneCountInString(clean(l)))
		}
		w[i] = float64(min(longest, 60))*charW + 2*padX
		h[i] = float64(len(n.lines))*lineH + 2*padY
	}
	x := make([]float64, len(p.nodes))
	y := make([]float64, len(p.nodes))
	cx, width, height := margin, 0.0, 0.0
	for _, l := range order {
		colW, cy := 0.0, top
		for _, u := range l {
			colW = max(colW, w[u])
		}
		for _, u := range l {
			x[u], y[u] = cx+(colW-w[u])/2, cy
			cy += h[u] + gapY
		}
		height = max(height, cy)
		cx += colW + gapX
	}
	width = max(cx-gapX+margin, 200)
	height += margin
	_ = layer
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker>` +
		`<marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#c00"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<title>%s</title>`+"\n", svgText(p.title))
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="14" font-weight="bold">%s</text>`+"\n", margin, margin+4, svgText(p.title))
	for _, e := range p.edges {
		if e.from < 0 || e.from >= len(p.nodes) || e.to < 0 || e.to >= len(p.nodes) {
			continue
		}
		x1, y1 := x[e.from]+w[e.from], y[e.from]+h[e.from]/2
		x2, y2 := x[e.to], y[e.to]+h[e.to]/2
		var d string
		if x2 > x1 {
			mx := (x1 + x2) / 2
			d = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, mx, y1, mx, y2, x2, y2)
		} else {
			// Back or self edge: leave from the bottom and come round below.
			x1, y1 = x[e.from]+w[e.from]/2, y[e.from]+h[e.from]
			x2, y2 = x[e.to]+w[e.to]/2, y[e.to]+h[e.to]
			low := max(y1, y2) + 30
			d = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, x1, low, x2, low, x2, y2)
		}
		stroke, marker := "#444", "arrow"
		if e.bad {
			stroke, marker = "#c00", "arrow-bad"
		}
		dash := ""
		if e.dashed {
			dash = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s"%s marker-end="url(#%s)"/>`+"\n", d, stroke, dash, marker)
		if e.label != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#555">%s</text>`+"\n", (x1+x2)/2, (y1+y2)/2-4, svgText(truncate(e.label, 48)))
		}
	}
	for i, n := range p.nodes {
		stroke := "#333"
		if n.bad {
			stroke = "#c00"
		}
		dash := ""
		if n.dashed {
			dash = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(&b, `<g><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="#f7f7f7" stroke="%s"%s/>`, x[i], y[i], w[i], h[i], stroke, dash)
		for j, l := range n.lines {
			weight := ""
			if j == 0 {
				weight = ` font-weight="bold"`
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f"%s>%s</text>`, x[i]+padX, y[i]+padY+float64(j+1)*lineH-4, weight, svgText(truncate(l, 60)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// truncate keeps at most n runes of s, marking a cut with "…".
func truncate(s string, n int) string {
	s = clean(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// writeLineageAs prints one event's path in any output format, pictures included.
func (a *app) writeLineageAs(l graph.Lineage, output string) error {
	if output == "svg" {
		return renderSVG(context.Background(), a.stdout, lineagePicture(l), a.render, a.stderr)
	}
	return writeLineage(a.stdout, l, output)
}

// writeMap prints the component map as svg, dot or mermaid.
func (a *app) writeMap(ctx context.Context, m graph.MapView, output string) error {
	p := mapPicture(m)
	switch output {
	case "svg":
		return renderSVG(ctx, a.stdout, p, a.render, a.stderr)
	case "dot":
		return writeDOTPicture(a.stdout, p)
	case "mermaid":
		return writeMermaidPicture(a.stdout, p)
	}
	return usageErrorf("map: unknown --output %q: use svg, dot or mermaid", output)
}

func (a *app) mapCommand() *cobra.Command {
	var output, fromFile string
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "map",
		Short: "draw the component map (producers → brokers → consumers → DLQs) as svg, dot or mermaid",
		Long: `Draw the component map from a one-shot collection of the last --since (or from a
recording with --from-file): every configured and observed component and edge,
with rate, error % and p95. SVG is rendered by Graphviz's dot when installed,
else by flowtop's own renderer (--render builtin forces it).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "svg", "dot", "mermaid":
			default:
				return usageErrorf("map: unknown --output %q: use svg, dot or mermaid", output)
			}
			if err := checkRender(a.render); err != nil {
				return err
			}
			ctx := cmd.Context()
			if fromFile != "" {
				g, err := a.loadRecording(ctx, fromFile)
				if err != nil {
					return err
				}
				return a.writeMap(ctx, g.Map(), output)
			}
			e, err := a.newEngine(ctx, engineOptions{})
			if err != nil {
				return err
			}
			defer e.Close()
			if err := e.Collect(ctx, since); err != nil {
				return err
			}
			if err := a.writeMap(ctx, e.Graph().Map(), output); err != nil {
				return err
			}
			return failedSources(e, "finished")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "svg", "svg, dot or mermaid")
	cmd.Flags().StringVar(&fromFile, "from-file", "", "draw from a recording made with --record instead of AWS")
	cmd.Flags().DurationVar(&since, "since", 15*time.Minute, "the window to collect")
	cmd.Flags().StringVar(&a.render, "render", "auto", "svg renderer: auto (Graphviz dot when installed), graphviz or builtin")
	return cmd
}

func checkRender(r string) error {
	switch r {
	case "auto", "graphviz", "builtin":
		return nil
	}
	return usageErrorf("unknown --render %q: use auto, graphviz or builtin", r)
}

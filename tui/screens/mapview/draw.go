package mapview

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/screens/mapview/layout"
	"github.com/flowtop/flowtop/tui/widget"
)

// The smallest box and channel the drawing is made of; a terminal that
// cannot fit every layer at these sizes gets the table.
const (
	minBoxW, maxBoxW = 12, 24
	minGapX, maxGapX = 4, 10
	boxH             = 3
	minMapH          = 6
)

// Cell classes: how the caller styles a cell.
const (
	clPlain uint8 = iota
	clOK
	clWarn
	clBad
	clDim
	clPath
	clCursor
)

// drawing is the map as laid out for the screen's size, cached until the
// set of nodes and edges or the size changes.
type drawing struct {
	key   string // what the layout was made for
	nodes []graph.MapNode
	edges []graph.MapEdge
	ends  [][2]int // edges' node indices
	index map[tracing.Component]int
	lay   layout.Result
	fits  bool

	needW, needH int
	w, mapH      int
	detail       int // lines under the map
	ox, oy       int

	layouts int // how many layouts were computed (tests and benchmarks)
}

// relayout rebuilds the node and edge lists from the data and the filter,
// and lays them out again only when their set or the size changed.
func (m *Model) relayout() {
	d := &m.d
	q := widget.ParseQuery(m.filter)
	keep := map[tracing.Component]bool{}
	byComp := map[tracing.Component]graph.MapNode{}
	for _, n := range m.data.Nodes {
		byComp[n.Component] = n
	}
	for _, e := range m.data.Edges { // an edge's ends are on the map even when no node says so
		for _, c := range []tracing.Component{e.From, e.To} {
			if _, ok := byComp[c]; !ok {
				byComp[c] = graph.MapNode{Component: c, Configured: e.Configured, Observed: e.Observed}
			}
		}
	}
	match := func(c tracing.Component) bool {
		n := byComp[c]
		return q.Match(c.String(), func(k string) string { return field(k, m.kind(c), n.ErrorPct) })
	}
	all := q.Empty()
	for c := range byComp {
		if all || match(c) {
			keep[c] = true
		}
	}
	if !all { // the neighbours of what matched, for context
		for _, e := range m.data.Edges {
			if keep[e.From] && match(e.From) || keep[e.To] && match(e.To) {
				keep[e.From], keep[e.To] = true, true
			}
		}
	}
	d.nodes = d.nodes[:0]
	for _, n := range m.data.Nodes {
		if keep[n.Component] {
			d.nodes = append(d.nodes, n)
		}
	}
	listed := make(map[tracing.Component]bool, len(m.data.Nodes))
	for _, n := range m.data.Nodes {
		listed[n.Component] = true
	}
	extra := 0
	for c := range byComp { // edge ends no node named, in a stable order
		if !listed[c] && keep[c] {
			d.nodes = append(d.nodes, byComp[c])
			extra++
		}
	}
	sortExtra(d.nodes, extra)
	d.index = make(map[tracing.Component]int, len(d.nodes))
	for i, n := range d.nodes {
		d.index[n.Component] = i
	}
	d.edges, d.ends = d.edges[:0], d.ends[:0]
	for _, e := range m.data.Edges {
		a, okA := d.index[e.From]
		b, okB := d.index[e.To]
		if okA && okB {
			d.edges = append(d.edges, e)
			d.ends = append(d.ends, [2]int{a, b})
		}
	}

	d.w = m.w
	d.detail = 0
	if m.h >= 12 {
		d.detail = 2
	}
	if m.h >= 30 {
		d.detail = 3
	}
	d.mapH = m.h - d.detail

	var kb strings.Builder
	fmt.Fprintf(&kb, "%dx%d|", m.w, m.h)
	for _, n := range d.nodes {
		kb.WriteString(n.Component.String())
		kb.WriteByte('|')
		if m.isDLQ(n.Component) {
			kb.WriteString("dlq|")
		}
	}
	for _, e := range d.ends {
		kb.WriteString(strconv.Itoa(e[0]) + ">" + strconv.Itoa(e[1]) + "|")
	}
	if kb.String() == d.key {
		return
	}
	d.key = kb.String()
	d.layout(m)
}

// sortExtra sorts the last n nodes (the unlisted edge ends) by name.
func sortExtra(ns []graph.MapNode, n int) {
	tail := ns[len(ns)-n:]
	for i := 1; i < len(tail); i++ {
		for j := i; j > 0 && tail[j].Component.String() < tail[j-1].Component.String(); j-- {
			tail[j], tail[j-1] = tail[j-1], tail[j]
		}
	}
}

// layout places the nodes: kinds give each its least layer, so that
// producers, buses, topics, queues, consumers and DLQs read left to right.
func (d *drawing) layout(m *Model) {
	d.layouts++
	g := layout.Graph{N: len(d.nodes), Edges: d.ends, Hint: make([]int, len(d.nodes)), Last: make([]bool, len(d.nodes))}
	// A function fed by a broker is a consumer, drawn right of the brokers;
	// one fed only by an API, a function or a service is a producer (the
	// order API's function publishes to the bus), drawn left of them.
	fed := make([]bool, len(d.nodes))
	for _, e := range d.ends {
		switch d.nodes[e[0]].Component.Kind {
		case tracing.ComponentQueue, tracing.ComponentTopic, tracing.ComponentBus, tracing.ComponentStream, tracing.ComponentWorkflow, tracing.ComponentBucket:
			fed[e[1]] = true
		}
	}
	for i, n := range d.nodes {
		switch n.Component.Kind {
		case tracing.ComponentBus:
			g.Hint[i] = 1
		case tracing.ComponentTopic:
			g.Hint[i] = 2
		case tracing.ComponentQueue:
			g.Hint[i] = 3
			g.Last[i] = m.isDLQ(n.Component)
		case tracing.ComponentStream:
			g.Hint[i] = 3 // a stream sits where a queue would, between producer and consumer
		case tracing.ComponentFunction:
			if fed[i] {
				g.Hint[i] = 4
			}
		}
	}
	o := layout.Options{BoxW: maxBoxW, BoxH: boxH, GapX: minGapX + 2, GapY: 1}
	d.lay = layout.Layered(g, o)
	nl := max(1, len(d.lay.Layers))
	d.needW = nl*minBoxW + (nl-1)*minGapX
	d.needH = minMapH + d.detail
	d.fits = m.w >= d.needW && d.mapH >= minMapH
	// Share the width out: boxes grow to maxBoxW, then channels to maxGapX.
	o.GapX = minGapX + 2 // room for three tracks before boxes grow
	o.BoxW = min(maxBoxW, max(minBoxW, (m.w-(nl-1)*o.GapX)/nl))
	if nl > 1 {
		o.GapX = min(maxGapX, max(minGapX, (m.w-nl*o.BoxW)/(nl-1)))
	}
	d.lay = layout.Layered(g, o)
	if d.lay.H > d.mapH { // tight: no blank row between boxes
		o.GapY = 0
		d.lay = layout.Layered(g, o)
	}
	// Edges that had to share a track may run together: trade box width
	// for wider channels while the boxes stay readable.
	for d.lay.Merged > 0 && o.GapX+2 <= 2*maxGapX {
		bw := min(maxBoxW, (m.w-(nl-1)*(o.GapX+2))/nl)
		if bw < minBoxW+2 {
			break
		}
		o.GapX, o.BoxW = o.GapX+2, bw
		d.lay = layout.Layered(g, o)
	}
	d.ox, d.oy = 0, 0
}

// first is the top node of the first layer, last the bottom one of the last.
func (d *drawing) first() int {
	for _, ly := range d.lay.Layers {
		for _, v := range ly {
			if v >= 0 {
				return v
			}
		}
	}
	return -1
}

func (d *drawing) last() int {
	for l := len(d.lay.Layers) - 1; l >= 0; l-- {
		ly := d.lay.Layers[l]
		for i := len(ly) - 1; i >= 0; i-- {
			if ly[i] >= 0 {
				return ly[i]
			}
		}
	}
	return -1
}

// along moves within the cursor's layer.
func (d *drawing) along(cur, dir int) int {
	if cur < 0 || cur >= len(d.lay.Boxes) {
		return d.first()
	}
	ly := d.lay.Layers[d.lay.Boxes[cur].Layer]
	pos := d.lay.Boxes[cur].Order
	for p := pos + dir; p >= 0 && p < len(ly); p += dir {
		if ly[p] >= 0 {
			return ly[p]
		}
	}
	return cur
}

// across moves up- or downstream: to the nearest node the cursor's node has
// an edge with on that side, else to the nearest node of the next layer
// that has any.
func (d *drawing) across(cur, dir int) int {
	if cur < 0 || cur >= len(d.lay.Boxes) {
		return d.first()
	}
	b := d.lay.Boxes[cur]
	best, bestD := -1, math.MaxInt
	consider := func(v int) {
		o := d.lay.Boxes[v]
		if (o.Layer-b.Layer)*dir <= 0 {
			return
		}
		dist := abs(o.Center()-b.Center())*4 + abs(o.Layer-b.Layer)
		if dist < bestD {
			best, bestD = v, dist
		}
	}
	for _, e := range d.ends {
		switch cur {
		case e[0]:
			consider(e[1])
		case e[1]:
			consider(e[0])
		}
	}
	if best >= 0 {
		return best
	}
	for l := b.Layer + dir; l >= 0 && l < len(d.lay.Layers); l += dir {
		for _, v := range d.lay.Layers[l] {
			if v >= 0 {
				consider(v)
			}
		}
		if best >= 0 {
			return best
		}
	}
	return cur
}

// follow scrolls so that node i is in view.
func (d *drawing) follow(i int) {
	if i < 0 || i >= len(d.lay.Boxes) {
		return
	}
	b := d.lay.Boxes[i]
	if b.Y < d.oy {
		d.oy = b.Y
	} else if b.Y+b.H > d.oy+d.mapH {
		d.oy = b.Y + b.H - d.mapH
	}
	if b.X < d.ox {
		d.ox = max(0, b.X-minGapX)
	} else if b.X+b.W > d.ox+d.w {
		d.ox = b.X + b.W - d.w
	}
	d.oy, d.ox = max(0, d.oy), max(0, d.ox)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// health is a component's or edge's marker and class: ✗ more than 5% of it
// failing, ! some, · configured but nothing seen, ✓ fine.
func health(errPct float64, observed bool) (rune, uint8) {
	switch {
	case errPct > 5:
		return '✗', clBad
	case errPct > 0:
		return '!', clWarn
	case !observed:
		return '·', clDim
	}
	return '✓', clOK
}

// rate formats events per second in few cells.
func rate(r float64) string {
	switch {
	case r <= 0:
		return "0/s"
	case r < 10:
		return fmt.Sprintf("%.1f/s", r)
	case r < 1000:
		return fmt.Sprintf("%.0f/s", r)
	}
	return fmt.Sprintf("%.1fk/s", r/1000)
}

// errs formats an error share in few cells.
func errs(p float64) string {
	switch {
	case p <= 0:
		return "0%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// stats is "rate err p95", as much of it as fits in n cells.
func stats(r, e float64, p95 string, n int) string {
	rs := rate(r)
	if len(rs) > n {
		return ""
	}
	es := errs(e)
	if len(rs)+1+len(es) > n {
		return rs
	}
	if len(rs)+len(es)+2+utf8.RuneCountInString(p95) > n {
		return rs + " " + es
	}
	return rs + " " + es + " " + p95
}

// canvas draws the laid-out map with today's figures.
func (d *drawing) canvas(m *Model) *layout.Canvas {
	c := layout.NewCanvas(d.lay.W, d.lay.H)
	cur := m.cursorIndex()
	order := make([]int, 0, len(d.edges)) // the event's path last, so it stays on top
	for i := range d.edges {
		if !m.pathEdge[[2]tracing.Component{d.edges[i].From, d.edges[i].To}] {
			order = append(order, i)
		}
	}
	for i := range d.edges {
		if m.pathEdge[[2]tracing.Component{d.edges[i].From, d.edges[i].To}] {
			order = append(order, i)
		}
	}
	for _, i := range order {
		e, p := d.edges[i], d.lay.Paths[i]
		if len(p) == 0 {
			continue
		}
		_, class := health(e.ErrorPct, e.Observed || e.Rate > 0)
		w := layout.Light
		switch {
		case m.pathEdge[[2]tracing.Component{e.From, e.To}]:
			w, class = layout.Double, clPath
		case e.ErrorPct > 5:
			w = layout.Heavy
		case !e.Observed && e.Rate <= 0:
			w = layout.Dotted
		}
		if cur >= 0 && class != clPath && (d.ends[i][0] == cur || d.ends[i][1] == cur) && class == clOK {
			class = clPlain
		}
		c.Path(p, w, class, i)
		if d.lay.Reversed[i] {
			c.Set(p[0].X, p[0].Y, '◀', class)
		} else {
			c.Set(p[len(p)-1].X, p[len(p)-1].Y, '▶', class)
		}
	}
	for i, n := range d.nodes {
		d.box(c, m, i, n, i == cur)
	}
	// Labels: on a run of the edge that is its own, else just above or
	// below the run nearest its arrowhead.
	var late []int
	for _, i := range order {
		e, p := d.edges[i], d.lay.Paths[i]
		if len(p) < 2 || e.Rate <= 0 && !e.Observed {
			continue
		}
		if !label(c, p, i, e, edgeClass(m, e)) {
			late = append(late, i)
		}
	}
	for _, i := range late {
		beside(c, d.lay.Paths[i], d.lay.Reversed[i], d.edges[i], edgeClass(m, d.edges[i]))
	}
	return c
}

func edgeClass(m *Model, e graph.MapEdge) uint8 {
	if m.pathEdge[[2]tracing.Component{e.From, e.To}] {
		return clPath
	}
	_, class := health(e.ErrorPct, true)
	return class
}

// beside writes an edge's figures on blank cells just above (or below) the
// run into its arrowhead, leaving a blank cell either side.
func beside(c *layout.Canvas, p []layout.Point, reversed bool, e graph.MapEdge, class uint8) {
	blank := func(x, y int) bool {
		cl := c.At(x, y)
		return cl != nil && cl.R == 0 && cl.Rune() == ' '
	}
	// only the run into the arrowhead: anywhere else the figures could be
	// read as another edge's
	a, b := p[len(p)-2], p[len(p)-1]
	if reversed {
		a, b = p[0], p[1]
	}
	if a.Y == b.Y {
		x0, x1 := min(a.X, b.X), max(a.X, b.X)
		for _, y := range []int{a.Y - 1, a.Y + 1} {
			best, bestN, start := 0, 0, -1
			for x := x0; x <= x1+1; x++ {
				if x <= x1 && blank(x, y) {
					if start < 0 {
						start = x
					}
					continue
				}
				if start >= 0 && x-start > bestN {
					best, bestN = start, x-start
				}
				start = -1
			}
			if st := stats(e.Rate, e.ErrorPct, widget.Dur(e.P95), bestN-2); st != "" {
				n := len([]rune(st))
				c.Text(best+(bestN-n)/2, y, st, class)
				return
			}
		}
	}
}

// label writes an edge's figures on the longest horizontal run it has
// alone, and reports whether they fitted.
func label(c *layout.Canvas, p []layout.Point, id int, e graph.MapEdge, class uint8) bool {
	type run struct{ x, y, n int }
	var best run
	for k := 0; k+1 < len(p); k++ {
		a, b := p[k], p[k+1]
		if a.Y != b.Y {
			continue
		}
		x0, x1 := min(a.X, b.X)+1, max(a.X, b.X)-1 // keep the ends: corners and arrowheads
		// the longest stretch inside [x0, x1] that is free
		start := -1
		for x := x0; x <= x1+1; x++ {
			if x <= x1 && c.Free(x, a.Y, 1, id) {
				if start < 0 {
					start = x
				}
				continue
			}
			if start >= 0 && x-start > best.n {
				best = run{start, a.Y, x - start}
			}
			start = -1
		}
	}
	if s := stats(e.Rate, e.ErrorPct, widget.Dur(e.P95), best.n-2); s != "" {
		n := len([]rune(s))
		c.Text(best.x+(best.n-n)/2, best.y, s, class)
		return true
	}
	return false
}

// box draws one component: its health and kind on the top border, its name
// inside, its figures on the bottom border.
func (d *drawing) box(c *layout.Canvas, m *Model, i int, n graph.MapNode, cursor bool) {
	b := d.lay.Boxes[i]
	mark, class := health(n.ErrorPct, n.Observed || n.Rate > 0)
	w := layout.Light
	if cursor {
		w = layout.Heavy
	}
	if m.onPath[n.Component] && !cursor {
		w, class = layout.Double, clPath
	}
	if cursor {
		class = clCursor
	}
	c.Box(b, w, class)
	r := layout.BoxRunes(w)
	inner := b.W - 2
	top := string(mark) + " " + m.kind(n.Component) + " "
	if w := m.where(n.Component); w != "" {
		top += widget.Clean(w) + " "
	}
	c.Text(b.X+1, b.Y, cut(top, inner), class)
	c.Text(b.X+1, b.Y+1, cut(widget.Clean(n.Component.Name), inner), class)
	st := stats(n.Rate, n.ErrorPct, widget.Dur(n.P95), inner)
	if !n.Observed && n.Rate <= 0 {
		st = cut("not seen", inner)
	}
	if pad := inner - len([]rune(st)); pad > 0 {
		st = string(r[4]) + st + strings.Repeat(string(r[4]), pad-1)
	}
	c.Text(b.X+1, b.Y+b.H-1, st, class)
}

// cut shortens s to n cells, marking the cut with …; s is one cell a rune.
func cut(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n <= 1 {
		return string(rs[:max(0, n)])
	}
	return string(rs[:n-1]) + "…"
}

// view renders the part of the map in view and the lines under it.
func (d *drawing) view(m *Model) string {
	if len(d.nodes) == 0 {
		if m.filter != "" {
			return m.env.St.Dim.Render(widget.Fit("nothing on the map matches "+widget.Clean(m.filter), m.w))
		}
		return m.env.St.Dim.Render(widget.Fit("no component seen yet", m.w))
	}
	c := d.canvas(m)
	st := m.env.St
	styles := [...]lipgloss.Style{clPlain: lipgloss.NewStyle(), clOK: st.OK, clWarn: st.Warn, clBad: st.Bad, clDim: st.Dim, clPath: st.Title, clCursor: st.Sel}
	lines := make([]string, 0, m.h)
	var sb, run strings.Builder
	for y := d.oy; y < d.oy+d.mapH; y++ {
		sb.Reset()
		if y < c.H {
			end := min(c.W, d.ox+d.w)
			for end > d.ox && c.At(end-1, y).Rune() == ' ' {
				end--
			}
			class := uint8(255)
			flush := func() {
				if run.Len() > 0 {
					if class == clPlain {
						sb.WriteString(run.String())
					} else {
						sb.WriteString(styles[class].Render(run.String()))
					}
					run.Reset()
				}
			}
			for x := d.ox; x < end; x++ {
				cl := c.At(x, y)
				k := cl.Class
				if cl.Rune() == ' ' && k != clCursor {
					k = clPlain
				}
				if k != class {
					flush()
					class = k
				}
				run.WriteRune(cl.Rune())
			}
			flush()
		}
		lines = append(lines, sb.String())
	}
	lines = append(lines, d.details(m)...)
	return strings.Join(lines, "\n")
}

// details are the lines under the map: the cursor's component, its edges
// with their figures, and the legend.
func (d *drawing) details(m *Model) []string {
	if d.detail == 0 {
		return nil
	}
	st := m.env.St
	out := make([]string, 0, d.detail)
	cur := m.cursorIndex()
	if cur < 0 {
		out = append(out, "", "")
	} else {
		n := d.nodes[cur]
		mark, _ := health(n.ErrorPct, n.Observed || n.Rate > 0)
		seen := "observed"
		switch {
		case n.Configured && n.Observed:
			seen = "configured and observed"
		case n.Configured:
			seen = "configured, not seen"
		}
		name := n.Component.Name
		if w := m.where(n.Component); w != "" {
			name += " in " + w
		}
		line := fmt.Sprintf("%c %s %s · %.2f/s · errors %.1f%% · p95 %s · %s", mark, m.kind(n.Component), widget.Clean(name), n.Rate, n.ErrorPct, widget.Dur(n.P95), seen)
		if n.LagRecords > 0 { // a stream's consumer lag (graph/kinesis.go)
			line += fmt.Sprintf(" · consumer lag p95 %s, latest %s", widget.Dur(n.LagP95), widget.Dur(n.LagLatest))
		}
		out = append(out, st.Bold.Render(widget.Fit(line, m.w)))
		var parts []string
		for i, e := range d.ends {
			var dir string
			var other tracing.Component
			switch cur {
			case e[0]:
				dir, other = "→ ", d.edges[i].To
			case e[1]:
				dir, other = "← ", d.edges[i].From
			default:
				continue
			}
			x := d.edges[i]
			mk, _ := health(x.ErrorPct, x.Observed || x.Rate > 0)
			s := fmt.Sprintf("%s%s %c %s", dir, other.Name, mk, stats(x.Rate, x.ErrorPct, widget.Dur(x.P95), 40))
			if x.Via != "" {
				s += " via " + x.Via
			}
			parts = append(parts, widget.Clean(s))
		}
		if len(parts) == 0 {
			parts = []string{"no edges"}
		}
		out = append(out, widget.Fit(strings.Join(parts, " · "), m.w))
	}
	if d.detail > 2 {
		legend := "✓ ok  ! errors  ✗ over 5% errors  · not seen  ━ failing  ┄ configured, not seen  ═ event path  ┃ cursor"
		out = append(out, st.Dim.Render(widget.Fit(legend, m.w)))
	}
	return out
}

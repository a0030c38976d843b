package mapview_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/golden"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
	"github.com/flowtop/flowtop/tui/screens/mapview"
)

func comp(k tracing.ComponentKind, name string) tracing.Component {
	return tracing.Component{Kind: k, Name: name}
}

var (
	api      = comp(tracing.ComponentFunction, "orders-api")
	bus      = comp(tracing.ComponentBus, "orders")
	topic    = comp(tracing.ComponentTopic, "order-events")
	billingQ = comp(tracing.ComponentQueue, "billing-queue")
	emailQ   = comp(tracing.ComponentQueue, "email-queue")
	billingD = comp(tracing.ComponentQueue, "billing-dlq")
	emailD   = comp(tracing.ComponentQueue, "email-dlq")
	charge   = comp(tracing.ComponentFunction, "charge-card")
	email    = comp(tracing.ComponentFunction, "send-email")
	reserve  = comp(tracing.ComponentFunction, "reserve-stock")
)

// demoFeed is the demo world's topology (sandbox/world.go): 10 components,
// 9 edges, charge-card failing, email-dlq configured but never used.
type demoFeed struct {
	v       graph.MapView
	lineage map[string]graph.Lineage
}

func newDemo() *demoFeed {
	ms := time.Millisecond
	obs := func(c tracing.Component, r, e float64, p time.Duration) graph.MapNode {
		return graph.MapNode{Component: c, Rate: r, ErrorPct: e, P95: p, Configured: c.Kind != tracing.ComponentFunction, Observed: true}
	}
	edge := func(a, b tracing.Component, r, e float64, p time.Duration, via string) graph.MapEdge {
		return graph.MapEdge{From: a, To: b, Rate: r, ErrorPct: e, P95: p, Via: via, Configured: via != "", Observed: r > 0}
	}
	f := &demoFeed{v: graph.MapView{
		Nodes: []graph.MapNode{
			obs(api, 2, 0, 120*ms), obs(charge, 1.9, 12.5, 410*ms), obs(email, 1.9, 0, 90*ms), obs(reserve, 2, 0, 60*ms),
			obs(billingQ, 2, 0, 30*ms), obs(billingD, 0.2, 0, 0), obs(emailQ, 1.9, 0, 25*ms),
			{Component: emailD, Configured: true},
			obs(topic, 2, 0, 12*ms), obs(bus, 2, 0, 8*ms),
		},
		Edges: []graph.MapEdge{
			edge(api, bus, 2, 0, 35*ms, ""),
			edge(bus, billingQ, 2, 0, 20*ms, "rule order-placed-billing"),
			edge(bus, reserve, 2, 0, 40*ms, "rule order-placed-stock"),
			edge(bus, topic, 2, 0, 15*ms, "rule order-placed-email"),
			edge(topic, emailQ, 1.9, 0, 18*ms, "subscription"),
			edge(billingQ, charge, 1.9, 12.5, 80*ms, "event source mapping"),
			edge(emailQ, email, 1.9, 0, 70*ms, "event source mapping"),
			edge(billingQ, billingD, 0.2, 0, 3*time.Second, "redrive policy"),
			edge(emailQ, emailD, 0, 0, 0, "redrive policy"),
		},
	}}
	// in the order graph.Map returns them: by kind, then name
	sort.Slice(f.v.Nodes, func(i, j int) bool {
		a, b := f.v.Nodes[i].Component, f.v.Nodes[j].Component
		return a.Kind < b.Kind || a.Kind == b.Kind && a.Name < b.Name
	})
	hop := func(parent int, k graph.HopKind, c tracing.Component) graph.Hop {
		return graph.Hop{Parent: parent, Kind: k, Component: c}
	}
	f.lineage = map[string]graph.Lineage{"ev-dead": {ID: "ev-dead", Status: graph.StatusDeadLettered, Hops: []graph.Hop{
		hop(-1, graph.HopPublish, api), hop(0, graph.HopBroker, bus), hop(1, graph.HopBroker, billingQ),
		hop(2, graph.HopInvoke, charge), hop(2, graph.HopInvoke, charge), hop(2, graph.HopDeadLetter, billingD),
	}}}
	return f
}

func (f *demoFeed) Map() graph.MapView { return f.v }
func (f *demoFeed) Queues() []graph.QueueStats {
	return []graph.QueueStats{{Name: "billing-dlq", IsDLQ: true}, {Name: "email-dlq", IsDLQ: true}, {Name: "billing-queue"}, {Name: "email-queue"}}
}

func (f *demoFeed) Lineage(id string) (graph.Lineage, error) {
	if l, ok := f.lineage[id]; ok {
		return l, nil
	}
	return graph.Lineage{}, graph.ErrNotFound
}

func open(t *testing.T, f mapview.Feed, event string, w, h int) screen.Screen {
	t.Helper()
	s := screen.Screen(mapview.New(screentest.Env(true), f, event))
	s.SetSize(w, h)
	s, _ = screentest.Load(t, s)
	return s
}

func TestGoldens(t *testing.T) {
	screentest.Goldens(t, "map", func() screen.Screen { return mapview.New(screentest.Env(true), newDemo(), "") })
	screentest.Goldens(t, "map-event", func() screen.Screen { return mapview.New(screentest.Env(true), newDemo(), "ev-dead") })
	screentest.Goldens(t, "map-fake", func() screen.Screen { return mapview.New(screentest.Env(true), fake.NewFeed(), "") })
}

// TestDrawsEveryNodeAndEdge: at 120x40 every component has a box and every
// edge an arrowhead, and the health markers read without colour.
func TestDrawsEveryNodeAndEdge(t *testing.T) {
	f := newDemo()
	v := ansi.Strip(open(t, f, "", 120, 35).View())
	for _, n := range f.v.Nodes {
		if !strings.Contains(v, n.Component.Name) {
			t.Errorf("%s not drawn", n.Component)
		}
	}
	if got := strings.Count(v, "▶"); got != len(f.v.Edges) {
		t.Errorf("%d arrowheads for %d edges:\n%s", got, len(f.v.Edges), v)
	}
	for _, want := range []string{"✗ fn", "✓ bus", "· dlq", "┄", "━", "1.9/s 12%"} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "EDGE / COMPONENT") {
		t.Errorf("120x35 fell back to the table:\n%s", v)
	}
}

func TestTooSmallIsTheTable(t *testing.T) {
	s := open(t, newDemo(), "", 80, 19)
	if v := ansi.Strip(s.View()); !strings.Contains(v, "EDGE / COMPONENT") || !strings.Contains(v, "bus/orders → queue/billing-queue") {
		t.Errorf("80 columns for 6 layers should be the table:\n%s", v)
	}
	if info := s.(screen.Informer).Info(); !strings.Contains(info, "needs 92x") {
		t.Errorf("info %q", info)
	}
	s.SetSize(120, 35)
	if v := ansi.Strip(s.View()); strings.Contains(v, "EDGE / COMPONENT") {
		t.Errorf("bigger again: still the table")
	}
	s, _ = screentest.Press(t, s, "t")
	if v := ansi.Strip(s.View()); !strings.Contains(v, "EDGE / COMPONENT") {
		t.Errorf("t: no table:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "t")
	if v := ansi.Strip(s.View()); strings.Contains(v, "EDGE / COMPONENT") {
		t.Errorf("t again: still the table")
	}
}

// boxNames are the names inside the boxes whose top-left corner is corner.
func boxNames(v string, corner, side rune) []string {
	lines := strings.Split(v, "\n")
	var out []string
	for i, l := range lines {
		rs := []rune(l)
		for col, r := range rs {
			if r != corner || i+1 >= len(lines) {
				continue
			}
			next := []rune(lines[i+1])
			end := col + 1
			for end < len(next) && next[end] != side {
				end++
			}
			if col+1 < len(next) {
				out = append(out, strings.TrimSpace(string(next[col+1:min(end, len(next))])))
			}
		}
	}
	return out
}

// cursorName is the name in the heavy (cursor) box.
func cursorName(t *testing.T, s screen.Screen) string {
	t.Helper()
	v := ansi.Strip(s.View())
	n := boxNames(v, '┏', '┃')
	if len(n) != 1 {
		t.Fatalf("cursor boxes %q:\n%s", n, v)
	}
	return n[0]
}

func TestCursorMoves(t *testing.T) {
	s := open(t, newDemo(), "", 120, 35)
	for _, step := range []struct{ key, want string }{
		{"", "orders-api"},
		{"l", "orders"},
		{"l", "order-events"},
		{"l", "email-queue"},
		{"j", "billing-queue"},
		{"l", "charge-card"},
		{"h", "billing-queue"},
		{"right", "charge-card"},
		{"j", "reserve-stock"}, // the layer of consumers
		{"j", "reserve-stock"}, // stays at the bottom
		{"left", "orders"},     // reserve-stock is fed by the bus
		{"G", "billing-dlq"},
		{"k", "email-dlq"},
		{"g", "orders-api"},
		{"h", "orders-api"}, // nothing upstream
	} {
		if step.key != "" {
			s, _ = screentest.Press(t, s, step.key)
		}
		if got := cursorName(t, s); got != step.want {
			t.Fatalf("after %q the cursor is on %q, want %q:\n%s", step.key, got, step.want, ansi.Strip(s.View()))
		}
	}
}

func TestEnterOpens(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want screen.Open
	}{
		{nil, screen.Open{To: "functions", Arg: "orders-api"}},
		{[]string{"G"}, screen.Open{To: "dlq messages", Arg: "billing-dlq"}},
		{[]string{"l", "l", "l", "j"}, screen.Open{To: "dlqs"}},
	} {
		s := open(t, newDemo(), "", 120, 35)
		s, _ = screentest.Press(t, s, tc.keys...)
		_, out := screentest.Press(t, s, "enter")
		if len(out) != 1 || out[0] != tc.want {
			t.Errorf("%v enter: %#v, want %#v", tc.keys, out, tc.want)
		}
	}
	// a bus has no screen: say so
	s := open(t, newDemo(), "", 120, 35)
	_, out := screentest.Press(t, s, "l", "enter")
	if len(out) != 1 {
		t.Fatalf("enter on a bus: %#v", out)
	}
	if f, ok := out[0].(screen.Flash); !ok || !strings.Contains(f.Text, "bus/orders") {
		t.Errorf("enter on a bus: %#v", out)
	}
	// and the table opens what its row is
	s = open(t, newDemo(), "", 120, 35)
	s, _ = screentest.Press(t, s, "t")
	for i := 0; i < 9; i++ { // past the edges to the first component
		s, _ = screentest.Press(t, s, "j")
	}
	if _, out := screentest.Press(t, s, "enter"); len(out) != 1 || out[0] != (screen.Open{To: "functions", Arg: "charge-card"}) {
		t.Errorf("enter on the table: %#v", out)
	}
}

// TestHighlightsPath: `:map ev-dead` draws the dead-lettered event's path
// in double lines, starts on where it ended, and nothing else is doubled.
func TestHighlightsPath(t *testing.T) {
	s := open(t, newDemo(), "ev-dead", 120, 35)
	v := ansi.Strip(s.View())
	if got := cursorName(t, s); got != "billing-dlq" {
		t.Errorf("cursor on %q, want the DLQ", got)
	}
	doubled := map[string]bool{}
	for _, n := range boxNames(v, '╔', '║') {
		doubled[n] = true
	}
	for _, want := range []string{"orders-api", "orders", "billing-queue", "charge-card"} {
		if !doubled[want] {
			t.Errorf("%s not on the highlighted path %v:\n%s", want, doubled, v)
		}
	}
	if len(doubled) != 4 { // billing-dlq has the cursor's heavy box
		t.Errorf("highlighted %v:\n%s", doubled, v)
	}
	if n := strings.Count(v, "═▶"); n != 4 {
		t.Errorf("%d double arrows, want the 4 edges of the path:\n%s", n, v)
	}
	if info := s.(screen.Informer).Info(); info != "path: 5 components, dead-lettered" {
		t.Errorf("info %q", info)
	}
	s = open(t, newDemo(), "nope", 120, 35)
	if info := s.(screen.Informer).Info(); !strings.Contains(info, "no path for nope") {
		t.Errorf("unknown event: info %q", info)
	}
}

func TestFilter(t *testing.T) {
	s := open(t, newDemo(), "", 120, 35)
	s.(screen.Filterer).SetFilter("charge")
	v := ansi.Strip(s.View())
	// charge-card and its neighbour billing-queue, nothing else
	if !strings.Contains(v, "charge-card") || !strings.Contains(v, "billing-queue") || strings.Contains(v, "send-email") {
		t.Errorf("filter charge:\n%s", v)
	}
	if got := cursorName(t, s); got != "billing-queue" && got != "charge-card" {
		t.Errorf("cursor on %q", got)
	}
	s.(screen.Filterer).SetFilter("zqxw")
	if v := ansi.Strip(s.View()); !strings.Contains(v, "nothing on the map matches zqxw") {
		t.Errorf("zqxw:\n%s", v)
	}
	// a filter only rows match shows the table
	s.(screen.Filterer).SetFilter("kind:edge")
	if v := ansi.Strip(s.View()); !strings.Contains(v, "bus/orders → queue/billing-queue") || strings.Contains(v, "fn  ") {
		t.Errorf("kind:edge:\n%s", v)
	}
	s.(screen.Filterer).SetFilter("")
	s, _ = screentest.Press(t, s, "t")
	s.(screen.Filterer).SetFilter("kind:edge")
	if v := ansi.Strip(s.View()); !strings.Contains(v, "→") || strings.Contains(v, "fn  ") {
		t.Errorf("table kind:edge:\n%s", v)
	}
}

// TestLayoutCached: figures change every tick, the layout does not; a new
// component or a new size lays it out again.
func TestLayoutCached(t *testing.T) {
	f := newDemo()
	m := mapview.New(screentest.Env(true), f, "")
	m.SetSize(120, 35)
	s, _ := screentest.Load(t, m)
	_ = s.View()
	base := m.Layouts() // SetSize laid out the empty map, the load the demo
	if base == 0 {
		t.Fatal("no layout after the first load")
	}
	for i := 0; i < 5; i++ {
		f.v.Nodes[0].Rate = float64(i)
		s, _ = screentest.Run(t, s, s.Refresh(uint64(i+2)))
		_ = s.View()
	}
	if n := m.Layouts() - base; n != 0 {
		t.Errorf("%d layouts after new figures, want none", n)
	}
	audit := comp(tracing.ComponentFunction, "audit")
	f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: audit, Observed: true})
	f.v.Edges = append(f.v.Edges, graph.MapEdge{From: bus, To: audit, Observed: true, Rate: 1})
	s, _ = screentest.Run(t, s, s.Refresh(10))
	if n := m.Layouts() - base; n != 1 {
		t.Errorf("%d layouts after a new component, want 1", n)
	}
	s.SetSize(200, 45)
	if n := m.Layouts() - base; n != 2 {
		t.Errorf("%d layouts after a new size, want 2", n)
	}
}

// bigFeed is a map of about n components: producers → buses → topics →
// queues → consumers → DLQs, each linked to two of the next layer.
func bigFeed(n int) *demoFeed {
	f := &demoFeed{}
	var layers [][]tracing.Component
	kinds := []tracing.ComponentKind{tracing.ComponentFunction, tracing.ComponentBus, tracing.ComponentTopic, tracing.ComponentQueue, tracing.ComponentFunction, tracing.ComponentQueue}
	per := []int{3, 1, 2, 5, 5, 2}
	total := 0
	for _, p := range per {
		total += p
	}
	for l, k := range kinds {
		var ly []tracing.Component
		for i := 0; i < max(1, per[l]*n/total); i++ {
			c := comp(k, fmt.Sprintf("c%d-%03d", l, i))
			ly = append(ly, c)
			f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: c, Rate: float64(i), ErrorPct: float64(i % 7), P95: time.Duration(i) * time.Millisecond, Observed: true})
		}
		layers = append(layers, ly)
	}
	for l := 0; l+1 < len(layers); l++ {
		for i, c := range layers[l] {
			next := layers[l+1]
			for k := 0; k < min(2, len(next)); k++ {
				f.v.Edges = append(f.v.Edges, graph.MapEdge{From: c, To: next[(i*7+k*3)%len(next)], Rate: 1, ErrorPct: float64(i % 4), Observed: true})
			}
		}
	}
	return f
}

func TestThirtyComponentsReadable(t *testing.T) {
	f := bigFeed(30)
	s := open(t, f, "", 120, 35)
	v := ansi.Strip(s.View())
	if strings.Contains(v, "EDGE / COMPONENT") {
		t.Fatalf("30 components at 120x40 fell back to the table:\n%s", v)
	}
	seen := 0
	for _, n := range f.v.Nodes {
		if strings.Contains(v, n.Component.Name) {
			seen++
		}
	}
	t.Logf("%d of %d components in view at 120x35:\n%s", seen, len(f.v.Nodes), v)
	if seen < len(f.v.Nodes)*2/3 {
		t.Errorf("only %d of %d components in view", seen, len(f.v.Nodes))
	}
}

// BenchmarkFrame: a tick of a 200-component map: new figures arrive, the
// cursor moves, the layout is reused, the frame is drawn.
func BenchmarkFrame(b *testing.B) {
	f := bigFeed(200)
	m := mapview.New(screentest.Env(false), f, "")
	m.SetSize(200, 45)
	s := screen.Screen(m)
	s, _ = s.Update(s.Refresh(1)())
	_ = s.View()
	base := m.Layouts()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.v.Nodes[i%len(f.v.Nodes)].Rate = float64(i)
		s, _ = s.Update(s.Refresh(uint64(i + 2))())
		s, _ = s.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
		_ = s.View()
	}
	if m.Layouts() != base {
		b.Fatalf("%d layouts during the frames", m.Layouts()-base)
	}
}

// TestSpec: `:map` opens the whole map, `:map <id>` the event's path.
func TestSpec(t *testing.T) {
	spec := mapview.Spec(newDemo())
	if spec.Arg != "" || spec.Words[0] != "map" {
		t.Fatalf("spec %+v: :map must work without an ID", spec)
	}
	if s := spec.New(screentest.Env(true), nil); s.Title() != "map" {
		t.Errorf("no arg: title %q", s.Title())
	}
	s := spec.New(screentest.Env(true), "ev-dead")
	s.SetSize(120, 35)
	s, _ = screentest.Load(t, s)
	if s.Title() != "map ev-dead" || !strings.HasPrefix(s.(screen.Informer).Info(), "path: ") {
		t.Errorf("with an ID: %q %q", s.Title(), s.(screen.Informer).Info())
	}
}

// BenchmarkLayout: laying out a 200-component map from nothing, which happens
// only when a component or an edge appears or the size changes.
func BenchmarkLayout(b *testing.B) {
	f := bigFeed(200)
	m := mapview.New(screentest.Env(false), f, "")
	s := screen.Screen(m)
	_, _ = s.Update(s.Refresh(1)())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.SetSize(200+i%2, 45) // a new size each time: a new layout
	}
}

// TestCursorStaysInView: on a map taller than the screen the view follows
// the cursor, also when a new component lays the map out again.
func TestCursorStaysInView(t *testing.T) {
	f := bigFeed(60)
	s := open(t, f, "", 120, 20)
	for i := 0; i < 40; i++ {
		s, _ = screentest.Press(t, s, "j")
	}
	name := cursorName(t, s) // fails when the cursor box is not in view
	f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: comp(tracing.ComponentFunction, "a-new-one"), Observed: true})
	s, _ = screentest.Run(t, s, s.Refresh(5))
	if got := cursorName(t, s); got != name {
		t.Errorf("after a new layout the cursor is on %q, was %q", got, name)
	}
	s.SetSize(130, 22)
	if got := cursorName(t, s); got != name {
		t.Errorf("after a resize the cursor is on %q, was %q", got, name)
	}
}

// TestOddNamesKeepTheGrid: names from outside with wide, combining or
// control characters do not push the drawing past its width.
func TestOddNamesKeepTheGrid(t *testing.T) {
	f := newDemo()
	odd := []string{"注文キュー", "e\u0301te\u0301", "emoji-🚀-queue", "tab\there", "\x1b[31mred"}
	for i, name := range odd {
		c := comp(tracing.ComponentQueue, name)
		f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: c, Observed: true, Rate: 1})
		f.v.Edges = append(f.v.Edges, graph.MapEdge{From: bus, To: c, Observed: true, Rate: float64(i)})
	}
	for _, sz := range [][2]int{{120, 35}, {200, 45}} {
		s := open(t, f, "", sz[0], sz[1])
		v := s.View()
		golden.Fits(t, "odd names", v, sz[0], sz[1])
		if strings.Contains(v, "\x1b[31m") {
			t.Errorf("an escape from a name reached the view")
		}
		// one cell a rune, or the boxes' right borders are out of line
		lines := strings.Split(ansi.Strip(v), "\n")
		for _, l := range lines[:len(lines)-3] { // the map, not the lines under it
			if w, n := ansi.StringWidth(l), utf8.RuneCountInString(l); w != n {
				t.Errorf("%dx%d: %d cells for %d runes: %q", sz[0], sz[1], w, n, l)
			}
		}
	}
}

// regionsFeed is a bus routing to a queue with a DLQ, of the same names in
// two regions of one account.
type regionsFeed struct{ v graph.MapView }

func at(c tracing.Component, region string) tracing.Component {
	c.Account, c.Region = "000000000000", region
	return c
}

func newRegions() *regionsFeed {
	f := &regionsFeed{}
	for _, r := range []string{"eu-west-1", "us-east-1"} {
		for _, c := range []tracing.Component{bus, billingQ, billingD} {
			f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: at(c, r), Rate: 1, Configured: true, Observed: true})
		}
		f.v.Edges = append(f.v.Edges,
			graph.MapEdge{From: at(bus, r), To: at(billingQ, r), Rate: 1, Via: "rule order-placed-billing", Configured: true, Observed: true},
			graph.MapEdge{From: at(billingQ, r), To: at(billingD, r), Rate: 0.1, Via: "redrive policy", Configured: true, Observed: true})
	}
	return f
}

func (f *regionsFeed) Map() graph.MapView { return f.v }
func (f *regionsFeed) Queues() []graph.QueueStats {
	return []graph.QueueStats{
		{Name: "billing-dlq", Account: "000000000000", Region: "eu-west-1", IsDLQ: true},
		{Name: "billing-dlq", Account: "000000000000", Region: "us-east-1", IsDLQ: true},
	}
}

func (f *regionsFeed) Lineage(string) (graph.Lineage, error) {
	return graph.Lineage{}, graph.ErrNotFound
}

// TestTwoRegions: one bus and queue of each name per region, each saying
// its region, in the table and the drawing; enter on a DLQ opens its
// messages in its region.
func TestTwoRegions(t *testing.T) {
	s := open(t, newRegions(), "", 200, 45)
	if v := ansi.Strip(s.View()); strings.Count(v, "eu-west-1") < 3 || strings.Count(v, "us-east-1") < 3 {
		t.Errorf("the drawing does not say each box's region:\n%s", v)
	}
	s, _ = screentest.Press(t, s, "t")
	v := ansi.Strip(s.View())
	for _, want := range []string{"bus/orders@eu-west-1 → queue/billing-queue@eu-west-1", "bus/orders@us-east-1 → queue/billing-queue@us-east-1"} {
		if !strings.Contains(v, want) {
			t.Errorf("table lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "000000000000") {
		t.Errorf("one account: the table names it anyway:\n%s", v)
	}
	s.(screen.Filterer).SetFilter("kind:dlq us-east-1")
	_, out := screentest.Press(t, s, "enter")
	want := screen.Open{To: "dlq messages", Arg: at(billingD, "us-east-1")}
	if len(out) != 1 || out[0] != want {
		t.Errorf("enter on us-east-1's DLQ: %#v, want %#v", out, want)
	}
}

// apiFeed is the demo's order path with its API Gateway front: the API's
// function publishes to the bus, so it is a producer. A clickstream beside it
// puts a stream in the queues' column.
type apiFeed struct{ regionsFeed }

func newAPIFeed() *apiFeed {
	gw := comp(tracing.ComponentAPI, "orders-http/prod")
	front, stream, clicks := comp(tracing.ComponentFunction, "web-frontend"), comp(tracing.ComponentStream, "clickstream"), comp(tracing.ComponentFunction, "clickstream-analytics")
	f := &apiFeed{}
	for _, c := range []tracing.Component{gw, api, bus, topic, billingQ, emailQ, billingD, emailD, charge, email, front, stream, clicks} {
		f.v.Nodes = append(f.v.Nodes, graph.MapNode{Component: c, Rate: 1, Observed: true})
	}
	for _, e := range [][2]tracing.Component{{gw, api}, {api, bus}, {bus, billingQ}, {billingQ, charge}, {billingQ, billingD}, {bus, topic}, {topic, emailQ}, {emailQ, email}, {emailQ, emailD}, {front, stream}, {stream, clicks}} {
		f.v.Edges = append(f.v.Edges, graph.MapEdge{From: e[0], To: e[1], Rate: 1, Observed: true})
	}
	return f
}

// TestAPIFunctionIsAProducer: a function an API invokes and that publishes
// to the bus is drawn in the producers' column, left of the bus and the
// stream (as a consumer it pushed the bus and all after it right of the
// stream: the demo's map needed 140 columns and fell to the table at 120).
func TestAPIFunctionIsAProducer(t *testing.T) {
	s := open(t, newAPIFeed(), "", 120, 40)
	v := ansi.Strip(s.View())
	if strings.Contains(v, "the drawing needs") {
		t.Fatalf("the API's order path does not draw at 120x40:\n%s", v)
	}
	col := func(label string) int {
		for _, line := range strings.Split(v, "\n") {
			if i := strings.Index(line, label); i >= 0 {
				return len([]rune(line[:i]))
			}
		}
		t.Fatalf("no %q in:\n%s", label, v)
		return 0
	}
	// A producer sits in the producers' column: left of the bus and of the
	// stream (the queues' column), not pushed right as a consumer would be.
	if a, b, c := col("│orders-api"), col("│orders "), col("│clickstre"); a >= b || a >= c {
		t.Errorf("orders-api (column %d) is not left of the bus (column %d) and the stream (column %d):\n%s", a, b, c, v)
	}
}

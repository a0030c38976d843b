package layout

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// demo is the demo world's topology: 0 orders-api, 1 bus, 2 topic,
// 3 billing-queue, 4 email-queue, 5 charge-card, 6 send-email,
// 7 reserve-stock, 8 billing-dlq, 9 email-dlq.
var demo = Graph{N: 10, Edges: [][2]int{
	{0, 1}, {1, 3}, {1, 7}, {1, 2}, {2, 4}, {3, 5}, {4, 6}, {3, 8}, {4, 9},
}, Last: []bool{8: true, 9: true}, Hint: []int{0, 1, 2, 3, 3, 4, 4, 4, 3, 3}}

// live: 0 charge-card, 1 orders-api, 2 reserve-stock, 3 send-email,
// 4 billing-dlq, 5 billing-queue, 6 email-dlq, 7 email-queue,
// 8 order-events, 9 default bus, 10 orders bus.
var live = Graph{N: 11, Edges: [][2]int{
	{1, 10}, {10, 5}, {10, 2}, {10, 8}, {8, 7}, {5, 0}, {7, 3}, {5, 4}, {7, 6},
}, Hint: []int{4, 0, 4, 4, 3, 3, 3, 3, 2, 1, 1}, Last: []bool{4: true, 6: true, 10: false}}

var opts = Options{BoxW: 10, BoxH: 3, GapX: 6, GapY: 1}

func draw(g Graph, r Result) string {
	c := NewCanvas(r.W, r.H)
	for i, p := range r.Paths {
		c.Path(p, Light, 0, i)
		if n := len(p); n > 0 {
			if r.Reversed[i] {
				c.Set(p[0].X, p[0].Y, '◀', 0)
			} else {
				c.Set(p[n-1].X, p[n-1].Y, '▶', 0)
			}
		}
	}
	for v, b := range r.Boxes {
		c.Box(b, Light, 0)
		c.Text(b.X+1, b.Y+1, fmt.Sprint(v), 0)
	}
	return c.String()
}

func TestLayered(t *testing.T) {
	for _, tc := range []struct {
		name      string
		g         Graph
		layers    []int // want layer per node
		crossings int
	}{
		{"demo", demo, []int{0, 1, 2, 3, 3, 4, 4, 4, 5, 5}, 0},
		{"demo without hints", Graph{N: 10, Edges: demo.Edges, Last: demo.Last}, []int{0, 1, 2, 2, 3, 3, 4, 2, 5, 5}, 0},
		// as the live demo gives it: nodes sorted by kind then name, and an
		// unused default bus
		{"live demo", live, []int{4, 0, 4, 4, 5, 3, 5, 3, 2, 1, 1}, 0},
		{"chain", Graph{N: 3, Edges: [][2]int{{0, 1}, {1, 2}}}, []int{0, 1, 2}, 0},
		{"long edge passes a dummy", Graph{N: 3, Edges: [][2]int{{0, 1}, {1, 2}, {0, 2}}}, []int{0, 1, 2}, 0},
		{"cycle is broken", Graph{N: 3, Edges: [][2]int{{0, 1}, {1, 2}, {2, 0}}}, []int{0, 1, 2}, 0},
		{"self loop and bad edge ignored", Graph{N: 2, Edges: [][2]int{{0, 0}, {0, 1}, {5, 1}, {-1, 0}}}, []int{0, 1}, 0},
		{"isolated node takes its hint", Graph{N: 3, Edges: [][2]int{{0, 1}}, Hint: []int{0, 0, 3}}, []int{0, 1, 2}, 0},
		{"empty layers are closed", Graph{N: 2, Edges: [][2]int{{0, 1}}, Hint: []int{3, 5}}, []int{0, 1}, 0},
		{"hint pushes a node and what follows", Graph{N: 5, Edges: [][2]int{{0, 1}, {1, 2}, {0, 3}, {3, 4}}, Hint: []int{0, 2, 0, 0, 0}}, []int{0, 2, 3, 1, 2}, 0},
		// 0,1 → 2,3 crossed in input order: the sweeps uncross them.
		{"crossing removed", Graph{N: 4, Edges: [][2]int{{0, 3}, {1, 2}}}, []int{0, 0, 1, 1}, 0},
		{"K2,2 must cross once", Graph{N: 4, Edges: [][2]int{{0, 2}, {0, 3}, {1, 2}, {1, 3}}}, []int{0, 0, 1, 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Layered(tc.g, opts)
			for v, want := range tc.layers {
				if r.Boxes[v].Layer != want {
					t.Errorf("node %d in layer %d, want %d", v, r.Boxes[v].Layer, want)
				}
			}
			if r.Crossings != tc.crossings {
				t.Errorf("%d crossings, want %d", r.Crossings, tc.crossings)
			}
			checkRoutes(t, tc.g, r)
			if t.Failed() {
				t.Logf("\n%s", draw(tc.g, r))
			}
		})
	}
}

// checkRoutes checks every path is orthogonal, starts right of its source
// box, ends left of its target box, and that no two boxes overlap.
func checkRoutes(t *testing.T, g Graph, r Result) {
	t.Helper()
	for i, e := range g.Edges {
		p := r.Paths[i]
		if !valid(e, g.N) || e[0] == e[1] {
			if p != nil {
				t.Errorf("edge %v has a path", e)
			}
			continue
		}
		if len(p) < 2 {
			t.Errorf("edge %v: path %v", e, p)
			continue
		}
		for k := 0; k+1 < len(p); k++ {
			if p[k].X != p[k+1].X && p[k].Y != p[k+1].Y {
				t.Errorf("edge %v: diagonal %v→%v", e, p[k], p[k+1])
			}
		}
		src, dst := r.Boxes[e[0]], r.Boxes[e[1]]
		first, last := p[0], p[len(p)-1]
		if r.Reversed[i] { // drawn from the target back to the source
			src, dst = dst, src
			first, last = last, first
		}
		if first != (Point{src.X + src.W, src.Center()}) || last != (Point{dst.X - 1, dst.Center()}) {
			t.Errorf("edge %v: path %v from box %+v to %+v", e, p, src, dst)
		}
		for k := 0; k+1 < len(p); k++ { // no segment runs through a box
			for v, b := range r.Boxes {
				if crossesBox(p[k], p[k+1], b) {
					t.Errorf("edge %v: segment %v→%v runs through box %d %+v", e, p[k], p[k+1], v, b)
				}
			}
		}
	}
	// Two edges that share no end never run along the same cells: they
	// may cross, not merge.
	for i, e := range g.Edges {
		for j := i + 1; j < len(g.Edges); j++ {
			e, f := e, g.Edges[j]
			if r.Reversed[i] {
				e = [2]int{e[1], e[0]}
			}
			if r.Reversed[j] {
				f = [2]int{f[1], f[0]}
			}
			if e[0] == f[0] || e[1] == f[1] || r.Paths[i] == nil || r.Paths[j] == nil {
				continue
			}
			if p := overlap(r.Paths[i], r.Paths[j]); p != nil {
				t.Errorf("edges %v and %v run together at %v", e, f, *p)
			}
		}
	}
	for a := range r.Boxes {
		for b := a + 1; b < len(r.Boxes); b++ {
			x, y := r.Boxes[a], r.Boxes[b]
			if x.X < y.X+y.W && y.X < x.X+x.W && x.Y < y.Y+y.H && y.Y < x.Y+x.H {
				t.Errorf("boxes %d %+v and %d %+v overlap", a, x, b, y)
			}
		}
	}
}

func crossesBox(a, b Point, bx Box) bool {
	x0, x1 := min(a.X, b.X), max(a.X, b.X)
	y0, y1 := min(a.Y, b.Y), max(a.Y, b.Y)
	return x0 < bx.X+bx.W && bx.X <= x1 && y0 < bx.Y+bx.H && bx.Y <= y1
}

func TestDemoDrawing(t *testing.T) {
	got := draw(demo, Layered(demo, opts))
	t.Logf("\n%s", got)
	if strings.Count(got, "▶") < 7 {
		t.Errorf("arrowheads missing:\n%s", got)
	}
}

// overlap returns a cell where a segment of a and one of b run collinearly.
func overlap(a, b []Point) *Point {
	cells := func(p []Point) map[Point]uint8 {
		m := map[Point]uint8{}
		for k := 0; k+1 < len(p); k++ {
			dir := uint8(1) // horizontal
			if p[k].X == p[k+1].X {
				dir = 2
			}
			for x := min(p[k].X, p[k+1].X); x <= max(p[k].X, p[k+1].X); x++ {
				for y := min(p[k].Y, p[k+1].Y); y <= max(p[k].Y, p[k+1].Y); y++ {
					m[Point{x, y}] |= dir
				}
			}
		}
		return m
	}
	ca, cb := cells(a), cells(b)
	for p, d := range ca {
		// a run shared over two cells in the same direction is a merge
		if d2 := cb[p]; d&d2 != 0 {
			n := Point{p.X + 1, p.Y}
			if d&d2&2 != 0 {
				n = Point{p.X, p.Y + 1}
			}
			if ca[n]&cb[n]&d&d2 != 0 {
				return &p
			}
		}
	}
	return nil
}

// TestRandomPipelines lays out random layered graphs (edges only towards
// later hinted layers, many crossing) at the box sizes the screen uses, and
// checks every route of every layout that does not report merged tracks.
func TestRandomPipelines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	merged := map[int]int{}
	for n := 0; n < 300; n++ {
		size := 4 + rng.IntN(30)
		g := Graph{N: size, Hint: make([]int, size)}
		for v := 0; v < size; v++ {
			g.Hint[v] = rng.IntN(6)
		}
		for v := 0; v < size; v++ {
			for k := rng.IntN(3); k > 0; k-- {
				if w := rng.IntN(size); g.Hint[w] > g.Hint[v] {
					g.Edges = append(g.Edges, [2]int{v, w})
				}
			}
		}
		for _, o := range []Options{opts, {BoxW: 15, BoxH: 3, GapX: 6, GapY: 1}, {BoxW: 24, BoxH: 3, GapX: 10, GapY: 0}} {
			r := Layered(g, o)
			if r.Merged > 0 { // too narrow: said so, so no promise
				merged[o.GapX]++
				continue
			}
			if !t.Run(fmt.Sprintf("%d-%d", n, o.GapX), func(t *testing.T) { checkRoutes(t, g, r) }) {
				t.Logf("graph %+v\n%s", g, draw(g, r))
				return
			}
		}
	}
	t.Logf("layouts reporting merged tracks, by gap: %v of 300", merged)
	if merged[10] > 0 {
		t.Errorf("seven tracks ran out %d times", merged[10])
	}
}

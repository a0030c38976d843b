// Package layout places a directed graph in a character grid, left to right,
// the way a layered (Sugiyama) drawing does: cycles are broken, nodes get
// layers by longest path, long edges pass through dummy slots, the order
// inside each layer is improved by barycentre sweeps to cut crossings, and
// every edge is routed orthogonally through the channels between layers.
// It knows nothing of flowtop: the map screen feeds it indices and sizes and
// draws on the [Canvas] it returns paths for.
package layout

import (
	"sort"
)

// Graph is what to lay out: N nodes numbered 0..N-1 and edges between them.
type Graph struct {
	N     int
	Edges [][2]int // from, to
	// Hint is an optional least layer for each node (len N or nil): the map
	// puts buses before topics before queues whatever the edges say.
	Hint []int
	// Last marks nodes to put in the last layer (dead-letter queues), when
	// nothing leaves them (len N or nil).
	Last []bool
}

// Options are the sizes of the drawing, in cells.
type Options struct {
	BoxW, BoxH int // a node's box
	GapX       int // columns between two layers (the edge channel)
	GapY       int // rows between two slots of a layer
	Sweeps     int // barycentre sweeps; 0 means 8
}

// Point is a cell.
type Point struct{ X, Y int }

// Box is where a node is drawn.
type Box struct {
	X, Y, W, H   int
	Layer, Order int
}

// Center is the row edges enter and leave the box by.
func (b Box) Center() int { return b.Y + b.H/2 }

// Result is a layout.
type Result struct {
	Boxes []Box // one per node
	// Paths are the routes of the edges, in the order given: a polyline of
	// orthogonal segments from just right of the source box to the cell left
	// of the target box (the arrowhead's). Nil for a self-loop.
	Paths [][]Point
	// Reversed marks edges that close a cycle: their path runs from the
	// target's right side back to the source, so the arrowhead is at the
	// path's start.
	Reversed []bool
	Layers   [][]int // the node (and, as -1, dummy) slots of every layer, in order
	W, H     int     // the size of the drawing
	// Crossings counts the edge crossings between adjacent layers after
	// ordering.
	Crossings int
	// Merged counts groups of edges that found no track of their own in a
	// channel too narrow for them: their lines may run together. A wider
	// GapX helps.
	Merged int
}

// slot is one place in a layer: a node or a dummy on a long edge.
type slot struct {
	node  int // -1 for a dummy
	edge  int // for a dummy: the edge it carries
	layer int
	pos   int
	y, h  int
	in    []int // slots in the previous layer linked to this one
	out   []int // slots in the next layer
}

// Layered lays g out.
func Layered(g Graph, o Options) Result {
	if o.Sweeps == 0 {
		o.Sweeps = 8
	}
	if o.BoxH < 1 {
		o.BoxH = 1
	}
	res := Result{Boxes: make([]Box, g.N), Paths: make([][]Point, len(g.Edges)), Reversed: make([]bool, len(g.Edges))}
	if g.N == 0 {
		return res
	}
	// 1. Break cycles: an edge that closes one in a depth-first walk is
	// turned around for layering.
	dag := make([][2]int, len(g.Edges))
	out := make([][]int, g.N)
	for i, e := range g.Edges {
		if valid(e, g.N) && e[0] != e[1] {
			out[e[0]] = append(out[e[0]], i)
		}
	}
	state := make([]uint8, g.N) // 0 new, 1 on the stack, 2 done
	var visit func(v int)
	visit = func(v int) {
		state[v] = 1
		for _, i := range out[v] {
			w := g.Edges[i][1]
			switch state[w] {
			case 0:
				visit(w)
			case 1:
				res.Reversed[i] = true
			}
		}
		state[v] = 2
	}
	for v := 0; v < g.N; v++ {
		if state[v] == 0 {
			visit(v)
		}
	}
	for i, e := range g.Edges {
		dag[i] = e
		if res.Reversed[i] {
			dag[i] = [2]int{e[1], e[0]}
		}
	}

	// 2. Layers by longest path from the sources.
	layer := longestPath(g.N, dag, g.Hint)
	outdeg := make([]int, g.N)
	for _, e := range dag {
		if valid(e, g.N) && e[0] != e[1] {
			outdeg[e[0]]++
		}
	}
	maxL := 0
	for v := 0; v < g.N; v++ {
		if len(g.Last) == g.N && g.Last[v] && outdeg[v] == 0 {
			continue
		}
		maxL = max(maxL, layer[v])
	}
	if len(g.Last) == g.N {
		for v := 0; v < g.N; v++ {
			if g.Last[v] && outdeg[v] == 0 {
				layer[v] = max(layer[v], maxL+1)
			}
		}
	}
	// Hints can leave layers empty: close the gaps.
	used := map[int]bool{}
	for _, l := range layer {
		used[l] = true
	}
	renum := map[int]int{}
	nl := 0
	for l := 0; len(renum) < len(used); l++ {
		if used[l] {
			renum[l] = nl
			nl++
		}
	}
	for v := range layer {
		layer[v] = renum[layer[v]]
	}

	// 3. Slots: one per node, one per layer a long edge passes.
	slots := make([]slot, 0, g.N)
	nodeSlot := make([]int, g.N)
	for v := 0; v < g.N; v++ {
		nodeSlot[v] = len(slots)
		slots = append(slots, slot{node: v, edge: -1, layer: layer[v], h: o.BoxH})
	}
	chains := make([][]int, len(g.Edges)) // the slots each edge passes, source first
	for i, e := range dag {
		if !valid(e, g.N) || e[0] == e[1] {
			continue
		}
		chain := []int{nodeSlot[e[0]]}
		for l := layer[e[0]] + 1; l < layer[e[1]]; l++ {
			chain = append(chain, len(slots))
			slots = append(slots, slot{node: -1, edge: i, layer: l, h: 1})
		}
		chain = append(chain, nodeSlot[e[1]])
		for k := 0; k+1 < len(chain); k++ {
			a, b := chain[k], chain[k+1]
			slots[a].out = append(slots[a].out, b)
			slots[b].in = append(slots[b].in, a)
		}
		chains[i] = chain
	}
	layers := make([][]int, nl)
	for i := range slots {
		layers[slots[i].layer] = append(layers[slots[i].layer], i)
	}

	// 4. Order: barycentre sweeps, keeping the order with fewest crossings.
	setPos := func() {
		for _, ly := range layers {
			for p, s := range ly {
				slots[s].pos = p
			}
		}
	}
	setPos()
	best := cloneLayers(layers)
	bestX := crossings(slots, layers)
	for it := 0; it < o.Sweeps && bestX > 0; it++ {
		if it%2 == 0 {
			for l := 1; l < nl; l++ {
				sortByBary(slots, layers[l], true)
				setPos()
			}
		} else {
			for l := nl - 2; l >= 0; l-- {
				sortByBary(slots, layers[l], false)
				setPos()
			}
		}
		if x := crossings(slots, layers); x < bestX {
			bestX, best = x, cloneLayers(layers)
		}
	}
	layers = best
	setPos()
	res.Crossings = bestX

	// 5. Rows: each slot is pulled towards the centre of what feeds it, in
	// order, never closer than GapY to the slot above. Nor is its centre on
	// the row a slot it is not linked to leaves the previous layer by: an
	// edge arriving there would run along that slot's outgoing one.
	leaving := map[int]bool{}
	for l, ly := range layers {
		clear(leaving)
		if l > 0 {
			for _, p := range layers[l-1] {
				if len(slots[p].out) > 0 {
					leaving[center(slots[p])] = true
				}
			}
		}
		next := 0
		for _, s := range ly {
			sl := &slots[s]
			fromRow := func(y int) bool {
				for _, p := range sl.in {
					if center(slots[p]) == y {
						return true
					}
				}
				return false
			}
			want := next
			if l > 0 && len(sl.in) > 0 {
				sum := 0
				for _, p := range sl.in {
					sum += slots[p].y + slots[p].h/2
				}
				want = sum/len(sl.in) - sl.h/2
			}
			sl.y = max(next, want)
			for leaving[sl.y+sl.h/2] && !fromRow(sl.y+sl.h/2) {
				sl.y++
			}
			next = sl.y + sl.h + o.GapY
			res.H = max(res.H, sl.y+sl.h)
		}
	}
	colX := func(l int) int { return l * (o.BoxW + o.GapX) }
	res.W = colX(nl-1) + o.BoxW
	for v := 0; v < g.N; v++ {
		s := slots[nodeSlot[v]]
		res.Boxes[v] = Box{X: colX(s.layer), Y: s.y, W: o.BoxW, H: o.BoxH, Layer: s.layer, Order: s.pos}
	}
	res.Layers = make([][]int, nl)
	for l, ly := range layers {
		for _, s := range ly {
			res.Layers[l] = append(res.Layers[l], slots[s].node)
		}
	}

	// 6. Routes: in each channel, the segments leaving one slot share a
	// vertical track; tracks are handed out so that no two overlap.
	segTrack := map[[2]int]int{}
	for l := 0; l+1 < nl; l++ {
		groups := map[int][2]int{} // source slot → vertical extent
		for _, s := range layers[l] {
			for _, t := range slots[s].out {
				a, b := center(slots[s]), center(slots[t])
				if a == b {
					continue
				}
				ext, ok := groups[s]
				if !ok {
					ext = [2]int{a, a}
				}
				ext[0], ext[1] = min(ext[0], a, b), max(ext[1], a, b)
				groups[s] = ext
			}
		}
		srcs := make([]int, 0, len(groups))
		for s := range groups {
			srcs = append(srcs, s)
		}
		sort.Slice(srcs, func(i, j int) bool {
			return groups[srcs[i]][0] < groups[srcs[j]][0] || groups[srcs[i]][0] == groups[srcs[j]][0] && srcs[i] < srcs[j]
		})
		ntr := max(1, o.GapX-3)
		ends := make([]int, ntr)
		for i := range ends {
			ends[i] = -1 << 30
		}
		type placed struct {
			src     int          // the row it leaves from
			targets map[int]bool // the rows it arrives on
			track   int
		}
		var done []placed
		for _, s := range srcs {
			ext := groups[s]
			g := placed{src: center(slots[s]), targets: map[int]bool{}}
			for _, t := range slots[s].out {
				if y := center(slots[t]); y != g.src {
					g.targets[y] = true
				}
			}
			// Where one group arrives on the row another leaves from, the
			// leaving one must turn first (a track further left), or their
			// horizontal runs overlap. A group heading down prefers the
			// rightmost track, one heading up the leftmost, which keeps
			// most such pairs apart before any check.
			ok := func(k int) bool {
				for _, h := range done {
					if h.targets[g.src] && k >= h.track || g.targets[h.src] && k <= h.track {
						return false
					}
				}
				return true
			}
			down := g.src == ext[0]
			pick := func(strict bool) int {
				for i := range ends {
					k := i
					if down {
						k = len(ends) - 1 - i
					}
					if ends[k] < ext[0]-1 && (!strict || ok(k)) {
						return k
					}
				}
				return -1
			}
			tr := pick(true)
			if tr < 0 {
				res.Merged++
				tr = pick(false)
			}
			if tr < 0 { // no free track: share the one that ends first
				tr = 0
				for k := range ends {
					if ends[k] < ends[tr] {
						tr = k
					}
				}
			}
			ends[tr] = max(ends[tr], ext[1])
			g.track = tr
			done = append(done, g)
			for _, t := range slots[s].out {
				segTrack[[2]int{s, t}] = tr
			}
		}
	}
	for i, chain := range chains {
		if chain == nil {
			continue
		}
		var pts []Point
		for k := 0; k+1 < len(chain); k++ {
			a, b := slots[chain[k]], slots[chain[k+1]]
			x0 := colX(a.layer) + o.BoxW // first channel cell
			x1 := colX(b.layer) - 1      // last channel cell
			ya, yb := center(a), center(b)
			pts = append(pts, Point{x0, ya})
			if ya != yb {
				tx := x0 + 1 + segTrack[[2]int{chain[k], chain[k+1]}]
				pts = append(pts, Point{tx, ya}, Point{tx, yb})
			}
			pts = append(pts, Point{x1, yb})
			if b.node < 0 { // carry on across the dummy's column
				pts = append(pts, Point{colX(b.layer) + o.BoxW - 1, yb})
			}
		}
		res.Paths[i] = simplify(pts)
		if res.Reversed[i] {
			for l, r := 0, len(res.Paths[i])-1; l < r; l, r = l+1, r-1 {
				res.Paths[i][l], res.Paths[i][r] = res.Paths[i][r], res.Paths[i][l]
			}
		}
	}
	return res
}

func valid(e [2]int, n int) bool { return e[0] >= 0 && e[0] < n && e[1] >= 0 && e[1] < n }

func center(s slot) int { return s.y + s.h/2 }

// longestPath gives each node the length of the longest path reaching it,
// at least its hint.
func longestPath(n int, edges [][2]int, hint []int) []int {
	indeg := make([]int, n)
	out := make([][]int, n)
	for _, e := range edges {
		if valid(e, n) && e[0] != e[1] {
			out[e[0]] = append(out[e[0]], e[1])
			indeg[e[1]]++
		}
	}
	layer := make([]int, n)
	if len(hint) == n {
		for v, h := range hint {
			layer[v] = max(0, h)
		}
	}
	queue := make([]int, 0, n)
	for v := 0; v < n; v++ {
		if indeg[v] == 0 {
			queue = append(queue, v)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range out[v] {
			layer[w] = max(layer[w], layer[v]+1)
			if indeg[w]--; indeg[w] == 0 {
				queue = append(queue, w)
			}
		}
	}
	return layer
}

// sortByBary orders a layer by the mean position of each slot's neighbours
// in the previous (in) or next (out) layer; a slot without any keeps its place.
func sortByBary(slots []slot, ly []int, in bool) {
	bary := make(map[int]float64, len(ly))
	for _, s := range ly {
		nb := slots[s].out
		if in {
			nb = slots[s].in
		}
		if len(nb) == 0 {
			bary[s] = float64(slots[s].pos)
			continue
		}
		sum := 0
		for _, t := range nb {
			sum += slots[t].pos
		}
		bary[s] = float64(sum) / float64(len(nb))
	}
	sort.SliceStable(ly, func(i, j int) bool { return bary[ly[i]] < bary[ly[j]] })
}

// crossings counts pairs of links between adjacent layers that cross.
func crossings(slots []slot, layers [][]int) int {
	n := 0
	var links [][2]int
	for l := 0; l+1 < len(layers); l++ {
		links = links[:0]
		for _, s := range layers[l] {
			for _, t := range slots[s].out {
				links = append(links, [2]int{slots[s].pos, slots[t].pos})
			}
		}
		sort.Slice(links, func(i, j int) bool {
			return links[i][0] < links[j][0] || links[i][0] == links[j][0] && links[i][1] < links[j][1]
		})
		for i := range links {
			for j := i + 1; j < len(links); j++ {
				if links[j][0] > links[i][0] && links[j][1] < links[i][1] {
					n++
				}
			}
		}
	}
	return n
}

func cloneLayers(ls [][]int) [][]int {
	out := make([][]int, len(ls))
	for i, l := range ls {
		out[i] = append([]int(nil), l...)
	}
	return out
}

// simplify drops repeated points and points in the middle of a straight run.
func simplify(pts []Point) []Point {
	var out []Point
	for _, p := range pts {
		if n := len(out); n > 0 && out[n-1] == p {
			continue
		}
		if n := len(out); n >= 2 {
			a, b := out[n-2], out[n-1]
			if (a.X == b.X && b.X == p.X) || (a.Y == b.Y && b.Y == p.Y) {
				out[n-1] = p
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

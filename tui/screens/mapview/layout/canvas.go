package layout

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Weight is how a line is drawn; where lines meet, the heaviest wins.
type Weight uint8

// Line weights.
const (
	Dotted Weight = iota + 1 // ┄ ┆: configured, nothing seen on it
	Light                    // ─ │ ┼
	Heavy                    // ━ ┃ ╋: failing
	Double                   // ═ ║ ╬: highlighted
)

// Directions a line leaves a cell by.
const (
	up uint8 = 1 << iota
	down
	left
	right
)

// Cell is one character of the canvas and the class the caller styles it by.
type Cell struct {
	R     rune // set: drawn as is (text, arrowheads, box borders)
	bits  uint8
	w     Weight
	Class uint8
	owner int // the path that last drew here, +1; -1 when several
}

// Canvas is a grid of cells that lines are drawn on and text written over.
type Canvas struct {
	W, H  int
	Cells []Cell
}

// NewCanvas returns an empty w×h canvas.
func NewCanvas(w, h int) *Canvas {
	return &Canvas{W: max(0, w), H: max(0, h), Cells: make([]Cell, max(0, w)*max(0, h))}
}

// At returns the cell at x, y, or nil outside the canvas.
func (c *Canvas) At(x, y int) *Cell {
	if x < 0 || y < 0 || x >= c.W || y >= c.H {
		return nil
	}
	return &c.Cells[y*c.W+x]
}

// Path draws a polyline of orthogonal segments at a weight and class; id
// tells paths apart for [Canvas.Free].
func (c *Canvas) Path(pts []Point, w Weight, class uint8, id int) {
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		dx, dy := sign(b.X-a.X), sign(b.Y-a.Y)
		if dx != 0 && dy != 0 {
			continue // not orthogonal: not ours
		}
		for p := a; p != b; {
			q := Point{p.X + dx, p.Y + dy}
			c.link(p, q, w, class, id)
			p = q
		}
	}
	if len(pts) == 1 {
		c.link(pts[0], pts[0], w, class, id)
	}
}

func (c *Canvas) link(p, q Point, w Weight, class uint8, id int) {
	var bp, bq uint8
	switch {
	case q.X > p.X:
		bp, bq = right, left
	case q.X < p.X:
		bp, bq = left, right
	case q.Y > p.Y:
		bp, bq = down, up
	case q.Y < p.Y:
		bp, bq = up, down
	}
	for _, x := range []struct {
		p Point
		b uint8
	}{{p, bp}, {q, bq}} {
		cl := c.At(x.p.X, x.p.Y)
		if cl == nil {
			continue
		}
		cl.bits |= x.b
		if w >= cl.w {
			cl.w, cl.Class = w, class
		}
		switch cl.owner {
		case 0:
			cl.owner = id + 1
		case id + 1:
		default:
			cl.owner = -1
		}
	}
}

// Free reports whether the n cells from x, y rightwards are a plain
// horizontal run of path id alone: room for a label on it.
func (c *Canvas) Free(x, y, n, id int) bool {
	for i := 0; i < n; i++ {
		cl := c.At(x+i, y)
		if cl == nil || cl.R != 0 || cl.owner != id+1 || cl.bits != left|right {
			return false
		}
	}
	return true
}

// Set writes r at x, y.
func (c *Canvas) Set(x, y int, r rune, class uint8) {
	if cl := c.At(x, y); cl != nil {
		cl.R, cl.Class = r, class
	}
}

// Text writes s from x, y, one rune a cell, cut at the canvas edge. A rune
// that is not one cell wide (CJK, emoji, a combining mark) is drawn as ?, so
// that the grid's columns stay where they are.
func (c *Canvas) Text(x, y int, s string, class uint8) {
	for _, r := range s {
		if !narrow(r) {
			r = '?'
		}
		c.Set(x, y, r, class)
		x++
	}
}

// Rune is what the cell shows.
func (cl *Cell) Rune() rune {
	if cl.R != 0 {
		return cl.R
	}
	if cl.bits == 0 {
		return ' '
	}
	return lineRune(cl.bits, cl.w)
}

// BoxRunes are the corners and sides of a box: ┌ ┐ └ ┘ ─ │.
func BoxRunes(w Weight) [6]rune {
	switch w {
	case Heavy:
		return [6]rune{'┏', '┓', '┗', '┛', '━', '┃'}
	case Double:
		return [6]rune{'╔', '╗', '╚', '╝', '═', '║'}
	}
	return [6]rune{'┌', '┐', '└', '┘', '─', '│'}
}

// Box draws a box's border at a weight.
func (c *Canvas) Box(b Box, w Weight, class uint8) {
	r := BoxRunes(w)
	x1, y1 := b.X+b.W-1, b.Y+b.H-1
	for x := b.X + 1; x < x1; x++ {
		c.Set(x, b.Y, r[4], class)
		c.Set(x, y1, r[4], class)
	}
	for y := b.Y + 1; y < y1; y++ {
		c.Set(b.X, y, r[5], class)
		c.Set(x1, y, r[5], class)
		for x := b.X + 1; x < x1; x++ {
			c.Set(x, y, ' ', class)
		}
	}
	c.Set(b.X, b.Y, r[0], class)
	c.Set(x1, b.Y, r[1], class)
	c.Set(b.X, y1, r[2], class)
	c.Set(x1, y1, r[3], class)
}

// String renders the canvas without styles, lines trimmed on the right.
func (c *Canvas) String() string {
	var b strings.Builder
	for y := 0; y < c.H; y++ {
		line := make([]rune, c.W)
		for x := 0; x < c.W; x++ {
			line[x] = c.At(x, y).Rune()
		}
		b.WriteString(strings.TrimRight(string(line), " "))
		if y+1 < c.H {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var (
	lightRunes  = [16]rune{' ', '│', '│', '│', '─', '┘', '┐', '┤', '─', '└', '┌', '├', '─', '┴', '┬', '┼'}
	heavyRunes  = [16]rune{' ', '┃', '┃', '┃', '━', '┛', '┓', '┫', '━', '┗', '┏', '┣', '━', '┻', '┳', '╋'}
	doubleRunes = [16]rune{' ', '║', '║', '║', '═', '╝', '╗', '╣', '═', '╚', '╔', '╠', '═', '╩', '╦', '╬'}
)

func lineRune(bits uint8, w Weight) rune {
	switch w {
	case Heavy:
		return heavyRunes[bits&15]
	case Double:
		return doubleRunes[bits&15]
	case Dotted:
		switch bits {
		case left, right, left | right:
			return '┄'
		case up, down, up | down:
			return '┆'
		}
	}
	return lightRunes[bits&15]
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// narrow reports whether r takes exactly one cell; the runes the map draws
// with answer without a lookup.
func narrow(r rune) bool {
	switch {
	case r >= ' ' && r < 0x7f, r >= 0x2500 && r <= 0x25ff, r == '·', r == '…', r == '✓', r == '✗':
		return true
	case r < ' ', r == 0x7f:
		return false
	}
	return ansi.StringWidth(string(r)) == 1
}

package widget

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Column describes one column of a [Table].
type Column struct {
	Title string
	// Priority says what goes first when the width is short: 0 is always
	// shown; a bigger number is dropped before a smaller one.
	Priority int
	// Min is the narrowest a column that may be cut gets (a path, an error
	// text). 0 means the column is never cut: it gets its content's width, and
	// lower-priority columns are dropped before it would be.
	Min int
	// Max caps the width a column asks for (0: no cap).
	Max int
	// Grow marks the column that takes the width left over.
	Grow bool
	// Width is the content width the column asks for at least, whatever
	// the rows on screen hold: a status column then keeps its width as
	// "dead-lettered" scrolls in and out, and the columns beside it stay.
	Width int
}

// Layout gives each column its width for a table total cells wide (0 hides
// the column). want is each column's content width (title included). Every
// shown column is followed by one blank cell.
func Layout(cols []Column, want []int, total int) []int {
	n := len(cols)
	w := make([]int, n)
	shown := make([]bool, n)
	need := func(i int) int {
		c := want[i]
		if cols[i].Max > 0 {
			c = min(c, cols[i].Max)
		}
		if cols[i].Min > 0 {
			c = min(c, cols[i].Min)
		}
		return max(c, 1)
	}
	sum := 0
	for i := range cols {
		shown[i] = true
		sum += need(i) + 1
	}
	for sum > total {
		drop := -1
		for i := n - 1; i >= 0; i-- {
			if shown[i] && cols[i].Priority > 0 && (drop < 0 || cols[i].Priority > cols[drop].Priority) {
				drop = i
			}
		}
		if drop < 0 {
			break
		}
		shown[drop] = false
		sum -= need(drop) + 1
	}
	// A column dropped early may fit again once a wider one went after it
	// (the flows list's cost, once its path is gone at 80 columns): it comes
	// back rather than leave the width blank, the most important first.
	for pass := 1; pass <= maxPriority(cols); pass++ {
		for i := range cols {
			if !shown[i] && cols[i].Priority == pass && sum+need(i)+1 <= total {
				shown[i] = true
				sum += need(i) + 1
			}
		}
	}
	left := total
	for i := range cols {
		if shown[i] {
			w[i] = need(i)
			left -= w[i] + 1
		}
	}
	if left < 0 {
		// Only columns that are always shown are left and they don't fit:
		// cut the widest, from the right, down to 1 cell.
		for left < 0 {
			wi := -1
			for i := n - 1; i >= 0; i-- {
				if shown[i] && w[i] > 1 && (wi < 0 || w[i] > w[wi]) {
					wi = i
				}
			}
			if wi < 0 {
				break
			}
			cut := min(-left, w[wi]-1)
			w[wi] -= cut
			left += cut
		}
		return w
	}
	// Give cut columns back what they want, most important first.
	for pass := 0; left > 0 && pass <= maxPriority(cols); pass++ {
		for i := range cols {
			if shown[i] && cols[i].Priority == pass {
				want := want[i]
				if cols[i].Max > 0 {
					want = min(want, cols[i].Max)
				}
				if add := min(max(want-w[i], 0), left); add > 0 {
					w[i] += add
					left -= add
				}
			}
		}
	}
	for i := range cols {
		if shown[i] && cols[i].Grow && left > 0 {
			w[i] += left
			left = 0
		}
	}
	return w
}

func maxPriority(cols []Column) int {
	m := 0
	for _, c := range cols {
		m = max(m, c.Priority)
	}
	return m
}

// ListKeys move a list's cursor.
type ListKeys struct {
	Up, Down, PageUp, PageDown, HalfUp, HalfDown, Top, Bottom key.Binding
}

// DefaultListKeys returns the keys every list moves with.
func DefaultListKeys() ListKeys {
	return ListKeys{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		HalfUp:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown: key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
	}
}

// Bindings lists the keys for help.
func (k ListKeys) Bindings() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom}
}

// Table is a scrolling list drawn with bubbles' table. It keeps the cursor
// and the scroll offset itself and hands bubbles only the rows on screen, so
// its cost depends on the height, not on the list, and the cursor row is
// always visible (bubbles' own offset keeping loses the cursor after
// SetCursor past a page).
type Table struct {
	Cols  []Column
	Keys  ListKeys
	Empty string // shown under the header when there are no rows

	st      Styles
	w, h    int
	n       int
	row     func(i int) []string
	cursor  int
	off     int
	sortCol int
	desc    bool
	styles  table.Styles
	sig     string            // widths the cached lines were drawn with
	lines   map[string]string // drawn rows by their cells
	head    string
}

// NewTable returns a table with these columns.
func NewTable(st Styles, cols []Column) Table {
	ts := table.Styles{Header: st.Head, Cell: lipgloss.NewStyle(), Selected: lipgloss.NewStyle()}
	return Table{Cols: cols, Keys: DefaultListKeys(), st: st, sortCol: -1, w: 80, h: 10, styles: ts}
}

// SetSize sets the table's size; h counts the header line.
func (t *Table) SetSize(w, h int) {
	t.w, t.h = max(w, 1), max(h, 2)
	t.scroll()
}

// Visible is how many rows fit under the header.
func (t *Table) Visible() int { return max(t.h-1, 1) }

// SetRows gives the table n rows; row(i) returns row i's cells (it is called
// only for rows on screen). The cursor stays where it is, within bounds.
func (t *Table) SetRows(n int, row func(i int) []string) {
	t.n, t.row = n, row
	t.cursor = min(max(t.cursor, 0), max(n-1, 0))
	t.scroll()
}

// Len is the number of rows.
func (t *Table) Len() int { return t.n }

// Cursor is the index of the selected row.
func (t *Table) Cursor() int { return t.cursor }

// Offset is the index of the first row on screen.
func (t *Table) Offset() int { return t.off }

// SetCursor moves the cursor to row i and scrolls it into view.
func (t *Table) SetCursor(i int) {
	t.cursor = min(max(i, 0), max(t.n-1, 0))
	t.scroll()
}

// SetOffset scrolls so row i is the first on screen (within bounds).
func (t *Table) SetOffset(i int) {
	t.off = min(max(i, 0), max(t.n-t.Visible(), 0))
	t.cursor = min(max(t.cursor, t.off), max(min(t.off+t.Visible()-1, t.n-1), 0))
}

// Move moves the cursor by d rows.
func (t *Table) Move(d int) { t.SetCursor(t.cursor + d) }

// SetSort marks column i as the sort column (-1: none), descending or not.
func (t *Table) SetSort(i int, desc bool) { t.sortCol, t.desc = i, desc }

func (t *Table) scroll() {
	v := t.Visible()
	if t.cursor < t.off {
		t.off = t.cursor
	}
	if t.cursor >= t.off+v {
		t.off = t.cursor - v + 1
	}
	t.off = min(max(t.off, 0), max(t.n-v, 0))
}

// Update moves the cursor for list keys and the mouse wheel; it reports
// whether it used msg.
func (t *Table) Update(msg tea.Msg) bool {
	v := t.Visible()
	switch msg := msg.(type) {
	case tea.MouseWheelMsg:
		d := WheelStep(msg)
		if d == 0 {
			return false
		}
		t.Move(d)
		return true
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, t.Keys.Up):
			t.Move(-1)
		case key.Matches(msg, t.Keys.Down):
			t.Move(1)
		case key.Matches(msg, t.Keys.PageUp):
			t.Move(-v)
		case key.Matches(msg, t.Keys.PageDown):
			t.Move(v)
		case key.Matches(msg, t.Keys.HalfUp):
			t.Move(-max(v/2, 1))
		case key.Matches(msg, t.Keys.HalfDown):
			t.Move(max(v/2, 1))
		case key.Matches(msg, t.Keys.Top):
			t.SetCursor(0)
		case key.Matches(msg, t.Keys.Bottom):
			t.SetCursor(t.n - 1)
		default:
			return false
		}
		return true
	}
	return false
}

// View renders the header and the rows on screen, exactly h lines of at
// most w cells.
func (t *Table) View() string {
	v := t.Visible()
	end := min(t.off+v, t.n)
	cells := make([][]string, 0, end-t.off)
	want := make([]int, len(t.Cols))
	titles := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		titles[i] = c.Title
		if i == t.sortCol {
			if t.desc {
				titles[i] += " ▼"
			} else {
				titles[i] += " ▲"
			}
		}
		want[i] = max(ansi.StringWidth(titles[i]), c.Width)
	}
	for r := t.off; r < end && t.row != nil; r++ {
		row := t.row(r)
		if len(row) < len(t.Cols) {
			row = append(row, make([]string, len(t.Cols)-len(row))...)
		}
		row = row[:len(t.Cols)]
		if r == t.cursor {
			plain := make([]string, len(row))
			for i, c := range row {
				plain[i] = ansi.Strip(c)
			}
			row = plain
		}
		for i, c := range row {
			want[i] = max(want[i], ansi.StringWidth(c))
		}
		cells = append(cells, row)
	}
	widths := Layout(t.Cols, want, t.w)
	sig := fmt.Sprint(t.w, widths, titles)
	if sig != t.sig || len(t.lines) > 8*v+64 {
		t.sig, t.lines, t.head = sig, map[string]string{}, ""
	}
	// Rows already drawn with these widths come from the cache; bubbles
	// draws the rest in one table (one lipgloss pass per new cell). It gets
	// cells already cut to their width and one more cell of width as the
	// gap, so it needs no padding style.
	keys := make([]string, len(cells))
	var miss []table.Row
	var missKeys []string
	for i, r := range cells {
		row := make(table.Row, len(r))
		for j, c := range r {
			if widths[j] > 0 {
				row[j] = Fit(c, widths[j])
			}
		}
		keys[i] = strings.Join(row, "\x1f")
		if _, ok := t.lines[keys[i]]; !ok {
			miss = append(miss, row)
			missKeys = append(missKeys, keys[i])
			t.lines[keys[i]] = "" // once per frame
		}
	}
	if len(miss) > 0 || t.head == "" {
		cols := make([]table.Column, len(t.Cols))
		for i := range t.Cols {
			if widths[i] > 0 {
				cols[i] = table.Column{Title: Fit(titles[i], widths[i]), Width: widths[i] + 1}
			}
		}
		tbl := table.New(table.WithStyles(t.styles), table.WithColumns(cols), table.WithRows(miss), table.WithHeight(len(miss)+1), table.WithWidth(t.w), table.WithFocused(true))
		drawn := strings.Split(tbl.View(), "\n")
		t.head = drawn[0]
		for i, k := range missKeys {
			if i+1 < len(drawn) {
				t.lines[k] = drawn[i+1]
			}
		}
	}
	lines := make([]string, 0, len(cells)+1)
	lines = append(lines, t.head)
	if t.n == 0 {
		lines = append(lines, t.st.Dim.Render(t.Empty))
	}
	for i, k := range keys {
		l := t.lines[k]
		// The cursor row, styled here: bubbles' table would mark its own
		// cursor, which this table keeps out of its way.
		if t.off+i == t.cursor {
			l = t.st.Sel.Render(Fit(l, t.w))
		}
		lines = append(lines, l)
	}
	return Clip(lines, t.w, t.h)
}

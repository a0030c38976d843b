package widget

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"
)

func TestLayout(t *testing.T) {
	cols := []Column{
		{Title: "NAME", Priority: 0},
		{Title: "PATH", Priority: 5, Min: 6, Grow: true},
		{Title: "STATUS", Priority: 1},
		{Title: "AGE", Priority: 1},
		{Title: "COST", Priority: 4},
		{Title: "HOPS", Priority: 6},
	}
	want := []int{20, 30, 13, 3, 9, 4}
	for _, tt := range []struct {
		name  string
		total int
		want  []int
	}{
		{"everything fits, path grows", 120, []int{20, 30 + 120 - 20 - 30 - 13 - 3 - 9 - 4 - 6, 13, 3, 9, 4}},
		{"path is cut before anything goes", 85, []int{20, 30, 13, 3, 9, 4}},
		{"path at its minimum", 62, []int{20, 7, 13, 3, 9, 4}},
		// Hops go first, then path; hops, narrower, come back in the width
		// the path left rather than leave it blank.
		{"hops go first, then path, and hops fit again", 55, []int{20, 0, 13, 3, 9, 4}},
		{"then cost", 45, []int{20, 0, 13, 3, 0, 4}},
		{"at a tie the rightmost goes first", 38, []int{20, 0, 13, 0, 0, 0}},
		{"the name is never cut while others show", 25, []int{20, 0, 0, 3, 0, 0}},
		{"alone, the name is cut last", 12, []int{11, 0, 0, 0, 0, 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Layout(cols, want, tt.total)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("widths (-want +got):\n%s", diff)
			}
			used := 0
			for _, w := range got {
				if w > 0 {
					used += w + 1
				}
			}
			if used > tt.total {
				t.Errorf("%d cells used of %d", used, tt.total)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	fields := map[string]string{"status": "dead-lettered", "type": "OrderPlaced", "fn": "orders-api charge-card"}
	field := func(k string) string { return fields[k] }
	for _, tt := range []struct {
		q    string
		want bool
	}{
		{"", true},
		{"ev-1", true},
		{"EV-1", true},
		{"ev-2", false},
		{"status:dead", true},
		{"status:failed", false},
		{"st:dead type:orderplaced", true},
		{"type:OrderShipped", false},
		{"fn:charge-card", true},
		{"!fn:charge-card", false},
		{"!status:failed", true},
		{"charge", true},    // a word matches any field
		{"x1abc", false},    // not a subsequence of the name
		{"ev1abc", true},    // a subsequence of the name
		{"ordrplcd", false}, // subsequences match the name only
	} {
		t.Run(tt.q, func(t *testing.T) {
			if got := ParseQuery(tt.q).Match("ev-1-abc", field); got != tt.want {
				t.Errorf("%q: %v, want %v (%+v)", tt.q, got, tt.want, ParseQuery(tt.q))
			}
		})
	}
}

func TestTableScrollsToCursorAndRendersOnlyVisibleRows(t *testing.T) {
	tb := NewTable(NewStyles(true), []Column{{Title: "NAME"}, {Title: "N", Priority: 1}})
	tb.SetSize(40, 6)
	calls := 0
	tb.SetRows(1000, func(i int) []string { calls++; return []string{fmt.Sprintf("row-%04d", i), fmt.Sprint(i)} })
	for _, tt := range []struct {
		name   string
		act    func()
		cursor int
	}{
		{"down", func() { tb.Move(7) }, 7},
		{"bottom", func() { tb.SetCursor(999) }, 999},
		{"up a page", func() { tb.Move(-5) }, 994},
		{"top", func() { tb.SetCursor(0) }, 0},
	} {
		calls = 0
		tt.act()
		v := tb.View()
		if tb.Cursor() != tt.cursor || !strings.Contains(v, fmt.Sprintf("row-%04d", tt.cursor)) {
			t.Errorf("%s: cursor %d, view:\n%s", tt.name, tb.Cursor(), v)
		}
		if calls > tb.Visible() {
			t.Errorf("%s: %d rows built for %d on screen", tt.name, calls, tb.Visible())
		}
		if n := strings.Count(v, "\n") + 1; n != 6 {
			t.Errorf("%s: %d lines", tt.name, n)
		}
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > 40 {
				t.Errorf("%s: %q wider than 40", tt.name, l)
			}
		}
	}
}

func TestSortMarkerAndEmpty(t *testing.T) {
	tb := NewTable(NewStyles(true), []Column{{Title: "NAME"}, {Title: "COST", Priority: 1}})
	tb.SetSize(40, 4)
	tb.Empty = "nothing here"
	tb.SetSort(1, true)
	v := ansi.Strip(tb.View())
	if !strings.Contains(v, "COST ▼") || !strings.Contains(v, "nothing here") {
		t.Errorf("%s", v)
	}
	tb.SetSort(1, false)
	if v := ansi.Strip(tb.View()); !strings.Contains(v, "COST ▲") {
		t.Errorf("%s", v)
	}
}

func TestFormat(t *testing.T) {
	if got := Thousands(1234567); got != "1,234,567" {
		t.Error(got)
	}
	if got := Sparkline([]float64{0, 1, 2, 4}, 3); got != "▂▄█" {
		t.Error(got)
	}
	if got := Fit("abcdef", 4); got != "abc…" {
		t.Error(got)
	}
	if got := PrettyBody(`{"a":1}`, 0); len(got) != 3 {
		t.Error(got)
	}
}

// TestPrettyBodyShowsWhatWasSent: the demo's DLQ copy of an SNS notification
// showed its UnsubscribeURL with "\u0026" for "&" and its keys sorted; a body
// is indented, never decoded and encoded again, so order, digits and
// characters stay as sent (a replay edits this text).
func TestPrettyBodyShowsWhatWasSent(t *testing.T) {
	body := `{"version":"0","id":12345678901234567891,"url":"https://sns/?Action=Unsubscribe&SubscriptionArn=x","detail":{"total":195.50}}`
	got := strings.Join(PrettyBody(body, 0), "\n")
	want := "{\n  \"version\": \"0\",\n  \"id\": 12345678901234567891,\n  \"url\": \"https://sns/?Action=Unsubscribe&SubscriptionArn=x\",\n  \"detail\": {\n    \"total\": 195.50\n  }\n}"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := PrettyBody("  not json {", 0); len(got) != 1 || got[0] != "  not json {" {
		t.Errorf("text: %q", got)
	}
	if got := PrettyBody("\n{\"a\":\"\x1b[2J\"}\n", 0); strings.Contains(strings.Join(got, ""), "\x1b") {
		t.Errorf("unsanitised: %q", got)
	}
}

package trace_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
)

// TestTraceByTheDigitsTheListShows: the traces list shows 12 digits of an
// ID, and `:trace 4d05f66ed22c` answered "invalid id: want 32 hex digits";
// the digits now name the one trace held that starts with them.
func TestTraceByTheDigitsTheListShows(t *testing.T) {
	short := fake.Checkout.String()[:12]
	for _, w := range []int{80, 120, 200} {
		s := open(t, " "+strings.ToUpper(short)+" ", w, 30)
		if s.Title() != "trace "+fake.Checkout.String() || !strings.Contains(ansi.Strip(s.View()), "orders-api POST /orders") {
			t.Errorf("%d columns: %q\n%s", w, s.Title(), ansi.Strip(s.View()))
		}
	}
	// Both fake traces start with different digits; no trace starts with 0000.
	if v := ansi.Strip(open(t, "0000", 120, 30).View()); !strings.Contains(v, "no trace held starts with 0000") {
		t.Errorf("unknown prefix:\n%s", v)
	}
	if v := ansi.Strip(open(t, "ev-1", 120, 30).View()); !strings.Contains(v, "invalid id") {
		t.Errorf("not hex:\n%s", v)
	}
}

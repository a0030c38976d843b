package trace_test

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/flowtop/flowtop/tui/internal/fake"
)

// TestTraceByTheDigitsTheListShows: the traces list shows an ID's last 12
// digits, and `:trace 4d05f66ed22c` answered "invalid id: want 32 hex
// digits"; those digits (or the first ones) now name the one trace held
// that ends (or starts) with them.
func TestTraceByTheDigitsTheListShows(t *testing.T) {
	id := fake.Checkout.String()
	for i, w := range []int{80, 120, 200} {
		short := id[20:]
		if i == 1 {
			short = id[:12]
		}
		s := open(t, " "+strings.ToUpper(short)+" ", w, 30)
		if s.Title() != "trace "+fake.Checkout.String() || !strings.Contains(ansi.Strip(s.View()), "orders-api POST /orders") {
			t.Errorf("%d columns: %q\n%s", w, s.Title(), ansi.Strip(s.View()))
		}
	}
	if v := ansi.Strip(open(t, "00000000", 120, 30).View()); !strings.Contains(v, "no trace held starts or ends with 00000000") {
		t.Errorf("unknown prefix:\n%s", v)
	}
	if v := ansi.Strip(open(t, "ev-1", 120, 30).View()); !strings.Contains(v, "invalid id") {
		t.Errorf("not hex:\n%s", v)
	}
}

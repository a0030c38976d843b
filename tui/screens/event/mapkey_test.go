package event

import (
	"testing"

	"github.com/flowtop/flowtop/tui/internal/fake"
	"github.com/flowtop/flowtop/tui/internal/screentest"
	"github.com/flowtop/flowtop/tui/screen"
)

// TestMapKey: m opens the map on the event's path; on an ID that matched
// nothing or several events it does nothing.
func TestMapKey(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want []any
	}{
		{"ev-1", []any{screen.Open{To: MapID, Arg: "ev-1"}}},
		{"nope", nil},
		{"o-7", nil},
	} {
		s := screen.Screen(New(screentest.Env(true), fake.NewFeed(), tc.id))
		s.SetSize(120, 35)
		s, _ = screentest.Load(t, s)
		_, out := screentest.Press(t, s, "m")
		if len(out) != len(tc.want) || len(out) == 1 && out[0] != tc.want[0] {
			t.Errorf("%s: m sent %#v, want %#v", tc.id, out, tc.want)
		}
	}
}

package trace

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestComputeLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int
		want layout
	}{
		// The root's body at 80x24, 120x40 and 200x50: details below, then beside.
		{"80x19", 80, 19, layout{wfW: 80, wfH: 12, nameW: 32, barW: 38, rowsH: 9, detW: 80, detH: 6}},
		{"120x35", 120, 35, layout{wfW: 120, wfH: 23, nameW: 48, barW: 62, rowsH: 20, detW: 120, detH: 11}},
		{"160x43", 160, 43, layout{side: true, wfW: 95, wfH: 43, nameW: 38, barW: 47, rowsH: 40, detW: 64, detH: 43}},
		{"200x45", 200, 45, layout{side: true, wfW: 119, wfH: 45, nameW: 47, barW: 62, rowsH: 42, detW: 80, detH: 45}},
		{"300x60", 300, 60, layout{side: true, wfW: 209, wfH: 60, nameW: 56, barW: 143, rowsH: 57, detW: 90, detH: 60}},
		// Too short for a pane: the waterfall alone.
		{"80x10", 80, 10, layout{wfW: 80, wfH: 10, nameW: 32, barW: 38, rowsH: 7}},
		{"1x1", 1, 1, layout{wfW: 1, wfH: 1, nameW: 12, barW: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, computeLayout(tc.w, tc.h), cmp.AllowUnexported(layout{})); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

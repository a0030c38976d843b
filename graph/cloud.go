package graph

import (
	"strings"

	"github.com/flowtop/flowtop/tracing"
)

// spanCloud says which cloud the span named by key (trace/span) ran in, from
// the cloud.provider and cloud.platform its source kept (see
// [tracing.CloudOf]); "" when the span is not held or does not say.
func (g *Graph) spanCloud(key tracing.Key) string {
	tr, sp, ok := strings.Cut(key.Value, "/")
	if !ok {
		return ""
	}
	tid, err := tracing.ParseTraceID(tr)
	if err != nil {
		return ""
	}
	sid, err := tracing.ParseSpanID(sp)
	if err != nil {
		return ""
	}
	ss := &g.sp
	t := ss.find(tid)
	if t == 0 {
		return ""
	}
	for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
		r := ss.spans.at(i)
		if r.id != sid {
			continue
		}
		if x := ss.extra[i]; r.flags&spanHasExtra != 0 && x != nil {
			return tracing.CloudOf(map[string]string{
				tracing.AttrCloudProvider: x.attrs.get(tracing.AttrCloudProvider),
				tracing.AttrCloudPlatform: x.attrs.get(tracing.AttrCloudPlatform),
			})
		}
		return ""
	}
	return ""
}

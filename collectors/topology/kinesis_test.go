package topology

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

// TestStreamMapping reads the demo world's Kinesis event source mapping
// through the SDK: the stream is a component of its own, the mapping's
// settings ride on its route, and its on-failure destination is a queue the
// DLQ source must watch.
func TestStreamMapping(t *testing.T) {
	w := startWorld(t)
	s := New(w.clients, Config{PerResourceTPS: 1000})
	if _, err := s.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	set := s.Routes()
	stream := comp(tracing.ComponentStream, sandbox.ClickStream)
	fn := comp(tracing.ComponentFunction, sandbox.ClickConsumer)
	r := find(set, stream, fn, "event source mapping")
	if r == nil {
		t.Fatalf("no route %s → %s in %v", stream, fn, edges(set))
	}
	if r.Attrs["batchSize"] != "10" || r.Attrs["startingPosition"] != "TRIM_HORIZON" || r.Attrs["retries"] != "2" {
		t.Errorf("mapping attrs %v", r.Attrs)
	}
	if d := cmp.Diff([]string{sandbox.ClickFailures}, s.FailureQueues()); d != "" {
		t.Errorf("failure queues (-want +got):\n%s", d)
	}
	if c := Component(sandbox.StreamARN("clickstream") + "/consumer/fanout:1616044553"); c != stream {
		t.Errorf("a stream consumer's ARN names %v", c)
	}
}

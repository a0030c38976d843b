package graph

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/flowtop/flowtop/tracing"
)

// DefaultBudgetBytes is the memory budget when none is set: sized for a laptop
// that also runs the system being watched.
const DefaultBudgetBytes = 512 << 20

// Budget is one memory limit, in bytes, for everything flowtop holds. It is
// split into shares so that each holder bounds itself without asking the
// others: requests being read and decoded at the door ([Budget.InFlight]), the
// queue between the collectors and the graph ([Budget.Queue]) and the events
// the graph holds ([Budget.Held]). The zero value is the default budget.
type Budget struct {
	// Total is the whole budget in bytes; <= 0 means [DefaultBudgetBytes].
	Total int64
}

// Bytes is the whole budget, with the default applied.
func (b Budget) Bytes() int64 {
	if b.Total <= 0 {
		return DefaultBudgetBytes
	}
	return b.Total
}

// ParseBudget reads a memory budget as people write it: "512MiB", "1GiB",
// "800MB", "64M" or a plain number of bytes. Units are binary (KiB, MiB,
// GiB; K, M, G mean the same) or decimal (KB, MB, GB). The budget must be at
// least 16 MiB: below that, one OTLP request would not fit.
func ParseBudget(s string) (Budget, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
		"kb": 1e3, "mb": 1e6, "gb": 1e9,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v < 0 {
		return Budget{}, fmt.Errorf("graph: memory budget %q: want a size such as 512MiB or 2GiB", s)
	}
	b := Budget{Total: int64(v * mult)}
	if b.Total < 16<<20 {
		return Budget{}, fmt.Errorf("graph: memory budget %q is below the 16MiB flowtop needs", s)
	}
	return b, nil
}

// String is the budget in MiB, as ParseBudget reads it.
func (b Budget) String() string { return strconv.FormatInt(b.Bytes()>>20, 10) + "MiB" }

// InFlight is the share for request bodies being read, decoded and converted
// at once, across every concurrent OTLP request: a quarter.
func (b Budget) InFlight() int64 { return b.Bytes() / 4 }

// Queue is the share for observations accepted but not yet ingested: an eighth.
func (b Budget) Queue() int64 { return b.Bytes() / 8 }

// Held is what is left for the events, spans and statistics the graph holds.
func (b Budget) Held() int64 { return b.Bytes() - b.InFlight() - b.Queue() }

// Per-value overheads of the estimate: a string header and a slice header.
const (
	stringHeader = int64(unsafe.Sizeof(""))
	obsSize      = int64(unsafe.Sizeof(tracing.Observation{}))
	keySize      = int64(unsafe.Sizeof(tracing.Key{}))
	relSize      = int64(unsafe.Sizeof(tracing.Relation{}))
	spanSize     = int64(unsafe.Sizeof(tracing.Span{}))
	linkSize     = int64(unsafe.Sizeof(tracing.Link{}))
	logSize      = int64(unsafe.Sizeof(tracing.LogRecord{}))
	invSize      = int64(unsafe.Sizeof(tracing.Invocation{}))
	msgSize      = int64(unsafe.Sizeof(tracing.Message{}))
	fnSize       = int64(unsafe.Sizeof(tracing.FunctionConfig{}))
	queueSize    = int64(unsafe.Sizeof(tracing.QueueInfo{}))
	// mapEntry is a rough cost of one small map[string]string entry beyond
	// its strings' bytes (bucket slot, hash, and the map header amortised).
	mapEntry = 48
)

// ObservationBytes estimates the heap an observation holds: its struct, the
// bytes of its strings and the records it points to. It errs on the side of
// counting too much (strings that share memory are counted twice) and takes
// time proportional to the number of strings, not their length.
func ObservationBytes(o *tracing.Observation) int64 {
	n := obsSize + int64(len(o.Source)+len(o.Component.Name))
	n += int64(len(o.Keys)) * keySize
	for _, k := range o.Keys {
		n += int64(len(k.Value))
	}
	n += int64(len(o.Relations)) * relSize
	for _, r := range o.Relations {
		n += int64(len(r.From.Value) + len(r.To.Value) + len(r.Evidence))
	}
	if s := o.Span; s != nil {
		n += spanSize + int64(len(s.Name)+len(s.Service)+len(s.StatusMessage)+len(s.InvocationID))
		n += int64(len(s.Messaging.System) + len(s.Messaging.Operation) + len(s.Messaging.Destination) + len(s.Messaging.MessageID))
		n += mapBytes(s.Attrs)
		n += int64(len(s.Links)) * linkSize
		for _, l := range s.Links {
			n += mapBytes(l.Attrs)
		}
		for _, e := range s.Events {
			n += int64(len(e.Name)) + 32 + mapBytes(e.Attrs)
		}
	}
	if l := o.Log; l != nil {
		n += logSize + int64(len(l.Group)+len(l.Stream)+len(l.EventID)+len(l.Level)+len(l.RequestID)+len(l.Message)+len(l.Reason))
	}
	if v := o.Invocation; v != nil {
		n += invSize + int64(len(v.Function)+len(v.RequestID)+len(v.ErrorType))
	}
	if m := o.Message; m != nil {
		n += msgSize + int64(len(m.Queue)+len(m.ID)+len(m.Body)+len(m.SourceQueue)+len(m.GroupID)+len(m.DedupID))
		n += mapBytes(m.Attributes) + mapBytes(m.UserAttrs)
		// Layers hold parsed copies of parts of the body: count the body again.
		if len(m.Layers) > 0 {
			n += int64(len(m.Body))
		}
	}
	if o.Function != nil {
		n += fnSize + 256
	}
	if o.Queue != nil {
		n += queueSize + 128
	}
	return n
}

// BatchBytes is the sum of [ObservationBytes] over a batch, plus its backing array.
func BatchBytes(b tracing.Batch) int64 {
	n := int64(cap(b)-len(b)) * obsSize
	for i := range b {
		n += ObservationBytes(&b[i])
	}
	return n
}

func mapBytes(m map[string]string) int64 {
	if len(m) == 0 {
		return 0
	}
	n := int64(len(m)) * (mapEntry + 2*stringHeader)
	for k, v := range m {
		n += int64(len(k) + len(v))
	}
	return n
}

// What the graph holds, estimated from its record counts (heldBytes): the
// records' sizes, the key bytes in the arena, the slots of the key and trace
// tables, and per-entry costs of the few maps beside them. The records, the
// arena and the tables live outside the Go heap where the platform allows
// (offheap.go), so the process is resident for about this much and no GOGC
// headroom on top; the last chunk of each slab, the maps' slack and the Go
// heap's own headroom over the maps make the rest (BenchmarkHeldRSS1M
// measures it).
const (
	eventRecSize = int64(unsafe.Sizeof(eventRec{}))
	keyRecSize   = int64(unsafe.Sizeof(keyRec{}))
	hopRecSize   = int64(unsafe.Sizeof(hopRec{}))
	refRecSize   = int64(unsafe.Sizeof(refRec{}))
	linkRecSize  = int64(unsafe.Sizeof(linkRec{}))
	traceRecSize = int64(unsafe.Sizeof(traceRec{}))
	spanRecSize  = int64(unsafe.Sizeof(spanRec{}))
	// tableSlot is one slot of a key or trace table (store.go), which
	// holds up to loadFactor records.
	tableSlot = 4
	// invEntry is one span's invocation ID in spanStore.invs: the map
	// entry with its slack (the ID's bytes are in the arena).
	invEntry = 32
	// sideEntry is one map[int32]int32 or map[int32]int64 entry with its
	// slack: an event's links (store.evLinks), a long span's end
	// (spanStore.ends).
	sideEntry = 24
	// invocationCost is one invocation: its struct, request ID, map entry
	// and a few kept log lines.
	invocationCost = int64(unsafe.Sizeof(invocation{})) + 64 + 4*int64(unsafe.Sizeof(logLine{})+80)
	// extraCost is one DLQ body or span attribute set beside its record.
	extraCost = 512
)

// eventBytes estimates what the held events take: their records, key
// strings, index entries, the filter's and summaries' per-slot caches, and
// the invocations they hold.
func (g *Graph) eventBytes() int64 {
	s := &g.s
	n := int64(s.events.live)*eventRecSize + int64(s.keys.live)*keyRecSize + int64(s.hops.live)*hopRecSize +
		int64(s.refs.live)*refRecSize + int64(s.links.live)*linkRecSize + int64(s.arena.live) +
		int64(len(s.index.heads))*tableSlot + int64(len(s.hopExtra))*extraCost + int64(len(s.evLinks))*sideEntry
	n += int64(len(g.invs)) * invocationCost
	return n
}

// spanBytes estimates what the held traces and spans take.
func (g *Graph) spanBytes() int64 {
	ss := &g.sp
	return int64(ss.traces.live)*traceRecSize + int64(len(ss.index.heads))*tableSlot + int64(ss.spans.live)*spanRecSize +
		int64(len(ss.extra))*extraCost + int64(len(ss.invs))*invEntry + int64(len(ss.ends))*sideEntry
}

// heldBytes is eventBytes plus spanBytes. The caller holds a lock.
func (g *Graph) heldBytes() int64 { return g.eventBytes() + g.spanBytes() }

// fitBytes evicts, past Config.MaxBytes, the larger of the two holdings
// first: the least recently active events, or the oldest traces. Evicted
// events are counted as the count limit's are.
func (g *Graph) fitBytes() {
	if g.cfg.MaxBytes <= 0 {
		return
	}
	for {
		ev, sp := g.eventBytes(), g.spanBytes()
		if ev+sp <= g.cfg.MaxBytes {
			return
		}
		// Evict a slice at a time: the figures are sums over maps and slabs.
		switch {
		case sp > ev && g.sp.oldest != 0:
			for i := 0; i < 256 && g.sp.oldest != 0; i++ {
				g.dropTrace()
			}
		case g.s.tail != 0:
			for i := 0; i < 256 && g.s.tail != 0; i++ {
				e := g.s.tail
				g.s.lruRemove(e)
				g.s.freeEvent(e)
				g.evicted++
			}
		default:
			return
		}
	}
}

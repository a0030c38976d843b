package graph

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// Kinesis records. A record's key ([tracing.KinesisRecordKey]) names its
// stream, so the stream is a broker hop of its event as soon as any
// observation names the record: the producer's log of what PutRecords
// answered, or the consumer's log of the record in its batch. A batch
// consumer logs each record on its own line, so one invocation attaches to
// each record's event and merges none of them (the rule an SQS batch
// consumer follows: one strong key per line, the request ID weak).
//
// An event source mapping's on-failure record names no record, only the
// shard and the sequence range of the batch that failed: every held record
// of that shard in the range gets a dead-letter hop at the destination
// queue, under the last invocation of the mapping's function that handled
// it; a record seen after the failure record joins it then. The index of
// held sequence numbers per shard and the pending failures are bounded.

// Bounds of the Kinesis index.
const (
	maxKinesisSeqs  = 400_000 // sequence numbers indexed, over all shards (and at most Config.MaxEvents)
	maxKinesisFails = 1000    // on-failure records kept to match records seen later
)

const evidenceStream = "the record's stream, shard and sequence number"

type kinesisIndex struct {
	shards map[string][]string // stream + "/" + shard → sequence numbers of records seen, oldest first
	n      int
	fails  []kinesisFailure
	lags   map[tracing.Component]*streamLag // consumer lag per stream
}

// Bounds of the consumer lag kept per stream: the last lagSamples records
// a consumer processed, of which those of the last lagWindow count.
const (
	lagSamples    = 256
	lagWindow     = 5 * time.Minute
	maxLagStreams = 256
)

// streamLag is a ring of the consumer lag of a stream's recent records:
// when a consumer invocation took the record, less when it entered the
// stream, as the producer's side gives it (the start of the invocation that
// put it: a little before the record's approximateArrivalTimestamp, so the
// lag is at most that much high). The ring is fixed in size.
type streamLag struct {
	at, lag [lagSamples]int64 // processed time (Unix ns) and lag (ns)
	n, next int
	latest  int64 // the lag of the record processed last
	latestT int64
}

func (l *streamLag) add(processed, lag int64) {
	l.at[l.next], l.lag[l.next] = processed, lag
	l.next = (l.next + 1) % lagSamples
	l.n = min(l.n+1, lagSamples)
	if processed >= l.latestT {
		l.latest, l.latestT = lag, processed
	}
}

// figures returns the p95 and the latest lag of the records processed
// within lagWindow of now, and how many those are.
func (l *streamLag) figures(now time.Time) (p95, latest time.Duration, n int) {
	from := nanos(now.Add(-lagWindow))
	var buf [lagSamples]int64
	v := buf[:0]
	for i := range l.n {
		if l.at[i] >= from {
			v = append(v, l.lag[i])
		}
	}
	if len(v) == 0 {
		return 0, 0, 0
	}
	slices.Sort(v)
	return time.Duration(v[(len(v)*95+99)/100-1]), time.Duration(l.latest), len(v)
}

// recordLag notes that a consumer took a record of stream processed
// after it entered the stream at put.
func (g *Graph) recordLag(stream tracing.Component, processed, put int64) {
	if processed <= put {
		return
	}
	x := &g.kin
	if x.lags == nil {
		x.lags = map[tracing.Component]*streamLag{}
	}
	l := x.lags[stream]
	if l == nil {
		if len(x.lags) >= maxLagStreams {
			return
		}
		l = &streamLag{}
		x.lags[stream] = l
	}
	l.add(processed, processed-put)
}

// mapLag puts each stream's consumer lag on its node of the map.
func (g *Graph) mapLag(v *MapView, now time.Time) {
	for c, l := range g.kin.lags {
		p95, latest, n := l.figures(now)
		if n == 0 {
			continue
		}
		i := slices.IndexFunc(v.Nodes, func(m MapNode) bool { return m.Component == c })
		if i < 0 {
			v.Nodes = append(v.Nodes, MapNode{Component: c, Observed: true})
			i = len(v.Nodes) - 1
		}
		v.Nodes[i].LagP95, v.Nodes[i].LagLatest, v.Nodes[i].LagRecords = p95, latest, n
	}
}

// kinesisFailure is one on-failure record, as the graph keeps it.
type kinesisFailure struct {
	info     tracing.KinesisBatchInfo
	queue    string
	msgID    string
	body     string
	attrs    map[string]string
	at       time.Time
	evidence string
}

// kinesisKey is called once per new record key: it adds the stream hop,
// indexes the sequence number (also as a lookup alias, as users copy it
// from a log), and joins a failure record seen before the record.
func (g *Graph) kinesisKey(e, ki int32, k tracing.Key, at time.Time) {
	stream, shard, seq, ok := tracing.SplitKinesisKey(k.Value)
	if !ok {
		return
	}
	g.addMsg(e, &layer{key: k, ki: ki, kind: HopBroker, comp: placed(g.here, tracing.Component{Kind: tracing.ComponentStream, Name: stream}), at: at, evidence: evidenceStream})
	g.attachWeak(e, tracing.KeyCorrelation, "="+seq)
	x := &g.kin
	if x.shards == nil {
		x.shards = map[string][]string{}
	}
	sk := stream + "/" + shard
	if x.n >= min(maxKinesisSeqs, g.cfg.MaxEvents) {
		// Forget the older half of the largest shard's numbers.
		big := ""
		for s, l := range x.shards {
			if big == "" || len(l) > len(x.shards[big]) {
				big = s
			}
		}
		l := x.shards[big]
		drop := max(len(l)/2, 1)
		x.shards[big] = append([]string(nil), l[drop:]...)
		x.n -= drop
	}
	x.shards[sk] = append(x.shards[sk], strings.Clone(seq)) // not the observation's whole key
	x.n++
	for i := range x.fails {
		if f := &x.fails[i]; f.info.Stream == stream && f.info.ShardID == shard && f.info.Contains(seq) {
			g.kinesisDLQ(e, ki, f)
		}
	}
}

// ingestKinesisFailure takes an on-failure record read in its destination
// queue (a dead-letter message whose body is one, see
// [tracing.ParseKinesisFailure]) and gives each held record of its range a
// dead-letter hop. It reports whether the message was such a record.
func (g *Graph) ingestKinesisFailure(o *tracing.Observation, at time.Time) bool {
	m := o.Message
	if m == nil || !m.DeadLetter || !strings.Contains(m.Body, `"KinesisBatchInfo"`) {
		return false
	}
	info, ok := tracing.ParseKinesisFailure([]byte(m.Body))
	if !ok {
		return false
	}
	x := &g.kin
	for _, f := range x.fails {
		if f.msgID == m.ID && f.queue == m.Queue {
			return true // the same message read again
		}
	}
	if !m.SentAt.IsZero() {
		at = m.SentAt
	}
	ev := "on-failure record of " + info.Function + "'s event source mapping: " + info.ShardID + ", sequence numbers " +
		info.StartSequence + " to " + info.EndSequence + " (" + strconv.Itoa(info.BatchSize) + " records, " + info.Condition + ")"
	f := kinesisFailure{info: info, queue: m.Queue, msgID: m.ID, body: m.Body, attrs: m.UserAttrs, at: at, evidence: ev}
	if len(x.fails) >= maxKinesisFails {
		x.fails = append(x.fails[:0], x.fails[1:]...)
	}
	x.fails = append(x.fails, f)
	for _, seq := range x.shards[info.Stream+"/"+info.ShardID] {
		if !info.Contains(seq) {
			continue
		}
		if ki := g.s.findStrong(tracing.KeyKinesisRecord, tracing.KinesisRecordKey(info.Stream, info.ShardID, seq).Value); ki != 0 {
			g.kinesisDLQ(g.s.key(ki).ev, ki, &x.fails[len(x.fails)-1])
		}
	}
	return true
}

// kinesisDLQ adds the dead-letter hop of one failed record.
func (g *Graph) kinesisDLQ(e, ki int32, f *kinesisFailure) {
	g.addMsg(e, &layer{
		key: g.s.keyOf(ki), ki: ki, kind: HopDeadLetter, comp: placed(g.here, tracing.Component{Kind: tracing.ComponentQueue, Name: f.queue}),
		at: f.at, recv: f.info.Attempts, evidence: f.evidence, extra: &hopExtra{body: f.body, attrs: f.attrs, evidence: f.evidence},
	})
	if f.msgID != "" {
		g.attachWeak(e, tracing.KeyCorrelation, "dlq_message_id="+f.msgID)
	}
	g.touch(e, f.at)
}

// lastHandler is the request ID of the last invocation that consumed the
// record key of event e, or "": the mapping sent the on-failure record after it.
func (g *Graph) lastHandler(e *eventView, key tracing.Key) string {
	best, at := "", time.Time{}
	for _, ref := range e.invs {
		if ref.via != key || ref.request == "" {
			continue
		}
		t := ref.at
		if inv := g.invs[ref.request]; inv != nil && !inv.start.IsZero() {
			t = inv.start
		}
		if best == "" || t.After(at) {
			best, at = ref.request, t
		}
	}
	return best
}

// kinesisAttach keeps a record's stream hop at the time the record entered
// the stream (no later than the start of the invocation that put it), and
// times the wait from there to each consumer invocation, on the stream →
// function edge and in the stream's consumer lag: what the IteratorAge
// metric measures, as the records show it. at is the invocation's start.
// The wait is known once the producer's side is: a consumer seen first is
// timed when the producer's side comes.
func (g *Graph) kinesisAttach(e, via int32, pub bool, comp tracing.Component, at time.Time) {
	s := &g.s
	if s.key(via).kind != tracing.KeyKinesisRecord || at.IsZero() {
		return
	}
	for i := s.ev(e).hops; i != 0; i = s.hop(i).next {
		h := s.hop(i)
		c := s.compIDs.get(h.comp)
		if h.key != via || h.kind != HopBroker || c.Kind != tracing.ComponentStream {
			continue
		}
		n := nanos(at)
		put := g.findRef(e, func(f *refRec) bool { return f.pub() && f.via == via }) != 0
		switch {
		case pub && !put:
			h.at = min(h.at, n)
			// The consumers seen before the producer: their wait is known now.
			for j := s.ev(e).refs; j != 0; j = s.ref(j).next {
				r := s.ref(j)
				if rc, rat := s.compIDs.get(int32(r.comp)), r.at.get(); !r.pub() && r.via == via && rc.Kind == tracing.ComponentFunction && rat > h.at {
					g.edge(c, rc, fromNanos(rat), time.Duration(rat-h.at), false)
					g.recordLag(c, rat, h.at)
				}
			}
		case pub && n < h.at:
			h.at = n
		case !pub && put && comp.Kind == tracing.ComponentFunction && n > h.at:
			g.edge(c, comp, at, time.Duration(n-h.at), false)
			g.recordLag(c, n, h.at)
		}
		return
	}
}

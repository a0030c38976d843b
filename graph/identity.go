package graph

import (
	"strings"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// ---- replays and redrives: linked, never merged ----

// link records that the event of key cp is a replayed or redriven copy of the
// event of key orig. The copy is its own event (its own hops, attempts and
// status); the original is marked redriven or replayed and lists the copy.
// Neither is ever merged into the other (see union), even though they share
// body IDs, request IDs, traces and correlation IDs.
func (g *Graph) link(cp, orig tracing.Key, rel tracing.RelKind, at time.Time) {
	c := g.eventFor(cp, at)
	orig = g.resolveOriginal(orig)
	o := g.eventFor(orig, at)
	flag := flagRedriven
	if rel == tracing.RelReplayOf {
		flag = flagReplayed
	}
	if c == o {
		// Already one event (something merged them before the link was
		// known): it cannot be split, so it reads as the copy it became.
		g.s.ev(c).addFlags(flag)
		g.s.bump(c)
		return
	}
	if !g.linked(c, o) {
		g.addLink(c, orig, rel, true, at)
		g.addLink(o, cp, rel, false, at)
	}
	g.s.ev(o).addFlags(flag)
	g.s.bump(o)
	g.s.bump(c)
	g.clearFragment(c)
	g.clearFragment(o)
}

// resolveOriginal finds the key an original is held under when the copy
// named it by another kind (flowtop-replay-of carries an event's ID or a
// message's, without saying which): the key as given if held, else the one
// held event with that value as an EventBridge, SQS, SNS or CloudEvents ID.
func (g *Graph) resolveOriginal(k tracing.Key) tracing.Key {
	if g.s.findStrong(k.Kind, k.Value) != 0 {
		return k
	}
	for _, kind := range []tracing.KeyKind{tracing.KeyEventID, tracing.KeyMessageID, tracing.KeySNSMessageID} {
		if kind != k.Kind && g.s.findStrong(kind, k.Value) != 0 {
			return tracing.Key{Kind: kind, Value: k.Value}
		}
	}
	if e := g.onlyWeak(tracing.KeyCorrelation, "ce:"+k.Value, 0); e != 0 {
		for i := g.s.ev(e).keys; i != 0; i = g.s.key(i).next {
			if kr := g.s.key(i); !kr.weak && kr.kind == tracing.KeyCloudEventID {
				return g.s.keyOf(i)
			}
		}
	}
	return k
}

func (g *Graph) addLink(e int32, other tracing.Key, rel tracing.RelKind, copy bool, at time.Time) {
	s := &g.s
	n := 0
	for i := s.evLinks[e]; i != 0; i = s.links.at(i).next {
		if n++; n >= 64 {
			return // a message replayed this often: keep the first links
		}
	}
	i := s.links.alloc()
	l := s.links.at(i)
	l.at, l.other, l.kind, l.rel, l.copy = nanos(at), s.arena.put(other.Value), other.Kind, rel, copy
	head := s.evLinks[e]
	pushList(&head, i, func(i int32) *int32 { return &s.links.at(i).next })
	s.evLinks[e] = head
}

// linked reports whether a and b are a copy and its original (either way).
func (g *Graph) linked(a, b int32) bool {
	s := &g.s
	if len(s.evLinks) == 0 || s.evLinks[a] == 0 && s.evLinks[b] == 0 {
		return false
	}
	for _, pair := range [2][2]int32{{a, b}, {b, a}} {
		for i := s.evLinks[pair[0]]; i != 0; i = s.links.at(i).next {
			l := s.links.at(i)
			var buf viewBuf
			if ki := s.findStrong(l.kind, string(s.arena.view(l.other, &buf))); ki != 0 && s.key(ki).ev == pair[1] {
				return true
			}
		}
	}
	return false
}

// originalOf returns the event e is a copy of, or 0.
func (g *Graph) originalOf(e int32) int32 {
	s := &g.s
	for i := s.evLinks[e]; i != 0; i = s.links.at(i).next {
		l := s.links.at(i)
		if !l.copy {
			continue
		}
		var buf viewBuf
		if ki := s.findStrong(l.kind, string(s.arena.view(l.other, &buf))); ki != 0 {
			return s.key(ki).ev
		}
	}
	return 0
}

// ---- live fragments ----

// holdFragment keeps event e out of the Flows list for Config.FragmentWait:
// it is known only by a delivery's message ID, seen on a span or log line
// that may have arrived before the observation that ties it to its event.
func (g *Graph) holdFragment(e int32, at time.Time) {
	if len(g.frag) >= maxFragments {
		g.fragOverflow++
		return
	}
	now := g.now
	if now.IsZero() {
		now = at
	}
	g.frag[e] = fragment{seq: g.s.ev(e).seq(), until: nanos(now.Add(g.cfg.FragmentWait))}
}

// fragmentOf reports whether e is a held fragment (expired or not).
func (g *Graph) fragmentOf(e int32) (fragment, bool) {
	if len(g.frag) == 0 {
		return fragment{}, false
	}
	f, ok := g.frag[e]
	return f, ok && f.seq == g.s.ev(e).seq()
}

// clearFragment says e now has an identity of its own.
func (g *Graph) clearFragment(e int32) {
	if len(g.frag) > 0 {
		delete(g.frag, e)
	}
}

// mergeFragments settles the fragment state of survivor a as b joins it: a
// fragment joined to an event with an identity has one too.
func (g *Graph) mergeFragments(a, b int32) {
	if len(g.frag) == 0 {
		return
	}
	fa, oka := g.fragmentOf(a)
	fb, okb := g.fragmentOf(b)
	delete(g.frag, b)
	switch {
	case oka && okb:
		if fb.until < fa.until {
			fa.until = fb.until
		}
		g.frag[a] = fa
	case oka:
		delete(g.frag, a)
	}
}

// waiting reports whether e is a fragment still held out of the Flows list.
func (g *Graph) waiting(e int32, now time.Time) bool {
	f, ok := g.fragmentOf(e)
	return ok && g.s.ev(e).flags()&flagHeld != 0 && nanos(now) < f.until
}

// sweepFragments forgets fragments whose wait is over or whose event is gone.
func (g *Graph) sweepFragments(now time.Time) {
	if len(g.frag) == 0 || now.Sub(g.fragSwept) < 250*time.Millisecond {
		return
	}
	g.fragSwept = now
	for e, f := range g.frag {
		if f.seq != g.s.ev(e).seq() || g.s.ev(e).flags()&flagHeld == 0 || nanos(now) >= f.until {
			delete(g.frag, e)
		}
	}
}

// pendingFragments counts the events held out of the Flows list now.
func (g *Graph) pendingFragments(now time.Time) int {
	n := 0
	for e := range g.frag {
		if g.waiting(e, now) {
			n++
		}
	}
	return n
}

// ---- spans and invocations ----

// invocationOfSpan returns the request ID of the invocation a span belongs
// to: its own, or its nearest ancestor's that has one (an X-Ray subsegment
// names no request ID; its function segment's parent does). "" when the span
// or its ancestors are not held.
func (g *Graph) invocationOfSpan(k tracing.Key) string {
	trs, sps, ok := strings.Cut(k.Value, "/")
	if !ok {
		return ""
	}
	tid, err := tracing.ParseTraceID(trs)
	if err != nil {
		return ""
	}
	sid, err := tracing.ParseSpanID(sps)
	if err != nil {
		return ""
	}
	return g.invocationOfSpanID(tid, sid)
}

// invocationOfSpanID is invocationOfSpan with the IDs parsed.
func (g *Graph) invocationOfSpanID(tid tracing.TraceID, sid tracing.SpanID) string {
	ss := &g.sp
	t := ss.find(tid)
	if t == 0 {
		return ""
	}
	for depth := 0; depth < 16 && sid.IsValid(); depth++ {
		next := tracing.SpanID{}
		found := false
		for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
			if r := ss.spans.at(i); r.id == sid {
				if inv := ss.invOf(i); inv.n != 0 {
					return g.s.arena.str(inv)
				}
				next, found = r.parent, true
				break
			}
		}
		if !found {
			return ""
		}
		sid = next
	}
	return ""
}

// functionFault reports whether a child of span parent is an X-Ray
// AWS::Lambda::Function segment that failed, and its cause.
func (g *Graph) functionFault(trace tracing.TraceID, parent tracing.SpanID) (string, bool) {
	ss := &g.sp
	t := ss.find(trace)
	if t == 0 {
		return "", false
	}
	for i := ss.traces.at(t).spans; i != 0; i = ss.spans.at(i).next {
		r := ss.spans.at(i)
		if r.parent != parent || r.status() != tracing.StatusError || r.flags&spanHasExtra == 0 {
			continue
		}
		if x := ss.extra[i]; x != nil && x.attrs.get("aws.function_arn") != "" {
			return x.statusMsg, true
		}
	}
	return "", false
}

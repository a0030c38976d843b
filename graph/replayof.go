package graph

import (
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// ---- archive replays that came back under a new id ----
//
// An EventBridge archive replay carries replay-name; whether it keeps the
// original's id AWS does not say. When it does, the replay links to its
// original by that id (identity.go). When it does not, it links by what a
// replay keeps: source, detail-type, time, account, region and detail,
// hashed by tracing.ReplayFingerprint. The graph remembers the fingerprints
// of the originals it saw in a bounded index; a replay whose fingerprint
// names exactly one held original links to it, one that names several links
// to none (counted ambiguous), and one that names none waits, bounded, for
// its original to arrive (counted unmatched until it does).

// replayEntryBytes estimates what one index entry takes: the fingerprint
// (32 hex digits), an event ID, a map slot and its place in the order ring.
const replayEntryBytes = 192

// replayIndexShare is the part of Config.MaxBytes the index may take.
const replayIndexShare = 64

// ReplayLinkStats are the figures of linking archive replays to their
// originals by what they keep when their id is new.
type ReplayLinkStats struct {
	Originals     int    // originals whose fingerprint is held now
	Pending       int    // replays held now, waiting for their original
	ByFingerprint uint64 // replays linked to their original by fingerprint, not id
	Late          uint64 // replays linked when their original arrived after them
	Unmatched     uint64 // replays whose original was not held when they arrived (some link Late)
	Ambiguous     uint64 // replays whose fingerprint named several originals: linked to none
	Forgotten     uint64 // fingerprints and waiting replays dropped to stay bounded
}

// fpOriginal is the original an index fingerprint names.
type fpOriginal struct {
	id   string // its EventBridge id
	many bool   // another original had the same fingerprint
	gen  uint64
}

// fpRef is a fingerprint in insertion order, for eviction.
type fpRef struct {
	fp      string
	gen     uint64
	pending bool
}

type pendingReplay struct {
	copy tracing.Key
	gen  uint64
}

type replayIndex struct {
	orig    map[string]fpOriginal
	pending map[string][]pendingReplay
	npend   int
	due     []string // event IDs replays wait for that became held
	order   []fpRef  // FIFO ring of what orig and pending hold
	head    int
	gen     uint64
	stats   ReplayLinkStats
}

// replayCap is how many fingerprints and waiting replays the index holds.
func (g *Graph) replayCap() int {
	n := g.cfg.MaxEvents
	if g.cfg.MaxBytes > 0 {
		n = min(n, int(g.cfg.MaxBytes/replayIndexShare/replayEntryBytes))
	}
	return max(n, 64)
}

// replayFingerprintOf returns the fingerprint of the EventBridge layer of m
// that relation r's copy is, or "".
func replayFingerprintOf(m *tracing.Message, r tracing.Relation) string {
	if m == nil || r.Kind != tracing.RelReplayOf {
		return ""
	}
	for _, env := range m.Layers {
		if env.Kind == tracing.EnvelopeEventBridge && len(env.Keys) > 0 && env.Keys[0] == r.From {
			return env.Fingerprint
		}
	}
	return ""
}

// replayOf links the archive replay of relation r, whose fingerprint is fp,
// to its original when the id it carries does not name a held event. It
// reports whether it settled r; false leaves r to the id path (relate).
func (g *Graph) replayOf(r tracing.Relation, fp string, at time.Time) bool {
	x := &g.rx
	o, ok := x.orig[fp]
	if ok && g.s.findStrong(tracing.KeyEventID, o.id) == 0 {
		delete(x.orig, fp) // the original was evicted since
		ok = false
	}
	held := g.s.findStrong(r.To.Kind, r.To.Value) != 0
	switch {
	case held:
		// The replay kept its original's id (or names an event known by
		// it): today's path, by id.
		return false
	case ok && o.many:
		x.stats.Ambiguous++
		return true
	case ok:
		g.link(r.From, tracing.Key{Kind: tracing.KeyEventID, Value: o.id}, tracing.RelReplayOf, at)
		x.stats.ByFingerprint++
		return true
	}
	if g.addPending(fp, r.From) {
		x.stats.Unmatched++
	}
	return true
}

// replayByID reports whether relation r, a replay or redrive named by ids
// alone (a consumer's log line logs event_id and replay_name, no
// fingerprint), may link by them now. An archive replay whose original's id
// names no held event does not: when its copy already has its original
// (linked by fingerprint) the id is a new one and names nothing; else it
// waits, bounded and counted, for an event of that id to arrive (see
// idSeen). Either way no original is made up from a replay's id.
func (g *Graph) replayByID(r tracing.Relation) bool {
	if r.Kind != tracing.RelReplayOf {
		return true
	}
	orig := g.resolveOriginal(r.To)
	if g.s.findStrong(orig.Kind, orig.Value) != 0 {
		return true
	}
	if ki := g.s.findStrong(r.From.Kind, r.From.Value); ki != 0 && g.originalOf(g.s.key(ki).ev) != 0 {
		return false
	}
	if r.To.Kind == tracing.KeyEventID {
		if g.addPending(idWait+r.To.Value, r.From) {
			g.rx.stats.Unmatched++
		}
	}
	return false
}

// idWait prefixes the pending entries that wait for an event ID, not a
// fingerprint (hex digits never start with it).
const idWait = "\x00"

// idSeen notes that an event ID became held: replays waiting for it link
// once the observation is ingested (linkWaiting).
func (g *Graph) idSeen(id string) {
	if len(g.rx.pending) > 0 {
		if _, ok := g.rx.pending[idWait+id]; ok {
			g.rx.due = append(g.rx.due, id)
		}
	}
}

// linkWaiting links the replays that waited for an event ID now held.
func (g *Graph) linkWaiting(at time.Time) {
	x := &g.rx
	if len(x.due) == 0 {
		return
	}
	due := x.due
	x.due = nil
	for _, id := range due {
		waiting := x.pending[idWait+id]
		delete(x.pending, idWait+id)
		x.npend -= len(waiting)
		orig := tracing.Key{Kind: tracing.KeyEventID, Value: id}
		if g.s.findStrong(orig.Kind, orig.Value) == 0 {
			continue
		}
		for _, p := range waiting {
			if g.s.findStrong(p.copy.Kind, p.copy.Value) == 0 {
				continue // the replay was evicted meanwhile
			}
			g.link(p.copy, orig, tracing.RelReplayOf, at)
			x.stats.Late++
		}
	}
}

// indexOriginals remembers the fingerprints of the EventBridge layers of m
// that are not replays, and links the replays that waited for them.
func (g *Graph) indexOriginals(m *tracing.Message, rels []tracing.Relation, at time.Time) {
	if m == nil {
		return
	}
outer:
	for _, env := range m.Layers {
		if env.Kind != tracing.EnvelopeEventBridge || env.Fingerprint == "" || len(env.Keys) == 0 || env.Keys[0].Kind != tracing.KeyEventID {
			continue
		}
		for _, r := range rels {
			if r.Kind == tracing.RelReplayOf && r.From == env.Keys[0] {
				continue outer // a replay, not an original
			}
		}
		g.addOriginal(env.Fingerprint, env.Keys[0].Value, at)
	}
}

func (g *Graph) addOriginal(fp, id string, at time.Time) {
	x := &g.rx
	if x.orig == nil {
		x.orig, x.pending = map[string]fpOriginal{}, map[string][]pendingReplay{}
	}
	if o, ok := x.orig[fp]; ok {
		if o.id != id && !o.many && g.s.findStrong(tracing.KeyEventID, o.id) != 0 {
			o.many = true
			x.orig[fp] = o
		} else if o.id != id {
			x.orig[fp] = fpOriginal{id: id, gen: o.gen} // the one it named is gone
		}
		return
	}
	x.gen++
	x.orig[fp] = fpOriginal{id: id, gen: x.gen}
	g.pushRef(fpRef{fp: fp, gen: x.gen})
	waiting := x.pending[fp]
	if len(waiting) == 0 {
		return
	}
	delete(x.pending, fp)
	x.npend -= len(waiting)
	orig := tracing.Key{Kind: tracing.KeyEventID, Value: id}
	for _, p := range waiting {
		if g.s.findStrong(p.copy.Kind, p.copy.Value) == 0 {
			continue // the replay was evicted meanwhile
		}
		g.link(p.copy, orig, tracing.RelReplayOf, at)
		x.stats.ByFingerprint++
		x.stats.Late++
	}
}

// addPending makes replay cp wait for the original of fingerprint fp (or,
// prefixed by idWait, of an event ID); false if it already waits for it.
func (g *Graph) addPending(fp string, cp tracing.Key) bool {
	x := &g.rx
	if x.orig == nil {
		x.orig, x.pending = map[string]fpOriginal{}, map[string][]pendingReplay{}
	}
	for _, p := range x.pending[fp] {
		if p.copy == cp {
			return false
		}
	}
	if len(x.pending[fp]) >= 16 {
		x.stats.Forgotten++ // one event replayed this often: keep the first
		return false
	}
	x.gen++
	x.pending[fp] = append(x.pending[fp], pendingReplay{copy: cp, gen: x.gen})
	x.npend++
	g.pushRef(fpRef{fp: fp, gen: x.gen, pending: true})
	return true
}

// pushRef records an entry in insertion order and forgets the oldest past
// the index's bound.
func (g *Graph) pushRef(ref fpRef) {
	x := &g.rx
	limit := g.replayCap()
	if len(x.order) < limit {
		x.order = append(x.order, ref)
		return
	}
	old := x.order[x.head]
	x.order[x.head] = ref
	x.head = (x.head + 1) % len(x.order)
	if old.pending {
		ps := x.pending[old.fp]
		for i, p := range ps {
			if p.gen == old.gen {
				ps = append(ps[:i], ps[i+1:]...)
				x.npend--
				x.stats.Forgotten++
				break
			}
		}
		if len(ps) == 0 {
			delete(x.pending, old.fp)
		} else {
			x.pending[old.fp] = ps
		}
		return
	}
	if o, ok := x.orig[old.fp]; ok && o.gen == old.gen {
		delete(x.orig, old.fp)
		x.stats.Forgotten++
	}
}

// ReplayLinkStats returns how archive replays with new ids were linked.
func (g *Graph) ReplayLinkStats() ReplayLinkStats {
	g.mu.RLock()
	defer g.mu.RUnlock()
	st := g.rx.stats
	st.Originals, st.Pending = len(g.rx.orig), g.rx.npend
	return st
}

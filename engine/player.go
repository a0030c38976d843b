package engine

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowtop/flowtop/engine/recording"
	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// playerName is the player's name in the health list.
const playerName = "recording"

// Speeds are the playback speeds the player steps through; 0 is "as fast as
// ingest goes".
var Speeds = []float64{1, 2, 10, 0}

// Player replays a recording into a lineage graph of its own, by the times
// the observations reached the recorded graph: the graph's clock is the
// recording's, so ages, rates and "in flight" read as they did live. It is
// the engine's source when there are no live ones: `flowtop open` plays it
// with time controls, and `lineage`/`cost --from-file` ingest it whole.
//
// Jumping back in time rebuilds the graph from the start of the recording
// (a graph only grows), so [Player.Graph] may return a new graph after a
// seek; [Player.Generation] changes when it does. Control methods are safe
// from any goroutine; one goroutine runs [Player.Run].
type Player struct {
	rec *recording.Recording
	cfg graph.Config

	g     atomic.Pointer[graph.Graph]
	gen   atomic.Uint64
	clock atomic.Int64 // the recording's time now, Unix ns

	mu      sync.Mutex
	paused  bool
	speed   int               // index into Speeds
	seekTo  *time.Time        // a jump the loop has yet to make
	frame   int               // next frame to read
	cols    recording.Columns // the frame being played
	pos     int               // next record in cols
	played  uint64
	notes   []string
	wake    chan struct{}
	realNow func() time.Time
	ahead   []*decoded    // the next frames, in order, being decoded on other goroutines
	workers chan struct{} // a token per frame being decoded
}

// decoded is a frame decoded ahead of ingest, so that decoding the next
// frames overlaps ingesting this one (opening a large recording takes the
// longer of the two, not their sum), on the cores ingest leaves.
type decoded struct {
	i       int
	started chan struct{} // closed once its decoding has a worker: the next frame's may take one
	c       chan decoded
	cols    recording.Columns
	err     error
}

// aheadFrames is how many frames are decoded ahead of the one ingested. A
// frame is a millisecond or two of decoding: a queue that short would leave
// ingest waiting whenever the decoding goroutine lost its core for one of the
// scheduler's slices on a busy machine, so the queue is deep, while the
// workers decoding it are few (see takeAhead).
const aheadFrames = 16

// decodeAhead starts decoding frame i once after (the frame before it in the
// queue, or nil) has a worker, so frames take the workers in order; or
// returns nil past the last frame.
func (p *Player) decodeAhead(i int, after *decoded) *decoded {
	if i >= len(p.rec.Frames) {
		return nil
	}
	d := &decoded{i: i, started: make(chan struct{}), c: make(chan decoded, 1)}
	workers := p.workers
	go func() {
		if after != nil {
			<-after.started
		}
		workers <- struct{}{}
		close(d.started)
		cols, err := p.rec.DecodeColumns(i)
		<-workers
		d.c <- decoded{cols: cols, err: err}
	}()
	return d
}

// takeAhead returns frame i's decoding (started now if it was not yet) and
// queues the decoding of up to aheadFrames frames after it. They are decoded
// in order by as many workers as there are cores besides the one ingesting
// (at least one): more would take the ingesting goroutine's core, and
// ingest, not decoding, is what opening waits for. A jump back leaves
// decodings of later frames queued: they are dropped. p.mu is held.
func (p *Player) takeAhead(i int) *decoded {
	if p.workers == nil {
		p.workers = make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 1))
	}
	if len(p.ahead) > 0 && p.ahead[0].i != i {
		clear(p.ahead)
		p.ahead = p.ahead[:0]
	}
	if len(p.ahead) == 0 {
		p.ahead = append(p.ahead, p.decodeAhead(i, nil))
	}
	for last := p.ahead[len(p.ahead)-1]; len(p.ahead) <= aheadFrames && last.i+1 < len(p.rec.Frames); {
		last = p.decodeAhead(last.i+1, last)
		p.ahead = append(p.ahead, last)
	}
	d := p.ahead[0]
	p.ahead = append(p.ahead[:0], p.ahead[1:]...)
	return d
}

// OpenRecording reads and indexes the recording at path, ready to play into
// a graph built with cfg (whose Now is replaced by the recording's clock).
// Damaged frames and a torn tail are skipped; [Player.Notes] says so.
func OpenRecording(path string, cfg graph.Config) (*Player, error) {
	rec, err := recording.Open(path)
	if err != nil {
		return nil, err
	}
	p := &Player{rec: rec, cfg: cfg, notes: append([]string(nil), rec.Notes...), wake: make(chan struct{}, 1), realNow: time.Now}
	p.clock.Store(rec.First.UnixNano())
	p.cfg.Now = func() time.Time { return time.Unix(0, p.clock.Load()) }
	p.g.Store(graph.New(p.cfg))
	return p, nil
}

// Recording is the index of what is played.
func (p *Player) Recording() *recording.Recording { return p.rec }

// Graph is the graph the player fills now.
func (p *Player) Graph() *graph.Graph { return p.g.Load() }

// Generation changes whenever [Player.Graph] is replaced (a jump back).
func (p *Player) Generation() uint64 { return p.gen.Load() }

// Now is the recording's time the graph has reached.
func (p *Player) Now() time.Time { return time.Unix(0, p.clock.Load()) }

// Notes are what was skipped or dropped reading the recording.
func (p *Player) Notes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.notes...)
}

// LoadAll ingests the whole recording at once (for `--from-file`): the graph
// then holds what the recorded one held when recording stopped.
func (p *Player) LoadAll(ctx context.Context) error {
	p.advance(ctx, p.rec.Last.UnixNano(), true)
	return ctx.Err()
}

// advance ingests every record up to until (Unix ns), one original batch
// (records ingested at one instant) at a time, with the clock at each
// batch's time. It returns false when the recording is over.
func (p *Player) advance(ctx context.Context, until int64, all bool) bool {
	for ctx.Err() == nil {
		p.mu.Lock()
		if p.pos >= len(p.cols.Obs) {
			if p.frame >= len(p.rec.Frames) {
				p.mu.Unlock()
				return false
			}
			if !all && p.rec.Frames[p.frame].First.UnixNano() > until {
				p.mu.Unlock()
				return true
			}
			i := p.frame
			p.frame++
			next := p.takeAhead(i)
			p.mu.Unlock()
			d := <-next.c
			cols, err := d.cols, d.err
			p.mu.Lock()
			if err != nil {
				p.notes = append(p.notes, err.Error())
			}
			// Every batch of the last frame has been ingested (here, on this
			// goroutine) and the graph keeps none of it: its memory decodes
			// a later frame.
			p.cols.Recycle()
			p.cols, p.pos = cols, 0
			p.mu.Unlock()
			continue
		}
		at := p.cols.At[p.pos]
		if at > until && !all {
			p.mu.Unlock()
			return true
		}
		end := p.pos + 1
		for end < len(p.cols.At) && p.cols.At[end] == at && end-p.pos < 4096 {
			end++
		}
		// The frame's own records, not a copy: nothing else holds them.
		b := tracing.Batch(p.cols.Obs[p.pos:end:end])
		p.pos = end
		p.played += uint64(len(b))
		p.mu.Unlock()
		if at > p.clock.Load() {
			p.clock.Store(at)
		}
		p.Graph().Ingest(b)
	}
	return true
}

// Run plays the recording until ctx ends: at the chosen speed, paused, or
// jumping as asked. At the end it holds the last moment.
func (p *Player) Run(ctx context.Context) error {
	const step = 50 * time.Millisecond
	tick := time.NewTicker(step)
	defer tick.Stop()
	last := p.realNow()
	for {
		p.mu.Lock()
		seek, paused, speed := p.seekTo, p.paused, Speeds[p.speed]
		p.seekTo = nil
		p.mu.Unlock()
		now := p.realNow()
		elapsed := now.Sub(last)
		last = now
		switch {
		case seek != nil:
			p.jump(ctx, seek.UnixNano())
		case paused:
		case speed == 0:
			// As fast as ingest goes, in slices so controls stay live.
			p.advance(ctx, p.clock.Load()+int64(10*time.Second), false)
			p.clock.Store(max(p.clock.Load(), min(p.clock.Load()+int64(10*time.Second), p.rec.Last.UnixNano())))
		default:
			to := p.clock.Load() + int64(float64(elapsed)*speed)
			if to > p.rec.Last.UnixNano() {
				to = p.rec.Last.UnixNano()
			}
			p.advance(ctx, to, false)
			p.clock.Store(max(p.clock.Load(), to))
		}
		if speed == 0 && !paused && seek == nil && p.clock.Load() < p.rec.Last.UnixNano() {
			select {
			case <-ctx.Done():
				return nil
			default:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-p.wake:
		}
	}
}

// jump moves the graph to the recording's time to: forward by ingesting, back
// by rebuilding a graph from the start.
func (p *Player) jump(ctx context.Context, to int64) {
	to = min(max(to, p.rec.First.UnixNano()), p.rec.Last.UnixNano())
	if to < p.clock.Load() {
		p.mu.Lock()
		p.cols.Recycle()
		p.frame, p.cols, p.pos, p.played = 0, recording.Columns{}, 0, 0
		p.mu.Unlock()
		p.clock.Store(p.rec.First.UnixNano())
		p.g.Store(graph.New(p.cfg))
		p.gen.Add(1)
	}
	p.advance(ctx, to, false)
	p.clock.Store(max(p.clock.Load(), to))
}

func (p *Player) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// TogglePause pauses or resumes playback.
func (p *Player) TogglePause() {
	p.mu.Lock()
	p.paused = !p.paused
	p.mu.Unlock()
	p.poke()
}

// Faster steps to the next speed (1×, 2×, 10×, max).
func (p *Player) Faster() {
	p.mu.Lock()
	p.speed = min(p.speed+1, len(Speeds)-1)
	p.mu.Unlock()
	p.poke()
}

// Slower steps to the previous speed.
func (p *Player) Slower() {
	p.mu.Lock()
	p.speed = max(p.speed-1, 0)
	p.mu.Unlock()
	p.poke()
}

// Seek jumps to the recording's time t (clamped to the recording).
func (p *Player) Seek(t time.Time) {
	p.mu.Lock()
	p.seekTo = &t
	p.mu.Unlock()
	p.poke()
}

// SeekBy jumps d forward (or back, when negative) from the current time.
func (p *Player) SeekBy(d time.Duration) {
	p.mu.Lock()
	base := time.Unix(0, p.clock.Load())
	if p.seekTo != nil {
		base = *p.seekTo
	}
	t := base.Add(d)
	p.seekTo = &t
	p.mu.Unlock()
	p.poke()
}

// Bounds are the recording's first and last times.
func (p *Player) Bounds() (first, last time.Time) { return p.rec.First, p.rec.Last }

// Status is one line for the console's header: state, speed and position,
// such as "▶ 2× 12:03:10 (1m5s of 7m0s)".
func (p *Player) Status() string {
	p.mu.Lock()
	paused, speed := p.paused, Speeds[p.speed]
	p.mu.Unlock()
	now := p.Now()
	state := "▶"
	switch {
	case paused:
		state = "⏸"
	case !now.Before(p.rec.Last):
		state = "■"
	}
	sp := "max"
	if speed > 0 {
		sp = fmt.Sprintf("%g×", speed)
	}
	return fmt.Sprintf("%s %s %s (%s of %s)", state, sp, now.Format("15:04:05"),
		now.Sub(p.rec.First).Round(time.Second), p.rec.Last.Sub(p.rec.First).Round(time.Second))
}

// Health reports the player as the console's one source.
func (p *Player) Health() tracing.SourceHealth {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := tracing.SourceHealth{
		Source: playerName, State: tracing.SourceStateOK, Items: p.played,
		Mode: fmt.Sprintf("playing %s", tracing.Sanitize(p.rec.Path, false)),
	}
	if n := len(p.notes); n > 0 {
		h.LastError = p.notes[n-1]
	}
	return h
}

package recording

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/flowtop/flowtop/tracing"
)

// Options tune a [Writer]. Zero values pick the defaults noted.
type Options struct {
	Flowtop    string        // flowtop's version, for the header
	Title      string        // what is recorded, for the header
	MaxBytes   int64         // stop (with a note) before the file passes this size; 0 is no limit
	ChunkBytes int           // records per frame, in encoded bytes (default 256 KiB)
	FlushEvery time.Duration // a frame is written at least this often (default 1s)
	Queue      int           // frames waiting for the disk before new ones are dropped (default 64)
	Now        func() time.Time
	// Codec compresses frames: "s2" (the default), "zstd" (about 30% smaller
	// files for twice the CPU) or "none".
	Codec string
}

// chunk is one frame's records on their way to the disk.
type chunk struct {
	raw         []byte
	count       int
	first, last int64
}

// Writer appends observations to a recording. [Writer.Add] never blocks:
// it encodes the batch into the current frame and hands full frames to a
// goroutine that compresses and writes them through a bounded queue; a frame
// that finds the queue full is dropped and its records counted. After a
// write fails (a full disk) the writer stops and says why in [Writer.Health].
// It is safe for concurrent use.
type Writer struct {
	path string
	opts Options
	f    *os.File
	q    chan chunk
	done chan struct{}

	mu      sync.Mutex
	enc     *encoder
	count   int
	first   int64
	last    int64
	closed  bool
	stopped bool   // no more records are taken: a write failed or the limit was reached
	why     string // why stopped
	failed  bool
	written uint64 // records written
	bytes   int64  // bytes in the file
	dropped uint64 // records dropped
	queued  int    // records in the queue
	// free holds frame buffers the disk goroutine is done with, for Add to
	// fill again, the last one returned first (the one still in cache).
	// Not a sync.Pool: a pool is emptied by every GC, and ingest collects
	// often, so a frame could cost a fresh 320 KiB buffer (zeroed, then
	// garbage).
	free [][]byte
}

// Create opens path for appending (creating it) and starts the writer. An
// existing recording is kept: the new session follows it, after its own
// header frame.
func Create(path string, opts Options) (*Writer, error) {
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = defaultChunk
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = defaultFlush
	}
	if opts.Queue <= 0 {
		opts.Queue = defaultQueue
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: %w", err)
	}
	hdr, _ := json.Marshal(Header{Format: FormatVersion, Flowtop: opts.Flowtop, Started: opts.Now().UTC(), Title: opts.Title})
	frame := putFrame(nil, frameHeader{kind: kindHeader, codec: codecNone}, hdr)
	if _, err := f.Write(frame); err != nil {
		f.Close()
		return nil, fmt.Errorf("recording: write %s: %w", path, err)
	}
	w := &Writer{path: path, opts: opts, f: f, q: make(chan chunk, opts.Queue), done: make(chan struct{}), enc: newEncoder()}
	w.bytes = st.Size() + int64(len(frame))
	w.enc.buf = make([]byte, 0, opts.ChunkBytes+opts.ChunkBytes/4)
	go w.run()
	return w, nil
}

// Path is the recording's file.
func (w *Writer) Path() string { return w.path }

// Add records a batch as ingested now. It never blocks on the disk.
func (w *Writer) Add(b tracing.Batch) {
	if len(b) == 0 {
		return
	}
	at := w.opts.Now()
	ns := at.UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.closed {
		w.dropped += uint64(len(b))
		return
	}
	if w.count == 0 {
		w.enc.reset(ns)
		w.first = ns
	}
	for i := range b {
		w.enc.record(at, &b[i])
	}
	w.count += len(b)
	w.last = ns
	if len(w.enc.buf) >= w.opts.ChunkBytes {
		w.cutLocked()
	}
}

// cutLocked hands the current frame to the disk goroutine, or drops it.
func (w *Writer) cutLocked() {
	if w.count == 0 {
		return
	}
	c := chunk{raw: w.enc.buf, count: w.count, first: w.first, last: w.last}
	select {
	case w.q <- c:
		w.queued += c.count
		if n := len(w.free); n > 0 {
			w.enc.buf, w.free = w.free[n-1][:0], w.free[:n-1]
		} else {
			w.enc.buf = make([]byte, 0, w.opts.ChunkBytes+w.opts.ChunkBytes/4)
		}
	default:
		w.dropped += uint64(c.count)
		w.enc.buf = w.enc.buf[:0]
	}
	w.count = 0
}

// run compresses and writes frames until Close.
func (w *Writer) run() {
	defer close(w.done)
	var zw *zstd.Encoder
	var err error
	if w.opts.Codec == "zstd" {
		zw, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	}
	if err != nil {
		w.stop(fmt.Sprintf("recording: %v", err), true)
	}
	tick := time.NewTicker(w.opts.FlushEvery)
	defer tick.Stop()
	var frame, comp []byte
	lastSync := time.Now()
	for {
		select {
		case c, ok := <-w.q:
			if !ok {
				if err := w.f.Sync(); err != nil && !w.isStopped() {
					w.stop(fmt.Sprintf("recording: sync %s: %v", w.path, err), true)
				}
				return
			}
			if w.isStopped() {
				w.mu.Lock()
				w.dropped += uint64(c.count)
				w.queued -= c.count
				w.mu.Unlock()
				continue
			}
			var codec uint8
			switch w.opts.Codec {
			case "zstd":
				comp, codec = zw.EncodeAll(c.raw, comp[:0]), codecZstd
			case "none":
				comp, codec = append(comp[:0], c.raw...), codecNone
			default:
				comp, codec = s2.Encode(comp[:cap(comp)], c.raw), codecS2
			}
			frame = putFrame(frame[:0], frameHeader{kind: kindObs, codec: codec, ver: recordVersion, count: uint32(c.count), first: c.first, last: c.last}, comp)
			w.mu.Lock()
			if len(w.free) < freeBuffers { // else enough spare buffers: this one is garbage
				w.free = append(w.free, c.raw[:0])
			}
			w.mu.Unlock()
			w.write(frame, c.count)
			if time.Since(lastSync) >= syncEvery {
				lastSync = time.Now()
				if err := w.f.Sync(); err != nil {
					w.stop(fmt.Sprintf("recording: sync %s: %v; stopped after %d bytes", w.path, err, w.sizeNow()), true)
				}
			}
		case <-tick.C:
			w.mu.Lock()
			if !w.closed {
				w.cutLocked()
			}
			w.mu.Unlock()
		}
	}
}

func (w *Writer) write(frame []byte, count int) {
	w.mu.Lock()
	w.queued -= count
	if w.opts.MaxBytes > 0 && w.bytes+int64(len(frame)) > w.opts.MaxBytes {
		w.dropped += uint64(count)
		w.mu.Unlock()
		w.stop(fmt.Sprintf("recording: %s reached its limit of %d bytes; stopped recording", w.path, w.opts.MaxBytes), false)
		return
	}
	w.mu.Unlock()
	n, err := w.f.Write(frame)
	w.mu.Lock()
	w.bytes += int64(n)
	if err == nil {
		w.written += uint64(count)
	} else {
		w.dropped += uint64(count)
	}
	size := w.bytes
	w.mu.Unlock()
	if err != nil {
		w.stop(fmt.Sprintf("recording: write %s: %v; stopped after %d bytes (the recording so far stays readable)", w.path, err, size), true)
	}
}

func (w *Writer) sizeNow() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bytes
}

func (w *Writer) isStopped() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped
}

func (w *Writer) stop(why string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped, w.why, w.failed = true, why, failed
}

// Close writes what is pending, syncs and closes the file. It returns why
// recording stopped early, if it did.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	if !w.stopped {
		// The last frame waits for room rather than being dropped.
		c := chunk{raw: w.enc.buf, count: w.count, first: w.first, last: w.last}
		w.count = 0
		w.closed = true
		w.queued += c.count
		w.mu.Unlock()
		if c.count > 0 {
			w.q <- c
		}
	} else {
		w.closed = true
		w.dropped += uint64(w.count)
		w.count = 0
		w.mu.Unlock()
	}
	close(w.q)
	<-w.done
	cerr := w.f.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped && w.failed {
		return fmt.Errorf("%s", w.why)
	}
	if cerr != nil {
		return fmt.Errorf("recording: close %s: %w", w.path, cerr)
	}
	return nil
}

// Stats are a writer's counts.
type Stats struct {
	Written, Dropped uint64 // records
	Bytes            int64  // the file's size
	Stopped          string // why recording stopped early; empty while it runs
}

// Stats returns the writer's counts.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{Written: w.written, Dropped: w.dropped, Bytes: w.bytes, Stopped: w.why}
}

// Health reports the recorder as a source, for the console's header and the
// health list: "recording FILE (N MB)", records written and dropped, and why
// it stopped.
func (w *Writer) Health() tracing.SourceHealth {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := tracing.SourceHealth{
		Source: recorderName, State: tracing.SourceStateOK, Items: w.written, Dropped: w.dropped,
		Mode: fmt.Sprintf("recording %s (%.1f MB)", w.path, float64(w.bytes)/1e6),
	}
	switch {
	case w.stopped && w.failed:
		h.State, h.LastError = tracing.SourceStateFailed, w.why
	case w.stopped:
		h.State, h.Mode = tracing.SourceStateStopped, w.why
	case w.closed:
		h.State = tracing.SourceStateStopped
	}
	return h
}

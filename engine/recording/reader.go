package recording

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/flowtop/flowtop/tracing"
)

// Frame is one observations frame of a recording, as the index lists it.
type Frame struct {
	Offset      int64
	Count       int
	First, Last time.Time // ingest times of its first and last record
	codec       uint8
	ver         uint8
	first       int64
	payload     []byte
}

// Recording is a recording read into memory and indexed: its sessions'
// headers, its frames in file order, and notes about what was dropped.
type Recording struct {
	Path    string
	Headers []Header
	Frames  []Frame
	// Notes say what was skipped or dropped, and why, one line each:
	// "recording: dropped a torn tail of 812 bytes at offset 1048612".
	Notes       []string
	Count       int       // records in all whole frames
	First, Last time.Time // ingest times of the first and last record
	Size        int64
}

var decoders = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecoded), zstd.WithDecoderMaxWindow(maxDecoded))
})

// Open reads and indexes the recording at path.
func Open(path string) (*Recording, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	r, err := Parse(data)
	if r != nil {
		r.Path = path
	}
	return r, err
}

// Parse indexes a recording held in data (which it keeps). Damaged frames
// are skipped and a torn tail dropped, each with a note; a recording with no
// header, or one written by a newer format, is an error.
func Parse(data []byte) (*Recording, error) {
	r := &Recording{Size: int64(len(data))}
	off := 0
	for off < len(data) {
		h, payload, ok := parseFrame(data[off:])
		if !ok {
			next := -1 // the next intact frame, to resynchronise on
			for s := off + 1; s < len(data); {
				i := bytes.Index(data[s:], magic[:])
				if i < 0 {
					break
				}
				if _, _, ok := parseFrame(data[s+i:]); ok {
					next = s + i
					break
				}
				s += i + 1
			}
			if next < 0 {
				r.Notes = append(r.Notes, fmt.Sprintf("recording: dropped a torn tail of %d bytes at offset %d", len(data)-off, off))
				break
			}
			r.Notes = append(r.Notes, fmt.Sprintf("recording: skipped %d damaged bytes at offset %d", next-off, off))
			off = next
			continue
		}
		switch h.kind {
		case kindHeader:
			var hd Header
			if err := json.Unmarshal(payload, &hd); err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("recording: unreadable header at offset %d: %v", off, err))
			} else if hd.Format > FormatVersion {
				return r, fmt.Errorf("recording: written in format %d by flowtop %s; this flowtop reads format %d: upgrade flowtop", hd.Format, tracing.Sanitize(hd.Flowtop, false), FormatVersion)
			} else {
				r.Headers = append(r.Headers, hd)
			}
		case kindObs:
			if len(r.Headers) == 0 {
				return r, fmt.Errorf("recording: no header before offset %d: not a flowtop recording", off)
			}
			f := Frame{Offset: int64(off), Count: int(h.count), First: time.Unix(0, h.first), Last: time.Unix(0, h.last), codec: h.codec, ver: h.ver, first: h.first, payload: payload}
			if r.Count == 0 || f.First.Before(r.First) {
				r.First = f.First
			}
			if f.Last.After(r.Last) {
				r.Last = f.Last
			}
			r.Count += f.Count
			r.Frames = append(r.Frames, f)
		default:
			r.Notes = append(r.Notes, fmt.Sprintf("recording: skipped a frame of unknown kind %d at offset %d", h.kind, off))
		}
		off += headerSize + len(payload)
	}
	if len(r.Headers) == 0 {
		return r, fmt.Errorf("recording: not a flowtop recording (no header frame)")
	}
	return r, nil
}

// Record is one observation with the time it reached the graph.
type Record struct {
	At  time.Time
	Obs tracing.Observation
}

// Decode returns frame i's records. A frame that decompresses but does not
// decode keeps the records before the damage and returns an error naming it.
func (r *Recording) Decode(i int) ([]Record, error) {
	raw, err := r.raw(i)
	if err != nil {
		return nil, err
	}
	f := r.Frames[i]
	return decodeRecords(raw, f.first, f.Count, f.Offset, f.ver)
}

// Columns are a frame's records as two columns: At[j] (Unix ns) is when
// Obs[j] reached the graph. A player hands runs of Obs to the graph as
// batches without copying them.
type Columns struct {
	At  []int64
	Obs []tracing.Observation
	mem *frameMem // what Obs and what its records point to live in, for Recycle
}

// frameMem is the memory one frame's columns take: the columns and the slabs
// their records' keys, relations, log lines, spans and invocations come from.
type frameMem struct {
	at    []int64
	obs   []tracing.Observation
	keys  []tracing.Key
	rels  []tracing.Relation
	logs  []tracing.LogRecord
	spans []tracing.Span
	invs  []tracing.Invocation
}

// frameMems holds the memory of recycled frames (see [Columns.Recycle]).
var frameMems = sync.Pool{New: func() any { return new(frameMem) }}

// Recycle hands the columns' memory back for the next frame decoded, once
// the caller is done with them: nothing may use c, its observations or what
// they point to (their strings excepted, which are never reused) afterwards.
// Opening a recording of a million observations then reuses a few frames'
// worth of memory instead of allocating half a gigabyte for the collector.
func (c Columns) Recycle() {
	m := c.mem
	if m == nil {
		return
	}
	// Cleared, so that a reused slab's elements are zero (take's promise)
	// and a pooled one holds nothing alive.
	clear(m.obs[:cap(m.obs)])
	clear(m.keys[:cap(m.keys)])
	clear(m.rels[:cap(m.rels)])
	clear(m.logs[:cap(m.logs)])
	clear(m.spans[:cap(m.spans)])
	clear(m.invs[:cap(m.invs)])
	m.at, m.obs = m.at[:0], m.obs[:0]
	m.keys, m.rels, m.logs, m.spans, m.invs = m.keys[:0], m.rels[:0], m.logs[:0], m.spans[:0], m.invs[:0]
	frameMems.Put(m)
}

// DecodeColumns is [Recording.Decode] into columns. Their memory may be
// reused with [Columns.Recycle].
func (r *Recording) DecodeColumns(i int) (Columns, error) {
	buf := rawBufs.Get().(*[]byte)
	defer rawBufs.Put(buf)
	raw, err := r.rawInto(i, buf)
	if err != nil {
		return Columns{}, err
	}
	f := r.Frames[i]
	return decodeColumnsIn(frameMems.Get().(*frameMem), raw, f.first, f.Count, f.Offset, f.ver)
}

// rawBufs holds buffers to decompress frames into. Decoding copies every
// string and byte it keeps out of the frame, so a frame's buffer is free
// again once it is decoded: opening a large recording then decompresses into
// a few buffers instead of allocating (and zeroing) one a frame.
var rawBufs = sync.Pool{New: func() any { return new([]byte) }}

// decodeColumns decodes a frame's records into columns (see decodeRecords).
func decodeColumns(raw []byte, base int64, count int, offset int64, ver uint8) (Columns, error) {
	return decodeColumnsIn(nil, raw, base, count, offset, ver)
}

// decodeColumnsIn is decodeColumns into m's memory (empty, zero), which the
// columns keep, when m is not nil.
func decodeColumnsIn(m *frameMem, raw []byte, base int64, count int, offset int64, ver uint8) (c Columns, err error) {
	d := &decoder{buf: raw, base: base, ver: ver}
	n := min(count, len(raw))
	if m == nil || cap(m.obs) < n {
		c.At, c.Obs = make([]int64, 0, n), make([]tracing.Observation, 0, n)
	} else {
		c.At, c.Obs = m.at, m.obs
	}
	if m != nil {
		d.keys, d.rels, d.logs, d.spans, d.invs = m.keys, m.rels, m.logs, m.spans, m.invs
		c.mem = m
		defer func() {
			// The slabs the frame ended with (grown, if it needed more) are
			// the next frame's; earlier ones go with the columns.
			m.at, m.obs = c.At, c.Obs
			m.keys, m.rels, m.logs, m.spans, m.invs = d.keys, d.rels, d.logs, d.spans, d.invs
		}()
	}
	for len(d.buf) > 0 && len(c.Obs) < count {
		m := d.uvarint()
		if d.err != nil || m > uint64(len(d.buf)) {
			return c, fmt.Errorf("recording: frame at offset %d: record %d is damaged", offset, len(c.Obs))
		}
		rest := d.buf[m:]
		d.buf = d.buf[:m]
		c.Obs = append(c.Obs, tracing.Observation{})
		at := d.observationInto(&c.Obs[len(c.Obs)-1])
		if d.err != nil {
			c.Obs = c.Obs[:len(c.Obs)-1]
			return c, fmt.Errorf("recording: frame at offset %d: record %d is damaged", offset, len(c.Obs))
		}
		c.At = append(c.At, at.UnixNano())
		d.buf = rest
	}
	return c, nil
}

// raw is frame i's payload, decompressed.
func (r *Recording) raw(i int) ([]byte, error) { return r.rawInto(i, nil) }

// rawInto is raw, decompressed into *buf when buf is not nil (which it grows
// as needed and keeps). An uncompressed frame is its payload, not a copy.
func (r *Recording) rawInto(i int, buf *[]byte) ([]byte, error) {
	if i < 0 || i >= len(r.Frames) {
		return nil, fmt.Errorf("recording: no frame %d", i)
	}
	f := r.Frames[i]
	raw := f.payload
	switch f.codec {
	case codecNone:
	case codecZstd:
		dec, err := decoders()
		if err != nil {
			return nil, fmt.Errorf("recording: %w", err)
		}
		var dst []byte
		if buf != nil {
			dst = (*buf)[:0]
		} else {
			dst = make([]byte, 0, len(f.payload)*6)
		}
		raw, err = dec.DecodeAll(f.payload, dst)
		if buf != nil && cap(raw) > cap(*buf) && cap(raw) <= maxDecoded {
			*buf = raw[:0]
		}
		if err != nil {
			return nil, fmt.Errorf("recording: frame at offset %d: %w", f.Offset, err)
		}
	case codecS2:
		n, err := s2.DecodedLen(f.payload)
		if err != nil || n > maxDecoded {
			return nil, fmt.Errorf("recording: frame at offset %d: damaged (s2)", f.Offset)
		}
		var dst []byte
		switch {
		case buf == nil:
			dst = make([]byte, n)
		case cap(*buf) >= n:
			dst = (*buf)[:n]
		default:
			*buf = make([]byte, n)
			dst = *buf
		}
		raw, err = s2.Decode(dst, f.payload)
		if err != nil {
			return nil, fmt.Errorf("recording: frame at offset %d: %w", f.Offset, err)
		}
	default:
		return nil, fmt.Errorf("recording: frame at offset %d: unknown codec %d", f.Offset, f.codec)
	}
	return raw, nil
}

// decodeRecords decodes a frame's records: count at most, each a uvarint
// length and the record (fields a newer writer appended are skipped).
func decodeRecords(raw []byte, base int64, count int, offset int64, ver uint8) ([]Record, error) {
	d := &decoder{buf: raw, base: base, ver: ver}
	out := make([]Record, 0, min(count, len(raw)))
	for len(d.buf) > 0 && len(out) < count {
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.buf)) {
			return out, fmt.Errorf("recording: frame at offset %d: record %d is damaged", offset, len(out))
		}
		rest := d.buf[n:]
		d.buf = d.buf[:n]
		at, o := d.observation()
		if d.err != nil {
			return out, fmt.Errorf("recording: frame at offset %d: record %d is damaged", offset, len(out))
		}
		out = append(out, Record{At: at, Obs: o})
		d.buf = rest
	}
	return out, nil
}

// Each calls fn with every record in file order, frame by frame (frames
// are decoded ahead on another goroutine), and stops when fn returns false.
// A damaged frame is skipped with a note in the returned list.
func (r *Recording) Each(fn func(frame int, recs []Record) bool) (notes []string) {
	type res struct {
		i    int
		recs []Record
		err  error
	}
	ch := make(chan res, 4)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(ch)
		for i := range r.Frames {
			recs, err := r.Decode(i)
			select {
			case ch <- res{i, recs, err}:
			case <-stop:
				return
			}
		}
	}()
	for x := range ch {
		if x.err != nil {
			notes = append(notes, x.err.Error())
		}
		if len(x.recs) > 0 && !fn(x.i, x.recs) {
			return notes
		}
	}
	return notes
}

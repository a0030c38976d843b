// Package recording is flowtop's flight recorder: it writes the observation
// stream that reaches the lineage graph to a file, and reads such a file back.
// A recording is the incident artifact an engineer shares: `flowtop open FILE`
// plays it in the console, and `lineage`/`cost --from-file FILE` answer from it.
//
// # Format (version 1)
//
// A recording is a sequence of frames, appended and never rewritten:
//
//	offset size
//	0      4    magic 0xF7 'f' 't' 'r'
//	4      1    kind: 1 header (JSON), 2 observations
//	5      1    codec: 0 none, 1 zstd, 2 s2
//	6      1    record encoding: 0 format 1, 2 format 2, 3 format 3
//	7      1    reserved, zero
//	8      4    payload length (little endian)
//	12     4    records in the payload
//	16     8    first record's ingest time, Unix ns (the time base of the payload)
//	24     8    last record's ingest time, Unix ns
//	32     4    CRC-32C of bytes 0..31 and the payload
//	36     n    payload
//
// Every session starts with a header frame ([Header]: format version,
// flowtop version, start time). An observations frame's payload, once
// decompressed, is its records back to back, each a uvarint length and the
// record (codec.go). A frame is written with one write call when it is full
// (256 KiB of records) or a second old, so a crash loses at most the last
// second, and a torn frame at the end is recognised by its length and CRC and
// dropped with a note; a damaged frame in the middle is skipped the same way
// and the reader resynchronises on the next magic.
//
// Compression is S2 (a faster Snappy) from github.com/klauspost/compress, a
// well-kept module (Prometheus, Loki and the Docker engine use it). The
// recorder runs beside ingest, so its CPU is what counts: on a sandbox
// stream replayed at 50,000 observations/s (bench_test.go), zstd at its
// fastest level took about twice S2's CPU for files about 30% smaller, and
// compress/gzip at BestSpeed is slower than zstd. zstd stays readable and
// selectable (Options.Codec).
//
// Format 2 adds span events and components' account and region, and writes
// a live-tailed log line's made-up event ID as the part between its stream
// and its message. Its frames say so in byte 6, so a recording that holds
// format 1 sessions (before an append) still reads.
//
// Format 3 (this version) spends fewer bytes, and so less compression CPU,
// on what an observation repeats: a record's ingest time is written
// relative to the record before's, its time relative to its ingest time and
// its other times (log line, span start and end, events, messages) relative
// to its time; a trace ID the frame just wrote (an invocation's log lines,
// span and report share one) is one byte, as is an unset one or an unset
// parent or segment ID; a made-up event ID whose middle is the line's time
// in Unix ms is one byte. About 20% fewer bytes in the file and in S2's
// input on a sandbox-shaped stream. This package reads formats 1, 2 and 3
// (testdata/v1.ftr, v2.ftr); flowtop before a format refuses its files by
// their header.
package recording

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// FormatVersion is the version of the format this package writes. Readers
// refuse recordings whose header names a newer one.
const FormatVersion = 3

// recordVersion is the record encoding this package writes (frame byte 6).
const recordVersion = 3

const (
	headerSize    = 36
	maxPayload    = 64 << 20 // a frame larger than this is corrupt
	maxDecoded    = 64 << 20 // nor may one decompress to more
	kindHeader    = 1
	kindObs       = 2
	codecNone     = 0
	codecZstd     = 1
	codecS2       = 2
	defaultChunk  = 256 << 10
	defaultFlush  = time.Second
	defaultQueue  = 64
	freeBuffers   = 8 // spare frame buffers a writer keeps (2.5 MiB at the default chunk)
	syncEvery     = 5 * time.Second
	recorderName  = "recorder"
	frameMagicLen = 4
)

var (
	magic  = [frameMagicLen]byte{0xF7, 'f', 't', 'r'}
	crcTab = crc32.MakeTable(crc32.Castagnoli)
)

// Header is the JSON payload of a header frame.
type Header struct {
	Format  int       `json:"format"`
	Flowtop string    `json:"flowtop"`
	Started time.Time `json:"started"`
	// Title names what was recorded (the account and region, or the sandbox).
	Title string `json:"title,omitempty"`
}

// frameHeader is the fixed part of a frame.
type frameHeader struct {
	kind, codec uint8
	ver         uint8 // record encoding (byte 6): 0 for format 1, 2 for format 2
	length      uint32
	count       uint32
	first, last int64
}

// putFrame appends the frame for payload to dst.
func putFrame(dst []byte, h frameHeader, payload []byte) []byte {
	var hb [headerSize]byte
	copy(hb[:4], magic[:])
	hb[4], hb[5], hb[6] = h.kind, h.codec, h.ver
	binary.LittleEndian.PutUint32(hb[8:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hb[12:], h.count)
	binary.LittleEndian.PutUint64(hb[16:], uint64(h.first))
	binary.LittleEndian.PutUint64(hb[24:], uint64(h.last))
	crc := crc32.Update(crc32.Checksum(hb[:32], crcTab), crcTab, payload)
	binary.LittleEndian.PutUint32(hb[32:], crc)
	dst = append(dst, hb[:]...)
	return append(dst, payload...)
}

// parseFrame reads the frame at the start of b. ok is false when b does not
// start with a whole, intact frame.
func parseFrame(b []byte) (h frameHeader, payload []byte, ok bool) {
	if len(b) < headerSize || [4]byte(b[:4]) != magic {
		return h, nil, false
	}
	h.kind, h.codec, h.ver = b[4], b[5], b[6]
	h.length = binary.LittleEndian.Uint32(b[8:])
	h.count = binary.LittleEndian.Uint32(b[12:])
	h.first = int64(binary.LittleEndian.Uint64(b[16:]))
	h.last = int64(binary.LittleEndian.Uint64(b[24:]))
	if h.length > maxPayload || uint64(len(b)-headerSize) < uint64(h.length) {
		return h, nil, false
	}
	payload = b[headerSize : headerSize+int(h.length)]
	want := binary.LittleEndian.Uint32(b[32:])
	if crc32.Update(crc32.Checksum(b[:32], crcTab), crcTab, payload) != want {
		return h, nil, false
	}
	return h, payload, true
}

//go:build !unix || race

package graph

// chunkMem owns nothing here: chunks are Go slices.
type chunkMem struct{}

func mapChunk[T any](int) ([]T, *chunkMem) { return nil, nil }

func (m *chunkMem) free() {}

// MappedBytes is what the graphs of this process hold outside the Go heap:
// nothing on this platform or under the race detector.
func MappedBytes() int64 { return 0 }

func offHeapBytes() int64 { return 0 }

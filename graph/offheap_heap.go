//go:build !unix || race

package graph

// chunkMem owns nothing here: chunks are Go slices.
type chunkMem struct{}

func mapChunk[T any](int) ([]T, *chunkMem) { return nil, nil }

func (m *chunkMem) free() {}

func offHeapBytes() int64 { return 0 }

func (m *chunkMem) size() int64 { return 0 }

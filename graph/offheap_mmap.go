//go:build unix && !race

package graph

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// mapped counts the bytes mapped by every graph of the process.
var mapped atomic.Int64

func offHeapBytes() int64 { return mapped.Load() }

// chunkMem owns one anonymous mapping. The mapping is released by free, or
// by a cleanup once the chunkMem is unreachable.
type chunkMem struct {
	b       []byte
	cleanup runtime.Cleanup
}

// mapChunk maps n values of T (zeroed by the kernel, and resident only once
// written), or returns nil when the system refuses.
func mapChunk[T any](n int) ([]T, *chunkMem) {
	size := n * int(unsafe.Sizeof(*new(T)))
	if size == 0 {
		return nil, nil
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil
	}
	mapped.Add(int64(size))
	m := &chunkMem{b: b}
	m.cleanup = runtime.AddCleanup(m, func(b []byte) {
		mapped.Add(-int64(len(b)))
		_ = syscall.Munmap(b)
	}, b)
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n), m
}

// free unmaps the chunk now; nothing may use it afterwards.
func (m *chunkMem) free() {
	if m == nil || m.b == nil {
		return
	}
	m.cleanup.Stop()
	mapped.Add(-int64(len(m.b)))
	_ = syscall.Munmap(m.b)
	m.b = nil
}

// size is the mapping's length, 0 once freed.
func (m *chunkMem) size() int64 {
	if m == nil {
		return 0
	}
	return int64(len(m.b))
}

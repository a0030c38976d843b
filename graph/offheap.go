package graph

import (
	"reflect"
	"sync"
)

// The graph's slabs, arena and hash tables hold millions of records and no
// Go pointers. Kept on the Go heap, they would count towards the collector's
// goal, and the heap would grow ahead of them by GOGC (another 50–100% of
// what is held, which a user sees as resident memory). Where the platform
// allows (offheap_mmap.go), their chunks are mapped from the operating system
// instead: a process holding a million events is then resident for what
// they take, and the collector's headroom is only that of the small Go heap
// beside them. Elsewhere, and under the race detector (which watches only
// the Go heap), the chunks are ordinary Go slices (offheap_heap.go).
//
// A chunk is unmapped when its owner frees it (a slab never does; the arena
// and the tables do when they are rebuilt) or, at the latest, after the
// collector finds the chunkMem that owns it unreachable.

// pointerFree reports whether values of t hold no Go pointers, so that the
// collector need not see them.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

var pointerFreeTypes sync.Map // reflect.Type → bool

// offHeapOK reports whether a []T may live outside the Go heap.
func offHeapOK[T any]() bool {
	t := reflect.TypeFor[T]()
	if v, ok := pointerFreeTypes.Load(t); ok {
		return v.(bool)
	}
	ok := pointerFree(t)
	pointerFreeTypes.Store(t, ok)
	return ok
}

// newChunk returns n zeroed values of T, outside the Go heap when the
// platform allows and T holds no pointers; mem is then the mapping's owner
// (nil for a Go slice).
func newChunk[T any](n int) (c []T, mem *chunkMem) {
	if n > 0 && offHeapOK[T]() {
		if c, mem = mapChunk[T](n); c != nil {
			return c, mem
		}
	}
	return make([]T, n), nil
}

// MappedBytes is what the graph holds outside the Go heap: its slabs, arena
// and tables, mapped from the operating system (their pages become resident
// once written), or 0 where they are Go slices. A figure of the Go heap
// leaves them out; add this one for what the graph holds.
func (g *Graph) MappedBytes() int64 {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.mappedBytes()
}

// mappedBytes is MappedBytes; the caller holds a lock.
func (g *Graph) mappedBytes() int64 {
	var n int64
	add := func(mems []*chunkMem) {
		for _, m := range mems {
			n += m.size()
		}
	}
	add(g.s.events.mems)
	add(g.s.keys.mems)
	add(g.s.hops.mems)
	add(g.s.refs.mems)
	add(g.s.links.mems)
	add(g.s.arena.mems)
	add(g.sp.traces.mems)
	add(g.sp.spans.mems)
	return n + g.s.index.mem.size() + g.sp.index.mem.size()
}

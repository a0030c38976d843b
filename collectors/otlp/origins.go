package otlp

import (
	"sync"
	"time"

	"github.com/flowtop/flowtop/tracing"
)

// originWindow is how long a sender or a service counts after its last
// export: the header says where spans come from now, not since the start.
const originWindow = 30 * time.Second

// origins counts where accepted spans and log records come from: the peer
// addresses that sent them and the resource service.name values they carry,
// each seen within originWindow. Both sets hold at most tracing.MaxOrigins
// entries; a full set stops growing, and its count reads as full.
type origins struct {
	mu       sync.Mutex
	now      func() time.Time
	peers    map[string]int64 // address → last export, unix ns
	services map[string]int64 // service.name → last export, unix ns
}

func newOrigins(now func() time.Time) *origins {
	if now == nil {
		now = time.Now
	}
	return &origins{now: now, peers: map[string]int64{}, services: map[string]int64{}}
}

// saw records one accepted export from peer carrying batch.
func (o *origins) saw(peer string, batch tracing.Batch) {
	at := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	if peer != "" {
		o.put(o.peers, peer, at)
	}
	last := ""
	for i := range batch {
		name := batch[i].Component.Name
		if sp := batch[i].Span; sp != nil {
			name = sp.Service
		}
		if name != "" && name != last { // a batch is mostly one service
			last = name
			o.put(o.services, name, at)
		}
	}
}

// put sets key's time, forgetting entries out of the window when the set is full.
func (o *origins) put(set map[string]int64, key string, at int64) {
	if _, ok := set[key]; !ok && len(set) >= tracing.MaxOrigins {
		sweep(set, at)
		if len(set) >= tracing.MaxOrigins {
			return
		}
	}
	set[key] = at
}

func sweep(set map[string]int64, at int64) {
	for k, t := range set {
		if at-t > int64(originWindow) {
			delete(set, k)
		}
	}
}

// counts returns the senders and services seen within the window.
func (o *origins) counts() (senders, services int) {
	at := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	sweep(o.peers, at)
	sweep(o.services, at)
	return len(o.peers), len(o.services)
}

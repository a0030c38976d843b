package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is what to inject into calls of one service, or of one operation.
// Rates are probabilities from 0 to 1, drawn per call.
type Fault struct {
	Throttle float64 // answer with the service's throttling error
	Error5xx float64 // answer 500 InternalFailure
	Drop     float64 // close the connection without answering
	// Lost performs the call, then closes the connection without answering:
	// the change is made, the caller can't know it (chaos kind "lost").
	Lost    float64
	Latency time.Duration // add this delay before answering
	// Miss is, for SQS's short poll (ReceiveMessage with WaitTimeSeconds
	// 0), the chance that each visible message is left out of the answer:
	// AWS samples a subset of its servers, so a short poll "might not
	// return all of your messages" (chaos kind "miss"; the sandbox
	// otherwise returns every visible one).
	Miss float64
}

// Faults holds the faults to inject, by "service" or "service.Operation"
// (e.g. "sqs" or "sqs.SendMessage"); the more specific entry wins.
type Faults struct {
	mu    sync.Mutex
	rules map[string]Fault
	rnd   *rand.Rand
}

// NewFaults returns an empty fault set with a deterministic random source.
func NewFaults(seed uint64) *Faults {
	return &Faults{rules: map[string]Fault{}, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Set installs f for target ("sqs", "sqs.SendMessage", or "*" for every service).
func (f *Faults) Set(target string, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[target] = fault
}

// Clear removes every fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.rules)
}

type faultKind uint8

const (
	faultNone faultKind = iota
	faultLatency
	faultThrottle
	fault5xx
	faultDrop
	faultLost
)

type decision struct {
	kind  faultKind
	delay time.Duration
}

func (f *Faults) decide(svc, op string) decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	rule, ok := f.rules[svc+"."+op]
	if !ok {
		rule, ok = f.rules[svc]
	}
	if !ok {
		rule, ok = f.rules["*"]
	}
	if !ok {
		return decision{}
	}
	x := f.rnd.Float64()
	switch {
	case x < rule.Throttle:
		return decision{kind: faultThrottle}
	case x < rule.Throttle+rule.Error5xx:
		return decision{kind: fault5xx}
	case x < rule.Throttle+rule.Error5xx+rule.Drop:
		return decision{kind: faultDrop}
	case x < rule.Throttle+rule.Error5xx+rule.Drop+rule.Lost:
		return decision{kind: faultLost}
	case rule.Latency > 0:
		return decision{kind: faultLatency, delay: rule.Latency}
	}
	return decision{}
}

// miss draws whether a short poll of svc.op leaves one message out (see
// [Fault.Miss]).
func (f *Faults) miss(svc, op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	rule, ok := f.rules[svc+"."+op]
	if !ok {
		rule, ok = f.rules[svc]
	}
	if !ok {
		rule, ok = f.rules["*"]
	}
	return ok && rule.Miss > 0 && f.rnd.Float64() < rule.Miss
}

// ParseChaos reads the `--chaos` flag syntax: comma-separated
// target:kind=value items, e.g. "sqs:throttle=0.1,logs.FilterLogEvents:5xx=0.05,*:latency=20ms,xray:drop=0.01".
// The kinds: throttle, 5xx, drop (no answer, nothing done), lost (done, then
// no answer: "sqs.SendMessageBatch:lost=0.1"), miss (an SQS short poll
// leaves each message out with this chance, as AWS's sampling does) and
// latency.
func ParseChaos(spec string) (map[string]Fault, error) {
	out := map[string]Fault{}
	if strings.TrimSpace(spec) == "" {
		return out, nil
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		target, setting, ok := strings.Cut(item, ":")
		if !ok || target == "" {
			return nil, fmt.Errorf("sandbox: chaos %q: want target:kind=value, e.g. sqs:throttle=0.1", item)
		}
		kind, value, ok := strings.Cut(setting, "=")
		if !ok {
			return nil, fmt.Errorf("sandbox: chaos %q: want kind=value after the colon", item)
		}
		fault := out[target]
		switch kind {
		case "throttle", "5xx", "drop", "lost", "miss":
			p, err := strconv.ParseFloat(value, 64)
			if err != nil || p < 0 || p > 1 {
				return nil, fmt.Errorf("sandbox: chaos %q: %s wants a probability from 0 to 1", item, kind)
			}
			switch kind {
			case "throttle":
				fault.Throttle = p
			case "5xx":
				fault.Error5xx = p
			case "lost":
				fault.Lost = p
			case "miss":
				fault.Miss = p
			default:
				fault.Drop = p
			}
		case "latency":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("sandbox: chaos %q: latency wants a duration such as 20ms", item)
			}
			fault.Latency = d
		default:
			return nil, fmt.Errorf("sandbox: chaos %q: unknown kind %q (throttle, 5xx, drop, lost, miss, latency)", item, kind)
		}
		out[target] = fault
	}
	return out, nil
}

// discardWriter is a ResponseWriter whose answer goes nowhere: the call it
// serves happens, its answer is lost.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// serveLost performs the call, then closes the connection without a word,
// as a connection cut right after the service acted does.
func serveLost(svc service, w http.ResponseWriter, r *http.Request, op string, body []byte) {
	svc.serve(&discardWriter{}, r, op, body)
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// No connection to cut (HTTP/2): answer what a proxy that lost it would.
	svc.writeError(w, http.StatusBadGateway, "ServiceUnavailable", "the answer was lost after the call succeeded (injected by the sandbox)")
}

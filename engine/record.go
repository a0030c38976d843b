package engine

import (
	"errors"
	"sync"

	"github.com/flowtop/flowtop/engine/recording"
	"github.com/flowtop/flowtop/tracing"
)

// recorder is the engine's flight recorder: at most one [recording.Writer],
// fed by the sink every observation reaches the graph through.
type recorder struct {
	mu sync.Mutex
	w  *recording.Writer
}

func (r *recorder) writer() *recording.Writer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w
}

// graphSink is what the hub (and the engine's direct ingest) hands batches
// to: the recorder first, then the graph. Recording never blocks ingest.
type graphSink struct{ e *Engine }

// Ingest records b, when recording, and ingests it.
func (s graphSink) Ingest(b tracing.Batch) {
	if w := s.e.rec.writer(); w != nil {
		w.Add(b)
	}
	s.e.graph.Ingest(b)
}

// Record starts writing every observation that reaches the graph to path
// (appending to a recording already there), until [Engine.Close] or
// [Engine.StopRecording]. version is flowtop's, for the file's header. Call
// it before [Engine.Start] to record from the first observation.
func (e *Engine) Record(path, version string) error {
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if e.rec.w != nil {
		return errors.New("engine: already recording to " + e.rec.w.Path())
	}
	w, err := recording.Create(path, recording.Options{Flowtop: version, Title: e.set.Title, Now: e.set.Now})
	if err != nil {
		return err
	}
	e.rec.w = w
	e.log.Info("recording", tracing.LogKeyTarget, path)
	return nil
}

// StopRecording writes what is pending and closes the recording. It returns
// why recording stopped early (a full disk), if it did.
func (e *Engine) StopRecording() error {
	e.rec.mu.Lock()
	w := e.rec.w
	e.rec.w = nil
	e.rec.mu.Unlock()
	if w == nil {
		return nil
	}
	err := w.Close()
	st := w.Stats()
	e.log.Info("recording stopped", tracing.LogKeyTarget, w.Path(), tracing.LogKeyRecords, st.Written, tracing.LogKeyDropped, st.Dropped)
	return err
}

// RecordingStats are the flight recorder's counts, and false when it is off.
func (e *Engine) RecordingStats() (recording.Stats, bool) {
	if w := e.rec.writer(); w != nil {
		return w.Stats(), true
	}
	return recording.Stats{}, false
}

// recorderHealth is the recorder as a source in the health list, or false.
func (e *Engine) recorderHealth() (tracing.SourceHealth, bool) {
	if w := e.rec.writer(); w != nil {
		return w.Health(), true
	}
	return tracing.SourceHealth{}, false
}

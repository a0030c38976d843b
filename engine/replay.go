package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/replay"
	"github.com/flowtop/flowtop/tracing"
)

// ErrNoStoredCopy means an event never reached a DLQ, so there is no body to
// replay: the caller must supply one.
var ErrNoStoredCopy = errors.New("engine: no stored copy of the event (it never reached a DLQ)")

// Replayer is the redrive and replay executor over the engine's AWS
// configuration, read-only setting and state directory (built once).
func (e *Engine) Replayer() *replay.Replayer {
	e.replayOnce.Do(func() {
		c := e.set.AWS
		e.replayer = replay.New(sqs.NewFromConfig(c), replay.Options{ReadOnly: e.set.ReadOnly, StateDir: e.set.StateDir}).
			WithBrokers(replay.Brokers{EventBridge: eventbridge.NewFromConfig(c), SNS: sns.NewFromConfig(c), Lambda: awslambda.NewFromConfig(c)})
	})
	return e.replayer
}

// PlanRedrive plans a DLQ redrive. When req.ConsumerErrors is nil, each
// message is grouped by the consumer error the graph knows for it; when
// req.Bodies is nil, the bodies the graph holds are the plan's. With
// several contexts watched the plan is made by the context that holds the
// DLQ ([Engine.ForQueue]), whose [Engine.Replayer] must execute it: call
// ForQueue first and use its engine for both.
func (e *Engine) PlanRedrive(ctx context.Context, req replay.RedriveRequest) (replay.RedrivePlan, error) {
	if len(e.members) > 0 {
		in, err := e.ForQueue(ctx, req.DLQ)
		if err != nil {
			return replay.RedrivePlan{}, err
		}
		return in.PlanRedrive(ctx, req)
	}
	if req.ConsumerErrors == nil {
		req.ConsumerErrors = e.ConsumerErrors(req.DLQ)
	}
	if req.Bodies == nil { // a stream's on-failure record is named by its range
		req.Bodies = map[string]string{}
		for _, m := range e.graph.DLQMessages(queueName(req.DLQ)) {
			req.Bodies[m.MessageID] = m.Body
		}
	}
	return e.Replayer().PlanRedrive(ctx, req)
}

// ForArchive is the engine that acts on an EventBridge archive given by
// name or ARN: with several contexts, the one of the region its ARN names,
// else the only context that has an archive of that name; an
// *AmbiguousError names the contexts when several do.
func (e *Engine) ForArchive(ctx context.Context, archive string) (*Engine, error) {
	if len(e.members) == 0 {
		return e, nil
	}
	if account, region := graph.RefPlace(archive); region != "" {
		return e.In(account, region)
	}
	var names []string
	var found *Engine
	var errs []error
	for _, m := range e.members {
		have, err := m.e.Replayer().ArchivesOf(ctx, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ctx.Name, err))
		}
		if slices.Contains(have, archive) {
			names, found = append(names, m.ctx.Name), m.e
		}
	}
	switch len(names) {
	case 0:
		if len(errs) == len(e.members) {
			return nil, errors.Join(errs...)
		}
		return e.members[0].e, nil // it answers "no such archive" itself
	case 1:
		return found, nil
	}
	return nil, &AmbiguousError{What: "archive " + archive, Candidates: names}
}

// StoredCopy is the body and message ID of the event's first DLQ copy, for a
// replay: what the graph knows of the event with this ID. It returns
// graph.ErrNotFound or graph.ErrAmbiguous from the lookup, or
// [ErrNoStoredCopy].
func (e *Engine) StoredCopy(id string) (body, messageID string, err error) {
	l, err := e.graph.Lineage(id)
	if err != nil {
		return "", "", err
	}
	if len(l.DLQ) == 0 {
		return "", "", ErrNoStoredCopy
	}
	return l.DLQ[0].Body, l.DLQ[0].MessageID, nil
}

// ExecuteReplay sends a replay and tells the graph at once that the new
// message or event is a copy of its original, before the copy's consumers
// log it: the copy is then an event of its own, linked replay-of, and never
// merges into the original although it carries the same body IDs.
func (e *Engine) ExecuteReplay(ctx context.Context, plan replay.ReplayPlan) (string, error) {
	id, err := e.Replayer().ExecuteReplay(ctx, plan)
	if err != nil || id == "" {
		return id, err
	}
	kind := tracing.KeyMessageID // sqs and sns answer a MessageId
	switch plan.Target.Kind {
	case "events":
		kind = tracing.KeyEventID
	case "lambda":
		kind = tracing.KeyRequestID
	}
	e.ingest(ctx, tracing.Batch{tracing.CopyObservation(tracing.Key{Kind: kind, Value: id}, e.originalKey(plan.OriginalID),
		tracing.RelReplayOf, e.set.Now(), "flowtop replay to "+plan.Target.String())})
	return id, nil
}

// originalKey is the key of the event a replay copies: the strong key that
// carries the ID the plan names, else that ID as a message ID (a DLQ copy).
func (e *Engine) originalKey(id string) tracing.Key {
	if l, err := e.graph.Lineage(id); err == nil {
		for _, k := range l.Keys {
			if k.Value == id && k.Kind.Strong() {
				return k
			}
		}
	}
	return tracing.Key{Kind: tracing.KeyMessageID, Value: id}
}

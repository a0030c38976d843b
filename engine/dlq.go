package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/flowtop/flowtop/graph"
	"github.com/flowtop/flowtop/tracing"
)

// QueueIn is a queue and the watched context it lives in; Context, Account
// and Region are "" when one context is watched.
type QueueIn struct {
	tracing.QueueInfo
	Context, Account, Region string
}

// DLQs lists the dead-letter queues (the queues some RedrivePolicy names),
// with depth, in-flight count and source queues: every watched context's,
// each named with its context, so two regions' DLQs of one name are two.
// One context's failure is reported when no context answers.
func (e *Engine) DLQs(ctx context.Context) ([]QueueIn, error) {
	if len(e.members) == 0 {
		return e.ownDLQs(ctx)
	}
	var out []QueueIn
	var errs []error
	for _, m := range e.members {
		qs, err := m.e.ownDLQs(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ctx.Name, err))
			continue
		}
		out = append(out, qs...)
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (e *Engine) ownDLQs(ctx context.Context) ([]QueueIn, error) {
	qs, err := e.dlq.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []QueueIn
	for _, q := range qs {
		if q.IsDLQ {
			x := QueueIn{QueueInfo: q}
			if m := e.self; m != nil {
				x.Context, x.Account, x.Region = m.ctx.Name, m.ctx.Account, m.ctx.Region
			}
			out = append(out, x)
		}
	}
	return out, nil
}

// Peek returns up to max messages of a queue (a name or URL) and gives them
// back at once; each message's receive count rises by one. With several
// contexts it peeks in the one that holds the queue (see [Engine.ForQueue]).
func (e *Engine) Peek(ctx context.Context, queue string, max int) ([]tracing.Observation, error) {
	in, err := e.ForQueue(ctx, queue)
	if err != nil {
		return nil, err
	}
	return in.dlq.Peek(ctx, queue, max)
}

// ConsumerErrors maps each message of a DLQ that the graph knows to the
// error its consumer last reported; a context's engine reads its own
// region's DLQ only.
func (e *Engine) ConsumerErrors(queue string) map[string]string {
	out := map[string]string{}
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: queueName(queue)}
	if m := e.self; m != nil {
		q.Account, q.Region = m.ctx.Account, m.ctx.Region
	}
	for _, m := range e.graph.DLQMessagesIn(q) {
		out[m.MessageID] = m.Error
	}
	return out
}

// ErrAmbiguous means a bare name matches resources in several watched
// contexts: the caller must say which (an ARN, a URL or a region).
var ErrAmbiguous = errors.New("engine: the name is in several watched contexts")

// AmbiguousError names the contexts a bare name was found in.
type AmbiguousError struct {
	What       string   // "queue orders-dlq"
	Candidates []string // the contexts' names
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("engine: %s is in %d watched contexts (%s): name it by its ARN or URL, or narrow with --region",
		e.What, len(e.Candidates), strings.Join(e.Candidates, ", "))
}

// Unwrap makes errors.Is(err, ErrAmbiguous) hold.
func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// In is the engine that acts in the watched context of this account and
// region (an empty account matches any): the engine itself when one
// context is watched, or when both are "".
func (e *Engine) In(account, region string) (*Engine, error) {
	if len(e.members) == 0 || account == "" && region == "" {
		return e, nil
	}
	var names []string
	var found *Engine
	for _, m := range e.members {
		// A context whose account STS did not tell goes by its profile name.
		if m.ctx.Region == region && (account == "" || m.ctx.Account == account || !graph.IsAccountID(m.ctx.Account)) {
			names = append(names, m.ctx.Name)
			found = m.e
		}
	}
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("engine: no watched context is in %s", strings.Trim(account+"/"+region, "/"))
	case 1:
		return found, nil
	}
	return nil, &AmbiguousError{What: "account/region " + strings.Trim(account+"/"+region, "/"), Candidates: names}
}

// InContext is the engine of the watched context at index i of
// [Engine.Contexts], or e itself when one context is watched.
func (e *Engine) InContext(i int) *Engine {
	if i < 0 || i >= len(e.members) {
		return e
	}
	return e.members[i].e
}

// ForQueue is the engine that acts on a queue given by name, URL or ARN:
// with several contexts, the one of the region (and account) its ARN or URL
// names, else the only context whose DLQ collector lists a queue of that
// name; an *AmbiguousError names the contexts when several do.
func (e *Engine) ForQueue(ctx context.Context, queue string) (*Engine, error) {
	if len(e.members) == 0 {
		return e, nil
	}
	if account, region := graph.RefPlace(queue); region != "" {
		return e.In(account, region)
	}
	name := queueName(queue)
	var names []string
	var found *Engine
	var errs []error
	for _, m := range e.members {
		qs, err := m.e.dlq.List(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.ctx.Name, err))
			continue
		}
		for _, q := range qs {
			if q.Name == name {
				names = append(names, m.ctx.Name)
				found = m.e
				break
			}
		}
	}
	switch len(names) {
	case 0:
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return e.members[0].e, nil // it answers "no such queue" itself
	case 1:
		return found, nil
	}
	return nil, &AmbiguousError{What: "queue " + name, Candidates: names}
}

// queueName is the name of a queue given by name, URL or ARN.
func queueName(s string) string {
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

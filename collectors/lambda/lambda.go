// Package lambda discovers Lambda functions and their configuration (memory,
// architecture, timeout, log group, tracing) for cost and for finding logs.
package lambda

import (
	"context"
	"fmt"
	"sync"
	"time"

	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/flowtop/flowtop/collectors"
	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the Lambda client this collector uses.
type API interface {
	ListFunctions(ctx context.Context, in *awslambda.ListFunctionsInput, opts ...func(*awslambda.Options)) (*awslambda.ListFunctionsOutput, error)
}

// Config sets the collector.
type Config struct {
	Refresh time.Duration // how often to list functions again (default 5m)
}

// Source lists the functions periodically and emits ObsFunction observations.
type Source struct {
	api     API
	cfg     Config
	tracker *collectors.Tracker

	mu  sync.Mutex
	fns []tracing.FunctionConfig
}

// New returns a Lambda configuration source.
func New(api API, cfg Config) *Source {
	if cfg.Refresh <= 0 {
		cfg.Refresh = 5 * time.Minute
	}
	t := collectors.NewTracker("lambda", nil)
	t.SetMode("polling")
	return &Source{api: api, cfg: cfg, tracker: t}
}

// Name is "lambda".
func (s *Source) Name() string { return "lambda" }

// Health reports the source's state.
func (s *Source) Health() tracing.SourceHealth { return s.tracker.Health() }

// Functions returns what the last discovery found.
func (s *Source) Functions() []tracing.FunctionConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]tracing.FunctionConfig(nil), s.fns...)
}

// maxPages bounds one listing: 1,000 pages of 50 is 50,000 functions, far
// beyond any real account, and an endpoint that never stops paging must not
// keep flowtop listing forever.
const maxPages = 1000

// Discover lists every function once. A function listed twice (an endpoint
// repeating a page) is kept once; an entry without a name is counted as
// unparsed and skipped.
func (s *Source) Discover(ctx context.Context) ([]tracing.FunctionConfig, error) {
	var out []tracing.FunctionConfig
	seen := map[string]bool{}
	p := awslambda.NewListFunctionsPaginator(s.api, &awslambda.ListFunctionsInput{}, func(o *awslambda.ListFunctionsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	var err error
	for pages := 0; p.HasMorePages(); pages++ {
		if pages == maxPages {
			err = fmt.Errorf("lambda: ListFunctions: stopped after %d pages", maxPages)
			break
		}
		page, perr := p.NextPage(ctx)
		if perr != nil {
			return nil, awsutil.Explain("lambda", "", "lambda:ListFunctions", perr)
		}
		for _, f := range page.Functions {
			fc := tracing.FunctionConfig{Name: deref(f.FunctionName), ARN: deref(f.FunctionArn), Runtime: string(f.Runtime), Architecture: "x86_64"}
			if fc.Name == "" {
				s.tracker.Unparsed(1)
				continue
			}
			if seen[fc.Name] {
				continue
			}
			seen[fc.Name] = true
			if f.MemorySize != nil {
				fc.MemoryMB = int(*f.MemorySize)
			}
			if f.Timeout != nil {
				fc.Timeout = time.Duration(*f.Timeout) * time.Second
			}
			if len(f.Architectures) > 0 && f.Architectures[0] != "" {
				fc.Architecture = string(f.Architectures[0])
			}
			fc.LogGroup = "/aws/lambda/" + fc.Name
			if lc := f.LoggingConfig; lc != nil {
				if lc.LogGroup != nil && *lc.LogGroup != "" {
					fc.LogGroup = *lc.LogGroup
				}
				fc.LogFormat = string(lc.LogFormat)
			}
			if f.TracingConfig != nil {
				fc.Tracing = string(f.TracingConfig.Mode)
			}
			out = append(out, fc)
		}
	}
	s.mu.Lock()
	s.fns = out
	s.mu.Unlock()
	return out, err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Batch turns configurations into observations.
func Batch(fns []tracing.FunctionConfig, at time.Time) tracing.Batch {
	b := make(tracing.Batch, 0, len(fns))
	for i := range fns {
		f := fns[i]
		b = append(b, tracing.Observation{
			Kind: tracing.ObsFunction, Source: "lambda", Time: at,
			Component: tracing.Component{Kind: tracing.ComponentFunction, Name: f.Name}, Function: &f,
		})
	}
	return b
}

// Run discovers now and every Refresh until ctx ends.
func (s *Source) Run(ctx context.Context, out chan<- tracing.Batch) error {
	collectors.Poll(ctx, s.tracker, s.cfg.Refresh, func(ctx context.Context) error {
		fns, err := s.Discover(ctx)
		if err != nil {
			return err
		}
		s.tracker.OK(len(fns), time.Time{})
		select {
		case out <- Batch(fns, time.Now()):
		case <-ctx.Done():
		}
		return nil
	})
	return nil
}

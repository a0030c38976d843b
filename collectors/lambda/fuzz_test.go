package lambda

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// fuzzMaxBody caps one fuzzed ListFunctions page.
const fuzzMaxBody = 32 << 10

// functionConfigSeeds are ListFunctions pages built from the function
// configurations recorded against real AWS in the sample corpus (see
// testdata/corpus/SOURCES.md), one configuration a page.
func functionConfigSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var pages [][]byte
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["FunctionName"].(string); ok {
				if _, ok := x["Runtime"]; ok {
					if b, err := json.Marshal(map[string]any{"Functions": []any{x}}); err == nil && len(b) <= fuzzMaxBody {
						pages = append(pages, b)
					}
				}
			}
			for _, val := range x {
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, name := range []string{"lambda-logs/localstack-test_lambda.snapshot.json", "sqs/localstack-test_lambda_destinations.snapshot.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", name))
		if err != nil {
			tb.Fatalf("seed corpus: %v", err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			tb.Fatalf("seed corpus %s: %v", name, err)
		}
		walk(doc)
	}
	if len(pages) < 3 {
		tb.Fatalf("seed corpus: only %d function configurations", len(pages))
	}
	if len(pages) > 40 {
		pages = pages[:40]
	}
	return pages
}

// FuzzDiscover answers ListFunctions with arbitrary pages (the same page for
// every request, as a broken or hostile endpoint might) through the real SDK
// client. Discover must not panic, must end after a bounded number of
// requests, and when it succeeds it reports every named function of the page,
// each with a log group and an architecture.
func FuzzDiscover(f *testing.F) {
	for _, p := range functionConfigSeeds(f) {
		f.Add(p)
	}
	f.Add([]byte(`{"Functions":[{"FunctionName":"a","MemorySize":-1,"Timeout":2147483647,"Architectures":[],"LoggingConfig":{"LogGroup":""}}],"NextMarker":"m"}`))
	f.Add([]byte(`{"Functions":[{},{"FunctionName":""},null]}`))
	var (
		mu    sync.Mutex
		page  []byte
		calls atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		b := page
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)
	c := awslambda.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxBody {
			return
		}
		mu.Lock()
		page = body
		mu.Unlock()
		calls.Store(0)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s := New(c, Config{})
		fns, err := s.Discover(ctx)
		if ctx.Err() != nil {
			t.Fatalf("Discover ran until its context ended (%d requests)", calls.Load())
		}
		if n := calls.Load(); n > maxPages {
			t.Fatalf("Discover made %d requests for one repeated page", n)
		}
		if err != nil {
			return
		}
		// Count the named functions of the page as the SDK reads it: exact
		// field names.
		// field names; a function listed twice counts once.
		var doc map[string]json.RawMessage
		var entries []map[string]json.RawMessage
		if json.Unmarshal(body, &doc) != nil || json.Unmarshal(doc["Functions"], &entries) != nil {
			return
		}
		named := map[string]bool{}
		for _, fn := range entries {
			var name string
			if json.Unmarshal(fn["FunctionName"], &name) == nil && name != "" {
				named[name] = true
			}
		}
		if len(fns) != len(named) {
			t.Fatalf("%d named functions on the page, %d discovered", len(named), len(fns))
		}
		for _, fc := range fns {
			if fc.Name == "" || fc.LogGroup == "" || fc.Architecture == "" {
				t.Fatalf("incomplete configuration %+v", fc)
			}
		}
		if got := s.Functions(); len(got) != len(fns) {
			t.Fatalf("Functions() has %d, Discover returned %d", len(got), len(fns))
		}
		b := Batch(fns, time.Unix(0, 0))
		for i, o := range b {
			if o.Function == nil || o.Function.Name != fns[i].Name || o.Component.Name != fns[i].Name {
				t.Fatalf("observation %d does not match its configuration: %+v", i, o)
			}
		}
	})
}

package cwlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/eventstream"

	"github.com/flowtop/flowtop/tracing"
)

// fuzzMaxFrame caps one fuzzed response body or event-stream payload.
const fuzzMaxFrame = 32 << 10

// logMessageSeeds are real Lambda log lines (START, END, REPORT, JSON and
// Powertools lines) from the sample corpus, see testdata/corpus/SOURCES.md.
func logMessageSeeds(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "corpus", "lambda-logs", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("seed corpus: %v (%d files)", err, len(files))
	}
	seen := map[string]bool{}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && k == "message" && len(s) < 4096 && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var doc any
		if json.Unmarshal(b, &doc) == nil {
			walk(doc)
		}
	}
	if len(out) < 5 {
		tb.Fatalf("seed corpus: only %d log messages", len(out))
	}
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// fuzzLogsServer answers the CloudWatch Logs calls the fuzz targets make with
// what the current input says: StartQuery with a query ID, GetQueryResults
// with the fuzzed results, StartLiveTail with an event stream whose
// sessionUpdate payload is the fuzzed bytes, sent twice.
type fuzzLogsServer struct {
	srv    *httptest.Server
	client *cwl.Client

	mu      sync.Mutex
	payload []byte // the current input
}

func (fs *fuzzLogsServer) set(b []byte) {
	fs.mu.Lock()
	fs.payload = b
	fs.mu.Unlock()
}

func (fs *fuzzLogsServer) current() []byte {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.payload
}

func startFuzzLogsServer(f *testing.F) *fuzzLogsServer {
	f.Helper()
	fs := &fuzzLogsServer{}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	f.Cleanup(fs.srv.Close)
	fs.client = cwl.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(fs.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *cwl.Options) { o.APIOptions = append(o.APIOptions, disableHostPrefix) })
	return fs
}

func (fs *fuzzLogsServer) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	switch op {
	case "StartQuery":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"queryId":"q-1"}`))
	case "GetQueryResults":
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write(fs.current())
	case "StartLiveTail":
		payload := fs.current()
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(http.StatusOK)
		enc := eventstream.NewEncoder()
		send := func(eventType string, b []byte) {
			var h eventstream.Headers
			h.Set(":message-type", eventstream.StringValue("event"))
			h.Set(":event-type", eventstream.StringValue(eventType))
			h.Set(":content-type", eventstream.StringValue("application/json"))
			_ = enc.Encode(w, eventstream.Message{Headers: h, Payload: b})
		}
		send("initial-response", []byte(`{}`))
		send("sessionStart", []byte(`{"requestId":"r","sessionId":"s","logGroupIdentifiers":["/aws/lambda/charge-card"]}`))
		send("sessionUpdate", payload)
		send("sessionUpdate", payload) // the same events again: deduplicated
	default:
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
	}
}

// rowsIn counts the result rows a GetQueryResults body holds, or -1 when it
// is not such a body.
func rowsIn(body []byte) int {
	var out struct {
		Results [][]json.RawMessage `json:"results"`
	}
	if json.Unmarshal(body, &out) != nil {
		return -1
	}
	return len(out.Results)
}

// FuzzInsightsResults feeds the Logs Insights path of the history search
// arbitrary result rows through the real SDK client: any field may be
// missing, odd or huge. It must not panic, gives at most one observation per
// row, and each observation is a log line of the cwlogs source.
func FuzzInsightsResults(f *testing.F) {
	for i, msg := range logMessageSeeds(f) {
		if i%2 == 0 {
			msg += " req-1" // the ID searched for: the row is kept
		}
		row := []map[string]string{
			{"field": "@timestamp", "value": "2026-11-23 10:00:00.123"},
			{"field": "@message", "value": msg},
			{"field": "@logStream", "value": "2026/11/23/[$LATEST]abc"},
			{"field": "@log", "value": "000000000000:/aws/lambda/charge-card"},
			{"field": "@ptr", "value": "CmAKJwoj"},
		}
		b, _ := json.Marshal(map[string]any{"status": "Complete", "results": [][]map[string]string{row}})
		f.Add(b)
	}
	f.Add([]byte(`{"status":"Complete","results":[[{"field":"@timestamp","value":"1700000000000"}],[],[{"value":null}]]}`))
	f.Add([]byte(`{"status":"Complete","results":[[{"field":"@log","value":":"},{"field":"@message","value":"req-1"}]]}`))
	fs := startFuzzLogsServer(f)
	groups := []Group{{Name: "/aws/lambda/charge-card", Function: "charge-card"}}
	to := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var fields map[string]json.RawMessage // exact names, as the SDK reads them
		if len(body) > fuzzMaxFrame || json.Unmarshal(body, &fields) != nil || string(fields["status"]) != `"Complete"` {
			// Other statuses make the search wait and ask again: not a parser.
			return
		}
		s := New(fs.client, Config{Groups: groups})
		defer s.budget.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		fs.set(body)
		b, err := s.insights(ctx, groups, []string{"req-1"}, to.Add(-time.Hour), to)
		if err != nil {
			return
		}
		if rows := rowsIn(body); rows >= 0 && len(b) > rows {
			t.Fatalf("%d rows became %d observations", rows, len(b))
		}
		for _, o := range b {
			if o.Source != "cwlogs" || o.Log == nil {
				t.Fatalf("not a cwlogs log line: %+v", o)
			}
		}
	})
}

// FuzzLiveTailFrames feeds Live Tail's reader arbitrary sessionUpdate payloads
// through the real SDK client and event-stream decoder. It must not panic or
// hang, each distinct log event becomes one observation, and the same frame
// sent again adds nothing (events are deduplicated).
func FuzzLiveTailFrames(f *testing.F) {
	for i, msg := range logMessageSeeds(f) {
		ev := map[string]any{
			"logStreamName": "2026/11/23/[$LATEST]abc", "logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/charge-card",
			"message": msg, "timestamp": 1763892000000 + int64(i), "ingestionTime": 1763892000100 + int64(i),
		}
		b, _ := json.Marshal(map[string]any{"sessionMetadata": map[string]any{"sampled": i%2 == 0}, "sessionResults": []any{ev, ev}})
		f.Add(b)
	}
	f.Add([]byte(`{"sessionResults":[{},{"logGroupIdentifier":":log-group:"},{"message":null,"timestamp":-1}]}`))
	fs := startFuzzLogsServer(f)
	byName := newGroupIndex([]Group{{Name: "/aws/lambda/charge-card", Function: "charge-card"}})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > fuzzMaxFrame {
			return
		}
		s := New(fs.client, Config{})
		defer s.budget.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		fs.set(payload)
		lt, err := fs.client.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"/aws/lambda/charge-card"}})
		if err != nil {
			t.Fatalf("start live tail: %v", err)
		}
		defer lt.GetStream().Close()
		out := make(chan tracing.Batch, 2)
		_ = s.readTail(ctx, lt, byName, nil, out)
		if ctx.Err() != nil {
			t.Fatal("live tail reader did not end with its stream")
		}
		close(out)
		var frames []tracing.Batch
		for b := range out {
			frames = append(frames, b)
		}
		if len(frames) > 1 {
			t.Fatalf("the repeated frame added %d observations", len(frames[1]))
		}
		// Read the frame as the SDK does: field names exactly, numbers whole.
		var update struct {
			SessionResults []map[string]any `json:"sessionResults"`
		}
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		if len(frames) == 0 || dec.Decode(&update) != nil {
			return
		}
		str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
		distinct := map[string]bool{}
		for _, e := range update.SessionResults {
			ts := int64(0)
			if n, ok := e["timestamp"].(json.Number); ok {
				v, err := n.Int64()
				if err != nil {
					return
				}
				ts = v
			}
			distinct[fmt.Sprintf("%q|%q|%d|%q", groupName(str(e, "logGroupIdentifier")), str(e, "logStreamName"), ts, str(e, "message"))] = true
		}
		if len(frames[0]) != len(distinct) {
			t.Fatalf("%d distinct events became %d observations", len(distinct), len(frames[0]))
		}
		for _, o := range frames[0] {
			if o.Source != "cwlogs" || o.Log == nil {
				t.Fatalf("not a cwlogs log line: %+v", o)
			}
		}
	})
}

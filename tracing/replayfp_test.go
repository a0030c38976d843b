package tracing

import (
	"encoding/json"
	"regexp"
	"testing"
)

const fpOriginal = `{"version":"0","id":"4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000",` +
	`"time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::b"],"detail":{"order_id":"o-1","total":12.50,"items":[{"sku":"a","n":2}]}}`

func fpOf(t testing.TB, body string) string {
	t.Helper()
	obj, ok := jsonObject([]byte(body))
	if !ok {
		t.Fatalf("not an object: %s", body)
	}
	return ReplayFingerprint(obj)
}

// TestReplayFingerprint: a replay under a new id, with replay-name, its
// detail's keys in another order and its time written with milliseconds,
// has its original's fingerprint; any change to what a replay keeps gives
// another one, and an event lacking source, detail-type or time has none.
func TestReplayFingerprint(t *testing.T) {
	t.Parallel()
	orig := fpOf(t, fpOriginal)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(orig) {
		t.Fatalf("fingerprint %q", orig)
	}
	replay := `{"version":"0","id":"9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000",` +
		`"time":"2026-11-23T10:00:00.000Z","region":"us-east-1","replay-name":"fix-billing","resources":["arn:aws:s3:::b"],` +
		`"detail":{ "items":[{"n":2,"sku":"a"}], "total":12.50, "order_id":"o-1" }}`
	if got := fpOf(t, replay); got != orig {
		t.Errorf("the replay's fingerprint %s, want its original's %s", got, orig)
	}
	for name, edit := range map[string]func(m map[string]any){
		"detail":      func(m map[string]any) { m["detail"].(map[string]any)["order_id"] = "o-2" },
		"number":      func(m map[string]any) { m["detail"].(map[string]any)["total"] = json.Number("12.5") },
		"time":        func(m map[string]any) { m["time"] = "2026-11-23T10:00:01Z" },
		"source":      func(m map[string]any) { m["source"] = "orders.web" },
		"detail-type": func(m map[string]any) { m["detail-type"] = "OrderShipped" },
		"account":     func(m map[string]any) { m["account"] = "111111111111" },
		"region":      func(m map[string]any) { m["region"] = "eu-west-1" },
	} {
		obj, _ := jsonObject([]byte(fpOriginal))
		edit(obj)
		if got := ReplayFingerprint(obj); got == orig || got == "" {
			t.Errorf("another %s: fingerprint %q, want a different one", name, got)
		}
	}
	for _, k := range []string{"source", "detail-type", "time"} {
		obj, _ := jsonObject([]byte(fpOriginal))
		delete(obj, k)
		if got := ReplayFingerprint(obj); got != "" {
			t.Errorf("without %s: fingerprint %q, want none", k, got)
		}
	}
	// Through Unwrap, inside an SQS message: the EventBridge layer carries it.
	body, _ := json.Marshal(fpOriginal)
	u := Unwrap([]byte(`{"messageId":"m-1","eventSource":"aws:sqs","body":` + string(body) + `}`))
	if len(u.Layers) != 2 || u.Layers[1].Kind != EnvelopeEventBridge || u.Layers[1].Fingerprint != orig || u.Layers[0].Fingerprint != "" {
		t.Errorf("layers %+v", u.Layers)
	}
}

// FuzzReplayFingerprint: whatever the body, the fingerprint is "" or 32
// hex digits, does not depend on key order or spacing, and ignores id and
// replay-name.
func FuzzReplayFingerprint(f *testing.F) {
	f.Add([]byte(fpOriginal))
	f.Add([]byte(`{"source":"s","detail-type":"t","time":"x","detail":"not an object"}`))
	f.Add([]byte(`{"source":"s","detail-type":"t","time":"1700000000000","detail":[1,2.0,-0,1e400]}`))
	f.Add([]byte(`{"source":1,"detail-type":true,"time":2.5}`))
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		obj, ok := jsonObject(b)
		if !ok {
			return
		}
		fp := ReplayFingerprint(obj)
		if fp != "" && !hex32.MatchString(fp) {
			t.Fatalf("fingerprint %q", fp)
		}
		again, err := json.Marshal(obj)
		if err != nil {
			return
		}
		obj2, ok := jsonObject(again)
		if !ok {
			t.Fatalf("re-encoded body does not parse: %s", again)
		}
		obj2["id"], obj2["replay-name"] = "another-id", "a-replay"
		if got := ReplayFingerprint(obj2); got != fp {
			t.Fatalf("fingerprint %q, then %q after re-encoding with a new id", fp, got)
		}
	})
}

package tracing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func keyValues(keys []Key) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, k.String())
	}
	return strings.Join(parts, " ")
}

func layerKinds(u Unwrapped) string {
	var parts []string
	for _, l := range u.Layers {
		parts = append(parts, l.Kind.String())
	}
	return strings.Join(parts, ">")
}

// TestUnwrapCorpus checks specific files layer by layer, then that every file in
// the sqs, sns-eventbridge and cloudevents corpus unwraps without a panic and
// either yields keys or says why not.
func TestUnwrapCorpus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, layers, keys string
	}{
		{"sqs/dd-eventbridge_sqs_event.json", "sqs>eventbridge", "message:e995e54f-1724-41fa-82c0-8b81821f854e event:af718b2a-b987-e8c0-7a2b-a188fad2661a"},
		{"sqs/dd-sns_sqs_event.json", "sqs>sns>payload", "message:64812b68-4d9b-4dca-b3fb-9b18f255ee51 sns:0a0ab23e-4861-5447-82b7-e8094ff3e332"},
		{"sqs/pt-py-snsSqsEvent.json", "sqs>sns>payload", "message:79406a00-bf15-46ca-978c-22c3613fcb30 sns:d88d4479-6ec0-54fe-b63f-1cf9df4bb16e"},
		{"sqs/pt-py-snsSqsFifoEvent.json", "sqs>sns>payload", "message:69bc4bbd-ed69-4325-a434-85c3b428ceab sns:a7c9d2fa-77fa-5184-9de9-89391027cc7d"},
		{"sqs/dd-sqs_event.json", "sqs", "message:19dd0b57-b21e-4ac1-bd88-01bbb068cb78"},
		{"sqs/lambdago-sqs-event.json", "sqs", "message:MessageID_1"},
		{"sqs/pt-py-s3SqsEvent.json", "sqs>s3", "message:ca3e7a89-c358-40e5-8aa0-5da01403c267 s3:xxx/test.pdf@00643717F9F8B85354"},
		{"sns-eventbridge/dd-eventbridge_sns_event.json", "sns>eventbridge", "sns:12345678-90abc-def-1234-567890abcdef event:12345678-90abc-def-1234-567890abcdef"},
		// An archive replay (top-level replay-name): its own event, replay-of the original.
		{"sns-eventbridge/pt-py-eventBridgeEvent.json", "eventbridge", "event:6a7e8feb-b491-4cf7-a9f1-bf3703467718 replay replay_archive"},
		{"sns-eventbridge/dd-s3_event.json", "s3", "s3:example-bucket/test/key@0A1B2C3D4E5F678901"},
		{"sns-eventbridge/pt-py-s3EventBridgeNotificationObjectCreatedEvent.json", "eventbridge", "event:f5f1e65c-dc3a-93ca-6c1e-b1647eac7963 s3:example-bucket/IMG_m7fzo3.jpg@006408CAD69598B05E"},
		{"sns-eventbridge/lambdago-sns-event.json", "sns", "sns:95df01b4-ee98-5cb9-9903-4c221d41eb5e"},
		{"sns-eventbridge/rust-example-sns-event-pascal-case.json", "sns", "sns:82833b5c-8d5d-56d0-b0e1-7511f8253eb8"},
		{"cloudevents/ce-sdkjava-v1-json_data_with_ext.json", "cloudevent", "cloudevent:http://localhost/source\n1"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join(corpusDir(t, ""), tt.file))
			if err != nil {
				t.Fatal(err)
			}
			u := Unwrap(b)
			if got := layerKinds(u); !strings.HasPrefix(got, tt.layers) {
				t.Errorf("layers = %q, want %q (reason %q)", got, tt.layers, u.Reason)
			}
			if got := keyValues(u.Keys); got != tt.keys {
				t.Errorf("keys = %q, want %q", got, tt.keys)
			}
			// Each nested layer with a key is joined to the one outside it.
			keyed := 0
			for _, l := range u.Layers {
				if len(l.Keys) > 0 {
					keyed++
				}
			}
			carries := 0
			for _, r := range u.Relations {
				if r.Kind == RelCarries {
					carries++
				}
			}
			if keyed > 1 && carries != keyed-1 {
				t.Errorf("relations = %v, want %d carries", u.Relations, keyed-1)
			}
			for _, r := range u.Relations {
				if (r.Kind != RelCarries && r.Kind != RelReplayOf) || r.Evidence == "" {
					t.Errorf("relation %+v: want carries with evidence", r)
				}
			}
		})
	}
	t.Run("every file", func(t *testing.T) {
		for _, dir := range []string{"sqs", "sns-eventbridge", "cloudevents"} {
			for _, f := range corpusFiles(t, dir, ".json") {
				b, _ := os.ReadFile(f)
				u := Unwrap(b)
				if len(u.Keys) == 0 && u.Reason == "" && len(u.Layers) == 0 {
					t.Errorf("%s: no layers, no keys and no reason", f)
				}
				for _, rec := range UnwrapRecords(b, UnwrapOptions{}) {
					_ = rec
				}
			}
		}
	})
}

func TestUnwrapInvalidCloudEvent(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(corpusDir(t, "cloudevents"), "ce-sdkjava-v1-json_data_with_ext_invalid.json"))
	if err != nil {
		t.Fatal(err)
	}
	u := Unwrap(b)
	if !strings.Contains(u.Reason, "cloudevent") || len(u.Payload) == 0 {
		t.Errorf("reason %q, payload %d bytes: want a cloudevent reason and the body kept", u.Reason, len(u.Payload))
	}
}

func TestUnwrapNestedThree(t *testing.T) {
	t.Parallel()
	// EventBridge inside SNS inside an SQS ReceiveMessage message, with a
	// correlation field in the detail.
	eb := `{"version":"0","id":"ev-1","detail-type":"OrderPlaced","source":"orders","account":"1","time":"2026-01-02T03:04:05Z","region":"us-east-1","resources":[],"detail":{"orderId":"o-42","total":12}}`
	sns := `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:us-east-1:1:order-events","Message":` + quote(eb) + `,"Timestamp":"2026-01-02T03:04:06.000Z"}`
	sqs := `{"MessageId":"sqs-1","ReceiptHandle":"rh","Body":` + quote(sns) + `,"Attributes":{"AWSTraceHeader":"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1","SentTimestamp":"1767323047000"}}`
	u := UnwrapWith([]byte(sqs), UnwrapOptions{CorrelationFields: []string{"orderId", "detail.orderId"}})
	if got := layerKinds(u); got != "sqs>sns>eventbridge" {
		t.Fatalf("layers %q (%s)", got, u.Reason)
	}
	want := "message:sqs-1 sns:sns-1 correlation:detail.orderId=o-42 event:ev-1 correlation:orderId=o-42"
	if got := keyValues(u.Keys); got != want {
		t.Errorf("keys = %q\nwant   %q", got, want)
	}
	if u.Layers[0].TraceHeader == "" || u.Layers[2].Type != "OrderPlaced" || u.Layers[2].Source != "orders" {
		t.Errorf("layer fields: %+v", u.Layers)
	}
	if len(u.Relations) != 2 || u.Relations[1].From.Value != "sns-1" || u.Relations[1].To.Value != "ev-1" {
		t.Errorf("relations: %+v", u.Relations)
	}
	if !strings.Contains(string(u.Payload), "o-42") {
		t.Errorf("payload %s", u.Payload)
	}
}

func TestUnwrapDepthBound(t *testing.T) {
	t.Parallel()
	body := `{"hello":"world"}`
	for i := 0; i < 9; i++ {
		body = `{"MessageId":"m` + string(rune('a'+i)) + `","Body":` + quote(body) + `}`
	}
	u := Unwrap([]byte(body))
	if len(u.Layers) > MaxUnwrapDepth || !strings.Contains(u.Reason, "stopped") {
		t.Errorf("layers %d, reason %q", len(u.Layers), u.Reason)
	}
}

func TestUnwrapNotJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"plain text", "", "{broken", "[1,2]", `{"a":1} {"b":2}`} {
		u := Unwrap([]byte(in))
		if string(u.Payload) != in && !(in == "" && len(u.Payload) == 0) {
			t.Errorf("%q: payload %q: the body must be kept", in, u.Payload)
		}
	}
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func FuzzUnwrap(f *testing.F) {
	for _, dir := range []string{"sqs", "sns-eventbridge", "cloudevents"} {
		for _, file := range corpusFiles(f, dir, ".json") {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	// An archive replay, as EventBridge delivers it (replay-name after region).
	f.Add([]byte(`{"version":"0","id":"4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000","time":"2026-11-23T10:00:00Z","region":"us-east-1","replay-name":"fix-billing","resources":[],"detail":{"order_id":"o-1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		u := UnwrapWith(b, UnwrapOptions{CorrelationFields: []string{"id", "detail.id"}})
		if len(u.Layers) > MaxUnwrapDepth+1 {
			t.Fatalf("%d layers", len(u.Layers))
		}
		for _, k := range u.Keys {
			if k.Kind == KeyUnknown {
				t.Fatalf("unknown key kind in %+v", u.Keys)
			}
		}
		_ = UnwrapRecords(b, UnwrapOptions{})
	})
}

// TestUnwrapArchiveReplay: an EventBridge archive replay (replay-name) is an
// event of its own, related to its original by RelReplayOf.
func TestUnwrapArchiveReplay(t *testing.T) {
	t.Parallel()
	body := `{"version":"0","id":"4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000",` +
		`"time":"2026-11-23T10:00:00Z","region":"us-east-1","resources":[],"replay-name":"fix-billing","detail":{"order_id":"o-1"}}`
	u := Unwrap([]byte(body))
	want := Key{Kind: KeyEventID, Value: ReplayEventID("4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d", "fix-billing")}
	if len(u.Layers) == 0 || u.Layers[0].Keys[0] != want {
		t.Fatalf("layers %+v", u.Layers)
	}
	found := false
	for _, r := range u.Relations {
		if r.Kind == RelReplayOf && r.From == want && r.To == (Key{Kind: KeyEventID, Value: "4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d"}) {
			found = true
		}
	}
	if !found {
		t.Errorf("no replay-of relation in %+v", u.Relations)
	}
}

// TestUnwrapFlowtopReplay: an event flowtop's replay put on a bus names its
// original in its resources; it is replay-of that original.
func TestUnwrapFlowtopReplay(t *testing.T) {
	t.Parallel()
	body := `{"version":"0","id":"9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6","detail-type":"OrderPlaced","source":"orders.api","account":"000000000000",` +
		`"time":"2026-11-23T10:05:00Z","region":"us-east-1","resources":["arn:aws:flowtop:::replay-of/4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d"],"detail":{"order_id":"o-1"}}`
	u := Unwrap([]byte(body))
	want := Relation{
		From: Key{Kind: KeyEventID, Value: "9d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6"}, To: Key{Kind: KeyEventID, Value: "4b2c1f8e-7c1d-4b0e-9a3e-5d6f7a8b9c0d"},
		Kind: RelReplayOf, Evidence: "flowtop replay-of resource",
	}
	if len(u.Relations) != 1 || u.Relations[0] != want {
		t.Errorf("relations %+v", u.Relations)
	}
}

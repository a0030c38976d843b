package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/flowtop/flowtop/tracing"
)

// A partner in another cloud: a Google Cloud Function ("partner-orders")
// publishes shipment CloudEvents, traced with OpenTelemetry (the CloudEvents
// semantic conventions on its producer span, its resource saying
// cloud.provider gcp), and its relay puts each CloudEvent (structured mode,
// as the detail) on the orders bus, where a rule sends it to partner-intake.
const (
	PartnerService  = "partner-orders"
	PartnerIntake   = "partner-intake"
	PartnerCESource = "//pubsub.googleapis.com/projects/acme-partner/topics/shipments"
	partnerCEType   = "com.acme.partner.shipment.dispatched"
	partnerSource   = "partner.gcp" // the EventBridge source the relay puts them on the bus with
	partnerRule     = "partner-shipments"
)

// partnerEvery is how many orders go by for each partner CloudEvent.
const partnerEvery = 4

func init() {
	worldFns = append(worldFns, fnSpec{name: PartnerIntake, runtime: "python3.13", format: "JSON", mem: 256, arch: "arm64", timeout: 10, baseMS: 25, spreadMS: 15, initMS: 280})
	worldParts = append(worldParts, func() worldPart { return &partner{} })
}

// partner is the other cloud's producer and its way into AWS.
type partner struct {
	w      *World
	tp     *sdktrace.TracerProvider
	tracer oteltrace.Tracer
}

func (p *partner) setup(ctx context.Context, w *World) error {
	p.w = w
	if w.srv != nil {
		spec := fnByName(PartnerIntake)
		w.srv.RegisterFunction(LambdaFunction{
			Name: PartnerIntake, Runtime: spec.runtime, MemoryMB: spec.mem, TimeoutSec: spec.timeout, Architecture: spec.arch,
			LogFormat: spec.format, Tracing: "Active", Handler: p.intake,
		})
	}
	pattern := `{"source":["` + partnerSource + `"]}`
	if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(partnerRule), EventBusName: aws.String(BusName), EventPattern: aws.String(pattern)}); err != nil {
		return err
	}
	arn := "arn:aws:lambda:" + w.cfg.Region + ":" + Account + ":function:" + PartnerIntake
	if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(partnerRule), EventBusName: aws.String(BusName), Targets: []ebtypes.Target{{Id: aws.String("intake"), Arn: aws.String(arn)}}}); err != nil {
		return err
	}
	bus := tracing.Component{Kind: tracing.ComponentBus, Name: BusName}
	w.truth.edge(bus, tracing.Component{Kind: tracing.ComponentFunction, Name: PartnerIntake}, true, "rule "+partnerRule)
	// The relay outside AWS puts the CloudEvents on the bus: no source
	// flowtop reads names that edge, so the world's topology has none.
	if w.cfg.OTLPEndpoint == "" {
		return nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(w.cfg.OTLPEndpoint), otlptracehttp.WithInsecure())
	if err != nil {
		return err
	}
	p.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(500*time.Millisecond)),
		sdktrace.WithResource(sdkresource.NewSchemaless(
			attribute.String("service.name", PartnerService), attribute.String("cloud.provider", "gcp"),
			attribute.String("cloud.platform", "gcp_cloud_functions"), attribute.String("cloud.region", "europe-west1"),
			attribute.String("cloud.account.id", "acme-partner"),
		)))
	p.tracer = p.tp.Tracer("acme/partner-orders")
	return nil
}

// run sends one CloudEvent for every partnerEvery orders the world placed,
// once the world places orders at all (Hold), until ctx ends.
func (p *partner) run(ctx context.Context, w *World) {
	defer func() {
		if p.tp != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = p.tp.Shutdown(sctx)
			cancel()
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if w.Orders() >= (sent+1)*partnerEvery {
			sent++
			p.send(ctx)
		}
	}
}

// send publishes one shipment CloudEvent: the partner's producer span
// through the real OTel SDK exporter, then the relay's PutEvents.
func (p *partner) send(ctx context.Context) {
	w := p.w
	ceID := w.uuid()
	h := w.truth.event("partner cloudevent "+ceID[:8], 1)
	w.truth.tag(h, "ce:"+ceID)
	w.truth.key(h, tracing.KeyCloudEventID, tracing.CloudEventKey(PartnerCESource, ceID).Value)
	ce := map[string]any{
		"specversion": "1.0", "id": ceID, "source": PartnerCESource, "type": partnerCEType,
		"time": time.Now().UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": map[string]any{"shipment_id": "sh-" + ceID[:6], "carrier": "dhl"},
	}
	var sp oteltrace.Span
	if p.tracer != nil {
		_, sp = p.tracer.Start(ctx, "shipments publish", oteltrace.WithSpanKind(oteltrace.SpanKindProducer), oteltrace.WithAttributes(
			attribute.String("cloudevents.event_id", ceID), attribute.String("cloudevents.event_source", PartnerCESource),
			attribute.String("cloudevents.event_type", partnerCEType), attribute.String("cloudevents.event_spec_version", "1.0"),
			attribute.String("messaging.system", "gcp_pubsub"), attribute.String("messaging.operation.type", "publish"),
			attribute.String("messaging.destination.name", "shipments"),
		))
		sc := sp.SpanContext()
		// The CloudEvents distributed-tracing extension carries the context.
		ce["traceparent"] = traceparent(sc)
		w.truth.trace(h, sc.TraceID().String())
		w.truth.step(h, tracing.ComponentService, PartnerService)
		w.truth.liveOnly(h) // the span reaches flowtop over OTLP, live only
	}
	w.truth.step(h, tracing.ComponentBus, BusName)
	detail, _ := json.Marshal(ce)
	out, err := w.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(partnerSource), DetailType: aws.String("ShipmentDispatched"), Detail: aws.String(string(detail)), EventBusName: aws.String(BusName),
	}}})
	if sp != nil {
		sp.End()
	}
	if err != nil || out.FailedEntryCount > 0 || len(out.Entries) != 1 {
		w.truth.forget(h)
		return
	}
	w.truth.key(h, tracing.KeyEventID, aws.ToString(out.Entries[0].EventId))
}

// intake is partner-intake, the rule's Lambda target: it logs the
// EventBridge event's id and the CloudEvent inside it.
func (p *partner) intake(ctx context.Context, payload []byte) ([]byte, error) {
	w := p.w
	var ev struct {
		ID     string `json:"id"`
		Detail struct {
			ID     string `json:"id"`
			Source string `json:"source"`
			Type   string `json:"type"`
		} `json:"detail"`
	}
	root := w.traceRoot()
	inv := w.begin(PartnerIntake, root)
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Detail.ID == "" {
		inv.log("ERROR", "not a CloudEvent", nil)
		inv.end("error", "ValueError")
		return nil, errors.New("partner-intake: not a CloudEvent")
	}
	h := w.truth.findTag("ce:" + ev.Detail.ID)
	w.truth.key(h, tracing.KeyRequestID, inv.req)
	w.truth.trace(h, root)
	w.truth.step(h, tracing.ComponentFunction, PartnerIntake)
	inv.log("INFO", "partner shipment received", map[string]any{
		"event_id": ev.ID, "ce_id": ev.Detail.ID, "ce_source": ev.Detail.Source, "ce_type": ev.Detail.Type,
	})
	inv.end("", "")
	w.truth.outcome(h, "ok")
	return []byte(`{"accepted":true}`), nil
}

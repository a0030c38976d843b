package sandbox

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go/logging"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/flowtop/flowtop/tracing"
)

// WorldConfig sets the simulated application.
type WorldConfig struct {
	Rate float64 // orders per second (default 4)
	Seed uint64  // makes IDs of the world's own choosing and every outcome deterministic; 0 picks one
	// DeclineRate, TimeoutRate and PoisonRate are the share of orders whose
	// card is declined (retried into billing-dlq), whose charge times out, and
	// that are sent malformed (defaults 0.06, 0.02, 0.01).
	DeclineRate, TimeoutRate, PoisonRate float64
	// OTLPEndpoint is host:port of an OTLP/HTTP receiver (flowtop's own, in the
	// demo); the world then also sends OTel spans through the real OTel Go SDK
	// exporter. "" sends none.
	OTLPEndpoint string
	// MaxOrders stops placing orders after this many (the consumers go on);
	// 0 places them until the world stops. Tests use it to keep history small.
	MaxOrders int
	// Region is where the world runs: its clients sign for it and its ARNs
	// name it, so one endpoint can host a world per region ("" is [Region]).
	Region string
	// Hold, when not nil, keeps the world from placing orders until it is
	// closed: a scorer opens it once its collectors are listening, so the
	// truth holds nothing they could not have seen.
	Hold <-chan struct{}
}

// The simulated account: names flowtop users see in the demo.
const (
	BusName      = "orders"
	BillingQueue = "billing-queue"
	BillingDLQ   = "billing-dlq"
	EmailQueue   = "email-queue"
	EmailDLQ     = "email-dlq"
	OrdersTopic  = "order-events"
	// AnalyticsQueue takes order-events by raw delivery; record-analytics
	// consumes it in batches of up to five messages per invocation.
	AnalyticsQueue = "analytics-queue"
)

// analyticsBatch is how many messages one record-analytics invocation takes
// at most, and batchWindow how long its event source mapping gathers them.
const (
	analyticsBatch = 5
	batchWindow    = time.Second
)

// World is the order pipeline running on a sandbox endpoint: orders-api puts
// OrderPlaced on the orders bus; rules deliver it to billing-queue (consumed
// by charge-card, DLQ billing-dlq after 3 receives), to reserve-stock directly,
// and to the order-events topic, which fans out to email-queue (SNS envelope)
// → send-email and to analytics-queue (raw delivery) → record-analytics, a
// batch consumer. send-email parks undeliverable orders in email-dlq itself: it
// deletes the message and re-sends its body, so the copy has a new MessageId.
// Some orders are CloudEvents (structured mode, inside the detail); some
// orders-api invocations publish two events for one order. Every invocation
// writes CloudWatch logs as Lambda does (text or JSON format), an X-Ray
// segment and, with an OTLP endpoint, OTel spans, through the real SDK
// clients. The world records what it generates in [Truth].
type World struct {
	cfg WorldConfig
	srv *Server

	sqs  *sqs.Client
	eb   *eventbridge.Client
	sns  *sns.Client
	logs *cwl.Client
	xray *xray.Client

	mu        sync.Mutex
	rnd       *rand.Rand
	queueURLs map[string]string
	topicARN  string
	instances map[string][]*instance
	pending   map[string][]cwltypes.InputLogEvent // "group\x00stream" → events to flush
	segments  []string
	orders    int
	truth     *truthLog
	tracer    oteltrace.Tracer
	tp        *sdktrace.TracerProvider
	parts     []worldPart
	front     *apiFront // the API Gateway stage orders arrive through (world_apigw.go)
}

// worldPart is a further piece of the simulated account, kept in its own file
// (world_<part>.go): setup creates its resources once the core world exists,
// and run drives it until ctx ends.
type worldPart interface {
	setup(ctx context.Context, w *World) error
	run(ctx context.Context, w *World)
}

// worldParts holds the constructors of the further pieces; each
// world_<part>.go appends its own in an init function.
var worldParts []func() worldPart

type instance struct {
	stream   string
	lastUsed time.Time
	busy     bool
}

type fnSpec struct {
	name, runtime, format string
	mem                   int
	arch                  string
	timeout               int
	baseMS, spreadMS      float64
	initMS                float64
}

var worldFns = []fnSpec{
	{name: "orders-api", runtime: "nodejs22.x", format: "Text", mem: 256, arch: "x86_64", timeout: 10, baseMS: 35, spreadMS: 20, initMS: 310},
	{name: "charge-card", runtime: "nodejs22.x", format: "JSON", mem: 512, arch: "arm64", timeout: 3, baseMS: 180, spreadMS: 120, initMS: 420},
	{name: "reserve-stock", runtime: "python3.13", format: "Text", mem: 256, arch: "x86_64", timeout: 5, baseMS: 60, spreadMS: 40, initMS: 250},
	{name: "send-email", runtime: "python3.13", format: "JSON", mem: 128, arch: "arm64", timeout: 10, baseMS: 90, spreadMS: 70, initMS: 380},
	{name: "record-analytics", runtime: "java21", format: "Text", mem: 512, arch: "x86_64", timeout: 15, baseMS: 40, spreadMS: 25, initMS: 900},
}

func fnByName(name string) fnSpec {
	for _, f := range worldFns {
		if f.name == name {
			return f
		}
	}
	return fnSpec{name: name, mem: 128, baseMS: 10, spreadMS: 5}
}

// NewWorld creates the simulated account's resources on the endpoint at
// endpointURL, through the SDK. srv, when not nil, is the in-process server,
// used to register the simulated functions' handlers.
func NewWorld(ctx context.Context, endpointURL string, srv *Server, cfg WorldConfig) (*World, error) {
	if cfg.Rate <= 0 {
		cfg.Rate = 4
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if cfg.DeclineRate == 0 {
		cfg.DeclineRate = 0.06
	}
	if cfg.TimeoutRate == 0 {
		cfg.TimeoutRate = 0.02
	}
	if cfg.PoisonRate == 0 {
		cfg.PoisonRate = 0.01
	}
	if cfg.Region == "" {
		cfg.Region = Region
	}
	if srv != nil {
		if srv = srv.InRegion(cfg.Region); srv == nil {
			return nil, fmt.Errorf("sandbox: world: too many regions on one endpoint")
		}
	}
	awsCfg := aws.Config{Region: cfg.Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(endpointURL), Logger: logging.Nop{}}
	w := &World{
		cfg: cfg, srv: srv,
		sqs: sqs.NewFromConfig(awsCfg), eb: eventbridge.NewFromConfig(awsCfg), sns: sns.NewFromConfig(awsCfg),
		logs: cwl.NewFromConfig(awsCfg), xray: xray.NewFromConfig(awsCfg),
		rnd:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		queueURLs: map[string]string{}, instances: map[string][]*instance{}, pending: map[string][]cwltypes.InputLogEvent{},
		truth: newTruthLog(0),
	}
	if err := w.setup(ctx); err != nil {
		return nil, fmt.Errorf("sandbox: world setup: %w", err)
	}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(cfg.OTLPEndpoint), otlptracehttp.WithInsecure())
		if err != nil {
			return nil, fmt.Errorf("sandbox: otlp exporter: %w", err)
		}
		w.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(500*time.Millisecond)),
			// The cloud.* attributes an AWS resource detector would set.
			sdktrace.WithResource(sdkresource.NewSchemaless(attribute.String("service.name", "order-pipeline"),
				attribute.String("cloud.provider", "aws"), attribute.String("cloud.region", cfg.Region), attribute.String("cloud.account.id", Account))))
		w.tracer = w.tp.Tracer("flowtop/sandbox")
		// An unreachable receiver must not print over the console.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	}
	return w, nil
}

// qARN is a queue's ARN in the home region; world parts use [World.qARN],
// which names the world's own region.
func qARN(name string) string { return "arn:aws:sqs:" + Region + ":" + Account + ":" + name }

func (w *World) qARN(name string) string {
	return "arn:aws:sqs:" + w.cfg.Region + ":" + Account + ":" + name
}

func (w *World) setup(ctx context.Context) error {
	fn := func(n string) tracing.Component { return tracing.Component{Kind: tracing.ComponentFunction, Name: n} }
	queue := func(n string) tracing.Component { return tracing.Component{Kind: tracing.ComponentQueue, Name: n} }
	bus := tracing.Component{Kind: tracing.ComponentBus, Name: BusName}
	topicC := tracing.Component{Kind: tracing.ComponentTopic, Name: OrdersTopic}
	for _, dlq := range []string{BillingDLQ, EmailDLQ} {
		out, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(dlq), Attributes: map[string]string{"MessageRetentionPeriod": "1209600"}})
		if err != nil {
			return err
		}
		w.queueURLs[dlq] = aws.ToString(out.QueueUrl)
	}
	for _, q := range [][2]string{{BillingQueue, BillingDLQ}, {EmailQueue, EmailDLQ}} {
		out, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q[0]), Attributes: map[string]string{
			"VisibilityTimeout": "2",
			"RedrivePolicy":     `{"deadLetterTargetArn":"` + w.qARN(q[1]) + `","maxReceiveCount":"3"}`,
		}})
		if err != nil {
			return err
		}
		w.queueURLs[q[0]] = aws.ToString(out.QueueUrl)
		w.truth.edge(queue(q[0]), queue(q[1]), true, "redrive policy")
	}
	out, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(AnalyticsQueue), Attributes: map[string]string{"VisibilityTimeout": "5"}})
	if err != nil {
		return err
	}
	w.queueURLs[AnalyticsQueue] = aws.ToString(out.QueueUrl)
	topic, err := w.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(OrdersTopic)})
	if err != nil {
		return err
	}
	w.topicARN = aws.ToString(topic.TopicArn)
	w.truth.edge(fn("orders-api"), topicC, false, "Publish in orders-api's code")
	if _, err := w.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(w.qARN(EmailQueue))}); err != nil {
		return err
	}
	w.truth.edge(topicC, queue(EmailQueue), true, "subscription")
	if _, err := w.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(w.qARN(AnalyticsQueue)),
		Attributes: map[string]string{"RawMessageDelivery": "true"},
	}); err != nil {
		return err
	}
	w.truth.edge(topicC, queue(AnalyticsQueue), true, "subscription (raw delivery)")
	if _, err := w.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(BusName)}); err != nil {
		return err
	}
	w.truth.edge(fn("orders-api"), bus, false, "PutEvents in orders-api's code")
	pattern := `{"source":["orders.api"],"detail-type":["OrderPlaced"]}`
	targets := []struct {
		rule, arn string
		to        tracing.Component
	}{
		{"billing", w.qARN(BillingQueue), queue(BillingQueue)},
		{"stock", "arn:aws:lambda:" + w.cfg.Region + ":" + Account + ":function:reserve-stock", fn("reserve-stock")},
		{"email", aws.ToString(topic.TopicArn), topicC},
	}
	for _, t := range targets {
		rule := "order-placed-" + t.rule
		if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(BusName), EventPattern: aws.String(pattern)}); err != nil {
			return err
		}
		if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(BusName), Targets: []ebtypes.Target{{Id: aws.String(t.rule), Arn: aws.String(t.arn)}}}); err != nil {
			return err
		}
		w.truth.edge(bus, t.to, true, "rule "+rule)
	}
	// The world's consumers poll as Lambda's event source mappings do.
	for q, f := range map[string]string{BillingQueue: "charge-card", EmailQueue: "send-email", AnalyticsQueue: "record-analytics"} {
		w.truth.edge(queue(q), fn(f), true, "event source mapping")
	}
	w.truth.edge(fn("send-email"), queue(EmailDLQ), false, "send-email parks undeliverable orders itself")
	for _, f := range worldFns {
		group := "/aws/lambda/" + f.name
		if _, err := w.logs.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			var exists *cwltypes.ResourceAlreadyExistsException
			if !errors.As(err, &exists) {
				return err
			}
		}
		if w.srv != nil {
			lf := LambdaFunction{Name: f.name, Runtime: f.runtime, MemoryMB: f.mem, TimeoutSec: f.timeout, Architecture: f.arch, LogFormat: f.format, Tracing: "Active"}
			if f.name == "reserve-stock" {
				lf.Handler = w.reserveStock
			}
			w.srv.RegisterFunction(lf)
		}
	}
	if w.srv != nil {
		// The consumers poll their queues as these event source mappings would.
		w.srv.AddEventSourceMapping(w.qARN(BillingQueue), "charge-card", 10)
		w.srv.AddEventSourceMapping(w.qARN(EmailQueue), "send-email", 10)
		w.srv.AddEventSourceMapping(w.qARN(AnalyticsQueue), "record-analytics", analyticsBatch)
	}
	for _, mk := range worldParts {
		p := mk()
		if err := p.setup(ctx, w); err != nil {
			return err
		}
		w.parts = append(w.parts, p)
	}
	return nil
}

// Run places orders at the configured rate and runs the consumers until ctx ends.
func (w *World) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = recover() }()
			f(ctx)
		}()
	}
	run(w.flushLoop)
	run(func(ctx context.Context) { w.consume(ctx, BillingQueue, "charge-card", 1, w.chargeCard) })
	run(func(ctx context.Context) { w.consume(ctx, EmailQueue, "send-email", 1, w.sendEmail) })
	run(func(ctx context.Context) {
		w.consume(ctx, AnalyticsQueue, "record-analytics", analyticsBatch, w.recordAnalytics)
	})
	for _, p := range w.parts {
		run(func(ctx context.Context) { p.run(ctx, w) })
	}
	interval := time.Duration(float64(time.Second) / w.cfg.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	hold := w.cfg.Hold
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			w.flush(context.Background())
			if w.tp != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = w.tp.Shutdown(sctx)
				cancel()
			}
			return nil
		case <-tick.C:
			if hold != nil {
				select {
				case <-hold:
					hold = nil
				default:
					continue
				}
			}
			if w.cfg.MaxOrders > 0 && w.Orders() >= w.cfg.MaxOrders {
				tick.Stop()
				continue
			}
			w.placeOrder(ctx)
		}
	}
}

// Orders is how many orders the world has placed.
func (w *World) Orders() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.orders
}

func (w *World) float() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rnd.Float64()
}

func (w *World) hex(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[w.rnd.IntN(16)]
	}
	return string(b)
}

func (w *World) uuid() string {
	h := w.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func (w *World) traceHeader() (root, parent string) {
	return fmt.Sprintf("1-%08x-%s", time.Now().Unix(), w.hex(24)), w.hex(16)
}

// invocation is one simulated run of a function: it picks a warm or a cold
// instance, and collects the log lines to write.
type invocation struct {
	w       *World
	fn      fnSpec
	req     string
	inst    *instance
	cold    bool
	start   time.Time
	trace   string
	segment string
	lines   []string
	// quietReport leaves the failure out of a text-format REPORT line: Lambda
	// writes Status there for runtime failures (timeouts, crashes), not for an
	// error the handler threw.
	quietReport bool
	// links are X-Ray links to the traces of the messages a batch consumed.
	links []map[string]string
	api   *apiCall // the API Gateway request that invoked it (world_apigw.go)
}

func (w *World) begin(fn string, trace string) *invocation {
	spec := fnByName(fn)
	now := time.Now()
	w.mu.Lock()
	var inst *instance
	for _, in := range w.instances[fn] {
		if !in.busy && now.Sub(in.lastUsed) < 5*time.Minute {
			inst = in
			break
		}
	}
	cold := inst == nil
	if cold {
		inst = &instance{}
		w.instances[fn] = append(w.instances[fn], inst)
	}
	inst.busy = true
	w.mu.Unlock()
	if cold {
		inst.stream = now.UTC().Format("2006/01/02") + "/[$LATEST]" + w.hex(32)
	}
	inv := &invocation{w: w, fn: spec, req: w.uuid(), inst: inst, cold: cold, start: now, trace: trace, segment: w.hex(16)}
	if cold {
		if spec.format == "JSON" {
			inv.platform("platform.initStart", map[string]any{"initializationType": "on-demand", "phase": "init", "runtimeVersion": spec.runtime + ".v12"})
		} else {
			inv.lines = append(inv.lines, "INIT_START Runtime Version: "+spec.runtime+".v12\tRuntime Version ARN: arn:aws:lambda:"+w.cfg.Region+"::runtime:"+w.hex(16))
		}
	}
	if spec.format == "JSON" {
		inv.platform("platform.start", map[string]any{"requestId": inv.req, "version": "$LATEST"})
	} else {
		inv.lines = append(inv.lines, "START RequestId: "+inv.req+" Version: $LATEST")
	}
	return inv
}

func (inv *invocation) platform(typ string, record map[string]any) {
	b, _ := json.Marshal(map[string]any{"time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "type": typ, "record": record})
	inv.lines = append(inv.lines, string(b))
}

// log writes an app line: Powertools-style JSON for JSON-format functions, the
// Node/Python tab layout with a JSON message for text-format ones.
func (inv *invocation) log(level, msg string, fields map[string]any) {
	if inv.fn.format == "JSON" {
		rec := map[string]any{
			"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "level": level, "message": msg,
			"service": inv.fn.name, "cold_start": inv.cold, "function_name": inv.fn.name, "function_memory_size": fmt.Sprint(inv.fn.mem),
			"function_request_id": inv.req, "xray_trace_id": inv.trace,
		}
		for k, v := range fields {
			rec[k] = v
		}
		b, _ := json.Marshal(rec)
		inv.lines = append(inv.lines, string(b))
		return
	}
	rec := map[string]any{"msg": msg}
	for k, v := range fields {
		rec[k] = v
	}
	b, _ := json.Marshal(rec)
	inv.lines = append(inv.lines, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+"\t"+inv.req+"\t"+level+"\t"+string(b))
}

// end writes END/REPORT (or their JSON platform events) and an X-Ray segment.
// status is "", "error" or "timeout".
func (inv *invocation) end(status, errType string) time.Duration {
	w, spec := inv.w, inv.fn
	ms := spec.baseMS + spec.spreadMS*math.Abs(w.normal())
	if status == "timeout" {
		ms = float64(spec.timeout) * 1000
		inv.lines = append(inv.lines, time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+" "+inv.req+" Task timed out after "+fmt.Sprintf("%d.00", spec.timeout)+" seconds")
	}
	initMS := 0.0
	if inv.cold {
		initMS = spec.initMS * (0.8 + 0.4*w.float())
	}
	billed := int(math.Ceil(ms + initMS))
	maxMem := int(float64(spec.mem) * (0.25 + 0.35*w.float()))
	if spec.format == "JSON" {
		metrics := map[string]any{"durationMs": round2(ms), "billedDurationMs": billed, "memorySizeMB": spec.mem, "maxMemoryUsedMB": maxMem}
		if inv.cold {
			metrics["initDurationMs"] = round2(initMS)
		}
		rs := "success"
		if status != "" {
			rs = status
		}
		inv.platform("platform.runtimeDone", map[string]any{"requestId": inv.req, "status": rs})
		rec := map[string]any{
			"requestId": inv.req, "metrics": metrics, "status": rs,
			"tracing": map[string]any{"type": "X-Amzn-Trace-Id", "value": "Root=" + inv.trace + ";Parent=" + inv.segment + ";Sampled=1", "spanId": inv.segment},
		}
		if errType != "" {
			rec["errorType"] = errType
		}
		inv.platform("platform.report", rec)
	} else {
		inv.lines = append(inv.lines, "END RequestId: "+inv.req)
		line := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t", inv.req, ms, billed, spec.mem, maxMem)
		if inv.cold {
			line += fmt.Sprintf("Init Duration: %.2f ms\t", initMS)
		}
		if status != "" && !inv.quietReport {
			line += "Status: " + status + "\t"
			if errType != "" {
				line += "Error Type: " + errType + "\t"
			}
		}
		line += "\nXRAY TraceId: " + inv.trace + "\tSegmentId: " + inv.segment + "\tSampled: true\t"
		inv.lines = append(inv.lines, line)
	}
	w.queueLogs("/aws/lambda/"+spec.name, inv.inst.stream, inv.start, inv.lines)
	seg := map[string]any{
		"id": inv.segment, "trace_id": inv.trace, "name": spec.name, "origin": "AWS::Lambda::Function",
		"start_time": float64(inv.start.UnixNano()) / 1e9, "end_time": float64(inv.start.UnixNano())/1e9 + ms/1000,
		"aws":         map[string]any{"request_id": inv.req, "function_arn": "arn:aws:lambda:" + w.cfg.Region + ":" + Account + ":function:" + spec.name},
		"annotations": map[string]any{"cold_start": inv.cold},
	}
	if len(inv.links) > 0 {
		seg["links"] = inv.links
	}
	if status != "" {
		seg["fault"] = true
		seg["cause"] = map[string]any{"exceptions": []any{map[string]any{"id": w.hex(16), "message": errType, "type": errType}}}
	}
	inv.api.finish(seg, status, time.Duration(ms*float64(time.Millisecond))) // world_apigw.go
	b, _ := json.Marshal(seg)
	w.truth.invocation(spec.name, status != "", inv.start)
	w.mu.Lock()
	w.segments = append(w.segments, string(b))
	inv.inst.busy, inv.inst.lastUsed = false, time.Now()
	w.mu.Unlock()
	return time.Duration(ms * float64(time.Millisecond))
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func (w *World) normal() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rnd.NormFloat64()
}

func (w *World) queueLogs(group, stream string, start time.Time, lines []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := group + "\x00" + stream
	for i, l := range lines {
		w.pending[key] = append(w.pending[key], cwltypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(start.Add(time.Duration(i) * time.Millisecond).UnixMilli())})
	}
}

func (w *World) flushLoop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.flush(ctx)
		}
	}
}

// flush writes the buffered log events and segments through the SDK.
func (w *World) flush(ctx context.Context) {
	w.mu.Lock()
	pending, segs := w.pending, w.segments
	w.pending, w.segments = map[string][]cwltypes.InputLogEvent{}, nil
	w.mu.Unlock()
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		group, stream, _ := strings.Cut(k, "\x00")
		evs := pending[k]
		sort.SliceStable(evs, func(i, j int) bool { return *evs[i].Timestamp < *evs[j].Timestamp })
		_, err := w.logs.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs})
		var nf *cwltypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			_, _ = w.logs.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
			_, _ = w.logs.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs})
		}
	}
	for len(segs) > 0 {
		n := min(len(segs), 50)
		_, _ = w.xray.PutTraceSegments(ctx, &xray.PutTraceSegmentsInput{TraceSegmentDocuments: segs[:n]})
		segs = segs[n:]
	}
}

var customers = []string{"ana", "bo", "chen", "dara", "eli", "fay", "gus", "hana", "ivo", "jun"}

// ceSource is the CloudEvents source of the orders the API wraps as CloudEvents.
const ceSource = "/orders/api"

// orderBranches is how many outcomes an OrderPlaced event has: billing, stock,
// email and analytics.
const orderBranches = 4

// placeOrder runs one orders-api invocation that puts OrderPlaced on the bus:
// one event, or for every seventh order two events (one per parcel) that share
// the order and the invocation.
func (w *World) placeOrder(ctx context.Context) {
	w.mu.Lock()
	w.orders++
	n := w.orders
	w.mu.Unlock()
	w.truth.order1()
	root, _ := w.traceHeader()
	call := w.front.request(n, root) // world_apigw.go: nil without the API front
	inv := w.begin("orders-api", root)
	if call.invoke(inv) {
		return // orders-api failed before placing the order: the client got a 502
	}
	orderID := fmt.Sprintf("o-%06d", n)
	// Each order's outcome comes from the seed and its number alone, so a
	// seeded world makes the same events whatever the goroutines' timing.
	or := rand.New(rand.NewPCG(w.cfg.Seed, uint64(n)))
	r := or.Float64()
	card := "visa"
	switch {
	case r < w.cfg.DeclineRate:
		card = "declined"
	case r < w.cfg.DeclineRate+w.cfg.TimeoutRate:
		card = "slow-bank"
	}
	total := math.Round(5+or.Float64()*200*100) / 100
	if n%10 == 0 {
		w.publishDirect(ctx, inv, root, orderID, map[string]any{"order_id": orderID, "customer": customers[n%len(customers)], "total": total, "currency": "EUR", "card": card})
		return
	}
	parts := 1
	if n%7 == 3 {
		parts = 2
	}
	var entries []ebtypes.PutEventsRequestEntry
	ceIDs := make([]string, parts)
	handles := make([]int, parts)
	// With OTel, each entry's producer span starts before the send and its
	// context rides in the entry's trace header (Parent is the producer span),
	// as an instrumented app's X-Ray propagator writes it; consumers link to it.
	prod := make([]oteltrace.Span, parts)
	publishTook := time.Duration(float64(time.Millisecond) * fnByName("orders-api").baseMS)
	defer func() {
		for _, sp := range prod {
			if sp != nil {
				sp.End(oteltrace.WithTimestamp(inv.start.Add(publishTook)))
			}
		}
	}()
	for p := range parts {
		detail := map[string]any{"order_id": orderID, "customer": customers[n%len(customers)], "total": total, "currency": "EUR", "card": card}
		label := "order " + orderID
		if parts > 1 {
			detail["parcel"] = p + 1
			label += fmt.Sprintf(" part %d", p+1)
		}
		// Recorded before PutEvents: its targets may run before it returns.
		h := w.truth.event(label, orderBranches)
		handles[p] = h
		w.truth.tag(h, orderTag(detail))
		var detailJSON []byte
		if n%5 == 0 {
			// Some producers wrap the payload as a CloudEvent (structured mode).
			ceIDs[p] = w.uuid()
			ce := map[string]any{"specversion": "1.0", "id": ceIDs[p], "source": ceSource, "type": "com.example.order.placed", "time": time.Now().UTC().Format(time.RFC3339), "datacontenttype": "application/json", "data": detail}
			detailJSON, _ = json.Marshal(ce)
			w.truth.key(h, tracing.KeyCloudEventID, tracing.CloudEventKey(ceSource, ceIDs[p]).Value)
		} else {
			detailJSON, _ = json.Marshal(detail)
		}
		inv.api.record(w.truth, h)
		w.truth.key(h, tracing.KeyRequestID, inv.req)
		w.truth.trace(h, root)
		w.truth.key(h, tracing.KeyCorrelation, "correlation_id="+orderID)
		w.truth.step(h, tracing.ComponentFunction, "orders-api")
		w.truth.step(h, tracing.ComponentBus, BusName)
		parent := inv.segment
		if prod[p] = w.startSpan(root, "orders-api", inv, "orders publish", oteltrace.SpanKindProducer, "aws.eventbridge", "publish", BusName, ""); prod[p] != nil {
			parent = prod[p].SpanContext().SpanID().String()
		}
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			Source: aws.String("orders.api"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(string(detailJSON)),
			EventBusName: aws.String(BusName), TraceHeader: aws.String("Root=" + root + ";Parent=" + parent + ";Sampled=1"),
		})
	}
	inv.log("INFO", "placing order", map[string]any{"order_id": orderID, "correlation_id": orderID})
	out, err := w.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil || out.FailedEntryCount > 0 || len(out.Entries) != parts {
		for _, h := range handles {
			w.truth.forget(h)
		}
		for _, sp := range prod {
			if sp != nil {
				sp.SetStatus(codes.Error, "PutEvents failed")
			}
		}
		inv.log("ERROR", "PutEvents failed", map[string]any{"order_id": orderID})
		inv.end("error", "EventBridge.PutEventsFailed")
		return
	}
	for p, e := range out.Entries {
		eventID := aws.ToString(e.EventId)
		w.truth.key(handles[p], tracing.KeyEventID, eventID)
		inv.log("INFO", "OrderPlaced published", map[string]any{"order_id": orderID, "correlation_id": orderID, "published_event_id": eventID, "detail_type": "OrderPlaced"})
		if prod[p] != nil {
			prod[p].SetAttributes(attribute.String("messaging.message.id", eventID))
		}
	}
	inv.end("", "")
	if or.Float64() < w.cfg.PoisonRate {
		// A malformed message sent straight to the queue by a buggy producer.
		out, err := w.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.queueURLs[BillingQueue]), MessageBody: aws.String(`{"order_id": "` + orderID + `", "total": 12.5,`)})
		if err == nil {
			h := w.truth.event("poison "+orderID, 1)
			w.truth.key(h, tracing.KeyMessageID, aws.ToString(out.MessageId))
			w.truth.step(h, tracing.ComponentQueue, BillingQueue)
		}
	}
}

// publishDirect is orders-api publishing a structured-mode CloudEvent straight
// to the order-events topic, without the bus: it reaches send-email (SNS
// envelope) and record-analytics (raw delivery) only.
func (w *World) publishDirect(ctx context.Context, inv *invocation, root, orderID string, detail map[string]any) {
	h := w.truth.event("order "+orderID+" (cloudevent to sns)", 2)
	w.truth.tag(h, orderTag(detail))
	ceID := w.uuid()
	ce, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": ceID, "source": ceSource, "type": "com.example.order.placed",
		"time": time.Now().UTC().Format(time.RFC3339), "datacontenttype": "application/json", "data": detail,
	})
	w.truth.key(h, tracing.KeyCloudEventID, tracing.CloudEventKey(ceSource, ceID).Value)
	inv.api.record(w.truth, h)
	w.truth.key(h, tracing.KeyRequestID, inv.req)
	w.truth.trace(h, root)
	w.truth.key(h, tracing.KeyCorrelation, "correlation_id="+orderID)
	w.truth.step(h, tracing.ComponentFunction, "orders-api")
	w.truth.step(h, tracing.ComponentTopic, OrdersTopic)
	inv.log("INFO", "placing order", map[string]any{"order_id": orderID, "correlation_id": orderID})
	in := &sns.PublishInput{TopicArn: aws.String(w.topicARN), Message: aws.String(string(ce))}
	// With OTel, the producer span starts before the send and its context
	// goes in the traceparent message attribute, as OTel's SNS instrumentation
	// injects it; raw delivery hands it to the queue's consumer.
	publishTook := time.Duration(float64(time.Millisecond) * fnByName("orders-api").baseMS)
	sp := w.startSpan(root, "orders-api", inv, OrdersTopic+" publish", oteltrace.SpanKindProducer, "aws_sns", "publish", OrdersTopic, "")
	if sp != nil {
		defer sp.End(oteltrace.WithTimestamp(inv.start.Add(publishTook)))
		in.MessageAttributes = map[string]snstypes.MessageAttributeValue{"traceparent": {DataType: aws.String("String"), StringValue: aws.String(traceparent(sp.SpanContext()))}}
	}
	out, err := w.sns.Publish(ctx, in)
	if err != nil {
		if sp != nil {
			sp.SetStatus(codes.Error, "Publish failed")
		}
		w.truth.forget(h)
		inv.log("ERROR", "Publish failed", map[string]any{"order_id": orderID})
		inv.end("error", "SNS.PublishFailed")
		return
	}
	snsID := aws.ToString(out.MessageId)
	// The producer span names the SNS MessageId, so flowtop can know it.
	w.truth.key(h, tracing.KeySNSMessageID, snsID)
	inv.log("INFO", "OrderPlaced published", map[string]any{"order_id": orderID, "correlation_id": orderID, "published_event_id": ceID, "ce_type": "com.example.order.placed"})
	if sp != nil {
		sp.SetAttributes(attribute.String("messaging.message.id", snsID))
	}
	inv.end("", "")
}

// handled is what a consumer did with one message: status "" (done),
// "error" or "timeout" (left for retry), and parked when it moved the message
// to a DLQ itself.
type handled struct {
	status, errType string
	parked          bool
}

// consume polls a queue with the SDK as Lambda's event source mapping does:
// one invocation per batch of up to batch messages. A failed invocation leaves
// its messages for retry; the queue's redrive policy dead-letters them after
// three receives.
func (w *World) consume(ctx context.Context, queue, fn string, batch int, handle func(ctx context.Context, inv *invocation, m sqstypes.Message, ev msgEvent) handled) {
	for ctx.Err() == nil {
		if batch > 1 {
			// A batching window (MaximumBatchingWindowInSeconds) lets messages gather.
			select {
			case <-ctx.Done():
				return
			case <-time.After(batchWindow):
			}
		}
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.queueURLs[queue]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		var groups [][]sqstypes.Message
		for i := 0; i < len(out.Messages); i += batch {
			groups = append(groups, out.Messages[i:min(i+batch, len(out.Messages))])
		}
		var wg sync.WaitGroup
		for _, msgs := range groups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.invokeBatch(ctx, queue, fn, msgs, handle)
			}()
		}
		wg.Wait()
	}
}

// invokeBatch runs one invocation of fn over msgs, and records the truth.
func (w *World) invokeBatch(ctx context.Context, queue, fn string, msgs []sqstypes.Message, handle func(ctx context.Context, inv *invocation, m sqstypes.Message, ev msgEvent) handled) {
	trace := ""
	if len(msgs) == 1 {
		if h := msgs[0].Attributes["AWSTraceHeader"]; h != "" {
			trace = strings.TrimPrefix(strings.Split(h, ";")[0], "Root=")
		}
	}
	if trace == "" {
		// A batch runs in a trace of its own, as Lambda starts one per invocation.
		trace, _ = w.traceHeader()
	}
	inv := w.begin(fn, trace)
	if len(msgs) > 1 {
		// As Lambda does for a batch: link the invocation to each message's trace.
		for _, m := range msgs {
			if root, parent := headerIDs(m.Attributes["AWSTraceHeader"]); root != "" && parent != "" {
				inv.links = append(inv.links, map[string]string{"trace_id": root, "id": parent})
			}
		}
	}
	evs := make([]msgEvent, len(msgs))
	results := make([]handled, len(msgs))
	failed := handled{}
	for i, m := range msgs {
		evs[i] = w.eventOf(aws.ToString(m.Body), aws.ToString(m.MessageId))
		results[i] = handle(ctx, inv, m, evs[i])
		if results[i].status != "" && failed.status == "" {
			failed = results[i]
		}
	}
	took := inv.end(failed.status, failed.errType)
	// With OTel, a batch is processed under one span in the invocation's own
	// trace, linked to each message's producer span (messaging conventions,
	// batch receive); each message's span is its child, linked to its message,
	// as OTel's Java Lambda instrumentation makes them for an SQS event.
	var batchSpan oteltrace.Span
	if len(msgs) > 1 {
		var links []oteltrace.Link
		for _, m := range msgs {
			if l, ok := msgLink(m); ok {
				links = append(links, l)
			}
		}
		batchSpan = w.startSpan(trace, fn, inv, queue+" process", oteltrace.SpanKindConsumer, "aws_sqs", "process", queue, "",
			oteltrace.WithLinks(links...), oteltrace.WithAttributes(attribute.Int("messaging.batch.message_count", len(msgs))))
		if batchSpan != nil {
			if failed.status != "" {
				batchSpan.SetStatus(codes.Error, failed.status)
			}
			defer batchSpan.End(oteltrace.WithTimestamp(inv.start.Add(took)))
		}
	}
	for i, m := range msgs {
		ev, res := evs[i], results[i]
		h := ev.handle
		w.truth.key(h, tracing.KeyMessageID, aws.ToString(m.MessageId))
		w.truth.key(h, tracing.KeyRequestID, inv.req)
		w.truth.trace(h, trace)
		if ev.snsID != "" || queue == AnalyticsQueue {
			w.truth.step(h, tracing.ComponentTopic, OrdersTopic)
		}
		w.truth.step(h, tracing.ComponentQueue, queue)
		w.truth.step(h, tracing.ComponentFunction, fn)
		if batchSpan != nil {
			var opts []oteltrace.SpanStartOption
			if l, ok := msgLink(m); ok {
				opts = append(opts, oteltrace.WithLinks(l))
			}
			ctx := oteltrace.ContextWithSpan(context.Background(), batchSpan)
			sp := w.startIn(ctx, fn, inv, queue+" process", oteltrace.SpanKindConsumer, "aws_sqs", "process", queue, aws.ToString(m.MessageId), opts...)
			if failed.status != "" {
				sp.SetStatus(codes.Error, failed.status)
			}
			sp.End(oteltrace.WithTimestamp(inv.start.Add(took)))
		} else {
			w.span(trace, fn, inv, queue+" process", oteltrace.SpanKindConsumer, "aws_sqs", "process", queue, aws.ToString(m.MessageId), took, failed.status)
		}
		switch {
		case failed.status == "":
			_, _ = w.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURLs[queue]), ReceiptHandle: m.ReceiptHandle})
			if res.parked {
				// The notification, with its SNS MessageId, now sits in a DLQ where flowtop can read it.
				w.truth.key(h, tracing.KeySNSMessageID, ev.snsID)
				w.truth.outcome(h, "dead-lettered")
			} else {
				w.truth.outcome(h, "ok")
			}
		case receives(m) >= 3 && (queue == BillingQueue || queue == EmailQueue):
			// The redrive policy moves it to the DLQ at its next receive.
			dlq := BillingDLQ
			if queue == EmailQueue {
				dlq = EmailDLQ
			}
			w.truth.key(h, tracing.KeySNSMessageID, ev.snsID)
			w.truth.step(h, tracing.ComponentQueue, dlq)
			w.truth.outcome(h, "dead-lettered")
		}
	}
}

// headerIDs reads Root and Parent from an X-Ray trace header.
func headerIDs(h string) (root, parent string) {
	for _, f := range strings.Split(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Root":
			root = v
		case "Parent":
			parent = v
		}
	}
	return root, parent
}

func receives(m sqstypes.Message) int {
	n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	return n
}

// msgEvent is what a consumer reads from a message body: the event inside it
// and the world's record of that event.
type msgEvent struct {
	handle        int // in the truth record; 0 when unknown
	eventID, ceID string
	snsID         string
	order         map[string]any
	err           error
	replay        string // the replay-name of an archive replay (world_archive.go)
}

// id is the event ID a consumer logs as event_id: the CloudEvents id when the
// event is a CloudEvent, else the EventBridge id.
func (e msgEvent) id() string {
	if e.ceID != "" {
		return e.ceID
	}
	return e.eventID
}

// eventOf reads an SQS body (an EventBridge event, raw or inside an SNS
// notification) and finds the event in the truth record, by the event ID or,
// for a body that is no event, by the message ID.
func (w *World) eventOf(body, msgID string) msgEvent {
	var ev msgEvent
	var note struct{ Type, MessageId, Message string }
	if json.Unmarshal([]byte(body), &note) == nil && note.Type == "Notification" {
		ev.snsID, body = note.MessageId, note.Message
	}
	ev.eventID, ev.ceID, ev.order, ev.err = orderOf(body)
	if ev.replay = replayNameOf(body); ev.replay != "" {
		return ev // not an event the world generated: its truth is the original's
	}
	if ev.eventID != "" {
		ev.handle = w.truth.find(tracing.Key{Kind: tracing.KeyEventID, Value: ev.eventID})
	}
	if ev.handle == 0 && ev.order != nil {
		ev.handle = w.truth.findTag(orderTag(ev.order))
	}
	if ev.handle == 0 {
		ev.handle = w.truth.find(tracing.Key{Kind: tracing.KeyMessageID, Value: msgID})
	}
	return ev
}

// chance is a number in [0, 1) fixed by the seed, salt, the event and the
// delivery attempt, for outcomes that must not depend on timing.
func (w *World) chance(salt string, ev msgEvent, attempt int) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(salt + "/" + orderTag(ev.order) + "/" + strconv.Itoa(attempt)))
	return rand.New(rand.NewPCG(w.cfg.Seed, h.Sum64())).Float64()
}

// orderTag is the world's own name for one event of an order: its order_id
// and parcel number.
func orderTag(detail map[string]any) string {
	return fmt.Sprint(detail["order_id"], "#", detail["parcel"])
}

// orderOf reads the order from an EventBridge envelope (detail, or a
// CloudEvent's data inside it).
func orderOf(body string) (eventID, ceID string, order map[string]any, err error) {
	var env struct {
		ID          string         `json:"id"`
		Detail      map[string]any `json:"detail"`
		SpecVersion string         `json:"specversion"`
		Data        map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return "", "", nil, err
	}
	if env.SpecVersion != "" && env.Data != nil {
		return "", env.ID, env.Data, nil // a CloudEvent published as it is
	}
	order = env.Detail
	if data, ok := env.Detail["data"].(map[string]any); ok && env.Detail["specversion"] != nil {
		order = data
		ceID, _ = env.Detail["id"].(string)
	}
	if order == nil {
		return env.ID, ceID, nil, errors.New("no detail")
	}
	return env.ID, ceID, order, nil
}

func (w *World) chargeCard(ctx context.Context, inv *invocation, m sqstypes.Message, ev msgEvent) handled {
	msgID := aws.ToString(m.MessageId)
	if ev.err != nil {
		inv.log("ERROR", "cannot parse order: "+ev.err.Error(), map[string]any{"messageId": msgID})
		return handled{status: "error", errType: "SyntaxError"}
	}
	fields := ev.tagReplay(map[string]any{"messageId": msgID, "event_id": ev.id(), "order_id": ev.order["order_id"], "correlation_id": ev.order["order_id"]})
	inv.log("INFO", "charging card", fields)
	switch ev.order["card"] {
	case "declined":
		inv.log("ERROR", "CardDeclined: insufficient funds", fields)
		return handled{status: "error", errType: "CardDeclined"}
	case "slow-bank":
		if w.chance("charge-card", ev, receives(m)) < 0.7 {
			return handled{status: "timeout", errType: "Sandbox.Timedout"}
		}
	}
	inv.log("INFO", "charged", fields)
	return handled{}
}

// sendEmail reads the SNS notification. An order whose customer has no valid
// address is parked in email-dlq by the function itself: it re-sends the body
// there (a new MessageId) and lets the original be deleted.
func (w *World) sendEmail(ctx context.Context, inv *invocation, m sqstypes.Message, ev msgEvent) handled {
	msgID := aws.ToString(m.MessageId)
	if ev.snsID == "" {
		inv.log("ERROR", "not an SNS notification", map[string]any{"messageId": msgID})
		return handled{status: "error", errType: "ValueError"}
	}
	if ev.err != nil {
		inv.log("ERROR", "no order in the notification", map[string]any{"messageId": msgID})
		return handled{status: "error", errType: "ValueError"}
	}
	fields := ev.tagReplay(map[string]any{"messageId": msgID, "event_id": ev.id(), "order_id": ev.order["order_id"], "correlation_id": ev.order["order_id"]})
	if ev.eventID == "" && ev.ceID != "" && ev.order["customer"] == "ana" {
		// No template for this customer's locale: every attempt fails, and the
		// redrive policy dead-letters the notification.
		inv.log("ERROR", "TemplateMissing: no email template for the customer's locale", fields)
		return handled{status: "error", errType: "TemplateMissing"}
	}
	if ev.order["customer"] == "fay" && ev.ceID != "" {
		out, err := w.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.queueURLs[EmailDLQ]), MessageBody: m.Body})
		if err != nil {
			inv.log("ERROR", "cannot park the message", fields)
			return handled{status: "error", errType: "ParkFailed"}
		}
		w.truth.key(ev.handle, tracing.KeyMessageID, aws.ToString(out.MessageId))
		w.truth.step(ev.handle, tracing.ComponentQueue, EmailDLQ)
		inv.log("WARN", "no valid address: parked in "+EmailDLQ, fields)
		return handled{parked: true}
	}
	inv.log("INFO", "sending confirmation email", fields)
	if w.chance("send-email", ev, receives(m)) < 0.01 {
		inv.log("ERROR", "SMTP 451 temporary failure", fields)
		return handled{status: "error", errType: "SMTPTemporaryError"}
	}
	return handled{}
}

// recordAnalytics takes the raw EventBridge events of a batch.
func (w *World) recordAnalytics(ctx context.Context, inv *invocation, m sqstypes.Message, ev msgEvent) handled {
	fields := ev.tagReplay(map[string]any{"messageId": aws.ToString(m.MessageId), "event_id": ev.id()})
	if ev.err == nil {
		fields["order_id"], fields["correlation_id"] = ev.order["order_id"], ev.order["order_id"]
	}
	inv.log("INFO", "order recorded", fields)
	return handled{}
}

// reserveStock is the EventBridge→Lambda target, run by the sandbox's async invoke.
func (w *World) reserveStock(ctx context.Context, payload []byte) ([]byte, error) {
	ev := w.eventOf(string(payload), "")
	root, _ := w.traceHeader()
	inv := w.begin("reserve-stock", root)
	w.truth.key(ev.handle, tracing.KeyRequestID, inv.req)
	w.truth.trace(ev.handle, root)
	w.truth.step(ev.handle, tracing.ComponentFunction, "reserve-stock")
	if ev.err != nil {
		inv.log("ERROR", "bad event", nil)
		took := inv.end("error", "KeyError")
		w.span(root, "reserve-stock", inv, "reserve-stock process", oteltrace.SpanKindConsumer, "aws.eventbridge", "process", BusName, ev.eventID, took, "error")
		w.truth.outcome(ev.handle, "failed")
		return nil, ev.err
	}
	fields := ev.tagReplay(map[string]any{"event_id": ev.id(), "order_id": ev.order["order_id"], "correlation_id": ev.order["order_id"]})
	inv.log("INFO", "reserving stock", fields)
	if w.chance("reserve-stock", ev, 1) < 0.08 {
		// The handler throws: the runtime logs the error, X-Ray marks a fault,
		// and a text-format REPORT line says nothing about it, as Lambda's does.
		fields["errorType"], fields["errorMessage"] = "OutOfStock", "no stock left for the order"
		inv.log("ERROR", "Invoke Error", fields)
		inv.quietReport = true
		took := inv.end("error", "OutOfStock")
		w.span(root, "reserve-stock", inv, "reserve-stock process", oteltrace.SpanKindConsumer, "aws.eventbridge", "process", BusName, ev.eventID, took, "error")
		w.truth.outcome(ev.handle, "failed")
		return nil, errors.New("OutOfStock: no stock left for the order")
	}
	took := inv.end("", "")
	w.span(root, "reserve-stock", inv, "reserve-stock process", oteltrace.SpanKindConsumer, "aws.eventbridge", "process", BusName, ev.eventID, took)
	w.truth.outcome(ev.handle, "ok")
	return []byte(`{"reserved":true}`), nil
}

// span sends one OTel span for an invocation through the real OTel SDK, in
// the invocation's X-Ray trace (the same 128 bits in W3C form), under its
// Lambda segment, with the
// messaging and FaaS attributes flowtop joins on.
func (w *World) span(xrayTrace, fn string, inv *invocation, name string, kind oteltrace.SpanKind, system, op, dest, msgID string, took time.Duration, status ...string) {
	sp := w.startSpan(xrayTrace, fn, inv, name, kind, system, op, dest, msgID)
	if sp == nil {
		return
	}
	if len(status) > 0 && status[0] != "" {
		sp.SetStatus(codes.Error, status[0])
	}
	sp.End(oteltrace.WithTimestamp(inv.start.Add(took)))
}

// startSpan starts the span that span sends, for a caller that needs its
// context before it ends: a producer injects it into the message it sends, a
// batch consumer parents each message's span on it. Extra options (links)
// are passed to the SDK. It is nil without an OTLP endpoint; msgID "" leaves
// messaging.message.id out, as a batch span has no single message.
func (w *World) startSpan(xrayTrace, fn string, inv *invocation, name string, kind oteltrace.SpanKind, system, op, dest, msgID string, opts ...oteltrace.SpanStartOption) oteltrace.Span {
	if w.tracer == nil {
		return nil
	}
	var tid oteltrace.TraceID
	hexID := strings.ReplaceAll(strings.TrimPrefix(xrayTrace, "1-"), "-", "")
	if b, err := hex.DecodeString(hexID); err == nil && len(b) == 16 {
		copy(tid[:], b)
	}
	// The invocation's spans are children of its Lambda segment, as the
	// Lambda OTel layer parents them on the Parent of _X_AMZN_TRACE_ID.
	var sid oteltrace.SpanID
	if b, err := hex.DecodeString(inv.segment); err == nil && len(b) == 8 {
		copy(sid[:], b)
	}
	parent := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled, Remote: true})
	ctx := oteltrace.ContextWithRemoteSpanContext(context.Background(), parent)
	return w.startIn(ctx, fn, inv, name, kind, system, op, dest, msgID, opts...)
}

// startIn starts an invocation's span under the span context in ctx.
func (w *World) startIn(ctx context.Context, fn string, inv *invocation, name string, kind oteltrace.SpanKind, system, op, dest, msgID string, opts ...oteltrace.SpanStartOption) oteltrace.Span {
	attrs := []attribute.KeyValue{
		attribute.String("faas.name", fn), attribute.String("faas.invocation_id", inv.req), attribute.Bool("faas.coldstart", inv.cold),
		attribute.String("messaging.system", system), attribute.String("messaging.operation.type", op),
		attribute.String("messaging.destination.name", dest),
	}
	if msgID != "" {
		attrs = append(attrs, attribute.String("messaging.message.id", msgID))
	}
	opts = append([]oteltrace.SpanStartOption{oteltrace.WithSpanKind(kind), oteltrace.WithTimestamp(inv.start), oteltrace.WithAttributes(attrs...)}, opts...)
	_, sp := w.tracer.Start(ctx, name, opts...)
	return sp
}

// msgLink is the span link a consumer makes to one message's producer span:
// the trace and span the message's trace context names, and its message ID
// (OTel messaging conventions, batch receive).
func msgLink(m sqstypes.Message) (oteltrace.Link, bool) {
	var sc oteltrace.SpanContext
	if a, ok := m.MessageAttributes["traceparent"]; ok && a.StringValue != nil {
		sc = parseTraceparent(aws.ToString(a.StringValue))
	}
	if !sc.IsValid() {
		root, parent := headerIDs(m.Attributes["AWSTraceHeader"])
		sc = spanContextOf(root, parent)
	}
	if !sc.IsValid() {
		return oteltrace.Link{}, false
	}
	return oteltrace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("messaging.message.id", aws.ToString(m.MessageId))}}, true
}

// spanContextOf turns an X-Ray Root and Parent into the W3C span context they
// name (the same bits); it is invalid when either is malformed.
func spanContextOf(root, parent string) oteltrace.SpanContext {
	var tid oteltrace.TraceID
	var sid oteltrace.SpanID
	if b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(root, "1-"), "-", "")); err == nil && len(b) == 16 {
		copy(tid[:], b)
	}
	if b, err := hex.DecodeString(parent); err == nil && len(b) == 8 {
		copy(sid[:], b)
	}
	return oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled, Remote: true})
}

// parseTraceparent reads a W3C traceparent (00-trace-span-flags); it is
// invalid when the value is malformed.
func parseTraceparent(v string) oteltrace.SpanContext {
	f := strings.Split(v, "-")
	if len(f) != 4 || len(f[1]) != 32 || len(f[2]) != 16 {
		return oteltrace.SpanContext{}
	}
	var tid oteltrace.TraceID
	var sid oteltrace.SpanID
	if b, err := hex.DecodeString(f[1]); err == nil {
		copy(tid[:], b)
	}
	if b, err := hex.DecodeString(f[2]); err == nil {
		copy(sid[:], b)
	}
	return oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled, Remote: true})
}

// traceparent is a span context in W3C form, as OTel's propagator writes it.
func traceparent(sc oteltrace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
}

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/tracing"
)

// The fulfilment workflow: a Step Functions state machine the orders bus
// starts for every OrderPlaced (rule order-placed-fulfilment). It reserves
// the order's items (fulfil-reserve, through the lambda:invoke integration),
// chooses: express orders ship at once, the others wait for a courier, then
// ships each item (a Map over the reserved items, fulfil-ship per item).
// Shipping an item fails now and then (CourierUnavailable): the Map fails,
// and the execution fails with that error and cause; a redrive ships the
// items that failed, and the courier is then found.
const (
	FulfilmentMachine = "fulfilment"
	FulfilReserve     = "fulfil-reserve"
	FulfilShip        = "fulfil-ship"
	fulfilmentRule    = "order-placed-fulfilment"
	// shipFailRate is the share of items whose first shipping attempt fails.
	shipFailRate = 0.1
)

func init() {
	worldFns = append(worldFns,
		fnSpec{name: FulfilReserve, runtime: "python3.13", format: "Text", mem: 256, arch: "arm64", timeout: 10, baseMS: 45, spreadMS: 25, initMS: 280},
		fnSpec{name: FulfilShip, runtime: "python3.13", format: "JSON", mem: 256, arch: "x86_64", timeout: 10, baseMS: 70, spreadMS: 40, initMS: 330},
	)
	worldParts = append(worldParts, func() worldPart { return &fulfilment{} })
}

// FulfilmentDefinition is the state machine's Amazon States Language.
func FulfilmentDefinition() string {
	return `{
  "Comment": "Order fulfilment: reserve the items, wait for a courier unless express, ship each item.",
  "StartAt": "Reserve",
  "States": {
    "Reserve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName": "` + fnARN(FulfilReserve) + `", "Payload.$": "$"},
      "ResultSelector": {"items.$": "$.Payload.items", "express.$": "$.Payload.express"},
      "ResultPath": "$.reservation",
      "Next": "Express?"
    },
    "Express?": {
      "Type": "Choice",
      "Choices": [{"Variable": "$.reservation.express", "BooleanEquals": true, "Next": "Ship"}],
      "Default": "WaitForCourier"
    },
    "WaitForCourier": {"Type": "Wait", "Seconds": 10, "Next": "Ship"},
    "Ship": {
      "Type": "Map",
      "ItemsPath": "$.reservation.items",
      "ItemSelector": {"item.$": "$$.Map.Item.Value", "event_id.$": "$.id"},
      "ItemProcessor": {
        "StartAt": "ShipItem",
        "States": {
          "ShipItem": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "` + FulfilShip + `", "Payload.$": "$"},
            "ResultSelector": {"shipped.$": "$.Payload.shipped"},
            "End": true
          }
        }
      },
      "ResultPath": "$.shipping",
      "End": true
    }
  }
}`
}

// fulfilment is the world part that runs the workflow's functions and
// records what the workflow did in the truth.
type fulfilment struct {
	w *World

	mu      sync.Mutex
	byExec  map[string]int      // execution ARN → the event it handles (truth handle)
	events  map[string]msgEvent // EventBridge id → the event, as the reserve task read it
	tries   map[string]int      // "event id/item" → shipping attempts
	arns    map[string]string   // EventBridge id → execution ARN
	machine string
}

func (p *fulfilment) setup(ctx context.Context, w *World) error {
	p.w = w
	p.byExec, p.events, p.tries, p.arns = map[string]int{}, map[string]msgEvent{}, map[string]int{}, map[string]string{}
	if w.srv == nil {
		return nil // the functions run in-process only
	}
	f := w.srv.sfn()
	f.mu.Lock()
	f.onStart, f.onEnd = p.started, p.ended
	f.mu.Unlock()
	for _, fn := range []string{FulfilReserve, FulfilShip} {
		spec := fnByName(fn)
		lf := LambdaFunction{Name: fn, Runtime: spec.runtime, MemoryMB: spec.mem, TimeoutSec: spec.timeout, Architecture: spec.arch, LogFormat: spec.format, Tracing: "Active"}
		if fn == FulfilReserve {
			lf.Handler = p.reserve
		} else {
			lf.Handler = p.ship
		}
		w.srv.RegisterFunction(lf)
	}
	cfg := aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(w.srv.URL()), Logger: logging.Nop{}}
	out, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name: aws.String(FulfilmentMachine), Definition: aws.String(FulfilmentDefinition()),
		RoleArn:              aws.String("arn:aws:iam::" + Account + ":role/fulfilment"),
		TracingConfiguration: &sfntypes.TracingConfiguration{Enabled: true},
	})
	if err != nil {
		return fmt.Errorf("fulfilment: %w", err)
	}
	p.machine = aws.ToString(out.StateMachineArn)
	pattern := `{"source":["orders.api"],"detail-type":["OrderPlaced"]}`
	if _, err := w.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(fulfilmentRule), EventBusName: aws.String(BusName), EventPattern: aws.String(pattern)}); err != nil {
		return err
	}
	if _, err := w.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(fulfilmentRule), EventBusName: aws.String(BusName), Targets: []ebtypes.Target{{
		Id: aws.String("fulfilment"), Arn: aws.String(p.machine), RoleArn: aws.String("arn:aws:iam::" + Account + ":role/events-start-fulfilment"),
	}}}); err != nil {
		return err
	}
	wf := tracing.Component{Kind: tracing.ComponentWorkflow, Name: FulfilmentMachine}
	w.truth.edge(tracing.Component{Kind: tracing.ComponentBus, Name: BusName}, wf, true, "rule "+fulfilmentRule)
	w.truth.edge(wf, tracing.Component{Kind: tracing.ComponentFunction, Name: FulfilReserve}, true, "task Reserve")
	w.truth.edge(wf, tracing.Component{Kind: tracing.ComponentFunction, Name: FulfilShip}, true, "task ShipItem in map Ship")
	return nil
}

func (p *fulfilment) run(ctx context.Context, _ *World) { <-ctx.Done() }

// started is told of each execution as StartExecution takes it: the rule
// started it for an event, which now has one more branch to finish.
func (p *fulfilment) started(arn, input string) {
	ev := p.w.eventOf(input, "")
	if ev.handle == 0 {
		return
	}
	t := p.w.truth
	t.branch(ev.handle)
	t.key(ev.handle, tracing.KeyExecution, arn)
	t.step(ev.handle, tracing.ComponentWorkflow, FulfilmentMachine)
	p.mu.Lock()
	p.byExec[arn] = ev.handle
	p.arns[ev.eventID] = arn
	p.mu.Unlock()
}

// ended is told of each attempt's outcome.
func (p *fulfilment) ended(arn, status string) {
	p.mu.Lock()
	h := p.byExec[arn]
	p.mu.Unlock()
	if h == 0 {
		return
	}
	if status == "SUCCEEDED" {
		p.w.truth.outcome(h, "ok")
	} else {
		p.w.truth.outcome(h, "failed")
	}
}

// invocation starts one of the workflow's function runs in the trace the
// task passed, and tells the task its request ID.
func (p *fulfilment) invocation(ctx context.Context, fn string) *invocation {
	trace, setRequest := invokedBy(ctx)
	root, _ := headerIDs(trace)
	if root == "" {
		root, _ = p.w.traceHeader()
	}
	inv := p.w.begin(fn, root)
	setRequest(inv.req)
	return inv
}

// reserve is fulfil-reserve: it takes the whole EventBridge event (the
// execution's input) and answers the items to ship and whether the order
// is express. It logs the order, not the event: the workflow, not the
// function, knows which event it runs for.
func (p *fulfilment) reserve(ctx context.Context, payload []byte) ([]byte, error) {
	w := p.w
	ev := w.eventOf(string(payload), "")
	inv := p.invocation(ctx, FulfilReserve)
	p.record(ev, inv, FulfilReserve)
	if ev.err != nil {
		inv.log("ERROR", "no order in the event", nil)
		ranFor(ctx, inv.end("error", "KeyError"))
		return nil, errors.New("KeyError: detail")
	}
	p.mu.Lock()
	p.events[ev.eventID] = ev
	p.mu.Unlock()
	n := 1 + int(w.chance("fulfil-items", ev, 0)*3)
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"sku": fmt.Sprintf("sku-%03d", 1+int(w.chance("fulfil-sku", ev, i)*400)), "qty": 1}
	}
	total, _ := ev.order["total"].(float64)
	fields := map[string]any{"order_id": ev.order["order_id"], "correlation_id": ev.order["order_id"], "items": n}
	inv.log("INFO", "items reserved", fields)
	ranFor(ctx, inv.end("", ""))
	return json.Marshal(map[string]any{"items": items, "express": total > 120})
}

// ship is fulfil-ship: one item of a Map iteration.
func (p *fulfilment) ship(ctx context.Context, payload []byte) ([]byte, error) {
	var in struct {
		Item    map[string]any `json:"item"`
		EventID string         `json:"event_id"`
	}
	_ = json.Unmarshal(payload, &in)
	inv := p.invocation(ctx, FulfilShip)
	p.mu.Lock()
	ev, known := p.events[in.EventID]
	key := in.EventID + "/" + fmt.Sprint(in.Item["sku"])
	p.tries[key]++
	try := p.tries[key]
	p.mu.Unlock()
	if !known {
		ev = p.w.eventOf(`{"id":"`+in.EventID+`"}`, "")
	}
	p.record(ev, inv, FulfilShip)
	fields := map[string]any{"order_id": ev.order["order_id"], "correlation_id": ev.order["order_id"], "sku": in.Item["sku"]}
	inv.log("INFO", "shipping item", fields)
	if try == 1 && p.w.chance("fulfil-ship/"+fmt.Sprint(in.Item["sku"]), ev, 0) < shipFailRate {
		fields["errorType"], fields["errorMessage"] = "CourierUnavailable", "no courier for the parcel"
		inv.log("ERROR", "Invoke Error", fields)
		ranFor(ctx, inv.end("error", "CourierUnavailable"))
		return nil, errors.New("CourierUnavailable: no courier for the parcel")
	}
	ranFor(ctx, inv.end("", ""))
	return []byte(`{"shipped":true}`), nil
}

// record puts a function run of the workflow in the truth: the event it
// ran for gains its request ID, its trace and the function on its path.
func (p *fulfilment) record(ev msgEvent, inv *invocation, fn string) {
	t := p.w.truth
	t.key(ev.handle, tracing.KeyRequestID, inv.req)
	t.trace(ev.handle, inv.trace)
	t.step(ev.handle, tracing.ComponentFunction, fn)
}

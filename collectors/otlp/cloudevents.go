package otlp

import (
	"github.com/flowtop/flowtop/tracing"
)

// ceAttrs are the CloudEvents span attributes and the cloud resource
// attributes kept on a span, for display and for the graph.
var ceAttrs = [...]int{aCEID, aCESource, aCEType, aCESpecVersion, aCESubject}

var cloudAttrs = [...]int{aCloudProvider, aCloudPlatform, aCloudRegion}

// cloudEvent maps the CloudEvents semantic-convention attributes of span s
// (cloudevents.event_id and cloudevents.event_source) to the CloudEvent's key
// ([tracing.CloudEventKey]): a producer span published that CloudEvent, any
// other span handled it. The attributes, and the cloud.provider,
// cloud.platform and cloud.region of the span's resource (or the span's
// own), stay in s.Attrs for a span from another cloud or with a CloudEvent,
// so the hop shows which cloud it ran in.
func (d *decoder) cloudEvent(in *spanIn, s *tracing.Span, self tracing.Key, keys []tracing.Key, rels []tracing.Relation) ([]tracing.Key, []tracing.Relation) {
	a := &in.a
	provider := a.first(aCloudProvider)
	if provider == "" {
		provider = d.cloud.v[aCloudProvider]
	}
	if (provider == "" || provider == "aws") && a.v[aCEID] == "" {
		// AWS's own spans: their cloud is the one flowtop watches, and
		// keeping it on every span would cost memory for nothing.
		return keys, rels
	}
	for _, i := range cloudAttrs {
		v := a.v[i]
		if v == "" {
			v = d.cloud.v[i]
		}
		if v != "" && len(v) <= 128 {
			if s.Attrs == nil {
				s.Attrs = make(map[string]string, 4)
			}
			s.Attrs[attrNames[i]] = v
		}
	}
	if a.v[aCEID] == "" {
		return keys, rels
	}
	for _, i := range ceAttrs {
		if v := a.v[i]; v != "" && len(v) <= 256 {
			if s.Attrs == nil {
				s.Attrs = make(map[string]string, 4)
			}
			s.Attrs[attrNames[i]] = v
		}
	}
	k, ok := tracing.CloudEventSpanKey(s.Attrs)
	if !ok {
		return keys, rels
	}
	keys = append(keys, k)
	op := s.Messaging.Operation
	if s.Kind == tracing.SpanKindProducer || op == "publish" || op == "send" || op == "create" {
		rels = append(rels, tracing.Relation{From: self, To: k, Kind: tracing.RelPublished, Evidence: evCEPublished})
	} else {
		rels = append(rels, tracing.Relation{From: self, To: k, Kind: tracing.RelConsumed, Evidence: evCEConsumed})
	}
	return keys, rels
}

const (
	evCEPublished = "cloudevents.event_id and event_source on a producer span"
	evCEConsumed  = "cloudevents.event_id and event_source on a consumer span"
)

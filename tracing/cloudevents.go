package tracing

// The OpenTelemetry CloudEvents semantic conventions: the attributes a span
// that produced or consumed a CloudEvent carries, and the cloud resource
// attributes that say where it ran (another cloud's function, in AWS's
// flows).
const (
	AttrCloudEventID          = "cloudevents.event_id"
	AttrCloudEventSource      = "cloudevents.event_source"
	AttrCloudEventType        = "cloudevents.event_type"
	AttrCloudEventSpecVersion = "cloudevents.event_spec_version"
	AttrCloudEventSubject     = "cloudevents.event_subject"
	AttrCloudProvider         = "cloud.provider" // aws, azure, gcp, …
	AttrCloudPlatform         = "cloud.platform" // aws_lambda, azure_functions, gcp_cloud_functions, …
	AttrCloudRegion           = "cloud.region"
)

// maxCloudEventField bounds the id and source taken from a span attribute.
const maxCloudEventField = 256

// CloudEventSpanKey is the key of the CloudEvent a span's attributes name:
// cloudevents.event_source and cloudevents.event_id together ([CloudEventKey]).
// Without a source it is the id alone, which the graph joins to the one
// CloudEvent with that id; without an id there is none.
func CloudEventSpanKey(attrs map[string]string) (Key, bool) {
	id, src := attrs[AttrCloudEventID], attrs[AttrCloudEventSource]
	if id == "" || len(id) > maxCloudEventField || len(src) > maxCloudEventField {
		return Key{}, false
	}
	return CloudEventKey(src, id), true
}

// CloudOf says where a span ran, from its cloud.provider and
// cloud.platform attributes: "gcp/gcp_cloud_functions", "azure", or "" when
// it does not say.
func CloudOf(attrs map[string]string) string {
	p, pl := attrs[AttrCloudProvider], attrs[AttrCloudPlatform]
	switch {
	case p == "" && pl == "":
		return ""
	case pl == "":
		return p
	case p == "":
		return pl
	}
	return p + "/" + pl
}

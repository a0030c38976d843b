package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// xrayService emulates the X-Ray calls flowtop makes (REST-JSON).
type xrayService struct {
	s *Server

	mu     sync.Mutex
	traces map[string]*xrayTrace
}

type xrayTrace struct {
	id         string
	segments   map[string]string // segment id → document (a completed one replaces in-progress)
	owners     map[string]string // segment id → the account that sent it (oam.go)
	start, end float64
	fault      bool
	errored    bool
	annots     map[string]string
	services   map[string]bool
}

func newXRayService(s *Server) *xrayService {
	return &xrayService{s: s, traces: map[string]*xrayTrace{}}
}

func (*xrayService) name() string { return "xray" }

func (*xrayService) operation(r *http.Request, _ []byte) string {
	if r.Method != http.MethodPost {
		return ""
	}
	switch r.URL.Path {
	case "/TraceSegments":
		return "PutTraceSegments"
	case "/TraceSummaries":
		return "GetTraceSummaries"
	case "/Traces":
		return "BatchGetTraces"
	}
	return ""
}

func (*xrayService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

func (x *xrayService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		x.writeError(w, http.StatusBadRequest, "InvalidRequestException", "request body is not JSON")
		return
	}
	x.mu.Lock()
	out, err := x.call(op, in, callerAccount(r))
	x.mu.Unlock()
	if err != nil {
		e := asAPIErr(err)
		x.writeError(w, e.status, e.code, e.message)
		return
	}
	writeJSON(w, "application/json", out)
}

type xraySegment struct {
	ID         string          `json:"id"`
	TraceID    string          `json:"trace_id"`
	Name       string          `json:"name"`
	StartTime  json.Number     `json:"start_time"`
	EndTime    json.Number     `json:"end_time"`
	InProgress bool            `json:"in_progress"`
	Error      bool            `json:"error"`
	Fault      bool            `json:"fault"`
	Annots     map[string]any  `json:"annotations"`
	Subs       json.RawMessage `json:"subsegments"`
}

var xrayTraceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func (x *xrayService) call(op string, in map[string]json.RawMessage, caller string) (any, error) {
	switch op {
	case "PutTraceSegments":
		var docs []string
		_ = json.Unmarshal(in["TraceSegmentDocuments"], &docs)
		unprocessed := []map[string]string{}
		for _, d := range docs {
			var seg xraySegment
			dec := json.NewDecoder(strings.NewReader(d))
			dec.UseNumber()
			if err := dec.Decode(&seg); err != nil || seg.ID == "" || !xrayTraceID.MatchString(seg.TraceID) {
				unprocessed = append(unprocessed, map[string]string{"Id": seg.ID, "ErrorCode": "InvalidSegment", "Message": "segment document is not valid"})
				continue
			}
			t, ok := x.traces[seg.TraceID]
			if !ok {
				t = &xrayTrace{id: seg.TraceID, segments: map[string]string{}, owners: map[string]string{}, annots: map[string]string{}, services: map[string]bool{}}
				x.traces[seg.TraceID] = t
			}
			if old, ok := t.segments[seg.ID]; ok && !seg.InProgress && strings.Contains(old, `"in_progress"`) || !ok || !seg.InProgress {
				t.segments[seg.ID] = d
				t.owners[seg.ID] = caller
			}
			st, _ := seg.StartTime.Float64()
			et, _ := seg.EndTime.Float64()
			if t.start == 0 || st < t.start {
				t.start = st
			}
			if et > t.end {
				t.end = et
			}
			t.fault = t.fault || seg.Fault
			t.errored = t.errored || seg.Error
			t.services[seg.Name] = true
			for k, v := range seg.Annots {
				t.annots[k] = fmt.Sprint(v)
			}
		}
		return map[string]any{"UnprocessedTraceSegments": unprocessed}, nil
	case "GetTraceSummaries":
		var start, end float64
		_ = json.Unmarshal(in["StartTime"], &start)
		_ = json.Unmarshal(in["EndTime"], &end)
		if end < start {
			return nil, badReq("InvalidRequestException", "EndTime must be after StartTime")
		}
		match, err := xrayFilter(str1(in, "FilterExpression"))
		if err != nil {
			return nil, err
		}
		var ids []string
		for id, t := range x.traces {
			if t.start >= start && t.start <= end && match(t) && x.visible(t, caller) {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		from, _ := strconv.Atoi(str1(in, "NextToken"))
		const page = 100
		out := map[string]any{"TracesProcessedCount": len(ids), "ApproximateTime": end}
		sums := []map[string]any{}
		for i := from; i < len(ids) && len(sums) < page; i++ {
			t := x.traces[ids[i]]
			sums = append(sums, map[string]any{
				"Id": t.id, "Duration": t.end - t.start, "ResponseTime": t.end - t.start,
				"HasFault": t.fault, "HasError": t.errored, "IsPartial": false, "StartTime": t.start,
			})
		}
		out["TraceSummaries"] = sums
		if from+len(sums) < len(ids) {
			out["NextToken"] = strconv.Itoa(from + len(sums))
		}
		return out, nil
	case "BatchGetTraces":
		var ids []string
		_ = json.Unmarshal(in["TraceIds"], &ids)
		if len(ids) > 5 {
			return nil, badReq("InvalidRequestException", "at most 5 trace IDs per call")
		}
		traces, missing := []any{}, []string{}
		for _, id := range ids {
			t, ok := x.traces[id]
			if !ok || !x.visible(t, caller) {
				missing = append(missing, id)
				continue
			}
			var segs []map[string]string
			keys := make([]string, 0, len(t.segments))
			for k := range t.segments {
				if x.s.oam().sees(caller, t.owners[k], OAMTraces) {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				segs = append(segs, map[string]string{"Id": k, "Document": t.segments[k]})
			}
			traces = append(traces, map[string]any{"Id": id, "Duration": t.end - t.start, "Segments": segs})
		}
		return map[string]any{"Traces": traces, "UnprocessedTraceIds": missing}, nil
	}
	return nil, badReq("InvalidRequestException", "sandbox: X-Ray %s is not emulated", op)
}

var (
	xrayAnnot    = regexp.MustCompile(`^annotation\.([A-Za-z0-9_]+)\s*=\s*"([^"]*)"$`)
	xrayService_ = regexp.MustCompile(`^service\("([^"]*)"\)$`)
	xrayID       = regexp.MustCompile(`^id\("([^"]*)"\)$`)
)

// xrayFilter supports the filter expressions flowtop sends:
// annotation.key = "value", service("name"), id("1-…"), joined with AND or OR.
func xrayFilter(expr string) (func(*xrayTrace) bool, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return func(*xrayTrace) bool { return true }, nil
	}
	for _, op := range []string{" OR ", " AND "} {
		if l, r, ok := strings.Cut(expr, op); ok {
			a, err := xrayFilter(l)
			if err != nil {
				return nil, err
			}
			b, err := xrayFilter(r)
			if err != nil {
				return nil, err
			}
			if op == " OR " {
				return func(t *xrayTrace) bool { return a(t) || b(t) }, nil
			}
			return func(t *xrayTrace) bool { return a(t) && b(t) }, nil
		}
	}
	if m := xrayAnnot.FindStringSubmatch(expr); m != nil {
		return func(t *xrayTrace) bool { return t.annots[m[1]] == m[2] }, nil
	}
	if m := xrayService_.FindStringSubmatch(expr); m != nil {
		return func(t *xrayTrace) bool { return t.services[m[1]] }, nil
	}
	if m := xrayID.FindStringSubmatch(expr); m != nil {
		return func(t *xrayTrace) bool { return t.id == m[1] }, nil
	}
	return nil, badReq("InvalidRequestException", "sandbox: unsupported filter expression %q", expr)
}

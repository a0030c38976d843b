package sandbox

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// oamService emulates the CloudWatch Observability Access Manager calls
// flowtop makes to recognise a cross-account observability monitoring
// account (REST-JSON: POST /ListSinks, POST /ListAttachedLinks), and keeps
// the links the logs and X-Ray services consult: which source accounts a
// monitoring account sees, and what each shares.
//
// The sandbox's own [Account] is the monitoring account once a source
// account is linked ([Server.LinkSourceAccount]). A call acts as the account
// its access key ID names when that is a 12-digit number, as LocalStack
// reads it; any other key acts as [Account].
type oamService struct {
	s *Server

	mu    sync.Mutex
	sinks map[string]*oamSink // by monitoring account
}

type oamSink struct {
	arn, id, name string
	links         []oamLink // sorted by source account
}

type oamLink struct {
	account, label, arn string
	types               []string
}

// OAM resource types a link can share.
const (
	OAMLogGroups = "AWS::Logs::LogGroup"
	OAMTraces    = "AWS::XRay::Trace"
	OAMMetrics   = "AWS::CloudWatch::Metric"
)

func newOAMService(s *Server) *oamService {
	return &oamService{s: s, sinks: map[string]*oamSink{}}
}

// oam is the OAM service, for the services that consult its links.
func (s *Server) oam() *oamService { return s.services["oam"].(*oamService) }

func (*oamService) name() string { return "oam" }

func (*oamService) operation(r *http.Request, _ []byte) string {
	if r.Method != http.MethodPost {
		return ""
	}
	switch r.URL.Path {
	case "/ListSinks":
		return "ListSinks"
	case "/ListAttachedLinks":
		return "ListAttachedLinks"
	}
	return ""
}

func (*oamService) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSONError(w, status, code, message)
}

// LinkSourceAccount links account to the sandbox's own account as a
// CloudWatch cross-account observability source account, sharing the given
// resource types (log groups and traces when none are given) under label.
// The first link creates the monitoring account's sink.
func (s *Server) LinkSourceAccount(account, label string, resourceTypes ...string) {
	if len(resourceTypes) == 0 {
		resourceTypes = []string{OAMLogGroups, OAMTraces}
	}
	o := s.oam()
	o.mu.Lock()
	defer o.mu.Unlock()
	sink := o.sinks[Account]
	if sink == nil {
		id := newRequestID()
		sink = &oamSink{arn: "arn:aws:oam:" + Region + ":" + Account + ":sink/" + id, id: id, name: "flowtop-sandbox"}
		o.sinks[Account] = sink
	}
	for i := range sink.links {
		if sink.links[i].account == account {
			sink.links[i].label, sink.links[i].types = label, resourceTypes
			return
		}
	}
	sink.links = append(sink.links, oamLink{account: account, label: label, arn: "arn:aws:oam:" + Region + ":" + account + ":link/" + newRequestID(), types: resourceTypes})
	sort.Slice(sink.links, func(i, j int) bool { return sink.links[i].account < sink.links[j].account })
}

// linkedAccounts lists the source accounts that share resourceType with
// the monitoring account caller (none when caller has no sink).
func (o *oamService) linkedAccounts(caller, resourceType string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	sink := o.sinks[caller]
	if sink == nil {
		return nil
	}
	var out []string
	for _, l := range sink.links {
		if contains(l.types, resourceType) {
			out = append(out, l.account)
		}
	}
	return out
}

// sees reports whether caller may read owner's resources of resourceType:
// its own, or a linked source account's that shares them.
func (o *oamService) sees(caller, owner, resourceType string) bool {
	return caller == owner || contains(o.linkedAccounts(caller, resourceType), owner)
}

var accessKeyAccount = regexp.MustCompile(`Credential=(\d{12})/`)

// callerAccount is the account a signed call acts as: the access key ID
// when it is a 12-digit account ID, else the sandbox's own [Account].
func callerAccount(r *http.Request) string {
	if m := accessKeyAccount.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return Account
}

func (o *oamService) serve(w http.ResponseWriter, r *http.Request, op string, body []byte) {
	var in map[string]json.RawMessage
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		o.writeError(w, http.StatusBadRequest, "ValidationException", "request body is not JSON")
		return
	}
	caller := callerAccount(r)
	o.mu.Lock()
	out, err := o.call(op, in, caller)
	o.mu.Unlock()
	if err != nil {
		e := asAPIErr(err)
		o.writeError(w, e.status, e.code, e.message)
		return
	}
	writeJSON(w, "application/json", out)
}

func (o *oamService) call(op string, in map[string]json.RawMessage, caller string) (any, error) {
	start, _ := strconv.Atoi(str1(in, "NextToken"))
	switch op {
	case "ListSinks":
		limit := int1(in, "MaxResults", 100)
		if limit < 1 || limit > 100 {
			return nil, badReq("ValidationException", "MaxResults must be between 1 and 100")
		}
		items := []map[string]string{}
		if sink := o.sinks[caller]; sink != nil && start == 0 {
			items = append(items, map[string]string{"Arn": sink.arn, "Id": sink.id, "Name": sink.name})
		}
		return map[string]any{"Items": items}, nil
	case "ListAttachedLinks":
		id := str1(in, "SinkIdentifier")
		if id == "" {
			return nil, badReq("MissingRequiredParameterException", "SinkIdentifier is required")
		}
		limit := int1(in, "MaxResults", 100)
		if limit < 1 || limit > 1000 {
			return nil, badReq("ValidationException", "MaxResults must be between 1 and 1000")
		}
		sink := o.sinks[caller]
		if sink == nil || sink.arn != id {
			return nil, &apiErr{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "Sink " + id + " does not exist"}
		}
		items := []map[string]any{}
		i := start
		for ; i < len(sink.links) && len(items) < limit; i++ {
			l := sink.links[i]
			items = append(items, map[string]any{"Label": l.label, "LinkArn": l.arn, "ResourceTypes": l.types})
		}
		out := map[string]any{"Items": items}
		if i < len(sink.links) {
			out["NextToken"] = strconv.Itoa(i)
		}
		return out, nil
	}
	return nil, badReq("InvalidParameterException", "sandbox: OAM %s is not emulated", op)
}

// owner is the account that owns a log group.
func (g *logGroup) owner() string {
	if g.account == "" {
		return Account
	}
	return g.account
}

// describeOwners are the accounts whose log groups DescribeLogGroups lists
// for caller: its own; with includeLinkedAccounts in a monitoring account,
// also the linked source accounts that share log groups, all of them or
// those accountIdentifiers names (up to 20).
func (l *logsService) describeOwners(in map[string]json.RawMessage, caller string) (map[string]bool, error) {
	var include bool
	_ = json.Unmarshal(in["includeLinkedAccounts"], &include)
	var ids []string
	_ = json.Unmarshal(in["accountIdentifiers"], &ids)
	if len(ids) > 20 {
		return nil, badReq("InvalidParameterException", "accountIdentifiers takes up to 20 account IDs")
	}
	for _, id := range ids {
		if !accountID.MatchString(id) {
			return nil, badReq("InvalidParameterException", "accountIdentifiers: %q is not a 12-digit account ID", id)
		}
	}
	owners := map[string]bool{caller: true}
	if !include {
		return owners, nil
	}
	linked := l.s.oam().linkedAccounts(caller, OAMLogGroups)
	if len(ids) == 0 {
		for _, a := range linked {
			owners[a] = true
		}
		return owners, nil
	}
	owners = map[string]bool{}
	for _, id := range ids {
		if id == caller || contains(linked, id) {
			owners[id] = true
		}
	}
	return owners, nil
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// visible reports whether caller sees any of a trace's segments: its own,
// or a linked source account's in a monitoring account. Each account that
// a request crossed records its own copy of the trace under one trace ID;
// the monitoring account sees them together.
func (x *xrayService) visible(t *xrayTrace, caller string) bool {
	o := x.s.oam()
	for _, owner := range t.owners {
		if o.sees(caller, owner, OAMTraces) {
			return true
		}
	}
	return false
}

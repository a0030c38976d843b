package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
)

// stsService answers the one STS call flowtop makes, GetCallerIdentity, over
// the query protocol (form-encoded request, XML answer), so a watched
// context learns its account as it would from AWS.
type stsService struct{ s *Server }

func newSTSService(s *Server) *stsService { return &stsService{s: s} }

func (*stsService) name() string { return "sts" }

func (*stsService) operation(r *http.Request, body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	if a := form.Get("Action"); a == "GetCallerIdentity" {
		return a
	}
	return ""
}

func (*stsService) writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		kind, xmlEscape(code), xmlEscape(message), newRequestID())
}

// accessKeyID is the access key in a request's SigV4 credential scope.
var accessKeyID = regexp.MustCompile(`Credential=([A-Za-z0-9]+)/`)

// callerIdentity is the account a request acts as (see [callerAccount])
// and the access key it was signed with.
func callerIdentity(r *http.Request) (account, key string) {
	key = "test"
	if m := accessKeyID.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key = m[1]
	}
	return callerAccount(r), key
}

func (t *stsService) serve(w http.ResponseWriter, r *http.Request, _ string, _ []byte) {
	account, key := callerIdentity(r)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
		`<Arn>arn:aws:sts::%s:assumed-role/flowtop/sandbox</Arn><UserId>%s:sandbox</UserId><Account>%s</Account>`+
		`</GetCallerIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
		account, xmlEscape(key), account, newRequestID())
}

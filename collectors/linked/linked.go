// Package linked finds out whether the account flowtop watches is a CloudWatch
// cross-account observability monitoring account, and which source accounts
// are linked to it, through the Observability Access Manager (OAM): the one
// sink a monitoring account has in a region (ListSinks) and the links source
// accounts attached to it (ListAttachedLinks), with the resource types each
// link shares. The CloudWatch Logs and X-Ray collectors read linked accounts'
// log groups and traces when the [View] says so.
package linked

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/oam"

	"github.com/flowtop/flowtop/collectors/awsutil"
	"github.com/flowtop/flowtop/tracing"
)

// API is the part of the OAM client this package uses.
type API interface {
	ListSinks(ctx context.Context, in *oam.ListSinksInput, opts ...func(*oam.Options)) (*oam.ListSinksOutput, error)
	ListAttachedLinks(ctx context.Context, in *oam.ListAttachedLinksInput, opts ...func(*oam.Options)) (*oam.ListAttachedLinksOutput, error)
}

// Modes of [Config.Mode].
const (
	// ModeAuto asks OAM: a sink in the account makes it a monitoring account.
	ModeAuto = "auto"
	// ModeOn treats the account as a monitoring account without asking OAM
	// first (for callers without oam:ListSinks); OAM still names the linked
	// accounts when it answers.
	ModeOn = "on"
	// ModeOff never reads linked accounts.
	ModeOff = "off"
)

// Resource types a link shares, as OAM names them.
const (
	ResourceLogs   = "AWS::Logs::LogGroup"
	ResourceTraces = "AWS::XRay::Trace"
)

// Config sets a [Detector].
type Config struct {
	Mode string // ModeAuto (default), ModeOn or ModeOff
	// Self is the monitoring account's ID when the caller knows it; else it
	// is read from the sink's ARN.
	Self string
	// MaxLinks bounds the links read (default 10,000: OAM's own limit of
	// source accounts per sink is 100,000, flowtop stays bounded).
	MaxLinks int
	// Refresh is how long an answer is kept (default 10m): links are added
	// rarely, and every collector round asks.
	Refresh time.Duration
	Now     func() time.Time
}

// Account is one linked source account.
type Account struct {
	ID     string
	Label  string // the link's label, resolved by OAM (often the account name)
	Logs   bool   // the link shares log groups
	Traces bool   // the link shares X-Ray traces
}

// View is what the detector found.
type View struct {
	Monitoring bool
	Self       string    // the monitoring account, "" when not known
	Sink       string    // the sink's ARN, "" when not known
	Accounts   []Account // the linked source accounts, sorted by ID; nil when OAM did not say
	// Known reports whether Accounts is OAM's answer. When it is not
	// (ModeOn without OAM access), collectors ask for every linked account.
	Known bool
	// Note says how the view was decided, for logs and the source's mode.
	Note string
	// Cut counts the links not read because of MaxLinks.
	Cut int
}

// LogAccounts are the IDs of the linked accounts that share log groups.
func (v View) LogAccounts() []string {
	var out []string
	for _, a := range v.Accounts {
		if a.Logs {
			out = append(out, a.ID)
		}
	}
	return out
}

// Label is the label of account id, or "" when it has none.
func (v View) Label(id string) string {
	for _, a := range v.Accounts {
		if a.ID == id {
			return a.Label
		}
	}
	return ""
}

// Detector answers whether the watched account is a monitoring account. It
// is safe for concurrent use; answers are cached for [Config.Refresh].
type Detector struct {
	api API
	cfg Config

	mu   sync.Mutex
	view View
	at   time.Time
	done bool
}

// New returns a detector. A nil api is ModeOff unless the mode is ModeOn.
func New(api API, cfg Config) *Detector {
	if cfg.Mode == "" {
		cfg.Mode = ModeAuto
	}
	if cfg.MaxLinks <= 0 {
		cfg.MaxLinks = 10_000
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Detector{api: api, cfg: cfg}
}

// View returns the current answer, asking OAM when the cached one is older
// than [Config.Refresh]. It never fails: an OAM error makes the view say so
// in Note (not a monitoring account in ModeAuto; every linked account in
// ModeOn). A nil detector is never a monitoring account.
func (d *Detector) View(ctx context.Context) View {
	if d == nil {
		return View{Note: "cross-account off"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	if d.done && now.Sub(d.at) < d.cfg.Refresh {
		return d.view
	}
	prev := d.view.Note
	d.view, d.at, d.done = d.detect(ctx), now, true
	if d.view.Note != prev {
		slog.Info("cross-account observability", tracing.LogKeyMode, d.view.Note, tracing.LogKeyTarget, d.view.Self)
	}
	return d.view
}

func (d *Detector) detect(ctx context.Context) View {
	v := View{Self: d.cfg.Self}
	switch d.cfg.Mode {
	case ModeOff:
		v.Note = "cross-account off"
		return v
	case ModeOn:
		v.Monitoring = true
	}
	if d.api == nil {
		v.Note = "cross-account " + d.cfg.Mode + ": no OAM client"
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	sinks, err := d.api.ListSinks(ctx, &oam.ListSinksInput{})
	if err != nil {
		err = awsutil.Explain("linked", "", "oam:ListSinks", err)
		if v.Monitoring {
			v.Note = "cross-account on, linked accounts unknown: " + err.Error()
		} else {
			v.Note = "cross-account off: " + err.Error() + " (set cross-account on to read linked accounts anyway)"
		}
		return v
	}
	if len(sinks.Items) == 0 {
		if v.Monitoring {
			v.Note = "cross-account on, but the account has no OAM sink: only its own data"
		} else {
			v.Note = "not a monitoring account (no OAM sink)"
		}
		return v
	}
	v.Monitoring = true
	v.Sink = aws.ToString(sinks.Items[0].Arn)
	if v.Self == "" {
		v.Self = arnAccount(v.Sink)
	}
	byID := map[string]*Account{}
	var token *string
	read := 0
	for pages := 0; pages < 1000; pages++ {
		page, err := d.api.ListAttachedLinks(ctx, &oam.ListAttachedLinksInput{SinkIdentifier: aws.String(v.Sink), NextToken: token})
		if err != nil {
			v.Note = "monitoring account, linked accounts unknown: " + awsutil.Explain("linked", v.Sink, "oam:ListAttachedLinks", err).Error()
			return v
		}
		for _, it := range page.Items {
			id := arnAccount(aws.ToString(it.LinkArn))
			if !ValidAccount(id) {
				continue
			}
			if read >= d.cfg.MaxLinks {
				v.Cut++
				continue
			}
			read++
			a := byID[id]
			if a == nil {
				a = &Account{ID: id, Label: clean(aws.ToString(it.Label))}
				byID[id] = a
			}
			a.Logs = a.Logs || slices.Contains(it.ResourceTypes, ResourceLogs)
			a.Traces = a.Traces || slices.Contains(it.ResourceTypes, ResourceTraces)
		}
		token = page.NextToken
		if aws.ToString(token) == "" {
			break
		}
	}
	for _, a := range byID {
		v.Accounts = append(v.Accounts, *a)
	}
	slices.SortFunc(v.Accounts, func(a, b Account) int { return strings.Compare(a.ID, b.ID) })
	v.Known = true
	v.Note = fmt.Sprintf("monitoring account: %d linked accounts", len(v.Accounts))
	if v.Cut > 0 {
		v.Note += fmt.Sprintf(" (%d links over the bound not read)", v.Cut)
	}
	return v
}

// arnAccount is the account field of an ARN ("" if it has none).
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// ARNAccount is the account ID an ARN names, or "" when it is not an ARN
// with a 12-digit account.
func ARNAccount(arn string) string {
	if a := arnAccount(arn); ValidAccount(a) {
		return a
	}
	return ""
}

// ValidAccount reports whether s is a 12-digit AWS account ID.
func ValidAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clean bounds a label from outside: 64 printable characters at most.
func clean(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r >= ' ' && r != 0x7f && (r < 0x80 || r > 0x9f) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

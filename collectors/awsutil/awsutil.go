// Package awsutil holds what every AWS collector needs: turning SDK errors into
// messages that say what to do, and backoff with jitter.
package awsutil

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// Kind classifies an AWS error by what the user or the collector should do.
type Kind uint8

// Error kinds.
const (
	KindOther        Kind = iota
	KindThrottled         // back off and retry
	KindAccessDenied      // needs an IAM permission
	KindCredentials       // missing, invalid or expired credentials or SSO session
	KindNotFound          // the log group, queue or function does not exist
	KindUnsupported       // the endpoint does not implement the call
	KindNetwork           // could not reach the endpoint
	KindServer            // 5xx: retry
)

// Classify returns the kind of err.
func Classify(err error) Kind {
	if err == nil {
		return KindOther
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch {
		case strings.Contains(code, "Throttl"), code == "TooManyRequestsException", code == "RequestLimitExceeded", code == "LimitExceededException", code == "RequestThrottled":
			return KindThrottled
		case strings.HasPrefix(code, "AccessDenied"), code == "UnauthorizedOperation", code == "AuthorizationError":
			return KindAccessDenied
		case code == "ExpiredToken", code == "ExpiredTokenException", code == "UnrecognizedClientException", code == "InvalidClientTokenId", code == "InvalidSignatureException", code == "SignatureDoesNotMatch", code == "IncompleteSignature":
			return KindCredentials
		case code == "ResourceNotFoundException", code == "QueueDoesNotExist", code == "AWS.SimpleQueueService.NonExistentQueue", code == "NotFound":
			return KindNotFound
		case code == "UnknownOperationException", code == "UnsupportedOperation", code == "AWS.SimpleQueueService.UnsupportedOperation", code == "InvalidAction", code == "NotImplemented":
			return KindUnsupported
		case code == "InternalFailure", code == "InternalError", code == "ServiceUnavailable", code == "ServiceUnavailableException", code == "InternalServerError":
			return KindServer
		}
		if api.ErrorFault() == smithy.FaultServer {
			return KindServer
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to retrieve credentials"), strings.Contains(msg, "no EC2 IMDS role"), strings.Contains(msg, "SSO"), strings.Contains(msg, "sso"):
		return KindCredentials
	case strings.Contains(msg, "StatusCode: 5"):
		return KindServer
	}
	var ne net.Error
	if errors.As(err, &ne) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset") {
		return KindNetwork
	}
	return KindOther
}

// Retryable reports whether trying again later may succeed.
func Retryable(err error) bool {
	switch Classify(err) {
	case KindThrottled, KindNetwork, KindServer, KindOther:
		return true
	}
	return false
}

// Explain turns err into one line saying what failed, on what, and what to
// try: "cwlogs: /aws/lambda/x: access denied (needs logs:FilterLogEvents)".
func Explain(source, resource, action string, err error) error {
	where := source
	if resource != "" {
		where += ": " + resource
	}
	switch Classify(err) {
	case KindAccessDenied:
		return fmt.Errorf("%s: access denied (needs %s): %w", where, action, err)
	case KindCredentials:
		return fmt.Errorf("%s: credentials missing, invalid or expired: run `aws sso login` or refresh AWS_PROFILE's keys: %w", where, err)
	case KindNotFound:
		return fmt.Errorf("%s: does not exist (check the name and region): %w", where, err)
	case KindThrottled:
		return fmt.Errorf("%s: throttled by AWS on %s; backing off: %w", where, action, err)
	case KindUnsupported:
		return fmt.Errorf("%s: the endpoint does not support %s: %w", where, action, err)
	case KindNetwork:
		return fmt.Errorf("%s: cannot reach the endpoint (network or --endpoint-url?): %w", where, err)
	case KindServer:
		return fmt.Errorf("%s: AWS answered with a server error on %s; retrying: %w", where, action, err)
	}
	return fmt.Errorf("%s: %s: %w", where, action, err)
}

// Backoff is exponential backoff with full jitter.
type Backoff struct {
	Min, Max time.Duration
	n        int
}

// Next returns the next delay and advances.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	d := lo << min(b.n, 16)
	if d > hi || d <= 0 {
		d = hi
	}
	b.n++
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.n = 0 }

// Sleep waits d or until ctx ends; it reports whether ctx is still live.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Budget is a token bucket shared by every caller of one rate-limited API
// (FilterLogEvents is 5 TPS per account and region for all log groups).
type Budget struct {
	tokens chan struct{}
	stop   chan struct{}
}

// NewBudget allows perSecond calls a second (burst perSecond).
func NewBudget(perSecond int) *Budget {
	if perSecond <= 0 {
		perSecond = 5
	}
	b := &Budget{tokens: make(chan struct{}, perSecond), stop: make(chan struct{})}
	for i := 0; i < perSecond; i++ {
		b.tokens <- struct{}{}
	}
	go func() {
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				select {
				case b.tokens <- struct{}{}:
				default:
				}
			}
		}
	}()
	return b
}

// Wait takes a token, or returns ctx's error.
func (b *Budget) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.tokens:
		return nil
	}
}

// Close stops the refill.
func (b *Budget) Close() { close(b.stop) }

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/flowtop/flowtop/engine"
)

// loadAWS builds the SDK configuration from the default chain (profiles, SSO,
// AWS_REGION, AWS_ENDPOINT_URL and the per-service variants), narrowed by the
// user's flags, and checks up front that credentials and a region exist so
// that startup fails fast with one line that says what to do.
func loadAWS(ctx context.Context, c Config) (aws.Config, error) {
	cfg, err := loadAWSConfig(ctx, c)
	if err != nil {
		return aws.Config{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return aws.Config{}, credentialsError(err)
	}
	return cfg, nil
}

// loadAWSConfig is loadAWS without the credentials check.
func loadAWSConfig(ctx context.Context, c Config) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.EndpointURL != "" {
		opts = append(opts, config.WithBaseEndpoint(c.EndpointURL))
	}
	// The SDK's own warnings would land in the middle of the console or of
	// machine output; flowtop reports errors itself.
	opts = append(opts, config.WithLogger(logging.Nop{}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		var pe config.SharedConfigProfileNotExistError
		if errors.As(err, &pe) {
			return aws.Config{}, usageErrorf("aws: profile %q is not in your AWS config: check --profile / AWS_PROFILE, or run `aws configure --profile %s`", pe.Profile, pe.Profile)
		}
		return aws.Config{}, usageErrorf("aws: loading configuration: %v", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, usageErrorf("aws: no region set: pass --region, set AWS_REGION, or add a region to your profile")
	}
	return cfg, nil
}

// loadContexts loads the AWS configuration of every watched context. A
// profile that does not exist or has no region is a startup error, as with
// one context; a context whose credentials fail is kept (its sources show
// it failing in the header) and said on warn, unless every context fails.
// Each context learns its account from STS GetCallerIdentity, which needs
// no IAM permission; when that fails the profile name stands in for it.
func loadContexts(ctx context.Context, c Config, watched []ContextConfig, warn func(string)) ([]engine.Context, error) {
	out := make([]engine.Context, 0, len(watched))
	var lastErr error
	failed := 0
	for _, w := range watched {
		cc := c
		cc.Profile, cc.Region = w.Profile, w.Region
		if w.Endpoint != "" {
			cc.EndpointURL = w.Endpoint
		}
		cfg, err := loadAWSConfig(ctx, cc)
		if err != nil {
			return nil, err
		}
		x := engine.Context{Name: w.Name, Profile: w.Profile, Region: cfg.Region, AWS: cfg}
		if x.Name == "" {
			x.Name = contextName(w.Profile, cfg.Region)
		}
		for _, y := range out {
			if y.Name == x.Name { // two entries that resolve alike stay two contexts
				x.Name += fmt.Sprintf("#%d", len(out)+1)
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = cfg.Credentials.Retrieve(cctx)
		cancel()
		if err != nil {
			lastErr = credentialsError(err)
			failed++
			warn(fmt.Sprintf("context %s: %v; watching the others", x.Name, lastErr))
		} else {
			x.Account = callerAccount(ctx, cfg)
		}
		if x.Account == "" {
			x.Account = w.Profile
		}
		out = append(out, x)
	}
	if failed == len(out) && lastErr != nil {
		return nil, lastErr // nothing to watch: fail fast, as with one context
	}
	return out, nil
}

// contextName is "profile/region", or "default/region" for the default chain.
func contextName(profile, region string) string {
	if profile == "" {
		profile = "default"
	}
	return profile + "/" + region
}

// callerAccount asks STS which account the credentials belong to, once and
// briefly; "" when it cannot say.
func callerAccount(ctx context.Context, cfg aws.Config) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.RetryMaxAttempts = 2 }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return ""
	}
	return aws.ToString(out.Account)
}

// credentialsError turns the SDK's credential-chain failure into advice.
func credentialsError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "SSO") || strings.Contains(msg, "sso"):
		return usageErrorf("aws: your SSO session has expired or is missing: run `aws sso login` (with --profile if you use one)")
	case strings.Contains(msg, "expired"):
		return usageErrorf("aws: your credentials have expired: refresh them (e.g. `aws sso login` or a new session token)")
	}
	return usageErrorf("aws: no credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws configure` or `aws sso login`, or use `flowtop demo` to try flowtop without AWS (%s)", firstLine(msg))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// sandboxAWS is the configuration for talking to the embedded sandbox: dummy
// static credentials and the sandbox's loopback endpoint, nothing from the
// user's environment.
func sandboxAWS(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Logger:       logging.Nop{},
	}
}

// describeTarget names the account/region (or endpoint) for the header.
func describeTarget(c aws.Config) string {
	s := c.Region
	if c.BaseEndpoint != nil && *c.BaseEndpoint != "" {
		s += " @ " + *c.BaseEndpoint
	}
	return fmt.Sprint(s)
}

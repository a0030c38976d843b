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
	"github.com/aws/smithy-go/logging"
)

// loadAWS builds the SDK configuration from the default chain (profiles, SSO,
// AWS_REGION, AWS_ENDPOINT_URL and the per-service variants), narrowed by the
// user's flags, and checks up front that credentials and a region exist so
// that startup fails fast with one line that says what to do.
func loadAWS(ctx context.Context, c Config) (aws.Config, error) {
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
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return aws.Config{}, credentialsError(err)
	}
	return cfg, nil
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

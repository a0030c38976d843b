package sandbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// One endpoint answers two regions with separate state, as the SDK reaches
// them: the region comes from the SigV4 credential scope only.
func TestRegionsKeepSeparateState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, us := startServer(t)
	eu := us.Copy()
	eu.Region = "eu-west-1"
	usq, euq := sqs.NewFromConfig(us), sqs.NewFromConfig(eu)
	if _, err := usq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("only-us")}); err != nil {
		t.Fatal(err)
	}
	out, err := euq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("only-eu")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := euq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqsAttrName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrs.Attributes["QueueArn"]; got != "arn:aws:sqs:eu-west-1:"+Account+":only-eu" {
		t.Errorf("eu-west-1 queue ARN = %q, want the eu-west-1 region in it", got)
	}
	names := func(c *sqs.Client) string {
		l, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(l.QueueUrls, ",")
	}
	if u, e := names(usq), names(euq); !strings.HasSuffix(u, "/only-us") || !strings.HasSuffix(e, "/only-eu") {
		t.Errorf("us-east-1 lists %q and eu-west-1 lists %q: each region must hold only its own queue", u, e)
	}
	// A function registered in one region is not found in the other.
	srv.InRegion("eu-west-1").RegisterFunction(LambdaFunction{Name: "eu-fn", Runtime: "python3.12", MemoryMB: 128, TimeoutSec: 3, Architecture: "x86_64", LogFormat: "Text", LogGroup: "/aws/lambda/eu-fn", Tracing: "PassThrough"})
	fn, err := awslambda.NewFromConfig(eu).GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("eu-fn")})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(fn.Configuration.FunctionArn); !strings.Contains(arn, ":eu-west-1:") {
		t.Errorf("FunctionArn %q does not name eu-west-1", arn)
	}
	if _, err := awslambda.NewFromConfig(us).GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("eu-fn")}); err == nil {
		t.Error("us-east-1 found eu-west-1's function")
	}
}

// A denial in one region leaves the other region answering.
func TestDenyInOneRegion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, us := startServer(t)
	eu := us.Copy()
	eu.Region = "eu-west-1"
	srv.InRegion("eu-west-1").Deny("*")
	if _, err := sqs.NewFromConfig(us).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("us-east-1 denied too: %v", err)
	}
	_, err := sqs.NewFromConfig(eu).ListQueues(ctx, &sqs.ListQueuesInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("eu-west-1 ListQueues = %v, want AccessDenied", err)
	}
	// GetCallerIdentity needs no permission, in AWS as here.
	if _, err := sts.NewFromConfig(eu).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("GetCallerIdentity denied: %v", err)
	}
	srv.InRegion("eu-west-1").Allow("*")
	if _, err := sqs.NewFromConfig(eu).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Errorf("eu-west-1 still denied after Allow: %v", err)
	}
}

// GetCallerIdentity names the sandbox's account, or the one a twelve-digit
// access key names.
func TestCallerIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, us := startServer(t)
	id, err := sts.NewFromConfig(us).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != Account || !strings.HasPrefix(aws.ToString(id.Arn), "arn:aws:sts::"+Account+":") {
		t.Errorf("identity = %s %s, want account %s", aws.ToString(id.Account), aws.ToString(id.Arn), Account)
	}
	other := us.Copy()
	other.Credentials = credentials.NewStaticCredentialsProvider("222233334444", "secret", "")
	id, err = sts.NewFromConfig(other).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "222233334444" {
		t.Errorf("account = %q, want the access key's 222233334444", aws.ToString(id.Account))
	}
}

// An endpoint keeps state for a bounded number of regions.
func TestRegionsBounded(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{Seed: 1})
	for i := 0; i < 40; i++ {
		srv.InRegion("xx-test-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	srv.mu.Lock()
	n := len(srv.regions)
	srv.mu.Unlock()
	if n >= maxRegions {
		t.Errorf("%d regions kept, want fewer than %d", n, maxRegions)
	}
}

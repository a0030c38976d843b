package graph

import (
	"testing"

	"github.com/flowtop/flowtop/tracing"
)

func TestRefPlace(t *testing.T) {
	for _, tc := range []struct{ in, account, region string }{
		{"arn:aws:sqs:eu-west-1:123456789012:billing-dlq", "123456789012", "eu-west-1"},
		{"arn:aws:sns:us-east-1:123456789012:order-events", "123456789012", "us-east-1"},
		{"arn:aws-cn:events:cn-north-1:123456789012:event-bus/orders", "123456789012", "cn-north-1"},
		{"arn:aws:s3:::bucket", "", ""}, // S3 ARNs name no region
		{"https://sqs.eu-west-1.amazonaws.com/123456789012/billing-dlq", "123456789012", "eu-west-1"},
		{"https://eu-west-1.queue.amazonaws.com/123456789012/billing-dlq", "123456789012", "eu-west-1"},
		{"http://127.0.0.1:4566/000000000000/billing-dlq", "", ""}, // an endpoint's URL says nothing
		{"billing-dlq", "", ""},
		{"arn:aws:sqs:EU WEST:123456789012:q", "", ""},
		{"arn:aws:sqs:eu-west-1:profile-name:q", "", "eu-west-1"},
	} {
		a, r := RefPlace(tc.in)
		if a != tc.account || r != tc.region {
			t.Errorf("RefPlace(%q) = %q, %q; want %q, %q", tc.in, a, r, tc.account, tc.region)
		}
	}
}

func TestPlaced(t *testing.T) {
	q := tracing.Component{Kind: tracing.ComponentQueue, Name: "q"}
	one := tracing.Component{Kind: tracing.ComponentFunction, Name: "f"}
	if c := placed(one, q, "arn:aws:sqs:eu-west-1:123456789012:q"); c != q {
		t.Errorf("one context watched: %s placed", c)
	}
	us := tracing.Component{Kind: tracing.ComponentFunction, Name: "f", Account: "123456789012", Region: "us-east-1"}
	if c := placed(us, q); c.Account != us.Account || c.Region != "us-east-1" {
		t.Errorf("no ARN: %s, want the observer's place", c)
	}
	if c := placed(us, q, "arn:aws:sqs:eu-west-1:210987654321:q"); c.Account != "210987654321" || c.Region != "eu-west-1" {
		t.Errorf("ARN elsewhere: %s, want the ARN's place", c)
	}
	// A context whose account STS did not tell: its own region's ARNs keep
	// the profile name, so both ends of a hop stay one component.
	prof := tracing.Component{Kind: tracing.ComponentFunction, Name: "f", Account: "prod", Region: "us-east-1"}
	if c := placed(prof, q, "arn:aws:sqs:us-east-1:123456789012:q"); c.Account != "prod" || c.Region != "us-east-1" {
		t.Errorf("profile-named context: %s", c)
	}
}

func FuzzRefPlace(f *testing.F) {
	for _, s := range []string{
		"arn:aws:sqs:eu-west-1:123456789012:billing-dlq", "https://sqs.us-east-1.amazonaws.com/123456789012/q",
		"https://us-east-1.queue.amazonaws.com/1/q", "arn:::::", "arn:aws:sqs:a/b:c:d", "https://", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, r := RefPlace(s)
		if r != "" && !regionName(r) {
			t.Errorf("region %q from %q", r, s)
		}
		if a != "" && !IsAccountID(a) {
			t.Errorf("account %q from %q", a, s)
		}
	})
}

package lambda

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/flowtop/flowtop/sandbox"
	"github.com/flowtop/flowtop/tracing"
)

func TestDiscoverAndRun(t *testing.T) {
	t.Parallel()
	srv := sandbox.NewServer(sandbox.Options{})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for i, name := range []string{"a", "b", "c"} {
		srv.RegisterFunction(sandbox.LambdaFunction{Name: name, MemoryMB: 128 * (i + 1), TimeoutSec: 3, Architecture: []string{"x86_64", "arm64", "x86_64"}[i], LogGroup: map[int]string{2: "/custom/c"}[i], LogFormat: "JSON"})
	}
	c := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	s := New(c, Config{Refresh: time.Hour})
	fns, err := s.Discover(context.Background())
	if err != nil || len(fns) != 3 {
		t.Fatalf("%v %+v", err, fns)
	}
	if fns[1].Architecture != "arm64" || fns[1].MemoryMB != 256 || fns[2].LogGroup != "/custom/c" || fns[0].LogGroup != "/aws/lambda/a" || fns[0].Timeout != 3*time.Second || fns[0].LogFormat != "JSON" {
		t.Errorf("configs: %+v", fns)
	}
	srv.Faults.Set("lambda", sandbox.Fault{Error5xx: 1})
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan tracing.Batch, 1)
	go func() { _ = s.Run(ctx, out) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Health().State != tracing.SourceStateRetrying && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h := s.Health(); h.State != tracing.SourceStateRetrying || h.LastError == "" {
		t.Errorf("health under 5xx: %+v", h)
	}
	cancel()
}

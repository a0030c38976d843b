package sandbox

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// startServer runs a sandbox endpoint on a random loopback port for one test.
func startServer(t testing.TB) (*Server, aws.Config) {
	t.Helper()
	srv := NewServer(Options{Seed: 7})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
	}
}

type sqsAttrName = sqstypes.QueueAttributeName

func staticCreds() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("test", "test", "")
}

package sandbox

import (
	"context"
	"fmt"
	"sync"
)

// Config starts a whole sandbox: the endpoint and the world on it.
type Config struct {
	Addr  string // listen address; "" is 127.0.0.1 on a random port
	World WorldConfig
	Chaos map[string]Fault // faults by "service" or "service.Operation"
	Seed  uint64
	// Compat is the endpoint's compatibility mode (see [CompatField]).
	Compat string
}

// Sandbox is a running endpoint with the simulated application on it.
type Sandbox struct {
	Server *Server
	World  *World
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs the endpoint and the world until Close (or ctx's end).
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	srv := NewServer(Options{Seed: cfg.Seed, Compat: cfg.Compat})
	url, err := srv.Start(cfg.Addr)
	if err != nil {
		return nil, err
	}
	w, err := NewWorld(ctx, url, srv, cfg.World)
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	// Faults apply once the world's resources exist: setup itself must not fail.
	for target, f := range cfg.Chaos {
		srv.Faults.Set(target, f)
	}
	ctx, cancel := context.WithCancel(ctx)
	sb := &Sandbox{Server: srv, World: w, cancel: cancel}
	sb.wg.Add(1)
	go func() {
		defer sb.wg.Done()
		_ = w.Run(ctx)
	}()
	return sb, nil
}

// URL is the endpoint, for AWS_ENDPOINT_URL.
func (s *Sandbox) URL() string { return s.Server.URL() }

// Env is what points the AWS CLI, the SDKs or flowtop at the sandbox.
func (s *Sandbox) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL(),
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Close stops the world, then the endpoint.
func (s *Sandbox) Close() error {
	s.cancel()
	s.wg.Wait()
	if err := s.Server.Close(); err != nil {
		return fmt.Errorf("sandbox: close: %w", err)
	}
	return nil
}

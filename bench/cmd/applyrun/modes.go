package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// The three ways the same change reaches a running Collector.
const (
	// inProcess: our extension alone, accepts_remote_config on; the server
	// sends the change and our extension validates it, reloads the
	// Collector in-process and reports APPLIED once healthy.
	inProcess = "in-process"
	// supervised: the OpAMP Supervisor v0.158.0 runs our distro; it merges
	// the change, restarts the Collector and reports APPLIED.
	supervised = "supervisor"
	// sighup: our distro without remote config; the merged config is
	// written to the file it was started with, then SIGHUP (core's own
	// reload).
	sighup = "reload"
)

var modes = []string{inProcess, supervised, sighup}

// lineWait bounds the wait for a log line that has not come yet when the
// server's side of a run is done (under the Supervisor none is awaited: its
// Collector logs to a file).
const lineWait = time.Second

// Log lines the samples are split by.
const (
	lineReloading = "Applying a remote configuration: reloading the Collector" // our extension, after validation and persisting
	lineStarting  = "Starting otelcol-opamp..."                                // core, once the config is resolved and the service built
	lineReady     = "Everything is ready"                                      // core, once the (re)built service runs
)

// sample is one run of one mode; every duration is from the trigger (the
// server's write of the remote config, or the config file's write before
// SIGHUP) and zero where the mode has no such event.
type sample struct {
	Mode string `json:"mode"`
	// Applying and Applied: the server got that remote config status.
	Applying time.Duration `json:"applying,omitempty"`
	Applied  time.Duration `json:"applied,omitempty"`
	// Healthy: the server got a health with both pipelines healthy.
	Healthy time.Duration `json:"healthy"`
	// Reloading, Starting and Ready: our Collector's log lines
	// lineReloading, lineStarting and lineReady arrived (not under the
	// Supervisor, whose Collector logs to a file).
	Reloading time.Duration `json:"reloading,omitempty"`
	Starting  time.Duration `json:"starting,omitempty"`
	Ready     time.Duration `json:"ready,omitempty"`
	// Trace is the apply's timeline (see timeline).
	Trace []string `json:"trace,omitempty"`

	trigger time.Time
}

// runner runs one mode once against one server.
type runner struct {
	srv        *pushServer
	ours       string // our distro
	supervisor string // the Supervisor's binary
	dir        string
	ports      ports
	settle     time.Duration
	timeout    time.Duration
}

func (r *runner) run(ctx context.Context, mode string, i int) (sample, error) {
	dir, err := filepath.Abs(filepath.Join(r.dir, fmt.Sprintf("%s-%d", mode, i)))
	if err != nil {
		return sample{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return sample{}, err
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return sample{}, err
	}
	r.srv.reset()
	local := localYAML(r.ports)
	file := filepath.Join(dir, "config.yaml")
	var body string
	switch mode {
	case inProcess:
		body, err = merge(local, opampYAML(r.srv.endpoint(), state))
	case sighup:
		body, err = merge(local, opampYAML(r.srv.endpoint(), ""))
	case supervised:
		body = local
	}
	if err != nil {
		return sample{}, err
	}
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		return sample{}, err
	}
	logPath := filepath.Join(dir, mode+".log")
	var p *proc
	if mode == supervised {
		sup := filepath.Join(dir, "supervisor.yaml")
		if err := os.WriteFile(sup, []byte(supervisorYAML(r.srv.endpoint(), state, r.ours, file)), 0o600); err != nil {
			return sample{}, err
		}
		p, err = startProc(logPath, r.supervisor, "--config", sup)
	} else {
		p, err = startProc(logPath, r.ours, "--config", file)
	}
	if err != nil {
		return sample{}, err
	}
	defer p.stop()

	if _, err := r.srv.await(ctx, time.Time{}, r.timeout, healthyWith(localPipeline)); err != nil {
		return sample{}, r.failure("start-up", p, err)
	}
	// Start-up traffic (effective config, component list) settles first.
	time.Sleep(r.settle)
	if err := p.alive(); err != nil {
		return sample{}, err
	}
	s := sample{Mode: mode}
	if mode == sighup {
		err = r.reload(ctx, p, file, &s)
	} else {
		err = r.apply(ctx, p, &s)
	}
	if err != nil {
		return sample{}, r.failure("apply", p, err)
	}
	s.Trace = timeline(p, r.srv, s.trigger, s.trigger.Add(max(s.Applied, s.Healthy)+20*time.Millisecond))
	return s, nil
}

// apply sends the change as a remote config and waits for its APPLIED.
func (r *runner) apply(ctx context.Context, p *proc, s *sample) error {
	rc := remoteConfig(changeYAML(r.ports))
	sent, err := r.srv.push(ctx, rc)
	if err != nil {
		return err
	}
	s.trigger = sent
	applied := statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED)
	failed := statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED)
	end, err := r.srv.await(ctx, sent, r.timeout, func(m *protobufs.AgentToServer) bool { return applied(m) || failed(m) })
	if err != nil {
		return err
	}
	if failed(end.v) {
		return fmt.Errorf("remote config FAILED: %s", end.v.GetRemoteConfigStatus().GetErrorMessage())
	}
	s.Applied = end.at.Sub(sent)
	if a, err := r.srv.await(ctx, sent, time.Second,
		statusIs(rc.GetConfigHash(), protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING)); err == nil {
		s.Applying = a.at.Sub(sent)
	}
	if err := r.healthy(ctx, p, sent, s); err != nil {
		return err
	}
	if at, ok := p.out.first(sent, lineReloading, 0); ok {
		s.Reloading = at.Sub(sent)
	}
	return nil
}

// reload writes the merged config over the Collector's file and sends it
// SIGHUP, as a user (or config management) would.
func (r *runner) reload(ctx context.Context, p *proc, file string, s *sample) error {
	body, err := merge(localYAML(r.ports), changeYAML(r.ports), opampYAML(r.srv.endpoint(), ""))
	if err != nil {
		return err
	}
	start := time.Now()
	s.trigger = start
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		return err
	}
	if err := p.signal(syscall.SIGHUP); err != nil {
		return err
	}
	return r.healthy(ctx, p, start, s)
}

// healthy waits for the health with both pipelines, and notes core's
// "Everything is ready" after since.
func (r *runner) healthy(ctx context.Context, p *proc, since time.Time, s *sample) error {
	h, err := r.srv.await(ctx, since, r.timeout, healthyWith(localPipeline, addedPipeline))
	if err != nil {
		return fmt.Errorf("the new pipeline never became healthy: %w", err)
	}
	s.Healthy = h.at.Sub(since)
	wait := lineWait
	if s.Mode == supervised {
		wait = 0
	}
	if at, ok := p.out.first(since, lineReady, wait); ok {
		s.Ready = at.Sub(since)
	}
	if at, ok := p.out.first(since, lineStarting, 0); ok {
		s.Starting = at.Sub(since)
	}
	return nil
}

func (r *runner) failure(stage string, p *proc, err error) error {
	if e := p.alive(); e != nil {
		err = fmt.Errorf("%w; %w", err, e)
	}
	return fmt.Errorf("%s: %w (log: %s)", stage, err, p.file.Name())
}

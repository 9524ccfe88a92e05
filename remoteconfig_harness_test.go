package opampextension

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/testserver"
	"github.com/opampext/opampextension/opampconfmap"
)

// remoteFactories are the components of the remote config tests.
func remoteFactories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](receivertest.NewNopFactory(), newListenFactory(), newBrokenFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](NewFactory()); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func remoteCollectorSettings(rs confmap.ResolverSettings) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo:               component.BuildInfo{Command: "otelcol-remote", Version: "0.0.1"},
		Factories:               remoteFactories,
		ConfigProviderSettings:  otelcol.ConfigProviderSettings{ResolverSettings: rs},
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	}
}

// dryRunValidator validates as the distro's `validate` command does
// (otelcol's DryRun), with the test's factories, in-process: the test
// binary has no validate command.
func dryRunValidator(dir string) (remoteconfig.Validator, error) {
	return remoteconfig.ValidatorFunc(func(ctx context.Context, yaml []byte) error {
		path := filepath.Join(dir, "validate.yaml")
		if err := os.WriteFile(path, yaml, 0o600); err != nil {
			return err
		}
		defer func() { _ = os.Remove(path) }()
		col, err := otelcol.NewCollector(remoteCollectorSettings(confmap.ResolverSettings{
			URIs:              []string{path},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
		}))
		if err != nil {
			return err
		}
		return col.DryRun(ctx)
	}), nil
}

// watchProvider serves the local config file and keeps the resolver's
// watcher: reloading through it is what a SIGHUP does (a new resolve and
// service), without a signal to the whole test binary.
type watchProvider struct {
	file    confmap.Provider
	mu      sync.Mutex
	watcher confmap.WatcherFunc
}

func (p *watchProvider) Retrieve(ctx context.Context, uri string, w confmap.WatcherFunc) (*confmap.Retrieved, error) {
	p.mu.Lock()
	p.watcher = w
	p.mu.Unlock()
	return p.file.Retrieve(ctx, "file:"+strings.TrimPrefix(uri, "rc:"), nil)
}

func (*watchProvider) Scheme() string                       { return "rc" }
func (p *watchProvider) Shutdown(ctx context.Context) error { return p.file.Shutdown(ctx) }

func (p *watchProvider) reload() error {
	p.mu.Lock()
	w := p.watcher
	p.mu.Unlock()
	w(&confmap.ChangeEvent{})
	return nil
}

// remoteRig is a test server, a state directory and the hooks that apply
// uses, replaced for the test.
type remoteRig struct {
	srv     *testserver.Server
	dir     string
	uid     string
	reloads atomic.Int32
	// restarts records each time the extension would have executed the
	// process again, with the state on disk at that moment.
	restartsMu sync.Mutex
	restarts   []remoteconfig.State
	// current is the latest Collector started.
	current *remoteRun
}

// remoteRun is one Collector of the rig; done gets Run's result.
type remoteRun struct {
	col      *otelcol.Collector
	done     chan error
	provider *watchProvider
}

const remoteLocalConfig = `
receivers:
  nop:
exporters:
  nop:
extensions:
  opamp:
    server:
      ws:
        endpoint: %s
    instance_uid: %s
    capabilities:
      accepts_remote_config: true
    storage:
      directory: %s
    remote_config:
      apply_timeout: %s
      denied_components: [denied]
service:
  telemetry:
    metrics:
      level: none
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
`

func newRemoteRig(t *testing.T) *remoteRig {
	r := &remoteRig{srv: testserver.Start(t), dir: filepath.Join(t.TempDir(), "state"), uid: "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c70"}
	oldReload, oldValidator, oldRestart := remoteReload, remoteValidator, remoteRestart
	remoteReload = func() error {
		r.reloads.Add(1)
		return r.current.provider.reload()
	}
	remoteValidator = dryRunValidator
	remoteRestart = func() error {
		st := r.state(t)
		r.restartsMu.Lock()
		r.restarts = append(r.restarts, st)
		r.restartsMu.Unlock()
		return errNoExecInTests
	}
	t.Cleanup(func() { remoteReload, remoteValidator, remoteRestart = oldReload, oldValidator, oldRestart })
	return r
}

var errNoExecInTests = errors.New("a test binary is not executed again")

// restartStates returns the states recorded at each would-be exec.
func (r *remoteRig) restartStates() []remoteconfig.State {
	r.restartsMu.Lock()
	defer r.restartsMu.Unlock()
	return slices.Clone(r.restarts)
}

// state reads the remote config state file.
func (r *remoteRig) state(t *testing.T) remoteconfig.State {
	t.Helper()
	var st remoteconfig.State
	raw, err := os.ReadFile(filepath.Join(r.dir, "remote-config.json"))
	if err != nil {
		t.Errorf("remote config state: %v", err)
		return st
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Errorf("remote config state: %v", err)
	}
	return st
}

// start runs a Collector on the local config until the test ends. Tests
// start Collectors from their own goroutine only, so current needs no lock.
func (r *remoteRig) start(t *testing.T, applyTimeout time.Duration) *remoteRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf(remoteLocalConfig, r.srv.WSURL(), r.uid, r.dir, applyTimeout)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	p := &watchProvider{file: fileprovider.NewFactory().Create(confmap.ProviderSettings{})}
	col, err := otelcol.NewCollector(remoteCollectorSettings(confmap.ResolverSettings{
		URIs:               []string{"rc:" + path},
		ProviderFactories:  []confmap.ProviderFactory{confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return p })},
		ConverterFactories: []confmap.ConverterFactory{opampconfmap.NewFactory()},
	}))
	require.NoError(t, err)
	run := &remoteRun{col: col, done: make(chan error, 1), provider: p}
	r.current = run
	go func() { run.done <- col.Run(context.Background()) }()
	t.Cleanup(func() {
		col.Shutdown()
		select {
		case err := <-run.done:
			_ = err // a reload that ended Run was the test's point
		case <-time.After(waitTime):
			t.Error("the Collector did not stop")
		}
	})
	return run
}

// send sends a remote config of one YAML body under key "".
func (r *remoteRig) send(t *testing.T, hash string, files map[string]string) {
	t.Helper()
	m := map[string]*protobufs.AgentConfigFile{}
	for k, body := range files {
		m[k] = &protobufs.AgentConfigFile{Body: []byte(body), ContentType: "text/yaml"}
	}
	require.NoError(t, r.srv.Send(r.uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
		ConfigHash: []byte(hash),
		Config:     &protobufs.AgentConfigMap{ConfigMap: m},
	}}))
}

// waitStatus waits for the status of hash and returns the agent's state.
func (r *remoteRig) waitStatus(t *testing.T, hash string, want protobufs.RemoteConfigStatuses) *testserver.AgentState {
	t.Helper()
	return r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		s := a.RemoteConfigStatus
		return a.UID == r.uid && s != nil && string(s.GetLastRemoteConfigHash()) == hash && s.GetStatus() == want
	})
}

// effective is the agent's effective config body.
func effective(a *testserver.AgentState) string {
	return string(a.EffectiveConfig.GetConfigMap().GetConfigMap()[""].GetBody())
}

// freePort returns a port nothing listens on (now).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/otelcol"

	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/testserver"
	"github.com/opampext/opampextension/opampconfmap"
)

// remoteReceivers are the test receivers of the remote config tests.
func remoteReceivers() collectorOption {
	return withReceivers(newListenFactory(), newBrokenFactory())
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
		col, err := otelcol.NewCollector(collectorSettings(confmap.ResolverSettings{
			URIs:              []string{path},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
		}, remoteReceivers()))
		if err != nil {
			return err
		}
		return col.DryRun(ctx)
	}), nil
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
	current *collectorRun
}

// remoteLocalConfig is the local config of the rig's Collectors.
func remoteLocalConfig(endpoint, uid, dir string, applyTimeout time.Duration) string {
	return collectorYAML{opamp: fmt.Sprintf(`    server:
      ws:
        endpoint: %s
    instance_uid: %s
    capabilities:
      accepts_remote_config: true
    storage:
      directory: %s
    remote_config:
      apply_timeout: %s
      denied_components: [denied]`, endpoint, uid, dir, applyTimeout)}.String()
}

func newRemoteRig(t *testing.T) *remoteRig {
	r := &remoteRig{srv: testserver.Start(t), dir: filepath.Join(t.TempDir(), "state"), uid: "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c70"}
	oldReload, oldValidator, oldRestart := remoteReload, remoteValidator, remoteRestart
	remoteReload = func() error {
		r.reloads.Add(1)
		r.current.provider.reload()
		return nil
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
func (r *remoteRig) start(t *testing.T, applyTimeout time.Duration) *collectorRun {
	t.Helper()
	yaml := remoteLocalConfig(r.srv.WSURL(), r.uid, r.dir, applyTimeout)
	r.current = runCollector(t, yaml, remoteReceivers(), withConverters(opampconfmap.NewFactory()))
	return r.current
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

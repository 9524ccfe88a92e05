//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

// offerEndpoint offers the agent uid, through srv, the OpAMP endpoint
// (and header, when name is set) and returns the offer's hash.
func offerEndpoint(t *testing.T, srv *testserver.Server, uid, endpoint, name, value string) []byte {
	t.Helper()
	settings := &protobufs.OpAMPConnectionSettings{DestinationEndpoint: endpoint}
	if name != "" {
		settings.Headers = &protobufs.Headers{Headers: []*protobufs.Header{{Key: name, Value: value}}}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(settings)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{
		ConnectionSettings: &protobufs.ConnectionSettingsOffers{Hash: sum[:], Opamp: settings},
	}))
	return sum[:]
}

// connStatusIs says whether the agent's latest connection settings status
// is want for hash.
func connStatusIs(a *testserver.AgentState, hash []byte, want protobufs.ConnectionSettingsStatuses) bool {
	st := a.ConnectionSettingsStatus
	return bytes.Equal(st.GetLastConnectionSettingsHash(), hash) && st.GetStatus() == want
}

// TestConnectionSettingsMove: the distro, connected to server A, takes an
// offer of server B's endpoint (with a header): it connects to B, sends
// the header there and reports APPLIED for the offer's hash, and leaves A.
// Restarted with the same local file it comes back to B (the accepted
// offer persisted in storage.directory overrides the file's server), A
// seeing nothing of it, and says APPLIED again. An offer of A's endpoint
// moves it back; a restart then finds it on A.
func TestConnectionSettingsMove(t *testing.T) {
	srvA, srvB := testserver.Start(t), testserver.Start(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "collector.yaml")
	uid := uuid.NewString()
	writeFile(t, cfg, standaloneConfig("      ws:\n        endpoint: "+srvA.WSURL()+
		"\n    instance_uid: "+uid+
		"\n    capabilities:\n      accepts_opamp_connection_settings: true"+
		"\n    storage:\n      directory: "+state))

	var lastStart uint64
	// run starts the distro and waits for srv to see it healthy, started
	// after the previous run.
	run := func(name string, srv *testserver.Server) (*process, *testserver.AgentState) {
		col := startProcess(t, dir, name, distroBin(t), []string{"--config", cfg}, cfg)
		a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			return a.UID == uid && a.Connected && a.Health.GetHealthy() && a.Health.GetStartTimeUnixNano() > lastStart
		})
		lastStart = a.Health.GetStartTimeUnixNano()
		return col, a
	}
	stop := func(col *process) {
		require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, col.wait(t, stopTimeout))
	}
	// move offers to's endpoint through from and waits for the agent on
	// to, APPLIED, and gone from from.
	move := func(from, to *testserver.Server, name, value string) []byte {
		t.Helper()
		start := time.Now()
		hash := offerEndpoint(t, from, uid, to.WSURL(), name, value)
		to.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			return a.UID == uid && a.Connected && connStatusIs(a, hash, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED)
		})
		t.Logf("on %s with APPLIED %v after the offer", to.Addr(), time.Since(start).Round(time.Millisecond))
		from.WaitFor(t, 10*time.Second, func(s *testserver.Server) bool { return !s.Agent(uid).Connected })
		return hash
	}

	col, first := run("collector-1", srvA)
	require.True(t, first.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings))
	require.True(t, first.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus),
		"reports_connection_settings_status defaults to accepts_opamp_connection_settings")

	const headerName, headerValue = "X-Fleet-Token", "e2e-move-token-5d1c"
	toB := move(srvA, srvB, headerName, headerValue)
	b := srvB.Agent(uid)
	require.NotEmpty(t, b.Headers)
	assert.Equal(t, headerValue, b.Headers[len(b.Headers)-1].Get(headerName), "the offered header goes to B")

	stop(col)
	seenByA := srvA.Agent(uid).MessageCount
	col, _ = run("collector-2", srvB)
	srvB.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return a.UID == uid && connStatusIs(a, toB, protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED)
	})
	assert.Equal(t, seenByA, srvA.Agent(uid).MessageCount, "the restarted distro went to B without trying A")
	assert.False(t, srvA.Agent(uid).Connected)
	b = srvB.Agent(uid)
	assert.Equal(t, headerValue, b.Headers[len(b.Headers)-1].Get(headerName), "the persisted header goes with it")

	move(srvB, srvA, "", "")
	stop(col)
	seenByB := srvB.Agent(uid).MessageCount
	col, _ = run("collector-3", srvA)
	defer stop(col)
	assert.Equal(t, seenByB, srvB.Agent(uid).MessageCount, "after moving back, a restart stays on A")

	for _, name := range []string{"collector-1", "collector-2", "collector-3"} {
		b, err := os.ReadFile(filepath.Join(dir, name+".log"))
		require.NoError(t, err)
		assert.NotContains(t, string(b), headerValue, "%s logged the offered header's value", name)
	}
	files, err := filepath.Glob(filepath.Join(state, "connection_settings*"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the accepted settings are kept in storage.directory")
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
}

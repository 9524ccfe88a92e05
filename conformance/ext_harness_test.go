package conformance

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/opampext/opampextension"
	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

// The connection settings rules bind what the extension does with an
// offer (internal/connsettings, certrotate and the root package's wiring),
// not the client alone: their checks start the real extension, configured
// through its config keys as a user writes them, against Raw servers.

// Connection settings statuses.
const (
	csApplied  = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED
	csApplying = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING
	csFailed   = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED
)

// Agent capabilities of the connection settings rules.
const (
	acceptsOpAMPSettings = protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings
	reportsCSStatus      = protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus
	acceptsOtherSettings = protobufs.AgentCapabilities_AgentCapabilities_AcceptsOtherConnectionSettings
	reportsOwnMetrics    = protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics
)

// extSeq names each test extension apart (one state record each).
var extSeq atomic.Int32

// ext is the real extension under test.
type ext struct {
	extension.Extension
	id   component.ID
	dir  string // storage.directory
	once sync.Once
}

// keys are config keys, nested as in a Collector config's extension
// section.
type keys = map[string]any

// offersKeys: an agent of transport tr on url that takes OpAMP connection
// settings offers, keeping them in dir, with a short try bound.
func offersKeys(tr Transport, url, dir string) keys {
	server := keys{"ws": keys{"endpoint": url, "reconnect_spread": "0s"}}
	if tr == HTTP {
		server = keys{"http": keys{"endpoint": url, "polling_interval": pollEvery.String()}}
	}
	return keys{
		"server":              server,
		"capabilities":        keys{"accepts_opamp_connection_settings": true},
		"storage":             keys{"directory": dir},
		"connection_settings": keys{"try_timeout": "2s"},
	}
}

// config decodes k over the extension's default config, as the Collector
// does, and validates it.
func config(t *testing.T, k keys) (*opampextension.Config, error) {
	t.Helper()
	cfg := opampextension.NewFactory().CreateDefaultConfig().(*opampextension.Config)
	if _, ok := k["server"].(keys)["http"]; ok {
		cfg.Server.WS = nil // the default is ws; one transport only
	}
	require.NoError(t, confmap.NewFromStringMap(k).Unmarshal(cfg))
	return cfg, cfg.Validate()
}

// startExt starts the extension with k under the component id named
// name (a restart reuses the name: the state record is by id).
func startExt(t *testing.T, name string, k keys) *ext {
	t.Helper()
	cfg, err := config(t, k)
	require.NoError(t, err)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
	set.Resource.Attributes().PutStr("service.name", "otelcol-conformance")
	e, err := opampextension.NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	x := &ext{Extension: e, id: set.ID, dir: cfg.Storage.Directory}
	t.Cleanup(func() { x.stop(t) })
	return x
}

// newExtName is a fresh component name.
func newExtName() string { return fmt.Sprintf("conf%d", extSeq.Add(1)) }

// stop shuts the extension down, once.
func (x *ext) stop(t *testing.T) {
	t.Helper()
	x.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, x.Shutdown(ctx))
	})
}

// csStatus is a condition on a message's connection settings status.
func csStatus(hash string, st protobufs.ConnectionSettingsStatuses) func(testserver.Request) bool {
	return func(req testserver.Request) bool {
		s := req.Msg.GetConnectionSettingsStatus()
		return s != nil && bytes.Equal(s.GetLastConnectionSettingsHash(), []byte(hash)) && s.GetStatus() == st
	}
}

// hasCSStatus: any message the server got carried a connection settings
// status.
func hasCSStatus(r *testserver.Raw) bool {
	return countMsgs(r, func(m *protobufs.AgentToServer) bool { return m.GetConnectionSettingsStatus() != nil }) > 0
}

// opampOffer offers OpAMP connection settings under hash.
func opampOffer(hash string, s *protobufs.OpAMPConnectionSettings) *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{Hash: []byte(hash), Opamp: s}}
}

// headerOffer offers one header.
func headerOffer(hash, key, value string) *protobufs.ServerToAgent {
	return opampOffer(hash, &protobufs.OpAMPConnectionSettings{Headers: &protobufs.Headers{Headers: []*protobufs.Header{{Key: key, Value: value}}}})
}

package remoteconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// The in-process tests run a real Collector (otelcol, core's telemetry
// factory, this package's converter) whose "opamp" extension is a stand-in
// that drives a Manager as the real extension does: one Manager per
// extension instance, started and stopped with it, fed the pipelines'
// readiness and the components' statuses. The real extension's wiring is
// the root package's.

const ownWait = 20 * time.Second

// ownRig is a state directory, a Collector config served from memory and
// the statuses the managers reported.
type ownRig struct {
	dir      string
	mu       sync.Mutex
	yaml     string
	watcher  confmap.WatcherFunc
	reports  []*protobufs.ConnectionSettingsStatus
	snapshot *confmap.Conf // the latest effective config
	current  atomic.Pointer[Manager]
}

func newOwnRig(t *testing.T) *ownRig {
	dir := filepath.Join(t.TempDir(), "state")
	return &ownRig{dir: dir, yaml: fmt.Sprintf(`
receivers:
  nop:
exporters:
  nop:
extensions:
  opamp:
    capabilities:
      reports_own_metrics: true
    storage:
      directory: %s
service:
  extensions: [opamp]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
`, dir)}
}

func (r *ownRig) Retrieve(_ context.Context, _ string, w confmap.WatcherFunc) (*confmap.Retrieved, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watcher = w
	return confmap.NewRetrievedFromYAML([]byte(r.yaml))
}

func (*ownRig) Scheme() string                 { return "mem" }
func (*ownRig) Shutdown(context.Context) error { return nil }

// reload is what SIGHUP does, for this Collector only.
func (r *ownRig) reload() error {
	r.mu.Lock()
	w := r.watcher
	r.mu.Unlock()
	w(&confmap.ChangeEvent{})
	return nil
}

func (r *ownRig) report(s *protobufs.ConnectionSettingsStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, s)
}

// waitStatus waits for a report of hash with want and returns it.
func (r *ownRig) waitStatus(t *testing.T, hash string, want protobufs.ConnectionSettingsStatuses) *protobufs.ConnectionSettingsStatus {
	t.Helper()
	var got *protobufs.ConnectionSettingsStatus
	found := assert.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range r.reports {
			if string(s.GetLastConnectionSettingsHash()) == hash && s.GetStatus() == want {
				got = s
				return true
			}
		}
		return false
	}, ownWait, 10*time.Millisecond)
	if !found {
		t.Fatalf("no status %s of %q; reported: %v", want, hash, r.statuses())
	}
	return got
}

func (r *ownRig) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.reports))
	for _, s := range r.reports {
		out = append(out, fmt.Sprintf("%s %s %s", s.GetLastConnectionSettingsHash(), s.GetStatus(), s.GetErrorMessage()))
	}
	return out
}

func (r *ownRig) effective() *confmap.Conf {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshot
}

// manager waits for the Manager of a running extension instance.
func (r *ownRig) manager(t *testing.T) *Manager {
	t.Helper()
	require.Eventually(t, func() bool { return r.current.Load() != nil }, ownWait, 5*time.Millisecond)
	return r.current.Load()
}

func (r *ownRig) factories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](receivertest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap(r.extensionFactory()); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func (r *ownRig) settings(rs confmap.ResolverSettings) otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		BuildInfo:               component.BuildInfo{Command: "otelcol-test", Version: "0.0.1"},
		Factories:               r.factories,
		ConfigProviderSettings:  otelcol.ConfigProviderSettings{ResolverSettings: rs},
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	}
}

// validate is the distro's validate command (DryRun) with the test's
// factories, in-process.
func (r *ownRig) validate(ctx context.Context, yaml []byte) error {
	path := filepath.Join(r.dir, "validate.yaml")
	if err := os.WriteFile(path, yaml, 0o600); err != nil {
		return err
	}
	defer func() { _ = os.Remove(path) }()
	col, err := otelcol.NewCollector(r.settings(confmap.ResolverSettings{
		URIs: []string{path}, ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
	}))
	if err != nil {
		return err
	}
	return col.DryRun(ctx)
}

// ownRun is one running Collector.
type ownRun struct {
	rig  *ownRig
	col  *otelcol.Collector
	done chan error
	once sync.Once
}

// run runs a Collector until the test ends (or stop).
func (r *ownRig) run(t *testing.T) *ownRun {
	t.Helper()
	col, err := otelcol.NewCollector(r.settings(confmap.ResolverSettings{
		URIs:              []string{"mem:config"},
		ProviderFactories: []confmap.ProviderFactory{confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return r })},
		ConverterFactories: []confmap.ConverterFactory{confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
			return converterFunc(func(ctx context.Context, conf *confmap.Conf) error { return Convert(ctx, conf, set.Logger) })
		})},
	}))
	require.NoError(t, err)
	run := &ownRun{rig: r, col: col, done: make(chan error, 1)}
	go func() { run.done <- col.Run(context.Background()) }()
	t.Cleanup(func() { run.stop(t) })
	return run
}

// running: Run has not returned.
func (c *ownRun) running() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return false
	default:
		return true
	}
}

// stop shuts the Collector down and waits for Run. Run's Retrieve holds
// the rig's lock after its WaitGroup.Add: taking the lock first orders
// Shutdown's Wait after it (the race detector flags the pair otherwise).
func (c *ownRun) stop(t *testing.T) {
	c.once.Do(func() {
		require.Eventually(t, func() bool {
			c.rig.mu.Lock()
			defer c.rig.mu.Unlock()
			return c.rig.watcher != nil
		}, ownWait, 5*time.Millisecond)
		c.col.Shutdown()
		select {
		case err := <-c.done:
			assert.NoError(t, err, "the Collector's Run")
		case <-time.After(ownWait):
			t.Error("the Collector did not stop")
		}
		c.rig.mu.Lock()
		c.rig.watcher = nil
		c.rig.mu.Unlock()
	})
}

type converterFunc func(context.Context, *confmap.Conf) error

func (f converterFunc) Convert(ctx context.Context, conf *confmap.Conf) error { return f(ctx, conf) }

// The stand-in extension.

type ownExtConfig struct {
	Capabilities map[string]any `mapstructure:"capabilities"`
	Storage      struct {
		Directory string `mapstructure:"directory"`
	} `mapstructure:"storage"`
}

func (r *ownRig) extensionFactory() extension.Factory {
	return extension.NewFactory(component.MustNewType("opamp"),
		func() component.Config { return &ownExtConfig{} },
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return &ownExt{rig: r, set: set, dir: cfg.(*ownExtConfig).Storage.Directory}, nil
		}, component.StabilityLevelDevelopment)
}

type ownExt struct {
	rig *ownRig
	set extension.Settings
	dir string
	// m is read by Changed, which may run concurrently with Start.
	m atomic.Pointer[Manager]
}

var (
	_ extensioncapabilities.PipelineWatcher        = (*ownExt)(nil)
	_ extensioncapabilities.ConfigSnapshotWatcher  = (*ownExt)(nil)
	_ extensioncapabilities.ComponentStatusWatcher = (*ownExt)(nil)
)

func (e *ownExt) Start(context.Context, component.Host) error {
	m, err := New(Settings{
		Logger: e.set.Logger, Dir: e.dir, Rules: Rules{Own: "opamp"},
		Validator: ValidatorFunc(e.rig.validate), Reload: e.rig.reload, ApplyTimeout: 10 * time.Second,
		ReportConnection: e.rig.report, OwnMetricsInterval: 100 * time.Millisecond,
	})
	if err != nil {
		return err
	}
	e.m.Store(m)
	m.Start()
	e.rig.current.Store(m)
	return nil
}

func (e *ownExt) Shutdown(context.Context) error {
	if m := e.m.Load(); m != nil {
		e.rig.current.CompareAndSwap(m, nil)
		m.Shutdown()
	}
	return nil
}

func (e *ownExt) Ready() error    { e.m.Load().Ready(); return nil }
func (e *ownExt) NotReady() error { e.m.Load().NotReady(); return nil }

func (e *ownExt) Changed(id *componentstatus.InstanceID, ev *componentstatus.Event) {
	if m := e.m.Load(); m != nil {
		m.ComponentStatusChanged(id, ev)
	}
}

func (e *ownExt) NotifyConfigSnapshot(_ context.Context, snap extensioncapabilities.ConfigSnapshot) error {
	e.rig.mu.Lock()
	defer e.rig.mu.Unlock()
	e.rig.snapshot = snap.Effective()
	return nil
}

//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.yaml.in/yaml/v3"

	"github.com/opampext/opampextension/internal/testserver"
)

// Timeouts of the Supervisor scenarios. Generous: two cores also run
// the builds of other packages.
const (
	bootstrapTimeout   = 15 * time.Second // Supervisor's agent.bootstrap_timeout
	configApplyTimeout = 4 * time.Second  // Supervisor's agent.config_apply_timeout
	readyTimeout       = 45 * time.Second // Supervisor start to a healthy report
)

// baseAgentConfig is the local Collector config the Supervisor merges
// under its own opamp extension block: a small pipeline that opens no
// port (internal metrics are off, so runs never contend for :8888).
const baseAgentConfig = `
receivers:
  nop:
processors:
  batch:
exporters:
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [nop]
      processors: [batch]
      exporters: [debug]
  telemetry:
    metrics:
      level: none
`

// supervisorOptions shape one Supervisor run.
type supervisorOptions struct {
	collector      string        // agent executable (absolute)
	agentConfig    string        // local Collector config (agent.config_files)
	orphanInterval time.Duration // agent.orphan_detection_interval; 0: its default (5 s)
}

// supervisorRun is a running Supervisor and where it keeps its files.
type supervisorRun struct {
	proc    *process
	dir     string
	storage string
	exe     string // resolved path of the Collector executable
	srv     *testserver.Server
}

// startSupervisor writes supervisor.yaml into a fresh TempDir and runs the
// Supervisor against srv. Cleanup stops it (which stops its Collector),
// then kills any Collector left behind and fails the test if there was one.
func startSupervisor(t *testing.T, srv *testserver.Server, opts supervisorOptions) *supervisorRun {
	t.Helper()
	dir := t.TempDir()
	exe, err := filepath.EvalSymlinks(opts.collector)
	if err != nil {
		t.Fatalf("collector: %v", err)
	}
	s := &supervisorRun{dir: dir, storage: filepath.Join(dir, "storage"), exe: exe, srv: srv}

	agentCfg := filepath.Join(dir, "agent.yaml")
	writeFile(t, agentCfg, opts.agentConfig)
	agent := map[string]any{
		"executable":                      opts.collector,
		"config_files":                    []string{agentCfg},
		"bootstrap_timeout":               bootstrapTimeout.String(),
		"config_apply_timeout":            configApplyTimeout.String(),
		"collector_crash_log_snippet_kib": 2,
	}
	if opts.orphanInterval > 0 {
		agent["orphan_detection_interval"] = opts.orphanInterval.String()
	}
	cfg := map[string]any{
		"server": map[string]any{"endpoint": srv.WSURL()},
		"capabilities": map[string]any{
			"accepts_remote_config":        true,
			"reports_remote_config":        true,
			"accepts_restart_command":      true,
			"reports_effective_config":     true,
			"reports_health":               true,
			"reports_available_components": true,
			"reports_own_metrics":          false,
		},
		"storage":   map[string]any{"directory": s.storage},
		"agent":     agent,
		"telemetry": map[string]any{"logs": map[string]any{"level": "debug"}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("supervisor.yaml: %v", err)
	}
	supCfg := filepath.Join(dir, "supervisor.yaml")
	writeFile(t, supCfg, string(b))

	// Cleanups run last-registered first: note the Collectors, stop the
	// Supervisor, then make sure no Collector outlived it.
	var collectors []int
	t.Cleanup(func() {
		for _, pid := range collectors {
			killIfAlive(t, pid)
		}
	})
	s.proc = startProcess(t, dir, "supervisor", supervisorBin(t), []string{"--config", supCfg},
		supCfg, agentCfg, filepath.Join(s.storage, "effective.yaml"), filepath.Join(s.storage, "agent.log"))
	t.Cleanup(func() {
		if !s.proc.exited() {
			collectors = children(s.proc.pid(), s.exe)
		}
	})
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// instanceUID is the uid the Supervisor persisted for its agent.
func (s *supervisorRun) instanceUID(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.storage, "persistent_state.yaml"))
	if err != nil {
		t.Fatalf("supervisor state: %v", err)
	}
	var st struct {
		InstanceID string `yaml:"instance_id"`
	}
	if err := yaml.Unmarshal(b, &st); err != nil {
		t.Fatalf("supervisor state: %v", err)
	}
	if _, err := uuid.Parse(st.InstanceID); err != nil {
		t.Fatalf("supervisor state: instance_id %q: %v", st.InstanceID, err)
	}
	return st.InstanceID
}

// collectorPID waits until the Supervisor has exactly one Collector child
// whose pid is not in exclude, and returns it.
func (s *supervisorRun) collectorPID(t *testing.T, timeout time.Duration, exclude ...int) int {
	t.Helper()
	var pid int
	ok := eventually(timeout, func() bool {
		var fresh []int
		for _, p := range children(s.proc.pid(), s.exe) {
			if !slices.Contains(exclude, p) {
				fresh = append(fresh, p)
			}
		}
		if len(fresh) != 1 {
			return false
		}
		pid = fresh[0]
		return true
	})
	if !ok {
		t.Fatalf("no single Collector child of the Supervisor (pid %d) within %v: %v", s.proc.pid(), timeout, children(s.proc.pid(), s.exe))
	}
	return pid
}

// waitHealthy waits until the server holds a healthy report from the
// Collector relayed by the Supervisor (the Supervisor's own reports carry
// no component map) and returns the agent's state.
func (s *supervisorRun) waitHealthy(t *testing.T) *testserver.AgentState {
	t.Helper()
	return s.srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return a.Health.GetHealthy() && len(a.Health.GetComponentHealthMap()) > 0
	})
}

// identifying returns the string value of an identifying attribute.
func identifying(d *protobufs.AgentDescription, key string) string {
	for _, kv := range d.GetIdentifyingAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

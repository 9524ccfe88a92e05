package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/opampext/opampextension/bench/recorder"
	"github.com/opampext/opampextension/bench/sampleconfig"
)

// distro is one Collector binary of the process figures.
type distro struct {
	name  string
	bin   string
	opamp bool // has an opamp extension (ours or contrib's)
}

// procFigures are one distro's figures from one run.
type procFigures struct {
	FirstMessage time.Duration `json:"first_message"`
	Healthy      time.Duration `json:"healthy"`
	// ExtensionStart and Ready are when the Collector's log line of the
	// opamp extension starting and "Everything is ready" arrived (after
	// exec); ReadyToHealthy is from that line to the first healthy health
	// at the server, the extension's own share of exec → healthy. Zero
	// when the Collector did not log the line.
	ExtensionStart    time.Duration `json:"extension_start"`
	Ready             time.Duration `json:"ready"`
	ReadyToHealthy    time.Duration `json:"ready_to_healthy"`
	HasReady          bool          `json:"has_ready"`
	FirstReportBytes  int           `json:"first_report_bytes"`
	FirstReportMsgs   int           `json:"first_report_messages"`
	RSS               int64         `json:"rss"` // median of 1 s samples over the window
	RSSAnon           int64         `json:"rss_anon"`
	RSSFile           int64         `json:"rss_file"`
	CPU               time.Duration `json:"cpu"` // over the window
	Window            time.Duration `json:"window"`
	IdleMessages      int           `json:"idle_messages"`
	IdleBytes         int           `json:"idle_bytes"`
	HeartbeatMessages int           `json:"heartbeat_messages"`
	HeartbeatBytes    int           `json:"heartbeat_bytes"`
	// Stuck says what the server still lacked when the start-up wait ended;
	// the start-up figures of such a run are left out of the medians.
	Stuck string `json:"stuck,omitempty"`
	// Trace is the start-up as benchrun saw it: the Collector's log lines
	// and the server's messages, in ms after exec.
	Trace []string `json:"trace,omitempty"`
}

// running is a started distro.
type running struct {
	d     distro
	cmd   *exec.Cmd
	rec   *recorder.Recorder
	log   *lineMarks
	start time.Time
	exit  chan error
}

// runProcesses starts every distro one after the other (each waits until
// its extension reported a full, healthy state), lets them settle, then
// measures all of them over the same idle window.
func runProcesses(ctx context.Context, distros []distro, workDir string, port int, settle, window time.Duration) (map[string]procFigures, error) {
	var started []*running
	defer func() {
		for _, r := range started {
			r.stop()
		}
	}()
	figs := map[string]procFigures{}
	for i, d := range distros {
		r, err := startDistro(d, workDir, port+i)
		if err != nil {
			return nil, err
		}
		started = append(started, r)
		if d.opamp {
			f, err := r.waitFull(ctx, 15*time.Second)
			if err != nil {
				return nil, err
			}
			if f.Stuck != "" {
				logf("  %s: no full state after 15s: %s", d.name, f.Stuck)
			}
			figs[d.name] = f
			continue
		}
		// A baseline's own start-up, for the extensions' share of theirs.
		if at, ok := r.waitMark(markReady, 15*time.Second); ok {
			figs[d.name] = procFigures{HasReady: true, Ready: at.Sub(r.start)}
		}
	}
	time.Sleep(settle)

	cpu0 := make([]time.Duration, len(started))
	mem := make([][3][]int64, len(started)) // rss, anon, file samples
	for i, r := range started {
		c, err := cpuTime(r.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.d.name, err)
		}
		cpu0[i] = c
	}
	from := time.Now()
	for time.Since(from) < window {
		time.Sleep(time.Second)
		for i, r := range started {
			if m, err := readMemory(r.cmd.Process.Pid); err == nil {
				mem[i][0] = append(mem[i][0], m.rss)
				mem[i][1] = append(mem[i][1], m.anon)
				mem[i][2] = append(mem[i][2], m.file)
			}
		}
	}
	to := time.Now()
	for i, r := range started {
		select {
		case err := <-r.exit:
			return nil, fmt.Errorf("%s exited during the idle window: %w (log: %s)", r.d.name, err, r.logPath(workDir))
		default:
		}
		c, err := cpuTime(r.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.d.name, err)
		}
		f := figs[r.d.name]
		f.CPU = c - cpu0[i]
		f.RSS, f.RSSAnon, f.RSSFile = median(mem[i][0]), median(mem[i][1]), median(mem[i][2])
		f.Window = to.Sub(from)
		if r.rec != nil {
			snap := r.rec.Snapshot()
			f.IdleMessages, f.IdleBytes = snap.Window(from.UnixNano(), to.UnixNano())
			for _, m := range snap.Messages {
				if m.At >= from.UnixNano() && m.At < to.UnixNano() && m.Kinds == 0 {
					f.HeartbeatMessages++
					f.HeartbeatBytes += m.Size
				}
			}
		}
		figs[r.d.name] = f
	}
	return figs, nil
}

// runStartups starts every distro n times, one after the other in an order
// rotated per start, each until started (an extension's full state, a
// baseline's "Everything is ready") and then stopped: start-up samples
// taken under the same load for all four, many more than the process runs.
func runStartups(ctx context.Context, distros []distro, workDir string, port, n int) ([]map[string]procFigures, error) {
	var out []map[string]procFigures
	for i := range n {
		figs := map[string]procFigures{}
		for j := range distros {
			d := distros[(i+j)%len(distros)]
			f, err := startOnce(ctx, d, workDir, port+j)
			if err != nil {
				return nil, err
			}
			figs[d.name] = f
		}
		out = append(out, figs)
	}
	return out, nil
}

// startOnce starts d, takes its start-up figures and stops it.
func startOnce(ctx context.Context, d distro, workDir string, port int) (procFigures, error) {
	r, err := startDistro(d, workDir, port)
	if err != nil {
		return procFigures{}, err
	}
	defer r.stop()
	if d.opamp {
		return r.waitFull(ctx, 15*time.Second)
	}
	at, ok := r.waitMark(markReady, 15*time.Second)
	if !ok {
		return procFigures{Stuck: "no \"Everything is ready\" line"}, nil
	}
	return procFigures{HasReady: true, Ready: at.Sub(r.start)}, nil
}

func startDistro(d distro, workDir string, otlpPort int) (*running, error) {
	r := &running{d: d, exit: make(chan error, 1)}
	endpoint := ""
	if d.opamp {
		rec, err := recorder.Start("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		r.rec = rec
		endpoint = rec.Endpoint()
	}
	cfgPath := filepath.Join(workDir, d.name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(collectorConfig(endpoint, otlpPort)), 0o600); err != nil {
		r.stop()
		return nil, err
	}
	logFile, err := os.Create(r.logPath(workDir))
	if err != nil {
		r.stop()
		return nil, err
	}
	r.cmd = exec.Command(d.bin, "--config", cfgPath)
	r.log = newLineMarks(logFile, time.Now, processMarks)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		_ = logFile.Close()
		r.stop()
		return nil, fmt.Errorf("start %s: %w", d.name, err)
	}
	go func() {
		err := r.cmd.Wait() // returns once the log is copied
		_ = logFile.Close()
		r.exit <- err
	}()
	return r, nil
}

func (r *running) logPath(workDir string) string { return filepath.Join(workDir, r.d.name+".log") }

// waitFull waits until the recorder holds the agent's full state and
// returns the start-up figures.
func (r *running) waitFull(ctx context.Context, timeout time.Duration) (procFigures, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.exit:
			return procFigures{}, fmt.Errorf("%s exited before reporting healthy: %w", r.d.name, err)
		case <-ctx.Done():
			return procFigures{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		snap := r.rec.Snapshot()
		if len(snap.Agents) != 1 || snap.Agents[0].FirstFullAt == 0 {
			continue
		}
		a := snap.Agents[0]
		t0 := r.start.UnixNano()
		f := procFigures{
			FirstMessage:     time.Duration(a.FirstAt - t0),
			Healthy:          time.Duration(a.HealthyAt - t0),
			FirstReportBytes: a.FirstFullBytes,
			FirstReportMsgs:  a.FirstFullMessages,
		}
		// The healthy health can overtake the log line it follows.
		ready, ok := r.waitMark(markReady, time.Second)
		if ok {
			f.HasReady = true
			f.Ready = ready.Sub(r.start)
			f.ReadyToHealthy = time.Duration(a.HealthyAt - ready.UnixNano())
		}
		if at, ok := r.log.At(markExtensionStart); ok {
			f.ExtensionStart = at.Sub(r.start)
		}
		f.Trace = r.trace(snap, a.FirstFullAt)
		return f, nil
	}
	stuck := "nothing received"
	if lacks := r.rec.Incomplete(); len(lacks) > 0 {
		stuck = lacks[0]
	}
	return procFigures{Stuck: stuck}, nil
}

// waitMark waits up to d for the log line of mark.
func (r *running) waitMark(mark logMark, d time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(d)
	for {
		if at, ok := r.log.At(mark); ok || time.Now().After(deadline) {
			return at, ok
		}
		time.Sleep(time.Millisecond)
	}
}

// stop ends the Collector politely, then by force.
func (r *running) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exit: //nolint:errcheck // the exit status does not matter when stopping
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exit //nolint:errcheck // the exit status does not matter when stopping
		}
		r.cmd = nil
	}
	if r.rec != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.rec.Stop(ctx)
		r.rec = nil
	}
}

// collectorConfig is the sample configuration: otlp -> batch -> debug, and
// the opamp extension over ws when endpoint is set. Self-telemetry is off so
// that several Collectors can run side by side.
func collectorConfig(endpoint string, otlpPort int) string {
	cfg := sampleconfig.YAML(otlpPort)
	if endpoint == "" {
		return cfg
	}
	return cfg + fmt.Sprintf(`  extensions: [opamp]
extensions:
  opamp:
    instance_uid: %s
    server:
      ws:
        endpoint: %s
        tls:
          insecure: true
`, uuid.NewSHA1(uuid.NameSpaceURL, []byte(endpoint)), endpoint)
}

// median of a copy of v; 0 for none.
func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

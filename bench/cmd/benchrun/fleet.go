package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/opampext/opampextension/bench/recorder"
)

// fleetFigures are one fleet run's figures.
type fleetFigures struct {
	N                  int           `json:"n"`
	HeapPerAgent       float64       `json:"heap_per_agent"` // HeapInuse delta / N, bytes
	HeapAllocPerAgent  float64       `json:"heap_alloc_per_agent"`
	GoroutinesPerAgent float64       `json:"goroutines_per_agent"`
	IdleCPU            time.Duration `json:"idle_cpu"` // the whole process over IdleWindow
	IdleWindow         time.Duration `json:"idle_window"`
	AllFull            time.Duration `json:"all_full"` // first Start to the last agent's full state
	BytesPerAgent      float64       `json:"bytes_per_agent"`
	WireBytesPerAgent  float64       `json:"wire_bytes_per_agent"`
	Resync             time.Duration `json:"resync"` // server back to the last agent's full state
	PeakAttempts       int           `json:"peak_attempts"`
	Attempts           int           `json:"attempts"` // during the outage and resync
	// Agents still without a full state when progress stopped for
	// fleetStall; the time figures are over the others.
	StuckAtStart     int `json:"stuck_at_start"`
	StuckAfterOutage int `json:"stuck_after_outage"`
}

// fleetStall is how long the fleet figures wait for one more agent to reach
// a full state before counting the rest as stuck.
const fleetStall = 15 * time.Second

// repeatFigures count what one agent sends while a component repeats an
// unchanged status every second.
type repeatFigures struct {
	Window   time.Duration `json:"window"`
	Messages int           `json:"messages"`
	Bytes    int           `json:"bytes"`
	Content  int           `json:"content_messages"` // anything but heartbeats
}

// fleetProc is a started fleet program (bench/fleet or bench/contribfleet).
type fleetProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
	done  bool
}

func startFleetProc(bin, endpoint string, n int, extra ...string) (*fleetProc, error) {
	args := append([]string{"-endpoint", endpoint, "-n", fmt.Sprint(n)}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	return &fleetProc{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}, nil
}

// next reads the next event line and checks its name.
func (p *fleetProc) next(event string) (map[string]any, error) {
	if !p.lines.Scan() {
		return nil, fmt.Errorf("%s: no %q event (output ended: %w)", p.cmd.Path, event, p.lines.Err())
	}
	var ev map[string]any
	if err := json.Unmarshal(p.lines.Bytes(), &ev); err != nil {
		return nil, fmt.Errorf("%s: bad event line %q: %w", p.cmd.Path, p.lines.Text(), err)
	}
	if ev["event"] != event {
		return nil, fmt.Errorf("%s: want event %q, got %q", p.cmd.Path, event, p.lines.Text())
	}
	return ev, nil
}

func (p *fleetProc) command(cmd, event string) (map[string]any, error) {
	if _, err := fmt.Fprintln(p.stdin, cmd); err != nil {
		return nil, err
	}
	return p.next(event)
}

// quit stops the fleet and waits for the program to end.
func (p *fleetProc) quit() error {
	if p.done {
		return nil
	}
	p.done = true
	_, err := p.command("quit", "stopped")
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case werr := <-done:
		if err == nil {
			err = werr
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done //nolint:errcheck // only waiting for the fleet to stop
		err = fmt.Errorf("%s did not stop within 30s", p.cmd.Path)
	}
	return err
}

// fleetRun configures one fleet run; empty profile paths take no profile.
type fleetRun struct {
	bin                    string
	n                      int
	outage, timeout, idle  time.Duration
	memProfile, cpuProfile string
}

// runFleet starts n instances, waits for every full state, measures heap
// and idle CPU, takes the server away for outage and waits for every agent
// to resync.
func runFleet(ctx context.Context, fr fleetRun) (fleetFigures, error) {
	bin, n, outage, timeout, memProfile := fr.bin, fr.n, fr.outage, fr.timeout, fr.memProfile
	rec, err := recorder.Start("127.0.0.1:0")
	if err != nil {
		return fleetFigures{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rec.Stop(sctx)
	}()
	var extra []string
	if memProfile != "" {
		extra = append(extra, "-memprofile", memProfile)
	}
	p, err := startFleetProc(bin, rec.Endpoint(), n, extra...)
	if err != nil {
		return fleetFigures{}, err
	}
	defer func() { _ = p.quit() }()
	ev, err := p.next("started")
	if err != nil {
		return fleetFigures{}, err
	}
	startAt := int64(ev["start_at"].(float64))
	stuck, lacks, err := waitAllFull(ctx, rec, n, fleetStall, timeout)
	if err != nil {
		return fleetFigures{}, err
	}
	logStuck(bin+" start-up", stuck, lacks)
	m, err := p.command("measure", "measure")
	if err != nil {
		return fleetFigures{}, err
	}
	snap := rec.Snapshot()
	f := fleetFigures{
		N:                  n,
		HeapPerAgent:       m["heap_inuse_per_agent"].(float64),
		HeapAllocPerAgent:  m["heap_alloc_per_agent"].(float64),
		GoroutinesPerAgent: m["goroutines_per_agent"].(float64),
		StuckAtStart:       stuck,
	}
	if fr.idle > 0 {
		cmd := "idle " + fr.idle.String()
		if fr.cpuProfile != "" {
			cmd += " " + fr.cpuProfile
		}
		ev, err := p.command(cmd, "idle")
		if err != nil {
			return fleetFigures{}, err
		}
		f.IdleCPU = time.Duration(ev["cpu_ns"].(float64))
		f.IdleWindow = time.Duration(ev["window_ns"].(float64))
	}
	var lastFull int64
	for _, a := range snap.Agents {
		lastFull = max(lastFull, a.FirstFullAt)
		f.BytesPerAgent += float64(a.Bytes) / float64(n)
		f.WireBytesPerAgent += float64(a.WireBytes) / float64(n)
	}
	f.AllFull = time.Duration(lastFull - startAt)

	outageAt := time.Now().UnixNano()
	back := rec.Outage(outage)
	stuck, lacks, err = waitAllFull(ctx, rec, n, fleetStall, timeout)
	if err != nil {
		return fleetFigures{}, err
	}
	logStuck(bin+" resync", stuck, lacks)
	f.StuckAfterOutage = stuck
	snap = rec.Snapshot()
	var lastResync int64
	for _, a := range snap.Agents {
		lastResync = max(lastResync, a.FullAt)
	}
	f.Resync = time.Duration(lastResync - back.UnixNano())
	f.PeakAttempts = snap.PeakAttemptsPerSecond(outageAt, lastResync+1)
	for _, at := range snap.Attempts {
		if at >= outageAt && at <= lastResync {
			f.Attempts++
		}
	}
	return f, p.quit()
}

// runRepeat runs one instance whose exporter repeats StatusOK every second
// and counts what reaches the server over window.
func runRepeat(ctx context.Context, bin string, window time.Duration) (repeatFigures, error) {
	rec, err := recorder.Start("127.0.0.1:0")
	if err != nil {
		return repeatFigures{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rec.Stop(sctx)
	}()
	p, err := startFleetProc(bin, rec.Endpoint(), 1, "-repeat", "1s")
	if err != nil {
		return repeatFigures{}, err
	}
	defer func() { _ = p.quit() }()
	if _, err := p.next("started"); err != nil {
		return repeatFigures{}, err
	}
	if stuck, lacks, err := waitAllFull(ctx, rec, 1, 10*time.Second, 30*time.Second); err != nil || stuck > 0 {
		return repeatFigures{}, fmt.Errorf("no full state: %v %w", lacks, err)
	}
	time.Sleep(2 * time.Second) // past the start-up reports
	from := time.Now()
	time.Sleep(window)
	to := time.Now()
	snap := rec.Snapshot()
	r := repeatFigures{Window: to.Sub(from)}
	r.Messages, r.Bytes = snap.Window(from.UnixNano(), to.UnixNano())
	for _, m := range snap.Messages {
		if m.At >= from.UnixNano() && m.At < to.UnixNano() && m.Kinds != 0 {
			r.Content++
		}
	}
	return r, p.quit()
}

// waitAllFull waits until the recorder holds a full state for n agents. It
// gives up when no agent completed for stall, or after timeout, and then
// returns how many did not with what they lack: a benchmark reports agents
// that never settle instead of hanging on them.
func waitAllFull(ctx context.Context, rec *recorder.Recorder, n int, stall, timeout time.Duration) (stuck int, lacks []string, err error) {
	deadline := time.Now().Add(timeout)
	last, lastChange := -1, time.Now()
	for {
		full, _ := rec.FullCount()
		if full == n {
			return 0, nil, nil
		}
		if full != last {
			last, lastChange = full, time.Now()
		}
		if time.Since(lastChange) > stall || time.Now().After(deadline) {
			return n - full, rec.Incomplete(), nil
		}
		select {
		case <-ctx.Done():
			return n - full, nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logStuck reports agents that never reached a full state.
func logStuck(what string, stuck int, lacks []string) {
	if stuck == 0 {
		return
	}
	if len(lacks) > 5 {
		lacks = append(lacks[:5], "...")
	}
	logf("  %s: %d agents without a full state: %s", what, stuck, strings.Join(lacks, "; "))
}

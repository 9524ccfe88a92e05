// Command applyrun measures how long a remote configuration takes to apply:
// through our extension in-process, through the OpAMP Supervisor v0.158.0
// running our distro (a process restart), and, for reference, through the
// Collector's own reload (the merged config written to its file, then
// SIGHUP). Every mode applies the same change (a second pipeline) against
// the same opamp-go server, in rounds that rotate the order of the modes.
// It prints the table as Markdown and can write it and the raw samples.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type flags struct {
	ours, supervisor  string
	runs              int
	settle, timeout   time.Duration
	workDir           string
	jsonOut, tableOut string
	verdict           bool
	modes             string
}

func main() {
	var f flags
	flag.StringVar(&f.ours, "ours", "", "our distro")
	flag.StringVar(&f.supervisor, "supervisor", "", "the OpAMP Supervisor v0.158.0 binary")
	flag.IntVar(&f.runs, "runs", 7, "runs of every mode; figures are medians over them")
	flag.DurationVar(&f.settle, "settle", time.Second, "wait after the Collector is healthy before the change")
	flag.DurationVar(&f.timeout, "timeout", 30*time.Second, "longest wait for a start-up or an apply")
	flag.StringVar(&f.workDir, "workdir", os.TempDir(), "configs, state and logs go here, a directory per run")
	flag.StringVar(&f.jsonOut, "json", "", "write the samples here")
	flag.StringVar(&f.tableOut, "table", "", "write the Markdown table here")
	flag.BoolVar(&f.verdict, "verdict", true, "judge the goals (false for a quick run)")
	flag.StringVar(&f.modes, "modes", strings.Join(modes, ","), "the modes to run, comma-separated (fewer: for profiling one)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "applyrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	if f.ours == "" || f.supervisor == "" {
		return fmt.Errorf("-ours and -supervisor are required")
	}
	if f.runs < 1 {
		return fmt.Errorf("-runs must be at least 1, got %d", f.runs)
	}
	p, err := freePorts()
	if err != nil {
		return err
	}
	srv, err := startPushServer()
	if err != nil {
		return err
	}
	defer srv.stop()
	r := &runner{srv: srv, ours: f.ours, supervisor: f.supervisor, dir: f.workDir, ports: p,
		settle: f.settle, timeout: f.timeout}
	chosen := strings.Split(f.modes, ",")
	for _, m := range chosen {
		if !slices.Contains(modes, m) {
			return fmt.Errorf("-modes: unknown mode %q (known: %s)", m, strings.Join(modes, ", "))
		}
	}
	var samples []sample
	for i := range f.runs {
		for j := range chosen {
			m := chosen[(i+j)%len(chosen)]
			s, err := r.run(ctx, m, i)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", m, i+1, err)
			}
			logf("run %d/%d %-10s APPLIED %s, new pipeline healthy %s", i+1, f.runs, m,
				s.Applied.Round(time.Millisecond), s.Healthy.Round(time.Millisecond))
			samples = append(samples, s)
		}
	}

	tbl := table(rows(samples, f.verdict), f.runs)
	fmt.Print(tbl)
	if f.tableOut != "" {
		if err := os.WriteFile(f.tableOut, []byte(tbl), 0o644); err != nil {
			return err
		}
	}
	if f.jsonOut != "" {
		b, err := json.MarshalIndent(samples, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(f.jsonOut, b, 0o644)
	}
	return nil
}

// freePorts picks the two receivers' ports: free now, and kept for every
// run so that each mode applies byte for byte the same change.
func freePorts() (ports, error) {
	var got [2]int
	for i := range got {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, err
		}
		defer func() { _ = ln.Close() }()
		got[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{local: got[0], added: got[1]}, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

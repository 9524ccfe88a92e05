// Command benchrun measures our opamp extension beside contrib's: process
// figures of the distros built by scripts/bench.sh, repeated-status and fleet
// figures of bench/fleet and bench/contribfleet, all against the recording
// OpAMP server of bench/recorder. It writes the raw figures as JSON and the
// comparison table as Markdown, and prints the table.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type flags struct {
	ours, contrib, baseline, baselineContrib string
	fleet, contribFleet                      string
	runs, n, startups                        int
	settle, window, repeatWindow, outage     time.Duration
	workDir, jsonOut, tableOut, memProfile   string
	contribMemProfile                        string
	cpuProfile, contribCPUProfile            string
	fleetIdle                                time.Duration
}

func main() {
	var f flags
	flag.StringVar(&f.ours, "ours", "", "distro with our extension")
	flag.StringVar(&f.contrib, "contrib", "", "distro with contrib's extension")
	flag.StringVar(&f.baseline, "baseline", "", "distro without an extension, core of ours")
	flag.StringVar(&f.baselineContrib, "baseline-contrib", "", "distro without an extension, core of contrib's")
	flag.StringVar(&f.fleet, "fleet", "", "bench/fleet binary (empty: no fleet figures)")
	flag.StringVar(&f.contribFleet, "contribfleet", "", "bench/contribfleet binary")
	flag.IntVar(&f.runs, "runs", 3, "runs; figures are medians over them")
	flag.IntVar(&f.n, "n", 1000, "fleet size")
	flag.IntVar(&f.startups, "startups", 20, "extra starts of every distro per run, for the start-up times")
	flag.DurationVar(&f.settle, "settle", 5*time.Second, "wait after start-up before the idle window")
	flag.DurationVar(&f.window, "window", 60*time.Second, "idle window")
	flag.DurationVar(&f.repeatWindow, "repeat-window", 30*time.Second, "window of the repeated-status figure")
	flag.DurationVar(&f.outage, "outage", 3*time.Second, "server outage in the fleet figures")
	flag.StringVar(&f.workDir, "workdir", os.TempDir(), "configs and Collector logs go here")
	flag.StringVar(&f.jsonOut, "json", "", "write the raw figures here")
	flag.StringVar(&f.tableOut, "table", "", "write the Markdown table here")
	flag.StringVar(&f.memProfile, "memprofile", "", "heap profile of our fleet at its measure point")
	flag.StringVar(&f.contribMemProfile, "contrib-memprofile", "", "heap profile of contrib's fleet at its measure point")
	flag.StringVar(&f.cpuProfile, "cpuprofile", "", "CPU profile of our fleet while idle")
	flag.StringVar(&f.contribCPUProfile, "contrib-cpuprofile", "", "CPU profile of contrib's fleet while idle")
	flag.DurationVar(&f.fleetIdle, "fleet-idle", 30*time.Second, "window of the fleets' idle CPU, a multiple of the 30 s heartbeat so that every agent beats once (0: none)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	if f.ours == "" || f.contrib == "" || f.baseline == "" || f.baselineContrib == "" {
		return fmt.Errorf("-ours, -contrib, -baseline and -baseline-contrib are required")
	}
	if f.runs < 1 {
		return fmt.Errorf("-runs must be at least 1, got %d", f.runs)
	}
	distros := []distro{
		{name: ours, bin: f.ours, opamp: true},
		{name: contrib, bin: f.contrib, opamp: true},
		{name: baseline, bin: f.baseline},
		{name: baselineContrib, bin: f.baselineContrib},
	}
	res := results{Runs: f.runs, N: f.n, Window: f.window, RepeatWindow: f.repeatWindow, Outage: f.outage}
	for i := range f.runs {
		// Rotate the start order so that no distro always starts first.
		order := append(append([]distro(nil), distros[i%len(distros):]...), distros[:i%len(distros)]...)
		logf("run %d/%d: process figures (%s idle window)", i+1, f.runs, f.window)
		pf, err := runProcesses(ctx, order, f.workDir, 43170, f.settle, f.window)
		if err != nil {
			return err
		}
		res.Process = append(res.Process, pf)
		if f.startups > 0 {
			logf("run %d/%d: %d more starts of every distro", i+1, f.runs, f.startups)
			su, err := runStartups(ctx, distros, f.workDir, 43190, f.startups)
			if err != nil {
				return err
			}
			res.Startups = append(res.Startups, su...)
		}
		if f.fleet == "" {
			continue
		}
		logf("run %d/%d: repeated status (%s)", i+1, f.runs, f.repeatWindow)
		rep := map[string]repeatFigures{}
		for name, bin := range map[string]string{ours: f.fleet, contrib: f.contribFleet} {
			r, err := runRepeat(ctx, bin, f.repeatWindow)
			if err != nil {
				return fmt.Errorf("repeated status, %s: %w", name, err)
			}
			rep[name] = r
		}
		res.Repeat = append(res.Repeat, rep)
		logf("run %d/%d: fleets of %d", i+1, f.runs, f.n)
		fl := map[string]fleetFigures{}
		for _, name := range []string{ours, contrib} {
			fr := fleetRun{bin: f.fleet, n: f.n, outage: f.outage, timeout: 120 * time.Second, idle: f.fleetIdle,
				memProfile: f.memProfile, cpuProfile: f.cpuProfile}
			if name == contrib {
				fr.bin, fr.memProfile, fr.cpuProfile = f.contribFleet, f.contribMemProfile, f.contribCPUProfile
			}
			r, err := runFleet(ctx, fr)
			if err != nil {
				return fmt.Errorf("fleet, %s: %w", name, err)
			}
			logf("  %s: %.1f KiB heap/agent, all full in %s, resync %s, peak %d attempts/s", name, r.HeapPerAgent/1024, r.AllFull.Round(time.Millisecond), r.Resync.Round(time.Millisecond), r.PeakAttempts)
			fl[name] = r
		}
		res.Fleet = append(res.Fleet, fl)
	}

	tbl := table(rows(res))
	fmt.Print(tbl)
	if f.tableOut != "" {
		if err := os.WriteFile(f.tableOut, []byte(tbl), 0o644); err != nil {
			return err
		}
	}
	if f.jsonOut != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(f.jsonOut, b, 0o644)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

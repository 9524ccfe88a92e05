// Command fleet runs N instances of our opamp extension in one process
// against one OpAMP server, for the fleet figures of scripts/bench.sh.
//
// It prints JSON lines on stdout and obeys commands on stdin, one a line:
//
//	{"event":"started",...}   after every instance was started and fed
//	measure                   -> {"event":"measure",...} heap and goroutines per instance
//	idle 20s [cpu.pprof]      -> {"event":"idle","cpu_ns":...} process CPU over 20s, optionally profiled
//	quit (or end of input)    -> shuts every instance down, {"event":"stopped",...}
//
// bench/contribfleet does the same with contrib's extension; keep the two
// protocols identical.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

func main() {
	endpoint := flag.String("endpoint", "", "ws:// URL of the OpAMP server")
	n := flag.Int("n", 1000, "number of extension instances")
	repeat := flag.Duration("repeat", 0, "if set, every instance is told StatusOK for the same exporter at this interval")
	memProfile := flag.String("memprofile", "", "if set, a heap profile is written there at each measure")
	flag.Parse()
	if *memProfile != "" {
		// Fine enough to see per-agent structures; the records live off-heap.
		runtime.MemProfileRate = 4096
	}
	if err := run(*endpoint, *n, *repeat, *memProfile); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

func run(endpoint string, n int, repeat time.Duration, memProfile string) error {
	if endpoint == "" || n <= 0 {
		return fmt.Errorf("-endpoint is required and -n must be positive (got %d)", n)
	}
	before := takeMemSample()
	ctx := context.Background()
	startAt := time.Now()
	f, err := startFleet(ctx, endpoint, n)
	if err != nil {
		return err
	}
	emit(map[string]any{"event": "started", "n": n, "start_at": startAt.UnixNano(), "started_at": time.Now().UnixNano()})

	stopRepeat := make(chan struct{})
	repeatDone := make(chan struct{})
	go func() {
		defer close(repeatDone)
		if repeat > 0 {
			f.repeatStatus(repeat, stopRepeat)
		}
	}()

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd := strings.Fields(in.Text())
		if len(cmd) == 0 {
			continue
		}
		switch cmd[0] {
		case "idle":
			ev, err := idle(cmd[1:])
			if err != nil {
				return err
			}
			emit(ev)
		case "measure":
			emit(measure(before, n))
			if err := writeHeapProfile(memProfile); err != nil {
				return err
			}
		case "quit":
			return stop(ctx, f, stopRepeat, repeatDone)
		}
	}
	return stop(ctx, f, stopRepeat, repeatDone)
}

func stop(ctx context.Context, f *fleet, stopRepeat, repeatDone chan struct{}) error {
	close(stopRepeat)
	<-repeatDone
	t := time.Now()
	err := f.shutdown(ctx)
	emit(map[string]any{"event": "stopped", "shutdown_ms": time.Since(t).Milliseconds()})
	return err
}

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

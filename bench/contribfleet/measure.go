package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// memSample is the process's heap and goroutines at one moment, after GC.
type memSample struct {
	heapAlloc, heapInuse uint64
	goroutines           int
}

func takeMemSample() memSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heapAlloc: ms.HeapAlloc, heapInuse: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
}

// measure reports what n instances added to the process since before.
func measure(before memSample, n int) map[string]any {
	now := takeMemSample()
	return map[string]any{
		"event":                "measure",
		"heap_alloc_per_agent": float64(int64(now.heapAlloc)-int64(before.heapAlloc)) / float64(n),
		"heap_inuse_per_agent": float64(int64(now.heapInuse)-int64(before.heapInuse)) / float64(n),
		"goroutines_per_agent": float64(now.goroutines-before.goroutines) / float64(n),
		"rss_bytes":            rssBytes(),
	}
}

// rssBytes is VmRSS from /proc/self/status, 0 where there is none.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// writeHeapProfile writes the heap profile to path; nothing when path is empty.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memprofile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("memprofile: %w", err)
	}
	return f.Close()
}

// idle measures the process's CPU time over a duration (args[0]) while the
// instances idle, writing a CPU profile to args[1] when given.
func idle(args []string) (map[string]any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("idle: want a duration")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	if len(args) > 1 {
		f, err := os.Create(args[1])
		if err != nil {
			return nil, fmt.Errorf("idle: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("idle: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	before, err := processCPU()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	time.Sleep(d)
	after, err := processCPU()
	if err != nil {
		return nil, err
	}
	return map[string]any{"event": "idle", "cpu_ns": (after - before).Nanoseconds(), "window_ns": time.Since(start).Nanoseconds()}, nil
}

// processCPU is the user and system time the process used so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds a graceful stop before SIGKILL; the Supervisor itself
// gives the Collector 10 s.
const stopTimeout = 15 * time.Second

// process is a child process whose output goes to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed once Wait returned
	err  error         // Wait's result, read after done
}

// startProcess runs bin with args in dir, logging to dir/<name>.log. The
// returned process is stopped (SIGTERM, then SIGKILL) and reaped by
// t.Cleanup; extraLogs are dumped with its log when the test failed.
func startProcess(t *testing.T, dir, name, bin string, args []string, extraLogs ...string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("%s: create log: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	err = cmd.Start()
	// The child holds its own descriptor.
	_ = out.Close()
	if err != nil {
		t.Fatalf("%s: start %s: %v", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() || os.Getenv("E2E_DUMP") != "" {
			dumpLogs(t, append([]string{logPath}, extraLogs...)...)
		}
	})
	return p
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process gracefully, then by force, and always reaps it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopTimeout):
	}
	t.Errorf("%s (pid %d) ignored SIGTERM for %v; killing it", p.name, p.pid(), stopTimeout)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// wait waits for the process to exit on its own.
func (p *process) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s (pid %d) still running after %v", p.name, p.pid(), timeout)
		return nil
	}
}

// dumpLogs prints each file into the test log.
func dumpLogs(t *testing.T, paths ...string) {
	t.Helper()
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Logf("--- %s: %v", path, err)
			continue
		}
		t.Logf("--- %s (%d bytes)\n%s", path, len(b), b)
	}
}

// procInfo is what /proc/<pid>/stat tells about a process.
type procInfo struct {
	pid, ppid int
	state     byte
	comm      string
}

func readProc(pid int) (procInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, err
	}
	// The command name may hold spaces and parentheses: it ends at the last ')'.
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(b[closing+1:]))
	if len(fields) < 2 || len(fields[0]) != 1 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	return procInfo{pid: pid, ppid: ppid, state: fields[0][0], comm: string(b[open+1 : closing])}, nil
}

// alive reports whether pid is a running process; a zombie has ended (in a
// container, pid 1 may never reap reparented children).
func alive(pid int) bool {
	info, err := readProc(pid)
	return err == nil && info.state != 'Z' && info.state != 'X'
}

// children lists the live children of ppid whose executable is exe, by pid.
func children(ppid int, exe string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		info, err := readProc(pid)
		if err != nil || info.ppid != ppid || info.state == 'Z' {
			continue
		}
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && target == exe {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// killIfAlive kills a process that is not our child (so cannot be reaped
// here) and waits until it is gone.
func killIfAlive(t *testing.T, pid int) {
	t.Helper()
	if !alive(pid) {
		return
	}
	t.Errorf("pid %d outlived its Supervisor; killing it", pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill %d: %v", pid, err)
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// listening reports whether something accepts TCP connections on port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a started Collector or Supervisor in a process group of its own
// (so that a Supervisor's Collector goes with it), its output written to a
// log file and kept line by line with arrival times.
type proc struct {
	cmd  *exec.Cmd
	out  *stampedLines
	file *os.File
	exit chan error
}

func startProc(logPath, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{out: &stampedLines{w: f, lines: newJournal[string]()}, file: f, exit: make(chan error, 1)}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.exit <- p.cmd.Wait() }()
	return p, nil
}

// signal sends sig to the process itself (not its group).
func (p *proc) signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// errExited: the process ended while a run still needed it.
var errExited = errors.New("the process exited")

// alive reports errExited when the process has ended.
func (p *proc) alive() error {
	select {
	case err := <-p.exit:
		p.exit <- err
		if err == nil {
			return fmt.Errorf("%w with status 0 (log: %s)", errExited, p.file.Name())
		}
		return fmt.Errorf("%w: %w (log: %s)", errExited, err, p.file.Name())
	default:
		return nil
	}
}

// stop ends the process with SIGTERM, then its whole group with SIGKILL
// after 10 s or once the process is gone (a Supervisor's leftover
// Collector).
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exit:
		p.exit <- err // for alive
	case <-time.After(10 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.file.Close()
}

// stampedLines copies output to w and keeps every complete line with the
// time it arrived (the Collector's zap logger writes unbuffered, so within
// scheduling noise of the write).
type stampedLines struct {
	w io.Writer

	mu      sync.Mutex
	partial []byte
	lines   *journal[string]
}

func (s *stampedLines) Write(b []byte) (int, error) {
	now := time.Now()
	s.mu.Lock()
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.lines.add(now, string(s.partial[:i]))
		s.partial = s.partial[i+1:]
	}
	s.mu.Unlock()
	return s.w.Write(b)
}

// first is the arrival of the first line at or after since containing sub,
// waiting up to wait for it: a line may come after the server heard of
// what it says (a health can overtake "Everything is ready").
func (s *stampedLines) first(since time.Time, sub string, wait time.Duration) (time.Time, bool) {
	l, err := s.lines.await(context.Background(), since, wait, func(text string) bool { return strings.Contains(text, sub) })
	return l.at, err == nil
}

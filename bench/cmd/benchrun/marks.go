package main

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// A logMark is a Collector log line whose arrival benchrun notes: every
// one of its substrings must be on the line.
type logMark struct {
	name string
	all  []string
}

// Marks of the process figures. "Everything is ready" is logged by core's
// service right after every extension's Ready returned: from then on the
// Collector is healthy, and what remains until the server knows it is the
// extension's alone.
var (
	markExtensionStart = logMark{"opamp extension starting", []string{"Extension is starting", `"opamp"`}}
	markReady          = logMark{"Everything is ready", []string{"Everything is ready"}}
	processMarks       = []logMark{markExtensionStart, markReady}
)

// lineMarks is the Collector's stdout and stderr: it copies every byte to
// w and notes when the first line matching each mark arrived, on the clock
// the recorder stamps messages with. The Collector writes its log lines
// unbuffered, so arrival is within scheduling noise of the write.
type lineMarks struct {
	w     io.Writer
	clock func() time.Time
	marks []logMark

	mu      sync.Mutex
	partial []byte
	at      map[string]time.Time
	lines   []stampedLine // every line, for the trace
}

// stampedLine is one log line and when it arrived.
type stampedLine struct {
	at   time.Time
	text string
}

func newLineMarks(w io.Writer, clock func() time.Time, marks []logMark) *lineMarks {
	return &lineMarks{w: w, clock: clock, marks: marks, at: map[string]time.Time{}}
}

func (m *lineMarks) Write(p []byte) (int, error) {
	now := m.clock()
	m.mu.Lock()
	m.partial = append(m.partial, p...)
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			break
		}
		m.note(string(m.partial[:i]), now)
		m.partial = m.partial[i+1:]
	}
	m.mu.Unlock()
	return m.w.Write(p)
}

// note records line; m.mu is held.
func (m *lineMarks) note(line string, now time.Time) {
	m.lines = append(m.lines, stampedLine{at: now, text: line})
	for _, mk := range m.marks {
		if _, seen := m.at[mk.name]; seen || !containsAll(line, mk.all) {
			continue
		}
		m.at[mk.name] = now
	}
}

// At is when the first line of the mark arrived, false if none yet.
func (m *lineMarks) At(mark logMark) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.at[mark.name]
	return t, ok
}

// Lines copies every complete line so far.
func (m *lineMarks) Lines() []stampedLine {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]stampedLine(nil), m.lines...)
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

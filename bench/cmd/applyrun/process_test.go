package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStampedLinesWaitsForALateLine(t *testing.T) {
	s := &stampedLines{w: io.Discard, lines: newJournal[string]()}
	before := time.Now()
	_, _ = s.Write([]byte("1\tinfo\tx.go:1\tStarting\n2\tinfo\tx.go:2\tEvery"))
	_, ok := s.first(before, lineReady, 0)
	assert.False(t, ok, "half a line is no line yet")

	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = s.Write([]byte("thing is ready. Begin running\n"))
	}()
	at, ok := s.first(before, lineReady, 5*time.Second)
	assert.True(t, ok, "the line completed while waiting")
	assert.GreaterOrEqual(t, at.Sub(before), 20*time.Millisecond, "stamped when it completed")

	_, ok = s.first(at.Add(time.Nanosecond), lineReady, 10*time.Millisecond)
	assert.False(t, ok, "no such line after since")
	got, ok := s.first(before, "Starting", 0)
	assert.True(t, ok)
	assert.False(t, got.After(at), "the first line came first")
}

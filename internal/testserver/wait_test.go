package testserver

import (
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fatalRecorder captures Fatalf and ends the calling goroutine, as testing does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runRecorded runs fn with a recorder in its own goroutine and returns the
// Fatalf message, empty if fn returned normally.
func runRecorded(t *testing.T, fn func(tb testing.TB)) string {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec.msg
}

func TestWaitForTimesOut(t *testing.T) {
	s := Start(t)
	status, _ := post(t, s, http.Header{}, &protobufs.AgentToServer{InstanceUid: []byte("0123456789abcdef")})
	require.Equal(t, http.StatusOK, status)

	var calls atomic.Int32
	start := time.Now()
	msg := runRecorded(t, func(tb testing.TB) {
		s.WaitFor(tb, 50*time.Millisecond, func(*Server) bool { calls.Add(1); return false })
	})
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.GreaterOrEqual(t, calls.Load(), int32(2), "the condition is polled again after a tick")
	assert.Contains(t, msg, "condition not met within 50ms")
	assert.Contains(t, msg, "30313233-3435-3637-3839-616263646566 http messages=1")
}

func TestWaitForSucceeds(t *testing.T) {
	s := Start(t)
	var calls atomic.Int32
	msg := runRecorded(t, func(tb testing.TB) {
		s.WaitFor(tb, waitTimeout, func(*Server) bool { return calls.Add(1) == 3 })
	})
	assert.Empty(t, msg)
	assert.Equal(t, int32(3), calls.Load())
}

func TestWaitAgent(t *testing.T) {
	s := Start(t)
	for _, uid := range []string{"bbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaa"} {
		status, _ := post(t, s, http.Header{}, &protobufs.AgentToServer{InstanceUid: []byte(uid)})
		require.Equal(t, http.StatusOK, status)
	}
	tests := []struct {
		name    string
		cond    func(*AgentState) bool
		wantUID string
		wantErr string
	}{
		{"first in uid order", func(*AgentState) bool { return true }, "61616161-6161-6161-6161-616161616161", ""},
		{"the one that matches", func(a *AgentState) bool { return a.UID[0] == '6' && a.UID[1] == '2' }, "62626262-6262-6262-6262-626262626262", ""},
		{"none matches", func(*AgentState) bool { return false }, "", "condition not met"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *AgentState
			msg := runRecorded(t, func(tb testing.TB) { got = s.WaitAgent(tb, 50*time.Millisecond, tt.cond) })
			if tt.wantErr != "" {
				assert.Contains(t, msg, tt.wantErr)
				return
			}
			require.Empty(t, msg)
			assert.Equal(t, tt.wantUID, got.UID)
		})
	}
}

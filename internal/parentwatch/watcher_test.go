package parentwatch

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const testInterval = 5 * time.Millisecond

// scriptedProbe answers from a list of results, repeating the last one.
type scriptedProbe struct {
	mu      sync.Mutex
	results []probeResult
	calls   int
}

type probeResult struct {
	alive  bool
	reason Reason
	err    error
}

func (p *scriptedProbe) probe(int) (bool, Reason, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.results[min(p.calls, len(p.results)-1)]
	p.calls++
	return r.alive, r.reason, r.err
}

func (p *scriptedProbe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// recorder collects onOrphaned calls.
type recorder struct {
	mu   sync.Mutex
	errs []error
	got  chan struct{}
	once sync.Once
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{})} }

func (r *recorder) onOrphaned(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	r.once.Do(func() { close(r.got) })
}

func (r *recorder) calls() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestNewValidation(t *testing.T) {
	cb := func(error) {}
	tests := []struct {
		name     string
		pid      int
		interval time.Duration
		cb       func(error)
		wantErr  []string
	}{
		{name: "zero pid", pid: 0, interval: time.Second, cb: cb, wantErr: []string{"ppid:"}},
		{name: "negative pid", pid: -4, interval: time.Second, cb: cb, wantErr: []string{"ppid:"}},
		{name: "zero interval", pid: 1, interval: 0, cb: cb, wantErr: []string{"ppid_poll_interval"}},
		{name: "negative interval", pid: 1, interval: -time.Second, cb: cb, wantErr: []string{"ppid_poll_interval"}},
		{name: "nil callback", pid: 1, interval: time.Second, cb: nil, wantErr: []string{"onOrphaned"}},
		{name: "all wrong", pid: 0, interval: 0, cb: nil, wantErr: []string{"ppid:", "ppid_poll_interval", "onOrphaned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.pid, tt.interval, zap.NewNop(), tt.cb)
			require.Error(t, err)
			assert.Nil(t, w)
			for _, want := range tt.wantErr {
				assert.ErrorContains(t, err, want)
			}
		})
	}
}

func TestNewUnsupportedOrValid(t *testing.T) {
	w, err := New(1, time.Second, nil, func(error) {})
	if Supported() {
		require.NoError(t, err)
		require.NotNil(t, w)
		w.Stop()
		return
	}
	require.ErrorContains(t, err, "not supported")
}

func TestReportsOnceWithReason(t *testing.T) {
	for _, reason := range []Reason{ReasonExited, ReasonZombie, ReasonReparented} {
		t.Run(string(reason), func(t *testing.T) {
			p := &scriptedProbe{results: []probeResult{{alive: true}, {alive: true}, {alive: false, reason: reason}}}
			rec := newRecorder()
			w := newWithProbe(4242, testInterval, zap.NewNop(), rec.onOrphaned, p.probe)
			w.Start()
			<-rec.got
			// Give a stray extra report time to show up before asserting.
			time.Sleep(5 * testInterval)
			w.Stop()

			calls := rec.calls()
			require.Len(t, calls, 1)
			var oe *OrphanedError
			require.ErrorAs(t, calls[0], &oe)
			assert.Equal(t, 4242, oe.PID)
			assert.Equal(t, reason, oe.Reason)
			assert.Contains(t, calls[0].Error(), "4242")
			assert.Equal(t, 3, p.count(), "polling must end at detection")
		})
	}
}

func TestProbeErrorsKeepPolling(t *testing.T) {
	boom := errors.New("boom")
	p := &scriptedProbe{results: []probeResult{
		{alive: true, err: boom}, {alive: true, err: boom}, {alive: true},
		{alive: true, err: boom}, {alive: false, reason: ReasonExited},
	}}
	core, logs := observer.New(zapcore.DebugLevel)
	rec := newRecorder()
	w := newWithProbe(7, testInterval, zap.New(core), rec.onOrphaned, p.probe)
	w.Start()
	<-rec.got
	w.Stop()

	require.Len(t, rec.calls(), 1)
	assert.Equal(t, 2, logs.FilterMessage("Cannot check parent process; will retry").Len(), "first failure of each streak warns")
	assert.Equal(t, 1, logs.FilterMessage("Cannot check parent process").Len(), "repeats are debug")
	assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "the loss is the callback's to log")
}

func TestStopEndsPolling(t *testing.T) {
	p := &scriptedProbe{results: []probeResult{{alive: true}}}
	rec := newRecorder()
	w := newWithProbe(7, testInterval, zap.NewNop(), rec.onOrphaned, p.probe)
	w.Start()
	require.Eventually(t, func() bool { return p.count() >= 3 }, 5*time.Second, testInterval)
	w.Stop()
	n := p.count()
	time.Sleep(5 * testInterval)
	assert.Equal(t, n, p.count())
	assert.Empty(t, rec.calls())
}

func TestStartStopLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		run       func(w *Watcher)
		wantProbe bool
	}{
		{name: "stop without start", run: func(w *Watcher) { w.Stop() }},
		{name: "stop twice", run: func(w *Watcher) { w.Start(); w.Stop(); w.Stop() }, wantProbe: true},
		{name: "start after stop", run: func(w *Watcher) { w.Stop(); w.Start(); w.Stop() }},
		{name: "start twice", run: func(w *Watcher) { w.Start(); w.Start(); w.Stop() }, wantProbe: true},
		{name: "concurrent stops", run: func(w *Watcher) {
			w.Start()
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(w.Stop)
			}
			wg.Wait()
		}, wantProbe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			probe := func(int) (bool, Reason, error) { calls.Add(1); return true, "", nil }
			// A long interval: a started watcher probes exactly once.
			w := newWithProbe(7, time.Hour, nil, func(error) { t.Error("unexpected orphan report") }, probe)
			tt.run(w)
			if tt.wantProbe {
				assert.Equal(t, int32(1), calls.Load())
			} else {
				assert.Zero(t, calls.Load())
			}
		})
	}
}

func TestStopDoesNotWaitForBlockedCallback(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	probe := func(int) (bool, Reason, error) { return false, ReasonExited, nil }
	w := newWithProbe(7, testInterval, nil, func(error) {
		close(entered)
		<-release
	}, probe)
	w.Start()
	<-entered

	stopped := make(chan struct{})
	go func() { w.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop blocked on a running onOrphaned callback")
	}
	close(release)
}

func TestOrphanedErrorMessage(t *testing.T) {
	tests := []struct {
		reason Reason
		want   string
	}{
		{ReasonExited, "parent process 12 is gone: it exited"},
		{ReasonZombie, "parent process 12 is gone: it is a zombie"},
		{ReasonReparented, "parent process 12 is gone: this process was re-parented"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, (&OrphanedError{PID: 12, Reason: tt.reason}).Error())
	}
}

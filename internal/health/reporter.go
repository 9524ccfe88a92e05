package health

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// Sink delivers a health tree, typically to OpAMPClient.SetHealth. It is
// called from one goroutine at a time and must eventually return: Shutdown
// can stop waiting for it but cannot interrupt it.
type Sink func(*protobufs.ComponentHealth) error

// Settings configures a Reporter.
type Settings struct {
	// Logger receives Sink failures at debug level. Nil means no logging.
	Logger *zap.Logger
	// StartTime is the Collector's start, reported on the root. Zero means
	// the time New is called.
	StartTime time.Time
	// Sink receives every changed tree. Nil discards them.
	Sink Sink
}

// Reporter keeps the health table and sends the tree whenever it changes.
type Reporter struct {
	logger    *zap.Logger
	utf8      *utf8fix.Warner // error texts from remote systems may be any bytes
	startTime time.Time
	sink      Sink
	now       func() time.Time // replaced in tests
	hold      time.Duration    // startupHold; tests lengthen it
	wake      chan struct{}    // one slot: pending changes coalesce

	// sendMu serialises the Sink calls (the sender's and Ready's) and
	// guards last, the tree the Sink last accepted.
	sendMu sync.Mutex
	last   *protobufs.ComponentHealth

	mu           sync.Mutex
	leaves       map[componentstatus.InstanceID]*leaf
	phase        phase
	phaseChanged time.Time
	started      bool
	stopped      bool
	cancel       context.CancelFunc
	done         chan struct{} // closed when the sender exits; nil if never started
}

var (
	_ extensioncapabilities.ComponentStatusWatcher = (*Reporter)(nil)
	_ extensioncapabilities.PipelineWatcher        = (*Reporter)(nil)
)

// New returns a Reporter that sends nothing until Start.
func New(set Settings) *Reporter {
	r := &Reporter{
		logger:    set.Logger,
		startTime: set.StartTime,
		sink:      set.Sink,
		now:       time.Now,
		hold:      startupHold,
		wake:      make(chan struct{}, 1),
		leaves:    make(map[componentstatus.InstanceID]*leaf),
	}
	if r.logger == nil {
		r.logger = zap.NewNop()
	}
	r.utf8 = utf8fix.NewWarner(r.logger)
	if r.startTime.IsZero() {
		r.startTime = r.now()
	}
	if r.sink == nil {
		r.sink = func(*protobufs.ComponentHealth) error { return nil }
	}
	return r
}

// Changed records an event. It never blocks on the Sink and
// does nothing when the event repeats the component's current state.
func (r *Reporter) Changed(id *componentstatus.InstanceID, ev *componentstatus.Event) {
	if id == nil || ev == nil {
		return
	}
	var errText string
	if err := ev.Err(); err != nil {
		errText = err.Error()
		if fixed, changed := utf8fix.String(errText); changed {
			// One warning per component, however often it repeats the text.
			r.utf8.Repaired(fmt.Sprintf("health last_error of %s:%s", strings.ToLower(id.Kind().String()), id.ComponentID()))
			errText = fixed
		}
	}
	attrs, repaired, err := encodeAttributes(ev.Attributes())
	if len(repaired) > 0 {
		r.utf8.Repaired(fmt.Sprintf("health attributes of %s:%s", strings.ToLower(id.Kind().String()), id.ComponentID()))
	}
	if err != nil {
		// Not expected once repaired; the status still counts.
		r.logger.Debug("Leaving out a component's status attributes", zap.String("component", id.ComponentID().String()), zap.Error(err))
		attrs = nil
	}
	ts := ev.Timestamp()
	if ts.IsZero() {
		ts = r.now()
	}
	r.mu.Lock()
	changed := !r.stopped && r.record(id, ev.Status(), errText, attrs, ts)
	r.mu.Unlock()
	if changed {
		r.signal()
	}
}

// Ready marks the pipelines as running; the root may now become healthy.
// Once started, it hands the tree to the Sink itself rather than waking the
// sender: the healthy report is what a server waits for at start-up, and
// the woken sender would run only after the caller's next steps (core logs
// "Everything is ready" first). If the sender is inside the Sink, Ready
// wakes it instead of waiting for it, so Ready never blocks on the Sink.
func (r *Reporter) Ready() error {
	r.mu.Lock()
	changed := !r.stopped && r.setPhase(phaseReady)
	started := r.started
	r.mu.Unlock()
	if changed && (!started || !r.trySend()) {
		r.signal()
	}
	return nil
}

// NotReady marks the Collector as shutting down; the root becomes unhealthy.
func (r *Reporter) NotReady() error {
	r.changePhase(phaseStopping)
	return nil
}

func (r *Reporter) changePhase(p phase) {
	r.mu.Lock()
	changed := !r.stopped && r.setPhase(p)
	r.mu.Unlock()
	if changed {
		r.signal()
	}
}

// Current builds a fresh tree from the current state, for full resyncs.
func (r *Reporter) Current() *protobufs.ComponentHealth {
	r.mu.Lock()
	s := r.snapshotLocked()
	r.mu.Unlock()
	return buildTree(r.startTime, s)
}

// Start launches the sending goroutine. Changes recorded before Start are
// sent as soon as it runs. Calls after the first, or after Shutdown, do
// nothing.
func (r *Reporter) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(ctx, r.done)
}

// Shutdown stops the sender, which first sends a pending change if any, and
// waits for it within ctx. Events arriving afterwards are ignored. It is idempotent and safe without Start.
func (r *Reporter) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("health: sender still inside the sink at shutdown: %w", ctx.Err())
	}
}

// signal wakes the sender without ever blocking: if a wake-up is already
// pending, it will pick up this change too.
func (r *Reporter) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run sends the tree after each wake-up if it differs from the last tree
// the Sink accepted. A failed send is retried at the next change. On
// shutdown a pending change is still sent once, so that the server sees the
// final StatusStopping.
func (r *Reporter) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-r.wake:
			r.holdWhileStarting(ctx)
			r.send()
		case <-ctx.Done():
			select {
			case <-r.wake:
				r.send()
			default:
			}
			return
		}
	}
}

// startupHold is how long, while the pipelines start, the sender lets
// changes gather before it sends a tree. Components report Starting and
// then OK one after another, and Ready follows within milliseconds with
// the healthy tree, which it sends itself: the trees in between would be
// stale on arrival, a message each. A start that takes longer still shows
// its progress, a tree per startupHold at most.
const startupHold = 100 * time.Millisecond

// holdWhileStarting waits up to startupHold before the Collector's pipelines
// are ready, returning early on shutdown.
func (r *Reporter) holdWhileStarting(ctx context.Context) {
	r.mu.Lock()
	starting := r.phase == phaseStarting
	r.mu.Unlock()
	if !starting {
		return
	}
	t := time.NewTimer(r.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// send calls the Sink with the current tree unless it equals the last one
// the Sink accepted.
func (r *Reporter) send() {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.sendLocked()
}

// trySend is send unless another send is under way; false then.
func (r *Reporter) trySend() bool {
	if !r.sendMu.TryLock() {
		return false
	}
	defer r.sendMu.Unlock()
	r.sendLocked()
	return true
}

// sendLocked is send with sendMu held. The tree is taken under sendMu, so
// the Sink sees the states in order whichever goroutine sends.
func (r *Reporter) sendLocked() {
	tree := r.Current()
	if r.last != nil && proto.Equal(tree, r.last) {
		return
	}
	if err := r.sink(tree); err != nil {
		r.logger.Debug("Failed to send component health; will retry on the next change", zap.Error(err))
		return
	}
	r.last = tree
}

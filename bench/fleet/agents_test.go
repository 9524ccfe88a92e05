package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/opampext/opampextension/bench/recorder"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFleetReachesFullState checks the harness feeds each instance what
// the recorder needs for a full state, and that repeated identical statuses
// are accepted and shutdown is clean.
func TestFleetReachesFullState(t *testing.T) {
	rec, err := recorder.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rec.Stop(context.Background())) })

	ctx := context.Background()
	f, err := startFleet(ctx, rec.Endpoint(), 3)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		full, _ := rec.FullCount()
		return full == 3
	}, 20*time.Second, 10*time.Millisecond)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.repeatStatus(10*time.Millisecond, stop)
	}()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-done
	require.NoError(t, f.shutdown(ctx))

	snap := rec.Snapshot()
	require.Len(t, snap.Agents, 3)
	seen := map[string]bool{}
	for _, a := range snap.Agents {
		assert.False(t, seen[a.UID], "instance uids are distinct")
		seen[a.UID] = true
		assert.Positive(t, a.FirstFullBytes)
	}
}

func TestMeasure(t *testing.T) {
	before := takeMemSample()
	m := measure(before, 2)
	assert.Equal(t, "measure", m["event"])
	assert.Contains(t, m, "heap_alloc_per_agent")
	assert.Positive(t, m["rss_bytes"])
}

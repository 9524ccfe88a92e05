package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd", []float64{9, 1, 5}, 5},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			assert.InDelta(t, tt.want, median(tt.in), 1e-9)
			assert.Equal(t, in, tt.in, "median must not reorder its input")
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b float64
		want string
	}{
		{1, 2, "0.50"},
		{3, 0, "–"},
		{-1, 2, "–"},
		{-1, -4, "0.25"},
		{math.NaN(), 1, "–"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ratio(tt.a, tt.b), "%v/%v", tt.a, tt.b)
	}
}

// run builds one run's figures; ourRSS and contribRSS are MiB over baselines of 10.
func run1(ourRSS, contribRSS float64, ourIdle int) map[string]procFigures {
	mib := func(v float64) int64 { return int64(v * (1 << 20)) }
	w := time.Minute
	return map[string]procFigures{
		ours: {Healthy: 40 * time.Millisecond, RSS: mib(10 + ourRSS), CPU: 2 * time.Millisecond, Window: w,
			IdleMessages: ourIdle, IdleBytes: 26 * ourIdle, HeartbeatMessages: ourIdle, HeartbeatBytes: 26 * ourIdle},
		contrib: {Healthy: 50 * time.Millisecond, RSS: mib(10 + contribRSS), CPU: 3 * time.Millisecond, Window: w,
			IdleMessages: 2, IdleBytes: 48, HeartbeatMessages: 2, HeartbeatBytes: 48},
		baseline:        {RSS: mib(10), CPU: time.Millisecond, Window: w},
		baselineContrib: {RSS: mib(10), CPU: time.Millisecond, Window: w},
	}
}

func TestRowsGoals(t *testing.T) {
	res := results{Runs: 3, Window: time.Minute, Process: []map[string]procFigures{
		run1(1, 3, 2), run1(2, 3, 2), run1(9, 3, 2),
	}}
	got := map[string]row{}
	for _, r := range rows(res) {
		got[r.figure] = r
	}
	own := got["idle RSS, extension's own (MiB)"]
	assert.InDelta(t, 2, own.ours, 1e-6, "median of 1, 2, 9")
	assert.InDelta(t, 3, own.contrib, 1e-6)
	require.NotNil(t, own.met)
	assert.False(t, *own.met, "2 MiB is more than half of 3 MiB")

	healthy := got["exec → healthy (ms)"]
	require.NotNil(t, healthy.met)
	assert.True(t, *healthy.met)

	hb := got["bytes per heartbeat"]
	assert.InDelta(t, 26, hb.ours, 1e-9)
	assert.InDelta(t, 24, hb.contrib, 1e-9)
	assert.True(t, *hb.met)

	idle := got["idle messages per hour"]
	assert.InDelta(t, 120, idle.ours, 1e-9)
	assert.True(t, *idle.met)

	res.Process[1] = run1(2, 3, 4) // two messages too many in one run
	for _, r := range rows(res) {
		if r.figure == "idle messages per hour" {
			assert.False(t, *r.met)
		}
	}
}

func TestTable(t *testing.T) {
	out := table([]row{
		{figure: "a", ours: 1, contrib: 2, digits: 1, goal: "g", met: ptr(true), ref: "r"},
		{figure: "b", ours: math.NaN(), contrib: 2},
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "| a | 1.0 | 2.0 | 0.50 | g | yes | r |", lines[2])
	assert.Equal(t, "| b | – | 2 | – |  |  |  |", lines[3])
}

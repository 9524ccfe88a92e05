package opampclient

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestConnStateLogsOnlyChanges: a server that stays down yields one warning,
// not one per attempt; a recovery yields one info line; a dropped
// connection redialled at once is a debug line.
func TestConnStateLogsOnlyChanges(t *testing.T) {
	type step struct {
		connect bool
		lost    bool
		err     string
	}
	tests := []struct {
		name          string
		steps         []step
		warns, infos  int
		debugs        int
		wantConnected bool
		want          countingObserver
	}{
		{"down from the start", []step{{err: "refused"}, {err: "refused"}, {err: "refused"}}, 1, 0, 2, false,
			countingObserver{failed: 3}},
		{"error text changes while down", []step{{err: "refused"}, {err: "timeout"}, {err: "timeout"}}, 1, 0, 2, false,
			countingObserver{failed: 3}},
		{"up, down, up", []step{{connect: true}, {err: "reset"}, {err: "reset"}, {connect: true}}, 1, 2, 1, true,
			countingObserver{connected: 2, disconnected: 1, failed: 2}},
		{"dropped and redialled at once", []step{{connect: true}, {lost: true}, {connect: true}}, 0, 1, 2, true,
			countingObserver{connected: 2, disconnected: 1}},
		{"dropped, then the redial fails", []step{{connect: true}, {lost: true}, {err: "refused"}, {connect: true}}, 1, 2, 1, true,
			countingObserver{connected: 2, disconnected: 1, failed: 1}},
		{"repeated successes are one connection", []step{{connect: true}, {connect: true}, {connect: true}}, 0, 1, 0, true,
			countingObserver{connected: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			obs := &countingObserver{}
			s := &connState{logger: zap.New(core), endpoint: "ws://127.0.0.1:1/v1/opamp", observer: obs}
			for _, st := range tt.steps {
				switch {
				case st.connect:
					s.onConnect()
				case st.lost:
					s.onLost(errors.New("EOF"))
				default:
					s.onFailed(errors.New(st.err))
				}
			}
			assert.Equal(t, tt.want, *obs)
			assert.Equal(t, tt.warns, logs.FilterLevelExact(zapcore.WarnLevel).Len())
			assert.Equal(t, tt.infos, logs.FilterLevelExact(zapcore.InfoLevel).Len())
			assert.Equal(t, tt.debugs, logs.FilterLevelExact(zapcore.DebugLevel).Len())
			assert.Equal(t, tt.wantConnected, s.isConnected())
			assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "connection trouble is never an error with a stack")
		})
	}
}

// countingObserver counts connection events; the rest is ignored.
type countingObserver struct {
	nopObserver
	connected, disconnected, failed int
}

func (c *countingObserver) Connected()     { c.connected++ }
func (c *countingObserver) Disconnected()  { c.disconnected++ }
func (c *countingObserver) ConnectFailed() { c.failed++ }

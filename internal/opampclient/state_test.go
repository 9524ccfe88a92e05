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
// not one per attempt; a recovery yields one info line.
func TestConnStateLogsOnlyChanges(t *testing.T) {
	type step struct {
		connect bool
		err     string
	}
	tests := []struct {
		name          string
		steps         []step
		warns, infos  int
		debugs        int
		wantConnected bool
	}{
		{"down from the start", []step{{err: "refused"}, {err: "refused"}, {err: "refused"}}, 1, 0, 0, false},
		{"error text changes while down", []step{{err: "refused"}, {err: "timeout"}, {err: "timeout"}}, 1, 0, 1, false},
		{"up, down, up", []step{{connect: true}, {err: "reset"}, {err: "reset"}, {connect: true}}, 1, 2, 0, true},
		{"repeated connects (http polls)", []step{{connect: true}, {connect: true}, {connect: true}}, 0, 1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			s := &connState{logger: zap.New(core), endpoint: "ws://127.0.0.1:1/v1/opamp"}
			for _, st := range tt.steps {
				if st.connect {
					s.onConnect()
				} else {
					s.onConnectFailed(errors.New(st.err))
				}
			}
			assert.Equal(t, tt.warns, logs.FilterLevelExact(zapcore.WarnLevel).Len())
			assert.Equal(t, tt.infos, logs.FilterLevelExact(zapcore.InfoLevel).Len())
			assert.Equal(t, tt.debugs, logs.FilterLevelExact(zapcore.DebugLevel).Len())
			assert.Equal(t, tt.wantConnected, s.isConnected())
			assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "connection trouble is never an error with a stack")
		})
	}
}

// TestOpAMPGoErrorsAreDebug: opamp-go's per-attempt error lines must not
// reach the user's log at error level.
func TestOpAMPGoErrorsAreDebug(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := zapLogger{logger: zap.New(core)}
	l.Errorf(t.Context(), "Connection failed (%v), will retry.", errors.New("refused"))
	l.Debugf(t.Context(), "detail %d", 1)
	assert.Equal(t, 2, logs.FilterLevelExact(zapcore.DebugLevel).Len())
	assert.Equal(t, "Connection failed (refused), will retry.", logs.All()[0].ContextMap()["detail"])
}

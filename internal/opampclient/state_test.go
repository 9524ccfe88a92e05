package opampclient

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		again   bool // the same error value again, as opamp-go's ws transport does
	}
	tests := []struct {
		name          string
		http          bool
		steps         []step
		warns, infos  int
		debugs        int
		wantConnected bool
		want          countingObserver
	}{
		{"down from the start", false, []step{{err: "refused"}, {err: "refused"}, {err: "refused"}}, 1, 0, 0, false,
			countingObserver{failed: 3}},
		{"each failure reported twice counts once", false, []step{{err: "refused"}, {again: true}, {err: "refused"}, {again: true}}, 1, 0, 0, false,
			countingObserver{failed: 2}},
		{"error text changes while down", false, []step{{err: "refused"}, {err: "timeout"}, {err: "timeout"}}, 1, 0, 1, false,
			countingObserver{failed: 3}},
		{"up, down, up", false, []step{{connect: true}, {err: "reset"}, {err: "reset"}, {connect: true}}, 1, 2, 0, true,
			countingObserver{connected: 2, disconnected: 1, failed: 2}},
		{"ws connection dropped and redialled at once", false, []step{{connect: true}, {connect: true}}, 0, 1, 1, true,
			countingObserver{connected: 2, disconnected: 1}},
		{"repeated http polls are one connection", true, []step{{connect: true}, {connect: true}, {connect: true}}, 0, 1, 0, true,
			countingObserver{connected: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			obs := &countingObserver{}
			s := &connState{logger: zap.New(core), endpoint: "ws://127.0.0.1:1/v1/opamp", observer: obs, httpPolling: tt.http}
			var last error
			for _, st := range tt.steps {
				switch {
				case st.connect:
					s.onConnect()
				case st.again:
					s.onConnectFailed(last)
				default:
					last = errors.New(st.err)
					s.onConnectFailed(last)
				}
			}
			s.flush() // as Stop does
			assert.Equal(t, tt.want, *obs)
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

type countingObserver struct{ connected, disconnected, failed, received int }

func (c *countingObserver) Connected()       { c.connected++ }
func (c *countingObserver) Disconnected()    { c.disconnected++ }
func (c *countingObserver) ConnectFailed()   { c.failed++ }
func (c *countingObserver) MessageReceived() { c.received++ }

// TestConnStateWarningCarriesDetail: the one warning says why, with the
// status opamp-go logs after its first callback (WebSocket) or only in a
// log line for a refused HTTP poll.
func TestConnStateWarningCarriesDetail(t *testing.T) {
	t.Run("ws refused with a status", func(t *testing.T) {
		core, logs := observer.New(zapcore.DebugLevel)
		s := &connState{logger: zap.New(core), observer: &countingObserver{}}
		s.beforeAttempt()
		err := errors.New("websocket: bad handshake")
		s.onConnectFailed(err)
		assert.Zero(t, logs.FilterLevelExact(zapcore.WarnLevel).Len(), "waits for the detail")
		s.noteDetail("Server responded with status=401 Unauthorized")
		s.onConnectFailed(err) // opamp-go's second report of the same attempt
		warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
		require.Len(t, warns, 1)
		assert.Contains(t, warns[0].ContextMap()["detail"], "401")
	})
	t.Run("http poll refused silently", func(t *testing.T) {
		core, logs := observer.New(zapcore.DebugLevel)
		obs := &countingObserver{}
		s := &connState{logger: zap.New(core), observer: obs, httpPolling: true}
		s.beforeAttempt()
		assert.True(t, s.onConnect())
		s.beforeAttempt()
		s.noteDetail("invalid response from server: 403")
		s.beforeAttempt() // the previous request ended with no callback
		warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
		require.Len(t, warns, 1)
		assert.Contains(t, warns[0].ContextMap()["detail"], "403")
		assert.False(t, s.isConnected())
		assert.Equal(t, 1, obs.failed)
		assert.True(t, s.onConnect(), "the next success is a new connection, so the state is resent")
	})
}

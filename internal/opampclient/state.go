package opampclient

import (
	"reflect"
	"sync"

	"go.uber.org/zap"
)

// Observer receives connection events, for the extension's own telemetry.
// Calls come from opamp-go's goroutines and must not block.
type Observer interface {
	Connected()
	Disconnected()
	ConnectFailed()
	MessageReceived()
}

type nopObserver struct{}

func (nopObserver) Connected()       {}
func (nopObserver) Disconnected()    {}
func (nopObserver) ConnectFailed()   {}
func (nopObserver) MessageReceived() {}

// connState tracks whether the client is connected and logs only its
// changes: one info line on (re)connect, one warning when connecting starts
// failing, and every further failure at debug. A fleet whose server is down
// must not fill its logs with a stack trace per attempt.
type connState struct {
	logger   *zap.Logger
	endpoint string
	observer Observer
	// httpPolling: opamp-go reports every successful poll as a connect.
	httpPolling bool

	mu        sync.Mutex
	connected bool
	failing   bool
	lastErr   string
	lastErrV  error
	failures  uint64
}

// onConnect records a successful connection (or HTTP poll) and reports
// whether it is a new connection.
func (s *connState) onConnect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErrV = nil
	if s.connected {
		if s.httpPolling {
			return false
		}
		// A WebSocket connection that dropped without a failed attempt.
		s.observer.Disconnected()
		s.observer.Connected()
		s.logger.Debug("Reconnected to the OpAMP server", zap.String("endpoint", s.endpoint))
		return true
	}
	s.logger.Info("Connected to the OpAMP server",
		zap.String("endpoint", s.endpoint), zap.Uint64("failed_attempts", s.failures))
	s.observer.Connected()
	s.connected, s.failing, s.lastErr, s.failures = true, false, "", 0
	return true
}

func (s *connState) onConnectFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// opamp-go's WebSocket transport reports each failed attempt twice with
	// the same error value: count it once.
	if err != nil && s.lastErrV != nil && sameError(err, s.lastErrV) {
		return
	}
	s.lastErrV = err
	s.failures++
	s.observer.ConnectFailed()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case s.connected:
		s.observer.Disconnected()
		fallthrough
	case !s.failing:
		s.logger.Warn("Cannot reach the OpAMP server; retrying with backoff (further failures are logged at debug level)",
			zap.String("endpoint", s.endpoint), zap.String("error", msg))
	case msg != s.lastErr:
		s.logger.Debug("OpAMP connection attempt failed", zap.String("error", msg), zap.Uint64("attempt", s.failures))
	}
	s.connected, s.failing, s.lastErr = false, true, msg
}

// sameError is identity, not equality of text: two attempts failing the
// same way are two failures.
func sameError(a, b error) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || ta.Kind() != reflect.Pointer {
		return false
	}
	return a == b //nolint:errorlint // identity of one error value, not a kind of error
}

// isConnected reports the last known state.
func (s *connState) isConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

package opampclient

import (
	"sync"

	"go.uber.org/zap"
)

// connState tracks whether the client is connected and logs only its
// changes: one info line on (re)connect, one warning when connecting starts
// failing, and every further failure at debug. A fleet whose server is down
// must not fill its logs with a stack trace per attempt.
type connState struct {
	logger   *zap.Logger
	endpoint string

	mu        sync.Mutex
	connected bool
	failing   bool
	lastErr   string
	failures  uint64
}

// onConnect records a successful connection (or HTTP poll) and reports
// whether it is a new one after a start or a failure.
func (s *connState) onConnect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		return false
	}
	s.logger.Info("Connected to the OpAMP server",
		zap.String("endpoint", s.endpoint), zap.Uint64("failed_attempts", s.failures))
	s.connected, s.failing, s.lastErr, s.failures = true, false, "", 0
	return true
}

func (s *connState) onConnectFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if s.connected || !s.failing {
		s.logger.Warn("Cannot reach the OpAMP server; retrying with backoff (further failures are logged at debug level)",
			zap.String("endpoint", s.endpoint), zap.String("error", msg))
	} else if msg != s.lastErr {
		s.logger.Debug("OpAMP connection attempt failed", zap.String("error", msg), zap.Uint64("attempt", s.failures))
	}
	s.connected, s.failing, s.lastErr = false, true, msg
}

// isConnected reports the last known state.
func (s *connState) isConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

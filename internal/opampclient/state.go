package opampclient

import (
	"sync"

	"go.uber.org/zap"
)

// Observer receives the client's events, for the extension's own
// telemetry. Calls come from the client's goroutines and must not block.
type Observer interface {
	// Connected: a WebSocket connection opened, or HTTP polls succeed again.
	Connected()
	// Disconnected: a connection (or a run of successful polls) ended.
	Disconnected()
	// ConnectFailed: a dial, handshake or poll failed.
	ConnectFailed()
	// Dialed: a TCP connection to the server (or proxy) is being opened.
	Dialed()
	// MessageSent: a message was delivered to the transport (WebSocket) or
	// answered (HTTP); kinds says what it carried.
	MessageSent(kinds Kind)
	MessageReceived()
	// BytesSent and BytesReceived count bytes on the network connections,
	// TLS and HTTP framing included.
	BytesSent(n int)
	BytesReceived(n int)
}

type nopObserver struct{}

func (nopObserver) Connected()        {}
func (nopObserver) Disconnected()     {}
func (nopObserver) ConnectFailed()    {}
func (nopObserver) Dialed()           {}
func (nopObserver) MessageSent(Kind)  {}
func (nopObserver) MessageReceived()  {}
func (nopObserver) BytesSent(int)     {}
func (nopObserver) BytesReceived(int) {}

// connState tracks whether the client is connected and logs only changes:
// one info line on connecting, one warning when connecting starts failing,
// and every further failure at debug. A fleet whose server is down
// must not fill its logs with a line per attempt.
type connState struct {
	logger   *zap.Logger
	endpoint string
	observer Observer

	mu        sync.Mutex
	connected bool
	failing   bool
	lastErr   string
	failures  uint64
}

// onConnect records a successful connection (or the first successful poll
// after failures) and reports whether it is a new connection.
func (s *connState) onConnect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		return false
	}
	if s.failing || s.failures == 0 {
		s.logger.Info("Connected to the OpAMP server",
			zap.String("endpoint", s.endpoint), zap.Uint64("failed_attempts", s.failures))
	} else {
		s.logger.Debug("Reconnected to the OpAMP server", zap.String("endpoint", s.endpoint))
	}
	s.observer.Connected()
	s.connected, s.failing, s.lastErr, s.failures = true, false, "", 0
	return true
}

// setEndpoint names the endpoint in use, for the logs, after a switch.
func (s *connState) setEndpoint(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoint = endpoint
}

// onLost records a WebSocket connection that ended; the redial that
// follows decides whether it is worth a warning.
func (s *connState) onLost(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return
	}
	s.connected = false
	s.failures = 1 // not zero: the next connect is a reconnection
	s.observer.Disconnected()
	s.logger.Debug("Lost the connection to the OpAMP server", zap.String("endpoint", s.endpoint), zap.Error(err))
}

// onStopped records the end of the client: no longer connected.
func (s *connState) onStopped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		s.connected = false
		s.observer.Disconnected()
	}
}

// onFailed records a failed attempt.
func (s *connState) onFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	s.observer.ConnectFailed()
	if s.connected {
		s.connected = false
		s.observer.Disconnected()
	}
	msg := err.Error()
	switch {
	case !s.failing:
		s.logger.Warn("Cannot reach the OpAMP server; retrying with backoff (further failures are logged at debug level)",
			zap.String("endpoint", s.endpoint), zap.String("error", msg))
	default:
		s.logger.Debug("OpAMP connection attempt failed", zap.String("error", msg), zap.Uint64("attempt", s.failures))
	}
	s.failing, s.lastErr = true, msg
}

// isConnected reports the last known state.
func (s *connState) isConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

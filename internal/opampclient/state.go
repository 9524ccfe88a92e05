package opampclient

import (
	"errors"
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
	// pendingWarn is the error of a failure streak whose warning waits for
	// opamp-go's detail line (it logs the HTTP status after the callback).
	pendingWarn string
	// detail is opamp-go's last error line during the current attempt.
	detail string
	// requestOpen: an HTTP request started and has neither succeeded nor
	// failed through a callback (opamp-go drops a request the server
	// refuses with 401/403/4xx silently, message included).
	requestOpen bool
	// everFailed: some attempt failed since the client started.
	everFailed bool
}

// hasFailed reports whether any attempt failed since the client started.
func (s *connState) hasFailed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.everFailed
}

// errRejected stands for a request the server refused without opamp-go
// reporting a connection failure; the detail line says how.
var errRejected = errors.New("the OpAMP server rejected the request")

// beforeAttempt runs right before each WebSocket dial and HTTP request.
func (s *connState) beforeAttempt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpPolling && s.requestOpen {
		s.failedLocked(errRejected)
	}
	s.flushLocked()
	s.detail = ""
	s.requestOpen = s.httpPolling
}

// noteDetail records an error line of opamp-go for the pending warning.
func (s *connState) noteDetail(d string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detail = d
}

// flush logs a pending warning; called when the client stops.
func (s *connState) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
}

func (s *connState) flushLocked() {
	if s.pendingWarn == "" {
		return
	}
	fields := []zap.Field{zap.String("endpoint", s.endpoint), zap.String("error", s.pendingWarn)}
	if s.detail != "" {
		fields = append(fields, zap.String("detail", s.detail))
	}
	s.logger.Warn("Cannot reach the OpAMP server; retrying with backoff (further failures are logged at debug level)", fields...)
	s.pendingWarn = ""
}

// onConnect records a successful connection (or HTTP poll) and reports
// whether it is a new connection.
func (s *connState) onConnect() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErrV = nil
	s.requestOpen = false
	s.flushLocked()
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
	s.requestOpen = false
	// opamp-go's WebSocket transport reports each failed attempt twice with
	// the same error value, the second time after it logged the HTTP
	// status: count it once, and log the warning then.
	if err != nil && s.lastErrV != nil && sameError(err, s.lastErrV) {
		s.flushLocked()
		return
	}
	s.failedLocked(err)
	if s.httpPolling {
		// opamp-go's HTTP transport logs its detail before the callback.
		s.flushLocked()
	}
}

func (s *connState) failedLocked(err error) {
	s.everFailed = true
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
		s.pendingWarn = msg
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

package custommsg

import "errors"

// Sentinel errors, so that callers match with errors.Is rather than by text.
var (
	// ErrUnregistered is returned by SendMessage once the handler has been
	// unregistered.
	ErrUnregistered = errors.New("custom capability handler is unregistered")
	// ErrNotConnected is returned by SendMessage while no OpAMP client is
	// attached: the extension has not started yet, or has shut down.
	ErrNotConnected = errors.New("opamp client is not attached")
	// ErrEmptyCapability is returned by Register for an empty capability name.
	ErrEmptyCapability = errors.New("custom capability must not be empty")
	// ErrInvalidQueueSize is returned by Register when MaxQueuedMessages is
	// not positive: a zero-sized queue would drop every message.
	ErrInvalidQueueSize = errors.New("MaxQueuedMessages must be positive")
	// ErrMessageTooLarge is returned by SendMessage for data over the
	// registry's size limit.
	ErrMessageTooLarge = errors.New("custom message is larger than the limit")
)

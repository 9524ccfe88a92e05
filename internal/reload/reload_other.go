//go:build !unix

package reload // import "github.com/opampext/opampextension/internal/reload"

import (
	"errors"
	"runtime"
)

var errUnsupported = errors.New("capabilities.accepts_restart_command: restarting the Collector is not supported on " +
	runtime.GOOS + " (it relies on the Collector reloading on SIGHUP)")

// Supported returns an error: this platform cannot signal the Collector to
// reload, so configuration validation should reject the capability.
func Supported() error { return errUnsupported }

// Self always fails here; see Supported.
func Self() error { return errUnsupported }

//go:build !unix

package parentwatch // import "github.com/opampext/opampextension/internal/parentwatch"

import (
	"errors"
	"runtime"
)

// Supported reports whether parent watching works on this platform. It is
// false here: the process checks rely on unix signals and /proc.
func Supported() bool { return false }

func newProbe(int) (probeFunc, error) {
	return nil, errors.New("ppid: watching the parent process is not supported on " + runtime.GOOS)
}

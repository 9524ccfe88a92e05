package parentwatch

import (
	"errors"
	"os"
	"time"
)

// Environment of the helper process started by TestReparentedRealProcess.
const (
	helperEnv      = "PARENTWATCH_HELPER_RESULT" // file to write the detected reason to
	helperReadyEnv = "PARENTWATCH_HELPER_READY"  // file created once watching
)

// runHelper watches its own parent and writes the detected reason (or
// "timeout") to the result file.
func runHelper() int {
	result := os.Getenv(helperEnv)
	write := func(s string) {
		tmp := result + ".tmp"
		if os.WriteFile(tmp, []byte(s), 0o600) == nil {
			_ = os.Rename(tmp, result)
		}
	}
	found := make(chan error, 1)
	w, err := New(os.Getppid(), 20*time.Millisecond, nil, func(err error) { found <- err })
	if err != nil {
		write("error: " + err.Error())
		return 1
	}
	w.Start()
	defer w.Stop()
	if err := os.WriteFile(os.Getenv(helperReadyEnv), nil, 0o600); err != nil {
		write("error: " + err.Error())
		return 1
	}
	select {
	case err := <-found:
		var oe *OrphanedError
		if !errors.As(err, &oe) {
			write("error: unexpected " + err.Error())
			return 1
		}
		write(string(oe.Reason))
	case <-time.After(10 * time.Second):
		write("timeout")
	}
	return 0
}

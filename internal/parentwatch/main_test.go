package parentwatch

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if runHelperIfRequested() {
		return
	}
	goleak.VerifyTestMain(m)
}

// runHelperIfRequested lets the linux tests re-run this binary as a helper
// process; elsewhere it never triggers.
func runHelperIfRequested() bool {
	if os.Getenv(helperEnv) == "" {
		return false
	}
	os.Exit(runHelper())
	return true
}

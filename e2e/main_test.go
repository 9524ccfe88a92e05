//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Environment variables naming the binaries under test; run.sh sets them.
// Unset, they default to where `make distro` and run.sh put the binaries.
const (
	envDistro     = "E2E_OTELCOL"      // the otelcol-opamp distro
	envEchoDistro = "E2E_OTELCOL_ECHO" // the distro plus the opampecho extension
	envSupervisor = "E2E_SUPERVISOR"   // contrib's opampsupervisor
)

func distroBin(t *testing.T) string {
	return binary(t, envDistro, "../_build/otelcol-opamp")
}

func echoDistroBin(t *testing.T) string {
	return binary(t, envEchoDistro, "../_build/e2e/otelcol-opamp-e2e")
}

func supervisorBin(t *testing.T) string {
	return binary(t, envSupervisor, "../_build/opampsupervisor")
}

// binary resolves a binary to an absolute path and fails the test (rather
// than skipping it) when it is missing: a missing build is a broken run.
func binary(t *testing.T, env, def string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		p = def
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("%s: %s is not an executable (build it with e2e/run.sh): %v", env, abs, err)
	}
	return abs
}

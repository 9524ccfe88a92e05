package reliability

import (
	"os"
	"testing"
)

// knownBugsEnv, when set, runs the steps and tests that fail on an open
// bug of the extension. Without it they are left out, and the summary and
// the test output name the bug: the suite stays green for everyone else
// while the reproduction stays one variable away. Remove a bug's entry
// (and its gate) once it is fixed.
const knownBugsEnv = "RELIABILITY_KNOWN_BUGS"

// Open bugs, found by the offer steps and their reproductions
// (internal/opampclient).
const (
	// bugVanish: a switched-to connection that fails before one lasts
	// 2 s does not always send the client back. WebSocket: the failures
	// counted before the switch carry over (the replaced connection was
	// never "lost"), so backoff starts high and the fallback fires at the
	// wrong attempt. HTTP: one successful poll proves the new connection,
	// so a server that dies right after answering strands the agent on it.
	bugVanish = "opampclient: no fallback from a server that dies right after the switch"
	// bugDuringTry: what changed while an offered connection was tried
	// went to the old server only; the new one never gets it.
	bugDuringTry = "opampclient: changes made during a try never reach the new server"
	// bugLimitFollows: a body limit an HTTP agent learnt from one server
	// (413) still trims what it sends the server an offer moved it to,
	// which then never gets the effective config.
	bugLimitFollows = "opampclient: a 413 limit learnt from the old server follows a move"
)

func knownBugs() bool { return os.Getenv(knownBugsEnv) != "" }

// skipKnownBug skips a reproduction of an open bug unless knownBugsEnv is set.
func skipKnownBug(t *testing.T, bug string) {
	t.Helper()
	if !knownBugs() {
		t.Skipf("open bug: %s; %s=1 runs it", bug, knownBugsEnv)
	}
}

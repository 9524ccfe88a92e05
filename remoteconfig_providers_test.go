package opampextension

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/opampext/opampextension/internal/testserver"
	"github.com/opampext/opampextension/opampconfmap"
)

// TestRemoteConfigAllowedProviderIsRedacted: with env opened to remote
// configs, a remote value from an env reference is resolved (the receiver
// listens on it) and reported redacted by its source, like a local one.
func TestRemoteConfigAllowedProviderIsRedacted(t *testing.T) {
	r := newRemoteRig(t)
	addr := freePort(t)
	t.Setenv("OPAMPEXT_TEST_LISTEN_SECRET", addr)
	yaml := collectorYAML{opamp: fmt.Sprintf(`    server:
      ws:
        endpoint: %s
    instance_uid: %s
    capabilities:
      accepts_remote_config: true
    storage:
      directory: %s
    remote_config:
      apply_timeout: 2s
      allowed_providers: [env]`, r.srv.WSURL(), r.uid, r.dir)}.String()
	r.current = runCollector(t, yaml, remoteReceivers(), withConverters(opampconfmap.NewFactory()))
	r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == r.uid && a.EffectiveConfig != nil })

	r.send(t, "env", map[string]string{"": remotePipeline("${env:OPAMPEXT_TEST_LISTEN_SECRET}")})
	r.waitStatus(t, "env", applied)
	waitListening(t, addr, "the receiver listens where the env reference points")
	st := r.srv.WaitAgent(t, 5*time.Second, func(a *testserver.AgentState) bool {
		return a.UID == r.uid && strings.Contains(effective(a), "traces/remote")
	})
	assert.NotContains(t, effective(st), addr, "a value from a secret-named reference is redacted")
}

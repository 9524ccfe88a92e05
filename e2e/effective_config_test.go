//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// Secrets written into the local agent config; none may reach the server
// in the Collector's effective config.
const (
	secretHeaderToken = "e2e-header-token-6c1f0e"      // configopaque header value
	secretURLPassword = "e2e-url-password-93b7aa"      // plain string: URL userinfo
	secretAttribute   = "e2e-plain-attr-secret-2d4c81" // plain string: secret-named map value
)

// redactedPlaceholder is how core and the extension render a removed secret.
const redactedPlaceholder = "[REDACTED]"

var secretAgentConfig = `
receivers:
  nop:
exporters:
  otlphttp/backend:
    endpoint: http://e2e-user:` + secretURLPassword + `@127.0.0.1:1
    headers:
      Authorization: "Bearer ` + secretHeaderToken + `"
extensions:
  opamp:
    agent_description:
      non_identifying_attributes:
        deploy.api_token: ` + secretAttribute + `
service:
  pipelines:
    traces:
      receivers: [nop]
      exporters: [otlphttp/backend]
  telemetry:
    metrics:
      level: none
`

// TestSupervisorEffectiveConfig: the Collector's effective config reaches
// the server through the Supervisor, complete and without the secrets of
// the local config the Supervisor merged in.
func TestSupervisorEffectiveConfig(t *testing.T) {
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: distroBin(t), agentConfig: secretAgentConfig})
	s.waitHealthy(t)

	// Until the Collector reports, the Supervisor reports its own merged
	// file, which holds the secrets as written: wait for the Collector's,
	// recognisable by core's redaction of the header.
	a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return strings.Contains(effectiveBody(a), redactedPlaceholder)
	})
	body := effectiveBody(a)
	for _, secret := range []string{secretHeaderToken, secretURLPassword, secretAttribute} {
		assert.NotContains(t, body, secret, "secret in the Collector's effective config")
	}
	for _, want := range []string{"otlphttp/backend", "opamp:", "ppid:", "deploy.api_token", "sending_queue"} {
		assert.Contains(t, body, want, "the effective config is the full, defaulted one")
	}
	// The endpoint stays readable: only its userinfo is a secret.
	assert.Contains(t, body, "@127.0.0.1:1", "the endpoint minus its password is reported")
	// The Supervisor relays the body only (no content type) under key "".
	require.Contains(t, a.EffectiveConfig.GetConfigMap().GetConfigMap(), "")

	// Until the Collector reports, the Supervisor may send its own merged
	// file: that is the Supervisor's doing, so it is only logged.
	leaks := 0
	for _, m := range a.Messages {
		if b := string(m.GetEffectiveConfig().GetConfigMap().GetConfigMap()[""].GetBody()); strings.Contains(b, secretHeaderToken) {
			leaks++
		}
	}
	t.Logf("%d of %d messages carried the Supervisor's merged config with the secrets", leaks, len(a.Messages))
}

// effectiveBody is the agent's latest effective config under key "".
func effectiveBody(a *testserver.AgentState) string {
	return string(a.EffectiveConfig.GetConfigMap().GetConfigMap()[""].GetBody())
}

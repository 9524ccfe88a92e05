package testserver

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/stretchr/testify/assert"
)

func TestTLS(t *testing.T) {
	certs := testcerts.New(t)
	cfg := certs.ServerTLSConfig(false)
	s := Start(t, WithTLS(cfg))
	assert.Empty(t, cfg.NextProtos, "the caller's config is not modified")
	assert.True(t, strings.HasPrefix(s.WSURL(), "wss://127.0.0.1:"), s.WSURL())
	assert.True(t, strings.HasPrefix(s.HTTPURL(), "https://127.0.0.1:"), s.HTTPURL())

	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			a := startAgent(t, agentSetup{
				transport: tr,
				url:       urlFor(s, tr),
				tlsConfig: &tls.Config{RootCAs: certs.CAPool(), MinVersion: tls.VersionTLS12},
			})
			got := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.UID == a.uid && st.Description != nil })
			assert.Equal(t, tr, got.Transport)
		})
	}
}

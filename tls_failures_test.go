package opampextension

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// entryText is everything an operator sees of one log entry.
func entryText(e observer.LoggedEntry) string {
	return fmt.Sprintf("%s %v", e.Message, e.ContextMap())
}

// TestTLSFailures: a server the agent must not trust, or one demanding a
// client certificate the agent lacks, is never connected to, and the
// Collector keeps running with one warning that names the cause.
func TestTLSFailures(t *testing.T) {
	cases := []struct {
		name  string
		cause string // must appear in the warning
		setup func(t *testing.T) (*testserver.Server, string)
		// alsoAccepted: with TLS 1.3 the client finishes its side of the
		// handshake before the server rejects the missing certificate, so
		// the first failure may surface as a broken connection instead.
		alsoAccepted []string
	}{
		{"expired certificate", "x509: certificate has expired", func(t *testing.T) (*testserver.Server, string) {
			certs := testcerts.New(t, testcerts.Expired())
			return testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(false))), certs.CAFile
		}, nil},
		{"wrong host", "x509:", func(t *testing.T) (*testserver.Server, string) {
			certs := testcerts.New(t, testcerts.WrongHost())
			return testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(false))), certs.CAFile
		}, nil},
		{"unknown CA", "x509: certificate signed by unknown authority", func(t *testing.T) (*testserver.Server, string) {
			served, trusted := testcerts.New(t), testcerts.New(t)
			return testserver.Start(t, testserver.WithTLS(served.ServerTLSConfig(false))), trusted.CAFile
		}, nil},
		{"client certificate required", "tls: certificate required", func(t *testing.T) (*testserver.Server, string) {
			certs := testcerts.New(t)
			return testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(true))), certs.CAFile
		}, []string{"broken pipe", "connection reset by peer", "EOF", "use of closed network connection"}},
	}
	for _, tc := range cases {
		for _, tr := range []string{"ws", "http"} {
			t.Run(tc.name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				srv, caFile := tc.setup(t)
				cfg := wsConfig(srv.WSURL())
				if tr == "http" {
					cfg = httpConfig(srv.HTTPURL())
				}
				cfg.serverSettings().TLS.CAFile = caFile
				agent, logs := newObservedAgent(t, cfg, zapcore.DebugLevel)
				require.NoError(t, agent.Start(context.Background(), newTestHost()))

				// Wait for a few attempts so that repeated failures show.
				require.Eventually(t, func() bool {
					n := 0
					for _, e := range logs.FilterLevelExact(zapcore.DebugLevel).All() {
						if strings.Contains(entryText(e), tc.cause) {
							n++
						}
					}
					return n >= 2
				}, waitTime, 20*time.Millisecond, "the agent should keep retrying")

				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				begin := time.Now()
				require.NoError(t, agent.Shutdown(ctx))
				assert.Less(t, time.Since(begin), 5*time.Second)

				assert.Empty(t, srv.RequestHeaders(), "no request may pass the TLS handshake")
				assert.Empty(t, srv.AgentUIDs())
				warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
				if assert.Len(t, warns, 1, "want one warning: %v", entryTexts(warns)) {
					text := entryText(warns[0])
					named := strings.Contains(text, tc.cause)
					for _, alt := range tc.alsoAccepted {
						named = named || strings.Contains(text, alt)
					}
					assert.True(t, named, "the warning does not name the cause %q: %s", tc.cause, text)
				}
				for _, e := range logs.All() {
					assert.Less(t, e.Level, zapcore.ErrorLevel, "error-level line: %s", entryText(e))
					assert.Empty(t, e.Stack, "a line with a stack trace: %s", e.Message)
				}
			})
		}
	}
}

// TestInsecureSkipVerify: skipping verification connects to a server whose
// certificate names another host, and says so once at start.
func TestInsecureSkipVerify(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			certs := testcerts.New(t, testcerts.WrongHost())
			srv := testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(false)))
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			cfg.serverSettings().TLS.InsecureSkipVerify = true
			agent, logs := newObservedAgent(t, cfg, zapcore.InfoLevel)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)

			warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
			require.Len(t, warns, 1, "want one warning at start: %v", entryTexts(warns))
			assert.Contains(t, entryText(warns[0]), "insecure_skip_verify")

			uid := agentUID(agent).String()
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.Description != nil })
		})
	}
}

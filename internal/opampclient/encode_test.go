package opampclient

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestInvalidUTF8IsNotATransportFailure: state holding invalid UTF-8 that
// reached the client directly (the extension repairs it where it enters)
// still goes out, repaired, over both transports: one connection, no
// failed attempt, heartbeats flowing, one warning per field however many
// messages carry it.
func TestInvalidUTF8IsNotATransportFailure(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t)
			url := wsURL(srv.Addr())
			if tr == "http" {
				url = srv.HTTPURL()
			}
			h := newHarness(url)
			h.HTTP = tr == "http"
			h.PollingInterval = 50 * time.Millisecond
			h.Heartbeat = 50 * time.Millisecond
			h.Description = description("caf\xe9")
			c := h.start(t)

			st := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Description != nil })
			assert.Equal(t, "caf\uFFFD", st.Description.GetIdentifyingAttributes()[0].GetValue().GetStringValue())

			for i := range 3 {
				require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Status: "StatusRecoverableError", LastError: "HTTP 500: caf\xe9", StatusTimeUnixNano: uint64(i + 1)}))
			}
			st = srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool {
				return a.Health.GetStatusTimeUnixNano() == 3 && a.MessageCount >= 8 // heartbeats or polls after it
			})
			assert.Equal(t, "HTTP 500: caf\uFFFD", st.Health.GetLastError())

			s := h.obs.stats()
			assert.Equal(t, 1, s.Connected, "one connection")
			assert.Zero(t, s.Failed, "no failed attempt")
			assert.Zero(t, s.Disconnected)
			assert.Equal(t, []string{
				"Replaced invalid UTF-8 in the reported state with U+FFFD; the OpAMP server gets the rest (logged once per field)",
				"Replaced invalid UTF-8 in the reported state with U+FFFD; the OpAMP server gets the rest (logged once per field)",
			}, h.warnings(), "one warning per field: the description and the health's last_error")
		})
	}
}

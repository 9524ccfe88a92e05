package opampclient

import (
	"context"
	"testing"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestSendCustomMessagePending: one custom message waits at a time; a
// second gets ErrCustomMessagePending and the first one's channel, which
// closes only once a message carrying the first was delivered.
func TestSendCustomMessagePending(t *testing.T) {
	r := loadedReport(allReports)
	c := &Client{report: r}
	r.delivered(r.next(false))

	_, err := c.SendCustomMessage(nil)
	require.ErrorIs(t, err, types.ErrCustomMessageMissing)
	_, err = c.SendCustomMessage(&protobufs.CustomMessage{Capability: "io.unknown"})
	require.ErrorIs(t, err, types.ErrCustomCapabilityNotSupported)

	first, err := c.SendCustomMessage(customMessage("1"))
	require.NoError(t, err)
	again, err := c.SendCustomMessage(customMessage("2"))
	require.ErrorIs(t, err, types.ErrCustomMessagePending)
	assert.Equal(t, first, again, "the pending message's channel")

	lost := r.next(false)
	require.NotNil(t, lost)
	assert.Equal(t, KindCustomMessage, lost.kinds)
	assert.Equal(t, "1", string(lost.msg.GetCustomMessage().GetData()))
	assert.False(t, closed(first), "not delivered yet")

	o := r.next(false)
	require.NotNil(t, o, "an undelivered custom message stays pending")
	r.delivered(o)
	assert.True(t, closed(first), "the channel closes on delivery")
	assert.Nil(t, r.next(false))

	second, err := c.SendCustomMessage(customMessage("3"))
	require.NoError(t, err)
	assert.NotEqual(t, first, second)
	// The lost message's late delivery must not count for the new one.
	r.delivered(lost)
	assert.False(t, closed(second))
	o = r.next(false)
	require.NotNil(t, o)
	assert.Equal(t, "3", string(o.msg.GetCustomMessage().GetData()))
}

// TestStartValidates: missing required state is refused up front with an
// error naming it.
func TestStartValidates(t *testing.T) {
	tests := []struct {
		name   string
		modify func(s *Settings)
		want   error
	}{
		{"no description", func(s *Settings) { s.Description = nil }, errNoDescription},
		{"health capability without health", func(s *Settings) { s.Health = nil }, errNoHealth},
		{"components capability without components", func(s *Settings) {
			s.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents
		}, errNoComponents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness("ws://127.0.0.1:1/v1/opamp")
			tt.modify(&h.Settings)
			c, err := Start(context.Background(), h.Settings)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, c)
		})
	}
}

// TestSettersRefuseBadInput: the setters refuse nil and a health the
// capabilities do not report.
func TestSettersRefuseBadInput(t *testing.T) {
	r := loadedReport(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus)
	c := &Client{report: r}
	require.ErrorIs(t, c.SetAgentDescription(nil), errNoDescription)
	require.ErrorIs(t, c.SetHealth(&protobufs.ComponentHealth{}), errHealthOff)

	c = &Client{report: loadedReport(allReports)}
	require.ErrorIs(t, c.SetHealth(nil), errNoHealth)
	require.NoError(t, c.SetAgentDescription(description("b")))
	assert.Equal(t, "b", c.AgentDescription().GetIdentifyingAttributes()[0].GetValue().GetStringValue())
}

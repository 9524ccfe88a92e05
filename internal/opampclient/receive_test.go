package opampclient

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

// processClient is a client that was never started, enough for process.
func processClient(caps protobufs.AgentCapabilities) (*Client, *harness, *[]protobufs.CommandType) {
	h := newHarness("ws://127.0.0.1:1/v1/opamp")
	var commands []protobufs.CommandType
	h.Handler.OnCommand = func(_ context.Context, cmd *protobufs.ServerToAgentCommand) error {
		commands = append(commands, cmd.GetType())
		return nil
	}
	c := &Client{settings: h.Settings, logger: h.Logger, report: loadedReport(caps)}
	c.gate.stop = make(chan struct{})
	c.report.delivered(c.report.next(false))
	return c, h, &commands
}

// TestProcess: what a server message makes the client do, and what it
// ignores.
func TestProcess(t *testing.T) {
	restart := &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}
	fullFlag := uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)
	tests := []struct {
		name     string
		caps     protobufs.AgentCapabilities
		msg      *protobufs.ServerToAgent
		wantKind Kind // what the next message carries; 0: nothing pending
		commands int
		custom   []string
		hold     time.Duration // minimum hold on the next attempt
		warns    int
	}{
		{"full state asked", allReports, &protobufs.ServerToAgent{Flags: fullFlag},
			KindAgentDescription | KindHealth | KindEffectiveConfig | KindAvailableComponents | KindCustomCapabilities, 0, nil, 0, 0},
		{"components asked", allReports, &protobufs.ServerToAgent{
			Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents),
		}, KindAvailableComponents, 0, nil, 0, 0},
		{"restart accepted", allReports | protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand,
			&protobufs.ServerToAgent{Command: restart, Flags: fullFlag}, 0, 1, nil, 0, 0},
		{"restart not accepted", allReports, &protobufs.ServerToAgent{Command: restart}, 0, 0, nil, 0, 0},
		{"custom message advertised", allReports, &protobufs.ServerToAgent{CustomMessage: customMessage("m")}, 0, 0, []string{"m"}, 0, 0},
		{"custom message not advertised", allReports, &protobufs.ServerToAgent{
			CustomMessage: &protobufs.CustomMessage{Capability: "io.other", Data: []byte("m")},
		}, 0, 0, nil, 0, 0},
		{"unavailable with retry", allReports, &protobufs.ServerToAgent{ErrorResponse: &protobufs.ServerErrorResponse{
			Type:    protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable,
			Details: &protobufs.ServerErrorResponse_RetryInfo{RetryInfo: &protobufs.RetryInfo{RetryAfterNanoseconds: uint64(5 * time.Second)}},
		}}, 0, 0, nil, 0, 0}, // the transport waits (conformance: unavailable)
		{"bad request", allReports, &protobufs.ServerToAgent{ErrorResponse: &protobufs.ServerErrorResponse{
			Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_BadRequest, ErrorMessage: "no",
		}}, 0, 0, nil, 0, 1},
		{"remote config and packages ignored", allReports, &protobufs.ServerToAgent{
			RemoteConfig:      &protobufs.AgentRemoteConfig{ConfigHash: []byte("h")},
			PackagesAvailable: &protobufs.PackagesAvailable{},
		}, 0, 0, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, h, commands := processClient(tt.caps)
			c.process(context.Background(), tt.msg)
			o := c.report.next(false)
			if tt.wantKind == 0 {
				assert.Nil(t, o)
			} else if assert.NotNil(t, o) {
				assert.Equal(t, tt.wantKind, o.kinds)
			}
			assert.Len(t, *commands, tt.commands)
			assert.Equal(t, tt.custom, h.handled.customData())
			if tt.hold > 0 {
				assert.GreaterOrEqual(t, holdLeft(&c.gate), tt.hold)
			} else {
				assert.LessOrEqual(t, holdLeft(&c.gate), time.Duration(0), "no hold")
			}
			assert.Equal(t, tt.warns, h.logs.FilterLevelExact(zapcore.WarnLevel).Len())
			assert.Equal(t, 1, h.obs.stats().Received)
		})
	}
}

// TestProcessHeartbeatOffer: an offer changes the interval only for an
// agent that reports heartbeats, and is capped.
func TestProcessHeartbeatOffer(t *testing.T) {
	tests := []struct {
		name string
		caps protobufs.AgentCapabilities
		secs uint64
		want time.Duration
	}{
		{"applied", heartbeatCap, 7, 7 * time.Second},
		{"capability off", 0, 7, 0},
		{"zero ignored", heartbeatCap, 0, 0},
		{"capped", heartbeatCap, 1 << 40, maxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := processClient(allReports | tt.caps)
			c.process(context.Background(), &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
				Opamp: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: tt.secs},
			}})
			require.Equal(t, tt.want, time.Duration(c.heartbeat.Load()))
		})
	}
}

package opampextension

import (
	"context"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/agentdesc"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/selftelemetry"
)

// onMessage handles what the server sends beyond what the client handles itself.
func (a *opampAgent) onMessage(_ context.Context, msg *types.MessageData) {
	if id := msg.AgentIdentification; id != nil {
		a.adoptInstanceUID(id.NewInstanceUid)
	}
	if msg.CustomMessage != nil {
		a.registry.Dispatch(msg.CustomMessage)
	}
	if msg.RemoteConfig != nil {
		if remote := a.remote.Load(); remote != nil {
			remote.Receive(msg.RemoteConfig)
		} else {
			a.logger.Debug("Ignoring a remote configuration: capabilities.accepts_remote_config is off")
		}
	}
}

// adoptInstanceUID switches to a server-assigned uid and re-sends the agent
// description so that service.instance.id matches it (contrib keeps the old).
func (a *opampAgent) adoptInstanceUID(raw []byte) {
	uid, err := uuid.FromBytes(raw)
	if err != nil {
		a.logger.Debug("Ignoring a new instance uid of the wrong length", zap.Int("bytes", len(raw)))
		return
	}
	a.mu.Lock()
	if uid == a.uid {
		a.mu.Unlock()
		return
	}
	a.uid = uid
	if err := a.keeper.Save(uid, a.identity.configured); err != nil {
		a.logger.Debug("Cannot remember the new instance uid", zap.Error(err))
	}
	a.mu.Unlock()
	a.logger.Info("The OpAMP server assigned a new instance uid", zap.String("instance_uid", uid.String()))
	if client := a.client.Load(); client != nil {
		a.sendDescription(client, uid)
	}
	a.renameCertificate()
}

// sendDescription re-sends the client's description with service.instance.id
// set to uid. The description lives only in the client: a fleet of
// instances in one process must not pay for two copies.
func (a *opampAgent) sendDescription(client *opampclient.Client, uid uuid.UUID) {
	a.telemetry.ReportQueued(selftelemetry.ReportAgentDescription)
	if err := client.SetAgentDescription(agentdesc.WithInstanceUID(client.AgentDescription(), uid)); err != nil {
		a.logger.Warn("Cannot send the updated agent description", zap.Error(err))
	}
}

// onCommand runs a server command. Restart reloads the Collector (SIGHUP,
// see restarter) when accepts_restart_command is on; the client only delivers commands the
// agent advertised, but we check again rather than trust that.
func (a *opampAgent) onCommand(_ context.Context, cmd *protobufs.ServerToAgentCommand) error {
	if cmd.GetType() != protobufs.CommandType_CommandType_Restart {
		a.logger.Debug("Ignoring an unknown command", zap.String("type", cmd.GetType().String()))
		return nil
	}
	if !a.cfg.Capabilities.AcceptsRestartCommand {
		a.logger.Debug("Ignoring a restart command: capabilities.accepts_restart_command is off")
		return nil
	}
	a.restart.request()
	return nil
}

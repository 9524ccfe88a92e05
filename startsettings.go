package opampextension

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/transport"
)

// buildStartSettings turns the transport config into the client's
// connection settings: TLS only for wss/https, static headers, per-attempt
// auth headers for the real server URL, proxy, compression, size limit and
// heartbeat.
func buildStartSettings(ctx context.Context, cfg *Config, host component.Host, logger *zap.Logger) (opampclient.Settings, error) {
	s := cfg.serverSettings()
	path := "server.ws"
	if cfg.Server.HTTP != nil {
		path = "server.http"
	}
	st := opampclient.Settings{
		Logger:         logger,
		URL:            s.Endpoint,
		HTTP:           cfg.Server.HTTP != nil,
		Header:         transport.Headers(s.Headers),
		Compression:    s.EnableCompression,
		MaxMessageSize: s.MaxMessageSize,
		MaxSendSize:    s.MaxSendSize,
	}
	if cfg.Server.HTTP != nil {
		st.PollingInterval = cfg.Server.HTTP.PollingInterval
	} else {
		st.ReconnectSpread = cfg.Server.WS.ReconnectSpread
	}
	tlsCfg, err := transport.LoadTLS(ctx, s.Endpoint, s.TLS)
	if err != nil {
		return st, fmt.Errorf("%s.tls: %w", path, err)
	}
	st.TLS = tlsCfg
	if tlsCfg != nil && transport.SkipsVerify(s.TLS) {
		logger.Warn("TLS certificate verification of the OpAMP server is disabled (insecure_skip_verify)", zap.String("endpoint", transport.Redacted(s.Endpoint)))
	}
	if s.Proxy.URL != "" {
		st.ProxyURL = s.Proxy.URL
		st.ProxyHeader = transport.Headers(s.Proxy.Headers)
	}
	if s.Auth != nil {
		auth, err := lookupAuth(host, *s.Auth)
		if err != nil {
			return st, fmt.Errorf("%s.auth: %w", path, err)
		}
		hf, err := transport.NewAuthHeaderFunc(auth, logger)
		if err != nil {
			return st, fmt.Errorf("%s.auth: %w", path, err)
		}
		st.HeaderFunc = hf
	}
	// Like contrib's (opamp-go's default), a WebSocket agent sends a
	// heartbeat every 30 s: servers take it as a sign of life and load
	// balancers as traffic. reports_heartbeat makes it configurable.
	st.Heartbeat = defaultHeartbeatInterval
	if cfg.Capabilities.ReportsHeartbeat {
		st.Heartbeat = cfg.HeartbeatInterval
	}
	return st, nil
}

func lookupAuth(host component.Host, id component.ID) (extensionauth.HTTPClient, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("extension %q is not configured in service.extensions", id)
	}
	auth, ok := ext.(extensionauth.HTTPClient)
	if !ok {
		return nil, fmt.Errorf("extension %q is not an HTTP client authenticator", id)
	}
	return auth, nil
}

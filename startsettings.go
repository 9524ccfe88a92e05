package opampextension

import (
	"context"
	"fmt"

	"github.com/open-telemetry/opamp-go/client/types"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/transport"
)

// buildStartSettings turns the transport config into opamp-go settings:
// TLS only for wss/https, static headers, per-attempt auth headers for the
// real server URL, proxy, compression and heartbeat.
func buildStartSettings(ctx context.Context, cfg *Config, host component.Host, logger *zap.Logger) (types.StartSettings, error) {
	s := cfg.serverSettings()
	path := "server.ws"
	if cfg.Server.HTTP != nil {
		path = "server.http"
	}
	st := types.StartSettings{
		OpAMPServerURL:    s.Endpoint,
		Header:            transport.Headers(s.Headers),
		EnableCompression: s.EnableCompression,
	}
	tlsCfg, err := transport.LoadTLS(ctx, s.Endpoint, s.TLS)
	if err != nil {
		return st, fmt.Errorf("%s.tls: %w", path, err)
	}
	st.TLSConfig = tlsCfg
	if tlsCfg != nil && transport.SkipsVerify(s.TLS) {
		logger.Warn("TLS certificate verification of the OpAMP server is disabled (insecure_skip_verify)", zap.String("endpoint", transport.Redacted(s.Endpoint)))
	}
	if s.Proxy.URL != "" {
		st.ProxyURL = s.Proxy.URL
		st.ProxyHeaders = transport.Headers(s.Proxy.Headers)
	}
	if s.Auth != nil {
		auth, err := lookupAuth(host, *s.Auth)
		if err != nil {
			return st, fmt.Errorf("%s.auth: %w", path, err)
		}
		hf, err := transport.NewAuthHeaderFunc(auth, s.Endpoint, logger)
		if err != nil {
			return st, fmt.Errorf("%s.auth: %w", path, err)
		}
		st.HeaderFunc = hf
	}
	// On HTTP, opamp-go turns the heartbeat interval into the polling
	// interval and rejects zero, so zero is passed on only for WebSocket.
	if cfg.Capabilities.ReportsHeartbeat && (cfg.HeartbeatInterval > 0 || cfg.Server.HTTP == nil) {
		hb := cfg.HeartbeatInterval
		st.HeartbeatInterval = &hb
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

package opampextension

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"

	"github.com/opampext/opampextension/internal/instanceuid"
	"github.com/opampext/opampextension/internal/parentwatch"
	"github.com/opampext/opampextension/internal/reload"
	"github.com/opampext/opampextension/internal/transport"
)

// Defaults shared by the factory and the docs.
const (
	defaultPollingInterval   = 30 * time.Second
	defaultPPIDPollInterval  = 5 * time.Second
	defaultHeartbeatInterval = 30 * time.Second
	defaultReconnectSpread   = 5 * time.Second
	defaultMaxMessageSize    = 4 << 20
	// Every message from the server is bounded (server.*.max_message_size),
	// and every message to it (server.*.max_send_size): 64 MiB, the
	// specification's recommended default for both.
	defaultInboundMessageSize = 64 << 20
	maxInboundMessageSize     = 1 << 30
	defaultSendSize           = 64 << 20
	minSendSize               = 1 << 10
	maxReconnectSpread        = 5 * time.Minute
	defaultApplyTimeout       = 30 * time.Second
)

// Config is the extension's configuration. Every key of contrib's
// extension/opampextension is accepted with the same meaning and default;
// keys contrib lacks are opt-in.
type Config struct {
	// Server selects the transport: exactly one of ws or http.
	Server *OpAMPServer `mapstructure:"server"`

	// InstanceUID is a UUID (or, for legacy configs, a 26-character ULID).
	// Empty: the resource's service.instance.id when it is a UUID, else a
	// new UUIDv7.
	InstanceUID string `mapstructure:"instance_uid"`

	Capabilities     Capabilities     `mapstructure:"capabilities"`
	AgentDescription AgentDescription `mapstructure:"agent_description"`

	// PPID, when set, is a process whose end (or zombie state) makes the
	// Collector shut down: the OpAMP Supervisor sets it to its own pid.
	PPID             int32         `mapstructure:"ppid"`
	PPIDPollInterval time.Duration `mapstructure:"ppid_poll_interval"`

	// HeartbeatInterval is used when capabilities.reports_heartbeat is
	// true; a server's offer replaces it. Zero disables heartbeats.
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval"`

	// ReportsRawConfig also sends the configuration as written (${env:X}
	// references left as they are, secrets redacted) under the config-map
	// key "raw", beside the effective config under "". It is contrib's key
	// (contrib PR #49692) with contrib's meaning; it needs
	// capabilities.reports_effective_config.
	ReportsRawConfig bool `mapstructure:"reports_raw_config"`

	// EffectiveConfig holds opt-in extras of the effective config report.
	EffectiveConfig EffectiveConfigSettings `mapstructure:"effective_config"`

	// CustomMessages bounds the custom messages components exchange with
	// the server.
	CustomMessages CustomMessagesSettings `mapstructure:"custom_messages"`

	// Storage is where the extension keeps state that must survive a
	// restart (the remote configuration and its status).
	Storage StorageSettings `mapstructure:"storage"`

	// RemoteConfig bounds what capabilities.accepts_remote_config applies.
	RemoteConfig RemoteConfigSettings `mapstructure:"remote_config"`

	// ConnectionSettings bound how the server's connection-settings offers
	// are tried (capabilities.accepts_opamp_connection_settings).
	ConnectionSettings ConnectionSettingsConfig `mapstructure:"connection_settings"`

	// prevent unkeyed literals
	_ struct{}
}

// OpAMPServer holds the transport settings; exactly one must be set.
type OpAMPServer struct {
	WS   *WSServer   `mapstructure:"ws"`
	HTTP *HTTPServer `mapstructure:"http"`
}

// ServerSettings are the settings both transports share.
type ServerSettings struct {
	Endpoint string                         `mapstructure:"endpoint"`
	TLS      configtls.ClientConfig         `mapstructure:"tls"`
	Headers  map[string]configopaque.String `mapstructure:"headers"`
	// Auth names an extension implementing extensionauth.HTTPClient.
	Auth *component.ID `mapstructure:"auth"`
	// Proxy routes the connection through an HTTP(S) or SOCKS5 proxy.
	Proxy ProxySettings `mapstructure:"proxy"`
	// EnableCompression turns on permessage-deflate (ws) or gzip bodies (http).
	EnableCompression bool `mapstructure:"enable_compression"`
	// MaxMessageSize refuses, with a warning, any message from the server
	// over this many bytes (after decompression); the rest of it is
	// discarded unread, and the connection stays up.
	MaxMessageSize int `mapstructure:"max_message_size"`
	// MaxSendSize bounds every message to the server (before compression):
	// a report that would exceed it (an effective config of a huge
	// gateway) is left out with a warning, counted in
	// otelcol.opamp.reports_discarded, and the rest is sent.
	MaxSendSize int `mapstructure:"max_send_size"`
}

// ProxySettings configure an outbound proxy; empty URL means none.
type ProxySettings struct {
	URL     string                         `mapstructure:"url"`
	Headers map[string]configopaque.String `mapstructure:"headers"`
}

// WSServer is a WebSocket connection (ws:// or wss://).
type WSServer struct {
	ServerSettings `mapstructure:",squash"`
	// ReconnectSpread delays each reconnection attempt after a lost
	// connection by a random time up to this, so a fleet does not reconnect
	// in the same second when its server restarts. Zero reconnects at once.
	ReconnectSpread time.Duration `mapstructure:"reconnect_spread"`
}

// HTTPServer is plain HTTP polling (http:// or https://).
type HTTPServer struct {
	ServerSettings  `mapstructure:",squash"`
	PollingInterval time.Duration `mapstructure:"polling_interval"`
}

// Capabilities select what the extension reports and accepts.
type Capabilities struct {
	ReportsEffectiveConfig     bool `mapstructure:"reports_effective_config"`
	ReportsHealth              bool `mapstructure:"reports_health"`
	ReportsAvailableComponents bool `mapstructure:"reports_available_components"`
	AcceptsRestartCommand      bool `mapstructure:"accepts_restart_command"`
	// ReportsHeartbeat advertises heartbeats, letting heartbeat_interval
	// and the server's offered interval apply.
	ReportsHeartbeat bool `mapstructure:"reports_heartbeat"`
	// AcceptsRemoteConfig applies the server's remote configuration
	// in-process (the Supervisor's key name); it needs storage.directory
	// and the opampconfmap converter in the distro.
	AcceptsRemoteConfig bool `mapstructure:"accepts_remote_config"`
	// ReportsRemoteConfig reports the remote config status; unset, it
	// follows AcceptsRemoteConfig.
	ReportsRemoteConfig *bool `mapstructure:"reports_remote_config"`
	// AcceptsOpAMPConnectionSettings tries the server's offers of a new
	// endpoint, headers, TLS or proxy, and switches when they work; it
	// needs storage.directory (accepted offers survive restarts).
	AcceptsOpAMPConnectionSettings bool `mapstructure:"accepts_opamp_connection_settings"`
	// ReportsConnectionSettingsStatus reports the outcome of each offer;
	// unset, it is on when any offer is taken (the OpAMP settings or own
	// telemetry).
	ReportsConnectionSettingsStatus *bool `mapstructure:"reports_connection_settings_status"`
	// ReportsOwnMetrics, ReportsOwnLogs and ReportsOwnTraces send the
	// Collector's own telemetry where the server offers; they need
	// storage.directory and the opampconfmap converter.
	ReportsOwnMetrics bool `mapstructure:"reports_own_metrics"`
	ReportsOwnLogs    bool `mapstructure:"reports_own_logs"`
	ReportsOwnTraces  bool `mapstructure:"reports_own_traces"`
}

// StorageSettings locate the extension's persistent state.
type StorageSettings struct {
	// Directory is created 0700 when missing; its files are 0600.
	Directory string `mapstructure:"directory"`
}

// RemoteConfigSettings bound remote configuration.
type RemoteConfigSettings struct {
	// ApplyTimeout is how long a reloaded Collector has to become healthy
	// (every pipeline ready, no component in error) before it is rolled
	// back to the last healthy configuration.
	ApplyTimeout time.Duration `mapstructure:"apply_timeout"`
	// DeniedComponents are component types a remote config may not use;
	// when AllowedComponents is set, it may use only those.
	DeniedComponents  []string `mapstructure:"denied_components"`
	AllowedComponents []string `mapstructure:"allowed_components"`
	// AllowedProviders are the config provider schemes (env, file) whose
	// ${scheme:...} references a remote config may use; none by default.
	AllowedProviders []string `mapstructure:"allowed_providers"`
}

// AgentDescription adds to what the extension detects by itself.
type AgentDescription struct {
	NonIdentifyingAttributes  map[string]string `mapstructure:"non_identifying_attributes"`
	IncludeResourceAttributes bool              `mapstructure:"include_resource_attributes"`
}

// EffectiveConfigSettings are opt-in extras of the effective config report.
type EffectiveConfigSettings struct {
	// IncludeUnexpanded is this extension's older name for
	// reports_raw_config, kept as an alias: either one turns the raw
	// report on.
	IncludeUnexpanded bool `mapstructure:"include_unexpanded"`
}

// CustomMessagesSettings bound custom messages.
type CustomMessagesSettings struct {
	// MaxMessageSize refuses custom message data over this many bytes, in
	// both directions, with a clear error (to a component) or log (from the
	// server).
	MaxMessageSize int `mapstructure:"max_message_size"`
}

var _ component.Config = (*Config)(nil)
var _ confmap.Unmarshaler = (*Config)(nil)

// Unmarshal decodes the config, keeping defaults for the transport block
// that is actually present: a server.http block gets its own default polling
// interval even though the factory default only holds a ws block.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	if conf == nil {
		return nil
	}
	if conf.IsSet("server") {
		// Replace the default transport: a config names its own.
		c.Server = &OpAMPServer{}
		if conf.IsSet("server::ws") {
			c.Server.WS = defaultWSServer()
		}
		if conf.IsSet("server::http") {
			c.Server.HTTP = &HTTPServer{ServerSettings: defaultServerSettings(), PollingInterval: defaultPollingInterval}
		}
	}
	return conf.Unmarshal(c)
}

// Validate checks the configuration; every error names its field.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.validateServer()...)
	if c.InstanceUID != "" {
		if _, err := instanceuid.Parse(c.InstanceUID); err != nil {
			errs = append(errs, fmt.Errorf("instance_uid: %w", err))
		}
	}
	if c.PPID < 0 {
		errs = append(errs, fmt.Errorf("ppid: must not be negative, got %d", c.PPID))
	}
	if c.PPID > 0 && !parentwatch.Supported() {
		errs = append(errs, fmt.Errorf("ppid: watching the parent process is not supported on this platform"))
	}
	if c.PPIDPollInterval <= 0 {
		errs = append(errs, fmt.Errorf("ppid_poll_interval: must be positive, got %s", c.PPIDPollInterval))
	}
	if c.CustomMessages.MaxMessageSize <= 0 {
		errs = append(errs, fmt.Errorf("custom_messages.max_message_size: must be positive, got %d", c.CustomMessages.MaxMessageSize))
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("heartbeat_interval: must not be negative, got %s", c.HeartbeatInterval))
	}
	errs = append(errs, c.validateRemoteConfig()...)
	errs = append(errs, c.validateConnectionSettings()...)
	if c.Capabilities.AcceptsRestartCommand {
		// The error already names the key.
		if err := reload.Supported(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) validateServer() []error {
	if c.Server == nil || (c.Server.WS == nil && c.Server.HTTP == nil) {
		return []error{errors.New("server: one of server.ws or server.http must be set")}
	}
	if c.Server.WS != nil && c.Server.HTTP != nil {
		return []error{errors.New("server: only one of server.ws or server.http may be set")}
	}
	if c.Server.WS != nil {
		errs := c.Server.WS.validate("server.ws", "ws", "wss")
		if s := c.Server.WS.ReconnectSpread; s < 0 || s > maxReconnectSpread {
			errs = append(errs, fmt.Errorf("server.ws.reconnect_spread: must be between 0 and %s, got %s", maxReconnectSpread, s))
		}
		return errs
	}
	errs := c.Server.HTTP.validate("server.http", "http", "https")
	if c.Server.HTTP.PollingInterval < 0 {
		errs = append(errs, fmt.Errorf("server.http.polling_interval: must not be negative, got %s", c.Server.HTTP.PollingInterval))
	}
	return errs
}

func (s *ServerSettings) validate(path string, schemes ...string) []error {
	var errs []error
	if err := transport.ValidateEndpoint(s.Endpoint, schemes...); err != nil {
		errs = append(errs, fmt.Errorf("%s.endpoint: %w", path, err))
	} else if err := transport.ValidateEndpointTLS(s.Endpoint, s.TLS); err != nil {
		errs = append(errs, fmt.Errorf("%s.tls: %w", path, err))
	}
	if err := s.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s.tls: %w", path, err))
	}
	if s.Auth != nil && s.Auth.Type().String() == "" {
		errs = append(errs, fmt.Errorf("%s.auth: must name an authenticator extension", path))
	}
	if err := transport.ValidateHeaders(s.Headers); err != nil {
		errs = append(errs, fmt.Errorf("%s.headers: %w", path, err))
	}
	if s.MaxMessageSize <= 0 || s.MaxMessageSize > maxInboundMessageSize {
		errs = append(errs, fmt.Errorf("%s.max_message_size: must be between 1 and %d bytes, got %d", path, maxInboundMessageSize, s.MaxMessageSize))
	}
	if s.MaxSendSize < minSendSize || s.MaxSendSize > maxInboundMessageSize {
		errs = append(errs, fmt.Errorf("%s.max_send_size: must be between %d and %d bytes, got %d", path, minSendSize, maxInboundMessageSize, s.MaxSendSize))
	}
	if s.Proxy.URL != "" {
		if err := transport.ValidateProxy(s.Endpoint, s.Proxy.URL, s.Proxy.Headers); err != nil {
			errs = append(errs, fmt.Errorf("%s.proxy.url: %w", path, err))
		}
	} else if len(s.Proxy.Headers) > 0 {
		errs = append(errs, fmt.Errorf("%s.proxy.headers: set without proxy.url", path))
	}
	return errs
}

// reportsRawConfig tells whether the raw config goes out beside the
// effective one: reports_raw_config or its alias.
func (c *Config) reportsRawConfig() bool {
	return c.ReportsRawConfig || c.EffectiveConfig.IncludeUnexpanded
}

// serverSettings returns the chosen transport's shared settings.
func (c *Config) serverSettings() *ServerSettings {
	if c.Server.WS != nil {
		return &c.Server.WS.ServerSettings
	}
	return &c.Server.HTTP.ServerSettings
}

func defaultServerSettings() ServerSettings {
	return ServerSettings{TLS: configtls.NewDefaultClientConfig(), MaxMessageSize: defaultInboundMessageSize, MaxSendSize: defaultSendSize}
}

func defaultWSServer() *WSServer {
	return &WSServer{ServerSettings: defaultServerSettings(), ReconnectSpread: defaultReconnectSpread}
}

func createDefaultConfig() component.Config {
	return &Config{
		Server: &OpAMPServer{WS: defaultWSServer()},
		Capabilities: Capabilities{
			ReportsEffectiveConfig:     true,
			ReportsHealth:              true,
			ReportsAvailableComponents: true,
			ReportsHeartbeat:           heartbeatNegotiationGate.IsEnabled(),
		},
		RemoteConfig:       RemoteConfigSettings{ApplyTimeout: defaultApplyTimeout},
		ConnectionSettings: defaultConnectionSettings(),
		PPIDPollInterval:   defaultPPIDPollInterval,
		HeartbeatInterval:  defaultHeartbeatInterval,
		CustomMessages:     CustomMessagesSettings{MaxMessageSize: defaultMaxMessageSize},
	}
}

package conformance

// connectionSettingsRules are Connection Settings Management's, with its
// flows and messages: what the extension does with an offer
// (capabilities.accepts_opamp_connection_settings with storage.directory,
// connection_settings.certificate_request). Their checks drive the real
// extension.
var connectionSettingsRules = []Rule{
	{
		ID: "cs-ignore-without-capability", Section: "Connection Settings Management; AgentToServer.capabilities", Level: "SHOULD",
		Quote:      "The Server may make an offer for the particular connection class only if the corresponding capability to use the connection is reported by the Agent ... If the server sends a part of its messages corresponding to a capability the Agent doesn't support, the Agent SHOULD ignore it.",
		Transports: both, Status: Pass,
		Reason: "AcceptsOpAMPConnectionSettings and ReportsConnectionSettingsStatus follow the config; an opamp offer without the first, an own_metrics offer without reports_own_metrics and other_connections (AcceptsOtherConnectionSettings is never set) are neither followed nor answered",
	},
	{
		ID: "cs-candidate", Section: "OpAMP Connection Setting Offer Flow", Level: "(flow, step 3)",
		Quote:      "Client receives the settings offer and saves the updated connection settings in the local store, marking it as \"candidate\" (if Client crashes it will retry \"candidate\" validation steps 5-9).",
		Transports: both, Status: Departs,
		Reason: "no candidate is written: the offer is kept (storage.directory, 0600) only once its connection worked, so an agent that crashes mid-try restarts on settings that worked, and the server, seeing the old hash, offers again; a restart after APPLIED goes straight to the offered settings",
	},
	{
		ID: "cs-applying", Section: "OpAMP Connection Setting Offer Flow", Level: "SHOULD",
		Quote:      "If the client has the ReportsConnectionSettingsStatus capability, the Client SHOULD indicate that it is applying the new connection settings.",
		Transports: both, Status: Pass,
		Reason: "APPLYING with the offer's hash, to the server in use, while the offered connection is tried",
	},
	{
		ID: "cs-disconnect-first", Section: "OpAMP Connection Setting Offer Flow; Duplicate WebSocket Connections", Level: "(flow, steps 4-5) / MUST",
		Quote:      "Client disconnects from the Server. ... Client connects to the Server, using the new settings. ... the Client MUST ensure that it sends an AgentDisconnect message first, then closes the existing connection and only then attempts to connect again.",
		Transports: wsOnly, Status: Departs,
		Reason: "the offered connection is made while the one in use stays open, so that an offer that does not work never leaves the agent unconnected; once it works the old connection is closed without AgentDisconnect (the agent moved, it did not leave). An offer of new headers for the same server has it see two connections of one instance for the length of the try",
	},
	{
		ID: "cs-verify-by-connecting", Section: "ConnectionSettingsOffers.opamp", Level: "MUST",
		Quote:      "The Client MUST verify the offered connection settings by actually connecting before accepting the setting to ensure it does not lose access to the OpAMP Server due to invalid settings.",
		Transports: both, Status: Pass,
		Reason: "accepted when the offered server took the full state and answered it without an error within connection_settings.try_timeout",
	},
	{
		ID: "cs-applied", Section: "OpAMP Connection Setting Offer Flow; ConnectionSettingsStatus.last_connection_settings_hash", Level: "MUST",
		Quote:      "If the client has the ReportsConnectionSettingsStatus capability the client MUST report that the connection settings have been applied.",
		Transports: both, Status: Pass,
		Reason: "APPLIED with the offer's hash, on the new connection",
	},
	{
		ID: "cs-failed", Section: "OpAMP Connection Setting Offer Flow", Level: "MUST",
		Quote:      "If step 6 fails the Client deletes the new settings and reverts to the old settings and reconnects. If the Client has the ReportsConnectionSettingsStatus capability the client MUST report that the connection settings have failed.",
		Transports: both, Status: Pass,
		Reason: "FAILED with the offer's hash and why in error_message; nothing of the offer is kept, and the connection in use never closed, so there is nothing to reconnect",
	},
	{
		ID: "cs-revert-after-switch", Section: "OpAMP Connection Setting Offer Flow", Level: "MUST",
		Quote:      "If step 6 fails the Client deletes the new settings and reverts to the old settings and reconnects.",
		Transports: both, Status: Pass,
		Reason: "also when the offered connection answered the try and then fails: after 3 failed attempts before one lasts, the client goes back to the previous settings, reports FAILED there and the kept record goes back too. A poll to the old server answered after the switch proves nothing about the new one",
	},
	{
		ID: "cs-ephemeral", Section: "OpAMP Connection Setting Offer Flow", Level: "SHOULD",
		Quote:      "Clients which are unable to persist new connection settings and have access only to ephemeral storage SHOULD reject certificate offers otherwise they risk losing access after restarting and losing the offered certificate.",
		Transports: both, Status: Pass,
		Reason: "capabilities.accepts_opamp_connection_settings needs storage.directory: a config without it is refused, so no agent takes an offer it cannot keep",
	},
	{
		ID: "cs-status-unchanged-unset", Section: "AgentToServer.connection_settings_status", Level: "SHOULD",
		Quote:      "This field SHOULD be unset if this information is unchanged since the last AgentToServer message.",
		Transports: both, Status: Pass,
		Reason: "sent when it changes and in every full state",
	},
	{
		ID: "cs-endpoint", Section: "OpAMPConnectionSettings.destination_endpoint", Level: "(server's MUST)",
		Quote:      "OpAMP Server URL This MUST be a WebSocket or HTTP URL and MUST be non-empty",
		Transports: both, Status: Pass,
		Reason: "the client's side: an endpoint that is not a WebSocket or HTTP URL is FAILED with why; an offer without one keeps the endpoint in use",
	},
	{
		ID: "cs-endpoint-transport", Section: "OpAMPConnectionSettings.destination_endpoint", Level: "(server's MUST)",
		Quote:      "OpAMP Server URL This MUST be a WebSocket or HTTP URL",
		Transports: both, Status: Departs,
		Reason: "an offer may not change the transport: a WebSocket agent takes ws:// and wss:// endpoints only, a polling one http:// and https:// (the transport and its settings, polling interval, reconnect spread, are the local config's); the other kind is FAILED and the agent stays",
	},
	{
		ID: "cs-headers", Section: "OpAMPConnectionSettings.headers; Trust On First Use", Level: "should",
		Quote:      "Optional headers to use when connecting. ... For HTTP-based protocols the Client should set these in the request headers. ... The Server can detect such access and upon approval send the authorization headers to the Client.",
		Transports: both, Status: Pass,
		Reason: "on the WebSocket upgrade and on every HTTP request from the switch on, and after a restart (TOFU: an agent with no header gets one)",
	},
	{
		ID: "cs-headers-replace", Section: "OpAMPConnectionSettings.headers; ConnectionSettingsOffers.opamp", Level: "(semantics)",
		Quote:      "Optional headers to use when connecting. ... If this field is not set then the Client should assume that the settings are unchanged and should continue using existing settings.",
		Transports: both, Status: Departs,
		Reason: "offered headers are set name by name over the ones in use (the local config's included): a header the offer leaves out keeps its value, and no offer can remove one. The specification does not say whether headers replace or add; merging keeps an offer that rotates one token from dropping the others",
	},
	{
		ID: "cs-certificate", Section: "OpAMPConnectionSettings.certificate; Agent-initiated CSR Flow", Level: "SHOULD",
		Quote:      "If the Client is able to validate and connect using the offered certificate the Client SHOULD forget any previous client certificates for this connection. ... the Agent removes the bootstrap certificate if one was used and uses the new certificate for future connections.",
		Transports: both, Status: Pass,
		Reason: "the offered certificate replaces the local one (the bootstrap) on every later connection, and after a restart",
	},
	{
		ID: "cs-certificate-omitted", Section: "OpAMPConnectionSettings.certificate", Level: "SHOULD NOT",
		Quote:      "This field is optional: if omitted the client SHOULD NOT use a client-side certificate.",
		Transports: both, Status: Departs,
		Reason: "an offer without certificate keeps the client certificate in use: servers send offers of headers or a heartbeat alone, and reading those as \"no client certificate\" would fail every such offer to an agent on mutual TLS",
	},
	{
		ID: "cs-tls-forget", Section: "TLSConnectionSettings Message", Level: "SHOULD",
		Quote:      "If the Agent is able to validate the connection settings, the Agent SHOULD forget any previous TLS settings. If this message is not included, the client SHOULD assume the settings are unchanged and continue using existing settings.",
		Transports: both, Status: Departs,
		Reason: "an offered tls message sets the fields it carries (ca_pem_contents, min_version, max_version, cipher_suites; insecure_skip_verify as offered) over the TLS in use: a CA or client certificate it leaves out stays. proto3 cannot tell a field left out from one set empty, and forgetting the CA an offer did not name would fail it against a server on a private CA. Without the message the TLS in use is unchanged",
	},
	{
		ID: "csr-server-capability", Section: "ServerCapabilities.AcceptsConnectionSettingsRequest; Interoperability of Partial Implementations", Level: "MUST",
		Quote:      "AcceptsConnectionSettingsRequest: The Server can accept ConnectionSettingsRequest and respond with an offer. ... the Agent MUST stop using the capabilities that the Server does not support.",
		Transports: both, Status: Pass,
		Reason: "with connection_settings.certificate_request, a CSR goes only to a server that set AcceptsConnectionSettingsRequest",
	},
	{
		ID: "csr-agent-key", Section: "Agent-initiated CSR Flow; CertificateRequest.csr", Level: "(flow, steps 2 and 7)",
		Quote:      "The Agent generates a keypair and a Certificate Signing Request (CSR). ... The private_key field will not be set, since in this flow the Agent possesses the private key and the Server does not possess it.",
		Transports: both, Status: Pass,
		Reason: "a PEM CSR signed by a key made on the agent; no message carries a private key; the certificate offered without private_key is completed with the agent's key and presented over mutual TLS",
	},
	{
		ID: "csr-renew", Section: "Agent-initiated CSR Flow", Level: "MAY",
		Quote:      "The exact same flow may be used by the Agent to re-request a new certificate anytime. For example the Agent may do it when the current certificate expiration date approaches. ... the Agent removes the bootstrap certificate if one was used and uses the new certificate for future connections.",
		Transports: both, Status: Pass,
		Reason: "with connection_settings.certificate_request, when the client certificate in use ends within certificate_renew_before (720h by default), checked on every new connection (a polling agent's: after a failed poll) and hourly. A client certificate the local config names (a bootstrap one) is not seen, so it is always taken as none: a CSR goes at once (reported)",
	},
	{
		ID: "csr-tls", Section: "Agent-initiated CSR Flow", Level: "SHOULD",
		Quote:      "The Client connects to the Server. The Client SHOULD use regular TLS and validate the Server's identity.",
		Transports: both, Status: Departs,
		Reason: "the CSR goes over the connection the local config names, ws:// and http:// included: TLS and verifying the server are the config's (server.*.tls); a CSR and the certificate that answers it carry no secret, the key never leaves the agent",
	},
}

// ownTelemetryRules are Own Telemetry Reporting's: a real Collector
// exports its own telemetry, which this package does not run; their tests
// are the root package's and internal/remoteconfig's (CoveredBy).
var ownTelemetryRules = []Rule{
	{
		ID: "own-telemetry-destination", Section: "Own Telemetry Reporting", Level: "SHOULD",
		Quote:     "The Agent SHOULD periodically report its metrics to the destination offered in the own_metrics field. ... Similarly, the Agent SHOULD report its traces to the destination offered in the own_traces field and logs to the destination offered in the own_logs field.",
		CoveredBy: ".:TestOwnMetricsWhereTheServerAsks", Status: Pass,
		Reason: "with capabilities.reports_own_metrics (_logs, _traces), over OTLP/HTTP, every connection_settings.own_metrics_interval (1 min by default, the OTLP reader's; the specification recommends 10 s); the test proves metrics and TestOwnLogsWhereTheServerAsks logs (each decoded at the offered endpoint, from a real Collector); traces take the same layer, their translation tested in internal/remoteconfig",
	},
	{
		ID: "own-telemetry-status", Section: "Own Telemetry Reporting", Level: "SHOULD",
		Quote:     "If the Agent has the ReportsConnectionSettingsStatus capability it SHOULD set the connection_settings_status accordingly when new settings are received.",
		CoveredBy: ".:TestOwnMetricsWhereTheServerAsks", Status: Pass,
		Reason: "APPLIED once the Collector runs with the destination, FAILED with why when it cannot",
	},
	{
		ID: "own-telemetry-unchanged", Section: "Own Telemetry Reporting", Level: "SHOULD",
		Quote:     "When the Agent receives a ServerToAgent with an unset connection_settings field the Agent SHOULD continue sending its telemetry to the previously offered destination.",
		CoveredBy: "internal/remoteconfig:TestOwnMetricsInProcess", Status: Pass,
		Reason: "a message without connection_settings reaches no own-telemetry code; the test shows the accepted destination kept through a later offer that FAILED",
	},
	{
		ID: "own-telemetry-identifying-resource", Section: "AgentDescription.identifying_attributes", Level: "SHOULD",
		Quote:     "The Agent SHOULD also include these attributes in the Resource of its own telemetry.",
		CoveredBy: ".:TestOwnTelemetryCarriesInstanceUID", Status: Pass,
		Reason: "service.name and service.version come from the Collector's resource in both; while a destination is on, the own-telemetry layer sets service::telemetry::resource::service.instance.id to the instance uid unless the config sets one; the test decodes it from the metrics at the offered endpoint and sees the uid kept when the destination is removed",
	},
	{
		ID: "own-telemetry-process-semconv", Section: "Own Telemetry Reporting", Level: "MUST",
		Quote:     "Reported process metrics MUST follow the OpenTelemetry conventions for processes.",
		CoveredBy: ".:TestOwnMetricsWhereTheServerAsks", Status: Departs,
		Reason: "the metrics are the Collector's own (otelcol_process_cpu_seconds, otelcol_process_memory_rss...), named by core's service telemetry, not process.cpu.time and the other semantic conventions; the test finds an otelcol_ metric at the offered endpoint",
	},
}

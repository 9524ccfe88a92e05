// Package conformance is the catalogue of the OpAMP specification's rules
// that bind a Client, checked against internal/opampclient: each rule has
// its section, its sentence, the transports it applies to and its status,
// and (unless it does not apply) a test of the same name in this
// package's TestConformance, run over real sockets against a server
// written from the specification (internal/testserver's Raw). CONFORMANCE.md
// is generated from this list (make conformance).
package conformance

import "slices"

// Status is how the client stands with a rule.
type Status string

// Statuses.
const (
	// Pass: the client follows the rule; its test proves it.
	Pass Status = "pass"
	// NotApplicable: the rule binds a capability the agent does not have.
	NotApplicable Status = "not applicable"
	// Departs: the client departs from the rule on purpose; Reason says
	// why, and the test proves what it does instead.
	Departs Status = "departs"
)

// Transport names where a rule applies.
type Transport string

// Transports.
const (
	WS   Transport = "websocket"
	HTTP Transport = "http"
)

var (
	both   = []Transport{WS, HTTP}
	wsOnly = []Transport{WS}
	http1  = []Transport{HTTP}
)

// Rule is one rule of the specification that binds a Client.
type Rule struct {
	// ID names the rule's test: TestConformance/<ID>/<transport>.
	ID string
	// Section is the specification's heading the sentence is under.
	Section string
	// Level is the rule's keyword (MUST, SHOULD, ...).
	Level string
	// Quote is the rule's sentence, shortened with "..." where long.
	Quote string
	// Transports the rule applies to; nil for a rule that does not apply.
	Transports []Transport
	// CoveredBy names a test in another package, "<dir>:<TestName>" (dir
	// from the module root), for a rule this package cannot exercise (it
	// needs a running Collector); such a rule has no transports and no
	// check here.
	CoveredBy string
	Status    Status
	// Reason explains a departure or why a rule does not apply; for a
	// rule that passes, an optional note.
	Reason string
}

// Rules is the catalogue, in the order of the specification.
var Rules = slices.Concat(messageRules, connectionSettingsRules, heartbeatRules, ownTelemetryRules, laterRules)

// messageRules run from the transports to the status report.
var messageRules = []Rule{
	{
		ID: "ws-header-zero", Section: "WebSocket Message Format", Level: "SHOULD",
		Quote:      "decoders ... SHOULD check that the value of the `header` is equal to 0 and if it is not SHOULD assume that the WebSocket message is malformed",
		Transports: wsOnly, Status: Pass,
		Reason: "the client also sends binary messages with header 0 only",
	},
	{
		ID: "ws-inbound-limit", Section: "WebSocket Message Size Limits", Level: "MUST",
		Quote:      "The Client MUST enforce a size limit when receiving OpAMP WebSocket messages ... the Client MUST treat the message as malformed",
		Transports: wsOnly, Status: Pass,
	},
	{
		ID: "ws-inbound-limit-1009", Section: "WebSocket Message Size Limits", Level: "SHOULD",
		Quote:      "SHOULD close the WebSocket connection with status code 1009 (Message Too Big)",
		Transports: wsOnly, Status: Pass,
		Reason: "after AgentDisconnect, as for every reconnection; the full state follows on the next connection",
	},
	{
		ID: "limits-configurable", Section: "WebSocket Message Size Limits; Plain HTTP Message Size Limits", Level: "SHOULD",
		Quote:      "Implementations SHOULD allow these limits to be configured.",
		Transports: both, Status: Pass,
		Reason: "server.*.max_message_size (inbound) and server.*.max_send_size (outbound), 64 MiB by default",
	},
	{
		ID: "outbound-limit", Section: "WebSocket Message Size Limits; Plain HTTP Message Size Limits", Level: "SHOULD / MUST NOT",
		Quote:      "The Client SHOULD limit the size of ... AgentToServer messages before sending them ... If the limit is exceeded, the Client MUST NOT send the message and SHOULD record the fact that the message was discarded.",
		Transports: both, Status: Pass,
		Reason: "the report that does not fit (effective config first) is left out and the rest is sent: the server still learns the description and health; one warning per kind, and otelcol.opamp.reports_discarded counts it",
	},
	{
		ID: "heartbeat-capability", Section: "WebSocket Message Exchange", Level: "SHOULD",
		Quote:      "If the Client is capable of sending heartbeats the Client SHOULD set ReportsHeartbeat capability.",
		Transports: both, Status: Departs,
		Reason: "the capability follows capabilities.reports_heartbeat, whose default follows contrib's feature gate (off): a fleet moving from contrib's extension sees the same capabilities; the WebSocket heartbeat is sent either way",
	},
	{
		ID: "heartbeat-interval", Section: "WebSocket Message Exchange", Level: "SHOULD",
		Quote:      "If ReportsHeartbeat capability is set the Client SHOULD send heartbeats periodically. The interval between the heartbeats SHOULD be 30 seconds, unless a different value is configured ... or ... offered by the Server",
		Transports: both, Status: Pass,
	},
	{
		ID: "http-poll", Section: "Plain HTTP Transport", Level: "MUST",
		Quote:      "If the Agent has nothing to deliver to the Server the Client MUST periodically poll the Server by sending an AgentToServer message where only instance_uid field is set.",
		Transports: http1, Status: Departs,
		Reason: "a poll also carries capabilities and sequence_num: \"AgentToServer.capabilities ... MUST be always set\" contradicts \"only instance_uid\", and without sequence_num a server could not detect a lost message; a poll carries no status",
	},
	{
		ID: "http-poll-configurable", Section: "Plain HTTP Transport", Level: "SHOULD",
		Quote:      "This polling interval SHOULD be configurable on the Client.",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-poll-heartbeat", Section: "Plain HTTP Transport; OpAMPConnectionSettings.heartbeat_interval_seconds", Level: "SHOULD / MUST",
		Quote:      "An HTTP-based client MUST use the heartbeat interval as its polling interval.",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-one-request", Section: "Plain HTTP Transport", Level: "MUST",
		Quote:      "the Client MUST wait until the response is received before a new request can be made",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-content-type", Section: "Plain HTTP Transport", Level: "MUST",
		Quote:      "The Client MUST set \"Content-Type: application/x-protobuf\" request header when using plain HTTP transport.",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-gzip", Section: "Plain HTTP Transport", Level: "MUST",
		Quote:      "The Client MAY compress the request body using gzip method and MUST specify \"Content-Encoding: gzip\" in that case.",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-instance-uid-header", Section: "Plain HTTP Transport", Level: "SHOULD",
		Quote:      "The Client SHOULD set \"OpAMP-Instance-UID\" request header to the value of the instance_uid field encoded in canonical string representation of the UUID",
		Transports: http1, Status: Pass,
	},
	{
		ID: "http-413", Section: "Plain HTTP Message Size Limits", Level: "MUST NOT",
		Quote:      "the Server MUST respond with `HTTP 413 Content Too Large`, after which the Client MUST NOT retry the same request.",
		Transports: http1, Status: Pass,
		Reason: "the client takes the refused size as the server's limit and sends the state without the report that does not fit; over WebSocket a server's close with 1009 is read the same way",
	},
	{
		ID: "ws-server-1009", Section: "WebSocket Message Size Limits", Level: "(server's MUST)",
		Quote:      "If the limit is exceeded, the Server MUST treat the message as malformed and SHOULD close the WebSocket connection with status code 1009 (Message Too Big).",
		Transports: wsOnly, Status: Pass,
		Reason: "the client's side of it: the largest message on that connection is taken as over the server's limit, and the next connection sends the state without the report that does not fit, once, not in a loop",
	},
	{
		ID: "http-inbound-limit", Section: "Plain HTTP Message Size Limits", Level: "MUST",
		Quote:      "If the limit is exceeded, the Client MUST treat the response as failed, MUST NOT process the oversized response body, and SHOULD record the fact that the response was discarded.",
		Transports: http1, Status: Pass,
	},
	{
		ID: "instance-uid", Section: "AgentToServer.instance_uid", Level: "MUST / SHOULD",
		Quote:      "The instance_uid MUST be 16 bytes long ... The instance_uid SHOULD remain unchanged for the lifetime of the Agent process.",
		Transports: both, Status: Pass,
		Reason: "the extension generates a UUID v7 (internal/instanceuid)",
	},
	{
		ID: "request-instance-uid", Section: "AgentToServer.instance_uid", Level: "MUST",
		Quote:  "In case the Agent wants to use an identifier generated by the Server, the field SHOULD be set with a temporary value and RequestInstanceUid flag MUST be set.",
		Status: NotApplicable,
		Reason: "the agent never asks the server for an identifier (it accepts one the server assigns)",
	},
	{
		ID: "sequence-num", Section: "AgentToServer.sequence_num", Level: "(definition)",
		Quote:      "The sequence number is incremented by 1 for every AgentToServer message sent by the Client.",
		Transports: both, Status: Pass,
		Reason: "a failed HTTP attempt (no answer, an error status, 413) does not use up a number; a message the server received, even one it refused as UNAVAILABLE, does",
	},
	{
		ID: "unchanged-unset", Section: "AgentToServer.agent_description, .effective_config", Level: "SHOULD",
		Quote:      "This field SHOULD be unset if this information is unchanged since the last AgentToServer message.",
		Transports: both, Status: Pass,
	},
	{
		ID: "capabilities", Section: "AgentToServer.capabilities", Level: "MUST",
		Quote:      "All bits that are not defined in AgentCapabilities enum MUST be set to 0 by the Client. ... This field MUST be always set.",
		Transports: both, Status: Pass,
		Reason: "ReportsStatus is always set (\"This bit MUST be set\"); the same check covers Interoperability's reserved bits",
	},
	{
		ID: "ignore-unsupported", Section: "AgentToServer.capabilities", Level: "SHOULD",
		Quote:      "If the server sends a part of its messages corresponding to a capability the Agent doesn't support, the Agent SHOULD ignore it.",
		Transports: both, Status: Pass,
	},
	{
		ID: "disconnect-last", Section: "AgentToServer.agent_disconnect", Level: "MUST",
		Quote:      "AgentDisconnect MUST be set in the last AgentToServer message sent from the Client to the Server.",
		Transports: both, Status: Pass,
	},
	{
		ID: "no-report-without-change", Section: "ServerToAgent Message; Status Reporting", Level: "SHOULD NOT / MUST NOT",
		Quote:      "The Client SHOULD NOT send any status reports at all if the status of the Agent did not change as a result of processing.",
		Transports: both, Status: Pass,
		Reason: "a ReportAvailableComponents flag while that capability is off, a repeated heartbeat offer, an error response: nothing is sent",
	},
	{
		ID: "new-instance-uid", Section: "ServerToAgent.agent_identification", Level: "MUST",
		Quote:      "When new_instance_uid is set, Agent MUST update instance_uid to the value provided and use it for all further communication.",
		Transports: both, Status: Pass,
	},
	{
		ID: "status-first", Section: "Status Reporting; Establishing Connection", Level: "MUST",
		Quote:      "The status report MUST be the first message sent by the Client.",
		Transports: both, Status: Pass,
		Reason: "on every connection, and before a goodbye: a client stopped before its first report sends the report with AgentDisconnect set",
	},
	{
		ID: "status-on-change", Section: "Status Reporting", Level: "MUST",
		Quote:      "The Client MUST send a status report ... Subsequently, every time the status of the Agent changes.",
		Transports: both, Status: Pass,
	},
	{
		ID: "changed-submessage-whole", Section: "Agent Status Compression", Level: "MUST",
		Quote:      "If any of the fields in the sub-message has changed then the compression cannot be used for that particular sub-message and the sub-message with all its relevant fields MUST be present.",
		Transports: both, Status: Pass,
	},
	{
		ID: "report-full-state", Section: "ServerToAgent.flags", Level: "(flag)",
		Quote:      "The Server asks the Agent to report the full status again by sending a new, full AgentToServer message.",
		Transports: both, Status: Pass,
	},
	{
		ID: "health-start-time", Section: "ComponentHealth.start_time_unix_nano; ComponentHealth.last_error", Level: "MUST / SHOULD",
		Quote:      "If the agent is not running MUST be set to 0. ... [last_error] SHOULD be set when healthy==false.",
		Transports: both, Status: Pass,
		Reason: "the tree is built by internal/health; this test checks that the client carries it unchanged",
	},
	{
		ID: "health-attributes", Section: "ComponentHealth.attributes", Level: "(field)",
		Quote:     "Additional context or metadata for the observed component's status.",
		CoveredBy: ".:TestHealthAttributesReachServer", Status: Pass,
		Reason: "a status event's attributes (componentstatus.WithAttributes) go on its component's leaf, sorted by key, scalars typed; opamp-go v0.23.0 predates the field (added June 2026), so they travel as field 7 in the message's unknown fields, which servers on newer protobufs read and older ones keep; the test decodes them at a real server",
	},
}

// heartbeatRules are OpAMPConnectionSettings.heartbeat_interval_seconds's.
var heartbeatRules = []Rule{
	{
		ID: "heartbeat-offer", Section: "OpAMPConnectionSettings.heartbeat_interval_seconds", Level: "MUST",
		Quote:      "If the ReportsHeartbeat capability is true, the Client MUST use the offered heartbeat interval to periodically send an AgentToServer message.",
		Transports: both, Status: Pass,
	},
	{
		ID: "heartbeat-offer-zero", Section: "OpAMPConnectionSettings.heartbeat_interval_seconds", Level: "should",
		Quote:      "If the capability is true and the Server sets heartbeat_interval_seconds to 0, Agent heartbeats should be disabled.",
		Transports: both, Status: Departs,
		Reason: "proto3 cannot tell 0 from an absent field, and servers send offers that carry only headers (contrib's Supervisor turned heartbeats off on such offers, contrib PR #50305): an offered 0 keeps the interval in use, so no offer silences an agent by accident (over HTTP it would stop polling for good)",
	},
	{
		ID: "heartbeat-uid", Section: "OpAMPConnectionSettings.heartbeat_interval_seconds", Level: "MUST",
		Quote:      "At a minimum the `AgentToServer.instance_uid` field MUST be set in the heartbeats.",
		Transports: both, Status: Pass,
	},
	{
		ID: "heartbeat-from-last", Section: "OpAMPConnectionSettings.heartbeat_interval_seconds", Level: "must",
		Quote:      "The Agent must count heartbeating interval from the last AgentToServer message sent.",
		Transports: both, Status: Pass,
	},
}

// laterRules follow Own Telemetry Reporting.
var laterRules = []Rule{
	{
		ID: "remote-config", Section: "Configuration", Level: "MUST",
		Quote:      "The OpAMP Client MUST set the AcceptsRemoteConfig bit of AgentToServer.capabilities if the Agent is capable of accepting remote configuration.",
		Transports: both, Status: Pass,
		Reason: "with accepts_remote_config; without it the bit is off and an offered config is ignored",
	},
	{
		ID: "remote-config-status", Section: "AgentToServer.remote_config_status", Level: "SHOULD",
		Quote:      "This field SHOULD be unset if this information is unchanged since the last AgentToServer message.",
		Transports: both, Status: Pass,
		Reason: "sent when it changes and in every full state",
	},
	{
		ID: "effective-config-capability", Section: "Configuration", Level: "MUST / SHOULD NOT",
		Quote:      "The Client MUST set the ReportsEffectiveConfig bit ... if the Agent is capable of reporting effective configuration. ... the Client SHOULD NOT send AgentToServer message if the Effective Configuration ... [is] unchanged.",
		Transports: both, Status: Pass,
	},
	{
		ID: "packages", Section: "Packages", Level: "MUST / SHOULD",
		Quote:  "The Client MUST always include all packages the Agent has or is processing",
		Status: NotApplicable,
		Reason: "the agent advertises neither AcceptsPackages nor ReportsPackageStatuses",
	},
	{
		ID: "components-hash", Section: "AvailableComponents.hash; Initial Handshake; AgentToServer.available_components", Level: "MUST / SHOULD",
		Quote:      "The agent MUST include this hash if it has the ability to report the components it has available. ... The initial AgentToServer message SHOULD contain the AvailableComponents message with just the agent computed hash set.",
		Transports: both, Status: Pass,
		Reason: "the full map only when the server sets ReportAvailableComponents, and only with the capability on",
	},
	{
		ID: "connect-backoff", Section: "Establishing Connection", Level: "SHOULD",
		Quote:      "If the Client is unable to establish a connection to the Server it SHOULD retry connection attempts and use exponential backoff strategy with jitter",
		Transports: both, Status: Pass,
	},
	{
		ID: "connect-throttling", Section: "Establishing Connection; Throttling (Plain HTTP Transport)", Level: "SHOULD",
		Quote:      "When retrying connection attempts the Client SHOULD honour any throttling responses it receives from the Server.",
		Transports: both, Status: Pass,
		Reason: "503 and 429 with Retry-After, in seconds or as a date; no heartbeat or poll goes out meanwhile",
	},
	{
		ID: "ws-close", Section: "Closing Connection (WebSocket Transport, OpAMP Client Initiated)", Level: "MUST",
		Quote:      "To close a connection the Client MUST first send an AgentToServer message with agent_disconnect field set. The Client MUST then send a WebSocket Close control frame",
		Transports: wsOnly, Status: Pass,
	},
	{
		ID: "http-disconnect", Section: "Closing Connection (Plain HTTP Transport)", Level: "SHOULD",
		Quote:      "the Client SHOULD include the agent_disconnect field in the last AgentToServer message when the Client is shutting down",
		Transports: http1, Status: Pass,
		Reason: "when the last poll was answered: a server that is not answering would hold every shutdown for a courtesy its own timeout gives",
	},
	{
		ID: "http-disconnect-switch", Section: "Closing Connection (Plain HTTP Transport)", Level: "SHOULD",
		Quote:      "the Client SHOULD include the agent_disconnect field in the last AgentToServer message ... when the Client is about to use new OpAMP connection settings",
		Transports: http1, Status: Departs,
		Reason: "the offered settings are tried with a poll before the agent switches to them, so when it leaves the old settings its server already has it on the new ones; an offer of new headers or a certificate is most often the same server, which a goodbye then would mark disconnected until the next poll, up to a polling interval (as over WebSocket, see cs-disconnect-first). On shutdown the goodbye goes (http-disconnect)",
	},
	{
		ID: "ws-reconnect", Section: "Restoring WebSocket Connection", Level: "SHOULD",
		Quote:      "If an established WebSocket connection is broken (disconnected) unexpectedly the Client SHOULD immediately try to re-connect.",
		Transports: wsOnly, Status: Departs,
		Reason: "the first redial waits a random time within server.ws.reconnect_spread (5 s by default; 0 redials at once): a fleet whose server restarts comes back spread out, not in one second",
	},
	{
		ID: "ws-reconnect-backoff", Section: "Restoring WebSocket Connection", Level: "SHOULD",
		Quote:      "If the re-connection fails the Client SHOULD continue connection attempts with backoff",
		Transports: wsOnly, Status: Pass,
	},
	{
		ID: "ws-one-connection", Section: "Duplicate WebSocket Connections", Level: "SHOULD / MUST",
		Quote:      "Each Client instance SHOULD connect no more than once to the Server. If the Client needs to re-connect ... the Client MUST ensure that it sends an AgentDisconnect message first, then closes the existing connection and only then attempts to connect again.",
		Transports: wsOnly, Status: Pass,
		Reason: "also after an unanswered keep-alive ping, an UNAVAILABLE answer and an oversized server message, where the connection still takes a write",
	},
	{
		ID: "bad-request", Section: "Bad Request", Level: "SHOULD NOT",
		Quote:      "The Client SHOULD NOT retry sending an AgentToServer message to which it received a BAD_REQUEST response.",
		Transports: both, Status: Pass,
	},
	{
		ID: "unavailable", Section: "Throttling (WebSocket Transport)", Level: "SHOULD",
		Quote:      "The Client SHOULD disconnect, wait, then reconnect again and resume its operation. ... retry_after_nanoseconds field specifying how long the Client SHOULD wait before reconnecting",
		Transports: both, Status: Pass,
		Reason: "the state the refused message carried is sent again; over HTTP the refused poll is retried after the wait",
	},
	{
		ID: "unavailable-backoff", Section: "Throttling (WebSocket Transport)", Level: "SHOULD",
		Quote:      "If retry_info is not set then the Client SHOULD implement an exponential backoff strategy to gradually increase the interval between retries.",
		Transports: both, Status: Pass,
	},
	{
		ID: "server-capabilities", Section: "Interoperability of Partial Implementations", Level: "MUST",
		Quote:      "after the Agent learns about the capabilities of the Server the Agent MUST stop using the capabilities that the Server does not support.",
		Transports: both, Status: Pass,
		Reason: "effective config goes only to a server that sets AcceptsEffectiveConfig, or sets no capabilities at all (opamp-go's server sets none unless told)",
	},
	{
		ID: "ws-redirect", Section: "(interoperability: opamp-go's client follows WebSocket redirects)", Level: "—",
		Quote:      "a 3xx answer to the WebSocket upgrade is followed to its Location",
		Transports: wsOnly, Status: Pass,
		Reason: "not a rule of the specification; servers behind a redirect work with opamp-go's client and must work with ours",
	},
	{
		ID: "http-redirect", Section: "(interoperability: net/http's client follows redirects)", Level: "—",
		Quote:      "a 307 or 308 answer to a poll is followed to its Location with the same message; a 301, 302 or 303, which would turn the POST into a bodiless GET, fails the poll",
		Transports: http1, Status: Pass,
		Reason: "not a rule of the specification; a plain net/http client would follow a 302 with a GET that no OpAMP server answers",
	},
}

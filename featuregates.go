package opampextension

import "go.opentelemetry.io/collector/featuregate"

// Contrib's extension registers these two gates. A Collector refuses to
// start when --feature-gates names a gate nobody registered, so a drop-in
// must register them too, or a command line written for contrib stops the
// Collector.
var (
	// heartbeatNegotiationGate, as in contrib, makes reports_heartbeat
	// default to true.
	heartbeatNegotiationGate = featuregate.GlobalRegistry().MustRegister(
		"extension.opampextension.HeartbeatIntervalNegotiation",
		featuregate.StageAlpha,
		featuregate.WithRegisterDescription("When enabled, the opamp extension defaults capabilities.reports_heartbeat to true."),
		featuregate.WithRegisterFromVersion("v0.0.1"),
	)
	// RemoteRestarts is accepted for compatibility only: contrib needs it
	// before accepts_restart_command may be set; here that key works on
	// its own, so the gate changes nothing.
	_ = featuregate.GlobalRegistry().MustRegister(
		"extension.opampextension.RemoteRestarts",
		featuregate.StageAlpha,
		featuregate.WithRegisterDescription("Accepted for compatibility with contrib's opamp extension; capabilities.accepts_restart_command works without it."),
		featuregate.WithRegisterFromVersion("v0.0.1"),
	)
)

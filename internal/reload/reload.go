// Package reload lets the extension honour the OpAMP Restart command by
// asking the Collector to reload itself.
//
// The Collector (otelcol v0.164 Collector.Run) reloads on SIGHUP: it shuts
// the service down, resolves the configuration again and builds a new
// service, extensions included. Self sends that signal to this process.
//
// Timing matters. otelcol calls signal.Notify for SIGHUP only after the
// first service has started (after every extension's Start and after
// PipelineWatcher.Ready). Before that, Go's default action for SIGHUP ends
// the process. Self therefore installs its own SIGHUP subscription first,
// which disables that default: a SIGHUP sent too early is lost instead of
// killing the Collector. Callers must still not call Self during Start;
// restarts requested before the Collector runs should be deferred until
// the pipelines are ready. Once installed, otelcol's subscription stays for
// the whole Run, so a SIGHUP arriving during a reload is queued and causes
// one more reload when it is done.
package reload // import "github.com/opampext/opampextension/internal/reload"

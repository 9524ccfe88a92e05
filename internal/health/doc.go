// Package health turns the Collector's component status events into the
// OpAMP ComponentHealth tree and hands it to a Sink only when the tree
// actually changed.
//
// The service calls extensioncapabilities.ComponentStatusWatcher synchronously on the path every
// component reports through, start-up included, so the event path only
// updates a small in-memory table under a mutex and pokes a one-slot wake-up
// channel; a single goroutine builds the tree and calls the Sink. Repeated
// identical events (a memory_limiter re-reporting StatusOK) change nothing
// and therefore send nothing. Before Ready the goroutine lets changes
// gather for startupHold, and Ready sends the healthy tree itself, so a
// start-up's Starting/OK events do not each become a message.
//
// Tree layout:
//
//	root                          healthy, status, start_time = Settings.StartTime
//	├── "pipeline:<pipeline id>"  one per pipeline, e.g. "pipeline:traces/in"
//	│   └── "<kind>:<component>"  e.g. "receiver:otlp", "processor:batch",
//	│                             "exporter:debug", "connector:forward"
//	└── "extensions"
//	    └── "extension:<id>"
//
// An instance shared by several pipelines (a receiver, a connector) appears
// under each of them.
//
// Leaf: healthy iff its status is StatusOK; status is Status.String();
// last_error is the event's error text; start_time is when the instance was
// first seen; status_time is the event timestamp of the last change of
// (status, error text, attributes), so repeats leave it untouched;
// attributes are the event's (attributes.go).
//
// Pipeline and "extensions" nodes: healthy iff every child is healthy;
// status and last_error are those of the worst child; start_time is the
// earliest child start; status_time is the latest child change.
//
// Severity, worst first: StatusFatalError, StatusPermanentError,
// StatusRecoverableError, StatusStopping, StatusStopped, StatusStarting,
// StatusNone, StatusOK. Errors need an operator and so outrank lifecycle
// states; a component still stopping may hang, one that stopped is settled;
// starting is the expected transient. StatusNone (never sent by the service)
// ranks just above OK so that "status is OK" always implies "healthy". Ties
// prefer a child with an error text, then the smaller key, so output is
// deterministic.
//
// Root: healthy iff Ready was called, NotReady was not called since, and
// every node is healthy. Its status is "StatusStarting" before Ready,
// "StatusStopping" after NotReady, otherwise the worst node status (StatusOK
// with no components). last_error is the worst node's error in every phase,
// so a start-up failure is visible before Ready. status_time is the latest of
// the last change of the root's own (healthy, status) and any child change.
package health

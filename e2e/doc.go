// Package e2e holds the end-to-end suite of the otelcol-opamp distro: the
// real OpAMP Supervisor (contrib cmd/opampsupervisor) driving the distro
// against an in-test OpAMP server, and the distro connecting on its own.
// The tests carry the build tag e2e, so `go test ./...` skips them; run
// them with e2e/run.sh (or `make e2e`), which builds the binaries first.
package e2e

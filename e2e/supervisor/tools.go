//go:build tools

// Package supervisor pins contrib's OpAMP Supervisor so that it can be built
// from this module: `go install` of it fails because its go.mod has replace
// directives, but a blank import in a wrapper module builds fine.
package supervisor

import _ "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/opampsupervisor"

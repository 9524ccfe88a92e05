// Package echoext is a test-only extension that proves OpAMP custom
// messages reach a Collector component and its replies reach the server:
// it registers the custom capability io.opampext.echo with the opamp
// extension and answers every message with a message of type "echo"
// carrying the same data. The e2e suite bundles it into a second distro.
package echoext // import "github.com/opampext/opampextension/e2e/echoext"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
)

const (
	// Capability is the custom capability the extension registers.
	Capability = "io.opampext.echo"
	// ReplyType is the message type of every reply.
	ReplyType = "echo"
)

var componentType = component.MustNewType("opampecho")

// NewFactory returns the factory of the `opampecho` extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(componentType, createDefaultConfig, createExtension, component.StabilityLevelDevelopment)
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newEcho(cfg.(*Config), set.Logger), nil
}

package echoext

import (
	"errors"

	"go.opentelemetry.io/collector/component"
)

// Config names the extension that provides the custom capability registry.
type Config struct {
	// OpAMPExtension is the ID of the opamp extension to register with.
	OpAMPExtension component.ID `mapstructure:"opampextension"`

	// prevent unkeyed literals
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate rejects an empty extension ID, which could never be found.
func (c *Config) Validate() error {
	if c.OpAMPExtension.Type().String() == "" {
		return errors.New("opampextension: must name the opamp extension, e.g. opamp")
	}
	return nil
}

func createDefaultConfig() component.Config {
	return &Config{OpAMPExtension: component.MustNewID("opamp")}
}

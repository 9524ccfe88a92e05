// Package opampconfmap is the confmap converter a distro registers so that
// the opamp extension can apply remote configuration in-process: on every
// resolve (start-up and every reload) it merges the remote configuration
// in force, and the own-telemetry destinations the server offered, kept in
// the extension's state directory, over the local configuration. It
// changes nothing unless an opamp extension in the config sets
// storage.directory and capabilities.accepts_remote_config or one of
// capabilities.reports_own_metrics, _logs, _traces.
//
// In an ocb manifest:
//
//	converters:
//	  - gomod: github.com/opampext/opampextension v0.0.0
//	    import: github.com/opampext/opampextension/opampconfmap
package opampconfmap // import "github.com/opampext/opampextension/opampconfmap"

import (
	"context"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/remoteconfig"
)

// NewFactory returns the converter's factory.
func NewFactory() confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(set confmap.ConverterSettings) confmap.Converter {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return converter{logger: logger}
	})
}

type converter struct{ logger *zap.Logger }

func (c converter) Convert(ctx context.Context, conf *confmap.Conf) error {
	return remoteconfig.Convert(ctx, conf, c.logger)
}

package remoteconfig

import (
	"sync"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// KeyReportsOwn is the opamp extension's config key of each signal's
// capability (capabilities::reports_own_metrics and so on): with
// storage.directory it enables the own-telemetry layer, with or without
// accepts_remote_config.
func KeyReportsOwn(s Signal) string { return "capabilities::reports_own_" + string(s) }

// ownSignals are the signals the extension's config reports.
func ownSignals(ext *confmap.Conf) []Signal {
	var on []Signal
	for _, s := range signals {
		if truthy(ext.Get(KeyReportsOwn(s))) {
			on = append(on, s)
		}
	}
	return on
}

// targets keeps, per state directory, the target of the last resolve:
// the manager validates a candidate for the same capabilities the
// converter will merge it with.
var (
	targetsMu sync.Mutex
	targets   = map[string]target{}
)

func rememberTarget(t target) {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	targets[t.dir] = t
}

func localTarget(dir string) target {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	return targets[dir]
}

// remotePart is the part of use the converter merges as the remote
// config: none when the config no longer accepts remote config (what an
// earlier run accepted stays on disk, unused).
func (t target) remotePart(use *Config) *Config {
	if !t.remote {
		return &Config{}
	}
	return use.files()
}

// mergeOwn merges the own-telemetry layer of use over conf (local, then
// remote config), for the signals the config reports now. Its certificate
// files are written again when missing (a state directory restored
// without them); when that fails the layer is left out with a warning:
// the Collector runs without it rather than not at all.
func mergeOwn(conf *confmap.Conf, t target, use *Config, logger *zap.Logger) error {
	own := use.own()
	if own.empty() || len(t.own) == 0 {
		return nil
	}
	if err := writeOwnFiles(t.dir, own); err != nil {
		logger.Warn("Cannot write the own telemetry certificates; running without the offered destinations", zap.Error(err))
		return nil
	}
	part := ownPart(conf, own, t.own, t.dir, t.uid)
	if id, ok := part.Get("service::telemetry::resource::" + resourceIDKey).(string); ok {
		noteInjectedID(t.dir, id)
	}
	return conf.Merge(part)
}

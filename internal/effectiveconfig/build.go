package effectiveconfig

import (
	"errors"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/confmap"
)

const (
	// EffectiveConfigKey is the config map key of the effective
	// configuration. The OpAMP Supervisor relays only this key.
	EffectiveConfigKey = ""
	// UnexpandedConfigKey is the config map key of the configuration as
	// written, with ${...} references left unexpanded: "raw", the key
	// contrib's extension uses for it.
	UnexpandedConfigKey = "raw"
	// ContentTypeYAML is the content type of both entries.
	ContentTypeYAML = "text/yaml"
)

var (
	errNilEffective  = errors.New("effective configuration is nil")
	errNilUnexpanded = errors.New("unexpanded configuration is nil but was requested")
)

// Marshal redacts tree and encodes it as YAML. Map keys are sorted, so the
// output is the same byte for byte for equal trees, which lets callers skip
// reporting an unchanged configuration.
func Marshal(tree map[string]any) ([]byte, error) {
	return marshalTree(tree)
}

// Build returns the EffectiveConfig message for a configuration snapshot:
// the redacted effective configuration under EffectiveConfigKey and, when
// includeUnexpanded is set, the redacted unexpanded one under
// UnexpandedConfigKey.
//
// unexpanded is also the source of the effective values: a value expanded
// from a secret-named reference (${env:WEBHOOK_SECRET}, ${file:/run/secrets/
// api_token}) is redacted whatever its key and text, the whole string when
// the reference is embedded in a longer one. When unexpanded is nil only
// the key- and text-based rules of Redact apply to the effective
// configuration, so pass it even when it is not reported.
func Build(effective, unexpanded *confmap.Conf, includeUnexpanded bool) (*protobufs.EffectiveConfig, error) {
	if effective == nil {
		return nil, errNilEffective
	}
	if includeUnexpanded && unexpanded == nil {
		return nil, errNilUnexpanded
	}
	body, raw, err := bodies(effective, unexpanded, includeUnexpanded)
	if err != nil {
		return nil, err
	}
	files := map[string]*protobufs.AgentConfigFile{
		EffectiveConfigKey: {Body: body, ContentType: ContentTypeYAML},
	}
	if includeUnexpanded {
		files[UnexpandedConfigKey] = &protobufs.AgentConfigFile{Body: raw, ContentType: ContentTypeYAML}
	}
	return &protobufs.EffectiveConfig{
		ConfigMap: &protobufs.AgentConfigMap{ConfigMap: files},
	}, nil
}

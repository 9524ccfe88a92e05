package opampextension

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The release every collector module of the manifests is on, and the
// modules the proxy forces off it (each explained in builder-config.yaml).
const (
	coreStable = "v1.71.0"
	coreBeta   = "v0.165.0"
	contrib    = "v0.165.1"
)

var offRelease = map[string]string{
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter":        "v0.161.0",
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver": "v0.160.0",
}

type manifestEntry struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

type manifest struct {
	Extensions, Receivers, Processors, Exporters, Connectors, Providers []manifestEntry
}

func loadManifest(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.FromSlash(path))
	require.NoError(t, err)
	var m manifest
	require.NoError(t, yaml.Unmarshal(data, &m))
	mods := map[string]string{}
	for _, list := range [][]manifestEntry{m.Extensions, m.Receivers, m.Processors, m.Exporters, m.Connectors, m.Providers} {
		for _, c := range list {
			mod, version, ok := strings.Cut(c.GoMod, " ")
			require.True(t, ok, "%s: gomod %q has no version", path, c.GoMod)
			key := mod
			if c.Import != "" {
				key = c.Import
			}
			mods[key] = version
		}
	}
	return mods
}

// TestManifestsOnOneRelease: the distro users copy has every collector
// module at the one release this module is built on.
func TestManifestsOnOneRelease(t *testing.T) {
	for mod, version := range loadManifest(t, "builder-config.yaml") {
		want := ""
		switch {
		case offRelease[mod] != "":
			want = offRelease[mod]
		case strings.HasPrefix(mod, "github.com/open-telemetry/opentelemetry-collector-contrib/"):
			want = contrib
		case strings.HasPrefix(mod, "go.opentelemetry.io/collector/confmap/provider/"):
			want = coreStable
		case strings.HasPrefix(mod, "go.opentelemetry.io/collector/"):
			want = coreBeta
		default:
			continue
		}
		assert.Equal(t, want, version, mod)
	}
}

// TestManifestsInStep: the e2e distro is the user's distro plus the echo
// extension, and the benchmark baseline is it minus this extension.
func TestManifestsInStep(t *testing.T) {
	const self = "github.com/opampext/opampextension"
	main := loadManifest(t, "builder-config.yaml")
	require.Contains(t, main, self)

	e2e := loadManifest(t, "e2e/builder-config.yaml")
	delete(e2e, self+"/e2e/echoext")
	assert.Equal(t, main, e2e, "e2e/builder-config.yaml")

	baseline := loadManifest(t, "bench/distros/baseline/builder-config.yaml")
	withoutSelf := map[string]string{}
	for mod, v := range main {
		if mod != self {
			withoutSelf[mod] = v
		}
	}
	assert.Equal(t, withoutSelf, baseline, "bench/distros/baseline/builder-config.yaml")

	// Contrib's benchmark distro carries the same component types.
	contribDistro := loadManifest(t, "bench/distros/contrib/builder-config.yaml")
	assert.Equal(t, componentNames(withoutSelf), componentNames(contribDistro, "opampextension"))
}

// componentNames is the set of module base names, less the skipped ones.
func componentNames(mods map[string]string, skip ...string) []string {
	var names []string
	for mod := range mods {
		if name := filepath.Base(mod); !slices.Contains(skip, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

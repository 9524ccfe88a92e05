package remoteconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/opampext/opampextension/internal/instanceuid"
	"github.com/opampext/opampextension/internal/persist"
)

// The own-telemetry layer is merged last, over the local configuration
// and the remote configuration (core v0.165.0's service::telemetry
// schema, otelconf v0.3.0): each destination is one more entry in the
// lists the config below it has,
//
//	metrics: readers:    [..., {periodic: {exporter: {otlp: {protocol: http/protobuf, endpoint, headers, ...}}}}]
//	logs:    processors: [..., {batch: {exporter: {otlp: ...}}}]
//	traces:  processors: [..., {batch: {exporter: {otlp: ...}}}]
//
// so the user's own readers and processors keep working. Where the
// config sets no metric readers, the Collector's default (Prometheus on
// localhost:8888) is kept beside the new one; a metrics or traces level of
// none is raised to the Collector's default (normal, basic), since with
// none the Collector builds no exporter at all and the server would
// receive nothing although the agent advertises it reports them.

// ownFilePrefix names the layer's certificate files in the state directory.
const ownFilePrefix = "own-"

// telemetryKey is where the layer writes.
const telemetryKey = "service::telemetry"

// defaultReaders are the metric readers the Collector uses when its config
// sets none, read from core's own default so they stay in step with it.
var defaultReaders = sync.OnceValue(func() []any {
	c := confmap.New()
	if err := c.Marshal(otelconftelemetry.NewFactory().CreateDefaultConfig()); err != nil {
		return nil
	}
	r, _ := c.Get("metrics::readers").([]any)
	return r
})

// ownPart returns what the layer sets over merged (local, then remote
// config): the service::telemetry lists with the layer's entries
// appended, for the signals in on only (the capabilities the config
// advertises now), and the resource's service.instance.id set to uid when
// merged sets none and uid is known (see ownidentity.go). It is pure: the
// certificate files it names are written by writeOwnFiles.
func ownPart(merged *confmap.Conf, own *OwnTelemetry, on []Signal, dir, uid string) *confmap.Conf {
	tel := map[string]any{}
	for _, s := range signals {
		d, ok := own.destination(s)
		if !ok || !slices.Contains(on, s) {
			continue
		}
		sec := map[string]any{}
		prefix := telemetryKey + "::" + string(s) + "::"
		exp := map[string]any{"otlp": d.otlp(dir, s)}
		switch s {
		case SignalMetrics:
			level := merged.Get(prefix + "level")
			readers, set := merged.Get(prefix + "readers").([]any)
			if !set && !isLevel(level, "none") {
				readers = defaultReaders()
			}
			periodic := map[string]any{"exporter": exp}
			if d.IntervalMS > 0 {
				periodic["interval"] = d.IntervalMS
			}
			sec["readers"] = append(cloneList(readers), map[string]any{"periodic": periodic})
			if isLevel(level, "none") {
				sec["level"] = "normal"
			}
		default:
			procs, _ := merged.Get(prefix + "processors").([]any)
			sec["processors"] = append(cloneList(procs), map[string]any{"batch": map[string]any{"exporter": exp}})
			if s == SignalTraces && isLevel(merged.Get(prefix+"level"), "none") {
				sec["level"] = "basic"
			}
		}
		tel[string(s)] = sec
	}
	if len(tel) == 0 {
		return confmap.New()
	}
	if uid != "" && !instanceuid.ResourceIDConfigured(merged) {
		tel["resource"] = map[string]any{resourceIDKey: uid}
	}
	return confmap.NewFromStringMap(map[string]any{"service": map[string]any{"telemetry": tel}})
}

func (o *OwnTelemetry) destination(s Signal) (Destination, bool) {
	if o == nil {
		return Destination{}, false
	}
	d, ok := o.Destinations[s]
	return d, ok
}

func isLevel(v any, want string) bool {
	s, ok := v.(string)
	return ok && strings.EqualFold(strings.TrimSpace(s), want)
}

func cloneList(l []any) []any {
	if l == nil {
		return nil
	}
	return mapStrings(l, identity).([]any)
}

// otlp is the exporter's config for the destination.
func (d Destination) otlp(dir string, s Signal) map[string]any {
	m := map[string]any{"protocol": "http/protobuf", "endpoint": d.Endpoint}
	if len(d.Headers) > 0 {
		hs := make([]any, 0, len(d.Headers))
		for _, h := range d.Headers {
			hs = append(hs, map[string]any{"name": h.Name, "value": h.Value})
		}
		m["headers"] = hs
	}
	for _, f := range d.files(s) {
		m[f.field] = filepath.Join(dir, f.name)
	}
	return m
}

// ownFile is one certificate file of a destination.
type ownFile struct {
	field string // the exporter's key
	name  string // in the state directory, by content
	pem   string
}

func (d Destination) files(s Signal) []ownFile {
	var out []ownFile
	for _, f := range []struct{ field, kind, pem string }{
		{"certificate", "ca", d.CAPEM},
		{"client_certificate", "cert", d.CertPEM},
		{"client_key", "key", d.KeyPEM},
	} {
		if f.pem == "" {
			continue
		}
		sum := sha256.Sum256([]byte(f.pem))
		out = append(out, ownFile{field: f.field, pem: f.pem,
			name: fmt.Sprintf("%s%s-%s-%s.pem", ownFilePrefix, s, f.kind, hex.EncodeToString(sum[:8]))})
	}
	return out
}

// writeOwnFiles writes the layer's certificate files that are missing
// (atomically, 0600: one is a private key).
func writeOwnFiles(dir string, own *OwnTelemetry) error {
	if own.empty() {
		return nil
	}
	d, err := persist.NewDir(dir)
	if err != nil {
		return err
	}
	for s, dest := range own.Destinations {
		for _, f := range dest.files(s) {
			if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
				continue // named by content: already right
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := d.Put(f.name, []byte(f.pem)); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeOwnFiles removes the certificate files no layer in keep names.
func removeOwnFiles(dir string, keep ...*OwnTelemetry) error {
	used := map[string]bool{}
	for _, o := range keep {
		if o == nil {
			continue
		}
		for s, dest := range o.Destinations {
			for _, f := range dest.files(s) {
				used[f.name] = true
			}
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, ownFilePrefix+"*.pem"))
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if !used[filepath.Base(n)] {
			errs = append(errs, os.Remove(n))
		}
	}
	return errors.Join(errs...)
}

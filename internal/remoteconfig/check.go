package remoteconfig

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// Errors a remote config is refused with, before anything changes. Each
// is wrapped with the detail (config-map key, component, path).
var (
	ErrContentType = errors.New("unsupported content type (want text/yaml, application/yaml or none)")
	ErrYAML        = errors.New("invalid YAML")
	ErrProvider    = errors.New("config providers (${scheme:...}) are not allowed in a remote configuration")
	ErrLockOut     = errors.New("a remote configuration cannot change or remove the opamp extension")
	ErrComponent   = errors.New("component type not allowed by remote_config")
)

// Rules are what a remote config may not do.
type Rules struct {
	// Own is the opamp extension's id ("opamp", "opamp/x"); Protected are
	// the extensions it depends on (its auth extension).
	Own       string
	Protected []string
	// Denied component types are refused; when Allowed is set, every
	// other type is refused too.
	Denied, Allowed []string
}

// componentKinds are the top-level sections that name components.
var componentKinds = []string{"receivers", "processors", "exporters", "connectors", "extensions"}

var yamlContentTypes = []string{"", "text/yaml", "application/yaml"}

// parse turns the config map into one map, each file merged over the
// previous in the order of its key (so "" first), after checking each
// file's content type, YAML and provider references.
func parse(files map[string]File) (*confmap.Conf, error) {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := confmap.New()
	for _, k := range keys {
		f := files[k]
		if !slices.Contains(yamlContentTypes, strings.ToLower(strings.TrimSpace(f.ContentType))) {
			return nil, fmt.Errorf("config map key %q: %w: %q", k, ErrContentType, f.ContentType)
		}
		ret, err := confmap.NewRetrievedFromYAML([]byte(f.Body))
		if err != nil {
			return nil, fmt.Errorf("config map key %q: %w: %w", k, ErrYAML, err)
		}
		c, err := ret.AsConf()
		if err != nil {
			return nil, fmt.Errorf("config map key %q: %w: %w", k, ErrYAML, err)
		}
		m := c.ToStringMap()
		if path, ok := findProviderRef(m, ""); ok {
			return nil, fmt.Errorf("config map key %q, %s: %w", k, path, ErrProvider)
		}
		if err := out.Merge(confmap.NewFromStringMap(unescape(m).(map[string]any))); err != nil {
			return nil, fmt.Errorf("config map key %q: %w", k, err)
		}
	}
	return out, nil
}

// findProviderRef finds a ${...} (not escaped as $${...}) in a key or
// string value: the validation run and any later resolve would expand it,
// letting a server read local files and environment.
func findProviderRef(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, hasRef(v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := joinPath(path, k)
			if hasRef(k) {
				return p, true
			}
			if p, ok := findProviderRef(v[k], p); ok {
				return p, true
			}
		}
	case []any:
		for i, x := range v {
			if p, ok := findProviderRef(x, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	}
	return "", false
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "::" + k
}

// hasRef: "${" not preceded by an escaping "$" ("$${x}" is the literal
// text "${x}").
func hasRef(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' {
			i++ // an escaped dollar
			continue
		}
		if s[i+1] == '{' {
			return true
		}
	}
	return false
}

// unescape turns "$$" into "$" in every string, as the resolver does for
// local files after expansion, so "$${x}" means the same in both.
func unescape(v any) any {
	return mapStrings(v, func(s string) string { return strings.ReplaceAll(s, "$$", "$") })
}

// mapStrings copies v, a config map or a value in one, with f applied to
// every string value (keys stay as they are, as the resolver leaves them).
func mapStrings(v any, f func(string) string) any {
	switch v := v.(type) {
	case string:
		return f(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = mapStrings(x, f)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = mapStrings(x, f)
		}
		return out
	default:
		return v
	}
}

// checkRemote checks what the remote part alone may not hold: the opamp
// extension and its dependencies, and refused component types.
func checkRemote(remote *confmap.Conf, r Rules) error {
	for _, id := range append([]string{r.Own}, r.Protected...) {
		if remote.IsSet("extensions::" + id) {
			return fmt.Errorf("%w: it sets extensions::%s", ErrLockOut, id)
		}
	}
	for _, kind := range componentKinds {
		sub, err := remote.Sub(kind)
		if err != nil {
			continue
		}
		ids := sub.ToStringMap()
		names := make([]string, 0, len(ids))
		for id := range ids {
			names = append(names, id)
		}
		sort.Strings(names)
		for _, id := range names {
			typ, _, _ := strings.Cut(id, "/")
			if slices.Contains(r.Denied, typ) || (len(r.Allowed) > 0 && !slices.Contains(r.Allowed, typ)) {
				return fmt.Errorf("%w: %s::%s (type %q)", ErrComponent, kind, id, typ)
			}
		}
	}
	return nil
}

// checkMerged: the merged config must still run the opamp extension.
func checkMerged(merged *confmap.Conf, r Rules) error {
	exts, _ := merged.Get("service::extensions").([]any)
	for _, e := range exts {
		if s, ok := e.(string); ok && s == r.Own {
			return nil
		}
	}
	return fmt.Errorf("%w: service::extensions must keep %q", ErrLockOut, r.Own)
}

// merge merges remote over a copy of local.
func merge(local map[string]any, remote *confmap.Conf) (*confmap.Conf, error) {
	out := confmap.NewFromStringMap(local)
	if remote == nil {
		return out, nil
	}
	if err := out.Merge(remote); err != nil {
		return nil, err
	}
	return out, nil
}

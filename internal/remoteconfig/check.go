package remoteconfig

import (
	"context"
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
	ErrProvider    = errors.New("a config provider (${scheme:...}) not in remote_config.allowed_providers")
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

// parsed is a remote config's files merged in order, as the server wrote
// them (raw) and with their references expanded and "$$" unescaped.
// expanded is what core's resolver returns, whose values keep the text
// they came from (a string field gets "0123", not 123), for the config
// that runs; conf is the same plain tree, for the checks: the resolver
// leaves a reference that expands to a map as one leaf
// ("extensions: ${file:x}"), which Sub and IsSet would not look into.
type parsed struct {
	conf, expanded *confmap.Conf
	raw            map[string]any
}

// parse turns the config map into one map, each file merged over the
// previous in the order of its key (so "" first), after checking each
// file's content type and YAML, and that every ${...} reference uses a
// scheme in allowed (remote_config.allowed_providers). References are
// expanded with the real providers of those schemes.
func parse(files map[string]File, allowed []string) (parsed, error) {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	raw := confmap.New()
	maps := make([]map[string]any, 0, len(keys))
	hasRefs := false
	for _, k := range keys {
		f := files[k]
		if !slices.Contains(yamlContentTypes, strings.ToLower(strings.TrimSpace(f.ContentType))) {
			return parsed{}, fmt.Errorf("config map key %q: %w: %q", k, ErrContentType, f.ContentType)
		}
		ret, err := confmap.NewRetrievedFromYAML([]byte(f.Body))
		if err != nil {
			return parsed{}, fmt.Errorf("config map key %q: %w: %w", k, ErrYAML, err)
		}
		c, err := ret.AsConf()
		if err != nil {
			return parsed{}, fmt.Errorf("config map key %q: %w: %w", k, ErrYAML, err)
		}
		m := c.ToStringMap()
		refs := findProviderRefs(m, "", nil)
		if r, ok := refusedRef(refs, allowed); ok {
			return parsed{}, r.refusal(k, allowed)
		}
		hasRefs = hasRefs || len(refs) > 0
		if err := raw.Merge(confmap.NewFromStringMap(m)); err != nil {
			return parsed{}, fmt.Errorf("config map key %q: %w", k, err)
		}
		maps = append(maps, m)
	}
	out := parsed{raw: raw.ToStringMap()}
	if !hasRefs {
		out.conf = confmap.NewFromStringMap(unescape(out.raw).(map[string]any))
		out.expanded = out.conf
		return out, nil
	}
	expanded, err := resolve(context.Background(), maps, allowed)
	if err != nil {
		return parsed{}, err
	}
	out.conf, out.expanded = confmap.NewFromStringMap(expanded.ToStringMap()), expanded
	return out, nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "::" + k
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

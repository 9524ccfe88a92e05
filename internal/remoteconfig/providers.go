package remoteconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
)

// KeyAllowedProviders, in the opamp extension's config, lists the config
// provider schemes ("env", "file") a remote config may reference; empty,
// it may reference none: a server could otherwise read local files and
// environment and see them in the effective config.
const KeyAllowedProviders = "remote_config::allowed_providers"

// ErrResolve wraps a provider's error on an allowed reference (a missing
// variable without a default, a file that cannot be read).
var ErrResolve = errors.New("cannot resolve a config provider reference in the remote configuration")

// ErrUnknownProvider: an allowed scheme this module has no provider for.
var ErrUnknownProvider = errors.New("no config provider for this scheme (supported: env, file)")

// defaultScheme is what the Collector expands "${X}" with (otelcol's
// default): a bare reference reads the environment.
const defaultScheme = "env"

// providerFactories are the providers a remote config may be opened to,
// by scheme: core's, as the distro's own resolver uses them.
var providerFactories = map[string]func() confmap.ProviderFactory{
	"env":  envprovider.NewFactory,
	"file": fileprovider.NewFactory,
}

// CheckAllowedProviders refuses a scheme this module cannot resolve, so
// that the extension's config validation names it rather than every
// remote config that uses it failing.
func CheckAllowedProviders(schemes []string) error {
	for _, s := range schemes {
		if _, ok := providerFactories[s]; !ok {
			return fmt.Errorf("%w: %q", ErrUnknownProvider, s)
		}
	}
	return nil
}

// allowedProviders reads the allow-list of the extension own from the
// local config as resolved (a list of schemes, or one scheme as a string).
func allowedProviders(local map[string]any, own string) []string {
	ext, ok := lookup(local, "extensions", own)
	if !ok {
		return nil
	}
	v, _ := lookup(ext, strings.Split(KeyAllowedProviders, confmap.KeyDelimiter)...)
	switch v := v.(type) {
	case string:
		return []string{strings.TrimSpace(v)}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	return nil
}

// lookup walks nested maps by key.
func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// providerRef is one unescaped ${...} in a remote config: where, and the
// scheme it reads ("" when a reference computes it).
type providerRef struct {
	path, scheme string
	inKey        bool
}

// findProviderRefs lists every unescaped reference in v's keys and string
// values, maps in key order. Schemes are read as core's resolver reads
// them: the text before the first ":" of the reference, the default scheme
// when there is none.
func findProviderRefs(v any, path string, out []providerRef) []providerRef {
	switch v := v.(type) {
	case string:
		for _, s := range refSchemes(v) {
			out = append(out, providerRef{path: path, scheme: s})
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := joinPath(path, k)
			for _, s := range refSchemes(k) {
				out = append(out, providerRef{path: p, scheme: s, inKey: true})
			}
			out = findProviderRefs(v[k], p, out)
		}
	case []any:
		for i, x := range v {
			out = findProviderRefs(x, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
	return out
}

// refSchemes returns the scheme of every unescaped "${" in s ("$${x}" is
// the literal text "${x}"), nested ones included.
func refSchemes(s string) []string {
	var out []string
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if s[i+1] == '$' {
			i++ // an escaped dollar
			continue
		}
		if s[i+1] != '{' {
			continue
		}
		body := s[i+2:]
		end := strings.IndexAny(body, ":}")
		switch {
		case end < 0 || body[end] == '}':
			out = append(out, defaultScheme)
		case strings.Contains(body[:end], "$"):
			out = append(out, "") // computed by a nested reference
		default:
			out = append(out, body[:end])
		}
	}
	return out
}

// refusedRef returns the first reference the allow-list does not open: a
// reference in a key (the resolver never expands keys), one whose scheme
// is computed, or one whose scheme is not allowed.
func refusedRef(refs []providerRef, allowed []string) (providerRef, bool) {
	for _, r := range refs {
		if r.inKey || r.scheme == "" || !slices.Contains(allowed, r.scheme) {
			return r, true
		}
	}
	return providerRef{}, false
}

func (r providerRef) refusal(key string, allowed []string) error {
	what := fmt.Sprintf("scheme %q", r.scheme)
	switch {
	case r.inKey:
		what += " in a key"
	case r.scheme == "":
		what = "a scheme computed by another reference"
	}
	return fmt.Errorf("config map key %q, %s: %w: %s (remote_config.allowed_providers: %q)", key, r.path, ErrProvider, what, allowed)
}

// remoteScheme serves the remote config's parsed files to the resolver.
const remoteScheme = "opamp-remote"

type remoteFiles []map[string]any

func (f remoteFiles) factory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return f })
}

func (f remoteFiles) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	i, err := strconv.Atoi(strings.TrimPrefix(uri, remoteScheme+":"))
	if err != nil || i < 0 || i >= len(f) {
		return nil, fmt.Errorf("no remote config file %q", uri)
	}
	return confmap.NewRetrieved(f[i])
}

func (remoteFiles) Scheme() string                 { return remoteScheme }
func (remoteFiles) Shutdown(context.Context) error { return nil }

// resolve merges the files in order and expands their references with
// core's resolver and the allowed schemes' real providers only: a value a
// provider returns is expanded again by the resolver, and a reference in
// it to a scheme not allowed fails there. "$$" becomes "$" as in a local
// file.
func resolve(ctx context.Context, files []map[string]any, allowed []string) (*confmap.Conf, error) {
	set := confmap.ResolverSettings{ProviderFactories: []confmap.ProviderFactory{remoteFiles(files).factory()}}
	for i := range files {
		set.URIs = append(set.URIs, remoteScheme+":"+strconv.Itoa(i))
	}
	for _, s := range allowed {
		nf, ok := providerFactories[s]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, s)
		}
		set.ProviderFactories = append(set.ProviderFactories, nf())
		if s == defaultScheme {
			set.DefaultScheme = defaultScheme
		}
	}
	r, err := confmap.NewResolver(set)
	if err != nil {
		return nil, err
	}
	conf, err := r.Resolve(ctx)
	if serr := r.Shutdown(ctx); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrResolve, err)
	}
	return conf, nil
}

// raws keeps, per state directory, the remote part the last resolve
// merged, as the server wrote it (references unexpanded).
var (
	rawsMu sync.Mutex
	raws   = map[string]map[string]any{}
)

func rememberRaw(dir string, m map[string]any) {
	rawsMu.Lock()
	defer rawsMu.Unlock()
	if m == nil {
		delete(raws, dir)
		return
	}
	raws[dir] = m
}

// RawRemote returns a copy of the remote part the last resolve merged
// for the state directory dir, references unexpanded; nil when it merged
// none. Merged over the snapshot's unexpanded config (core captures that
// before converters run, so without the remote part), it lets the
// effective config redact a value by the reference it came from
// ("value: ${env:WEBHOOK_SECRET}"), as for the local config.
func RawRemote(dir string) map[string]any {
	rawsMu.Lock()
	defer rawsMu.Unlock()
	m, ok := raws[dir]
	if !ok {
		return nil
	}
	return mapStrings(m, identity).(map[string]any)
}

package effectiveconfig

import "strings"

// redactBySource returns eff, the expanded configuration tree, with every
// value whose source in src (the same tree before expansion) holds a
// secret reference (see hasSecretRef) redacted as if it sat under a secret
// key. This catches a secret expanded under a neutral key
// ("value: ${env:WEBHOOK_SECRET}"), which neither its key nor its text
// reveals once expanded. A reference embedded in a longer string
// ("Bearer ${env:API_TOKEN}", "https://h/${env:HOOK_TOKEN}") redacts the
// whole string: where the secret starts and ends in it is not known after
// expansion. A reference that expands to a map or list redacts all of it.
//
// The trees are walked together, maps by key and lists by index; a path
// present in only one of them, or holding different shapes in the two, is
// left to the key-based redaction. eff is never mutated: the maps and
// lists on the path to a change are copied. changed reports whether
// anything was redacted.
func redactBySource(eff, src any) (out any, changed bool) {
	switch s := src.(type) {
	case string:
		if hasSecretRef(s) {
			return redactValue(eff, true), true
		}
	case map[string]any:
		switch e := eff.(type) {
		case map[string]any:
			return redactMapBySource(e, s)
		case []any:
			return redactPairsBySource(e, s)
		}
	case []any:
		if e, ok := eff.([]any); ok {
			return redactListBySource(e, s)
		}
	}
	return eff, false
}

func redactMapBySource(eff, src map[string]any) (map[string]any, bool) {
	var out map[string]any
	for k, ev := range eff {
		sv, ok := lookupKey(src, k)
		if !ok {
			continue
		}
		v, changed := redactBySource(ev, sv)
		if !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(eff))
			for ck, cv := range eff {
				out[ck] = cv
			}
		}
		out[k] = v
	}
	if out == nil {
		return eff, false
	}
	return out, true
}

func redactListBySource(eff, src []any) ([]any, bool) {
	var out []any
	for i := range min(len(eff), len(src)) {
		v, changed := redactBySource(eff[i], src[i])
		if changed {
			out = setCopied(out, eff, i, v)
		}
	}
	return copiedResult(out, eff)
}

// setCopied sets item i of the copy of eff, copying it on the first
// change so that unchanged lists are shared, never modified.
func setCopied(out, eff []any, i int, v any) []any {
	if out == nil {
		out = append([]any(nil), eff...)
	}
	out[i] = v
	return out
}

// copiedResult returns the copy if anything changed, else eff itself.
func copiedResult(out, eff []any) ([]any, bool) {
	if out == nil {
		return eff, false
	}
	return out, true
}

// redactPairsBySource handles a header map written as {Name: value} that
// the component renders back as a name/value list (core's
// configopaque.MapList): each item's value is matched by its name.
func redactPairsBySource(eff []any, src map[string]any) ([]any, bool) {
	var out []any
	for i, item := range eff {
		pair, ok := item.(map[string]any)
		if !ok {
			continue
		}
		name, ok := pair["name"].(string)
		if !ok {
			continue
		}
		sv, ok := lookupKey(src, name)
		if !ok {
			continue
		}
		v, changed := redactMapBySource(pair, map[string]any{"value": sv})
		if changed {
			out = setCopied(out, eff, i, v)
		}
	}
	return copiedResult(out, eff)
}

// lookupKey finds key in m, falling back to the only key equal to it
// ignoring case: a component may render a key in another case than the
// user wrote it.
func lookupKey(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	var found any
	n := 0
	for k, v := range m {
		if strings.EqualFold(k, key) {
			found, n = v, n+1
		}
	}
	return found, n == 1
}

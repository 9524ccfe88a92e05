package agents

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
)

// FormatUID renders an instance UID the way agents print it: as a UUID when
// it has 16 bytes (what the spec requires), as hex otherwise so that a
// misbehaving agent is still visible.
func FormatUID(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	if u, err := uuid.FromBytes(b); err == nil {
		return u.String()
	}
	return hex.EncodeToString(b)
}

// capabilityNames lists the set bits of an AgentCapabilities mask by name,
// lowest bit first; unknown bits are shown in hex.
func capabilityNames(mask uint64) []string {
	var out []string
	for mask != 0 {
		bit := uint64(1) << bits.TrailingZeros64(mask)
		mask &^= bit
		name, ok := protobufs.AgentCapabilities_name[int32(bit)]
		if bit > 1<<30 || !ok {
			out = append(out, fmt.Sprintf("0x%x", bit))
			continue
		}
		out = append(out, strings.TrimPrefix(name, "AgentCapabilities_"))
	}
	return out
}

// attributes converts and sorts key/values by key (then value), so output
// does not depend on the order the agent sent them in.
func attributes(kvs []*protobufs.KeyValue) []Attribute {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]Attribute, 0, len(kvs))
	for _, kv := range kvs {
		out = append(out, Attribute{Key: kv.GetKey(), Value: anyValueString(kv.GetValue())})
	}
	slices.SortFunc(out, func(a, b Attribute) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out
}

func anyValueString(v *protobufs.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *protobufs.AnyValue_StringValue:
		return x.StringValue
	case *protobufs.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *protobufs.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *protobufs.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *protobufs.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *protobufs.AnyValue_ArrayValue:
		parts := make([]string, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyValueString(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *protobufs.AnyValue_KvlistValue:
		parts := make([]string, 0, len(x.KvlistValue.GetValues()))
		for _, a := range attributes(x.KvlistValue.GetValues()) {
			parts = append(parts, a.Key+"="+a.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return ""
	}
}

func unixNano(n uint64) *time.Time {
	if n == 0 || n > 1<<63-1 {
		return nil
	}
	t := time.Unix(0, int64(n)).UTC()
	return &t
}

// health converts a reported health tree; nil stays nil.
func health(h *protobufs.ComponentHealth) *Health {
	if h == nil {
		return nil
	}
	out := &Health{
		Healthy:    h.GetHealthy(),
		Status:     h.GetStatus(),
		LastError:  h.GetLastError(),
		StartTime:  unixNano(h.GetStartTimeUnixNano()),
		StatusTime: unixNano(h.GetStatusTimeUnixNano()),
	}
	if m := h.GetComponentHealthMap(); len(m) > 0 {
		out.Components = make(map[string]*Health, len(m))
		for name, child := range m {
			if child != nil {
				out.Components[name] = health(child)
			}
		}
	}
	return out
}

// configFiles flattens an effective config map, sorted by file name.
func configFiles(ec *protobufs.EffectiveConfig) []ConfigFile {
	m := ec.GetConfigMap().GetConfigMap()
	out := make([]ConfigFile, 0, len(m))
	for name, f := range m {
		out = append(out, ConfigFile{Name: name, ContentType: f.GetContentType(), Body: string(f.GetBody())})
	}
	slices.SortFunc(out, func(a, b ConfigFile) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// components turns the kind -> type -> details map into sorted lists per kind.
func components(ac *protobufs.AvailableComponents) map[string][]Component {
	out := make(map[string][]Component, len(ac.GetComponents()))
	for kind, d := range ac.GetComponents() {
		list := make([]Component, 0, len(d.GetSubComponentMap()))
		for typ, sub := range d.GetSubComponentMap() {
			list = append(list, Component{Type: typ, Metadata: attributes(sub.GetMetadata())})
		}
		slices.SortFunc(list, func(a, b Component) int { return strings.Compare(a.Type, b.Type) })
		out[kind] = list
	}
	return out
}

// countLine summarises available components as "kind=count" in kind order.
func countLine(m map[string][]Component) string {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, len(m[k])))
	}
	return strings.Join(parts, " ")
}

func attributeLine(attrs []Attribute) string {
	if len(attrs) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(parts, ", ")
}

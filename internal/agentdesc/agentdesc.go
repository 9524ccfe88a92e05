// Package agentdesc builds the OpAMP AgentDescription the Collector reports
// about itself.
package agentdesc // import "github.com/opampext/opampextension/internal/agentdesc"

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/keyvalue"
	"github.com/opampext/opampextension/internal/utf8fix"
)

// Semantic-convention keys used in the description.
const (
	KeyServiceInstanceID = "service.instance.id"
	KeyServiceName       = "service.name"
	KeyServiceVersion    = "service.version"
	KeyHostName          = "host.name"
	KeyHostArch          = "host.arch"
	KeyOSType            = "os.type"
	KeyOSDescription     = "os.description"
)

// isIdentifying reports whether key belongs to the identifying list; such
// keys never appear among the non-identifying attributes.
func isIdentifying(key string) bool {
	return key == KeyServiceInstanceID || key == KeyServiceName || key == KeyServiceVersion
}

// Input is everything Build needs; it holds no live handles so Build is a
// pure function of it.
type Input struct {
	// InstanceUID becomes service.instance.id.
	InstanceUID uuid.UUID
	// Resource is the Collector's telemetry resource (may be the zero Map).
	Resource pcommon.Map
	// BuildInfo supplies service.name and service.version when the
	// resource does not.
	BuildInfo component.BuildInfo
	// NonIdentifying are user-configured attributes; they override the
	// automatic host attributes of the same key.
	NonIdentifying map[string]string
	// IncludeResourceAttributes adds the resource attributes not already
	// present to the non-identifying list.
	IncludeResourceAttributes bool
	// Host describes the machine; use DefaultHost() outside tests.
	Host HostInfo
	// Logger receives one warning per attribute whose key or value was
	// not valid UTF-8 (repaired, since no OpAMP message can carry it).
	// Nil means no logging.
	Logger *zap.Logger
}

// Build returns the AgentDescription. Both attribute lists are sorted by
// key and free of duplicates, so equal inputs give equal messages and the
// client does not resend an unchanged description.
func Build(in Input) *protobufs.AgentDescription {
	res := in.Resource
	if res == (pcommon.Map{}) {
		res = pcommon.NewMap()
	}

	ident := []*protobufs.KeyValue{stringKV(KeyServiceInstanceID, in.InstanceUID.String())}
	if v := resourceString(res, KeyServiceName, in.BuildInfo.Command); v != "" {
		ident = append(ident, stringKV(KeyServiceName, v))
	}
	if v := resourceString(res, KeyServiceVersion, in.BuildInfo.Version); v != "" {
		ident = append(ident, stringKV(KeyServiceVersion, v))
	}

	nonIdent := make(map[string]*protobufs.AnyValue, 4+len(in.NonIdentifying))
	for k, v := range in.Host.attributes() {
		nonIdent[k] = keyvalue.String(v)
	}
	for k, v := range in.NonIdentifying {
		nonIdent[k] = keyvalue.String(v)
	}
	if in.IncludeResourceAttributes {
		res.Range(func(k string, v pcommon.Value) bool {
			if _, ok := nonIdent[k]; !ok {
				nonIdent[k] = keyvalue.Value(v)
			}
			return true
		})
	}
	for k := range nonIdent {
		if isIdentifying(k) {
			delete(nonIdent, k)
		}
	}

	w := utf8fix.NewWarner(in.Logger)
	return &protobufs.AgentDescription{
		IdentifyingAttributes:    sortKVs(repairKVs(w, "identifying_attributes", ident)),
		NonIdentifyingAttributes: sortedKVs(repairMap(w, "non_identifying_attributes", nonIdent)),
	}
}

// repairKVs makes every key and string value valid UTF-8: an environment
// value in Latin-1 or a resource attribute from elsewhere must not stop
// every report (a message with one invalid string does not encode).
func repairKVs(w *utf8fix.Warner, list string, kvs []*protobufs.KeyValue) []*protobufs.KeyValue {
	for _, kv := range kvs {
		if fixed, changed := utf8fix.String(kv.Key); changed {
			w.Repaired(fmt.Sprintf("agent_description.%s key %q", list, fixed))
			kv.Key = fixed
		}
		repairValue(w, list, kv.Key, kv.Value)
	}
	return kvs
}

// repairMap does the same for attributes keyed by name; a repaired key
// that collides with another keeps the first one met.
func repairMap(w *utf8fix.Warner, list string, m map[string]*protobufs.AnyValue) map[string]*protobufs.AnyValue {
	for k, v := range m {
		repairValue(w, list, k, v)
		fixed, changed := utf8fix.String(k)
		if !changed {
			continue
		}
		w.Repaired(fmt.Sprintf("agent_description.%s key %q", list, fixed))
		delete(m, k)
		if _, taken := m[fixed]; !taken {
			m[fixed] = v
		}
	}
	return m
}

// repairValue repairs a string value; the warning names the attribute.
func repairValue(w *utf8fix.Warner, list, key string, v *protobufs.AnyValue) {
	sv, ok := v.GetValue().(*protobufs.AnyValue_StringValue)
	if !ok {
		return
	}
	if fixed, changed := utf8fix.String(sv.StringValue); changed {
		key, _ = utf8fix.String(key)
		w.Repaired(fmt.Sprintf("agent_description.%s[%q]", list, key))
		sv.StringValue = fixed
	}
}

// WithInstanceUID returns a copy of desc whose service.instance.id is uid,
// for when the server assigns a new instance UID. desc is not modified.
func WithInstanceUID(desc *protobufs.AgentDescription, uid uuid.UUID) *protobufs.AgentDescription {
	if desc == nil {
		return nil
	}
	out := proto.Clone(desc).(*protobufs.AgentDescription)
	for _, kv := range out.IdentifyingAttributes {
		if kv.GetKey() == KeyServiceInstanceID {
			kv.Value = keyvalue.String(uid.String())
			return out
		}
	}
	out.IdentifyingAttributes = sortKVs(append(out.IdentifyingAttributes, stringKV(KeyServiceInstanceID, uid.String())))
	return out
}

// resourceString returns the resource's value for key in string form, or
// fallback when it is absent or empty.
func resourceString(res pcommon.Map, key, fallback string) string {
	if v, ok := res.Get(key); ok {
		if s := v.AsString(); s != "" {
			return s
		}
	}
	return fallback
}

func sortKVs(kvs []*protobufs.KeyValue) []*protobufs.KeyValue {
	slices.SortFunc(kvs, func(a, b *protobufs.KeyValue) int { return strings.Compare(a.GetKey(), b.GetKey()) })
	return kvs
}

func sortedKVs(m map[string]*protobufs.AnyValue) []*protobufs.KeyValue {
	kvs := make([]*protobufs.KeyValue, 0, len(m))
	for k, v := range m {
		kvs = append(kvs, &protobufs.KeyValue{Key: k, Value: v})
	}
	return sortKVs(kvs)
}

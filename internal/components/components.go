// Package components turns the Collector's module information into the
// OpAMP AvailableComponents message and its content hash.
package components // import "github.com/opampext/opampextension/internal/components"

import (
	"bytes"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service"
	"go.opentelemetry.io/collector/service/hostcapabilities"
)

// Top-level keys of AvailableComponents.Components, one per component kind.
// They match contrib's opamp extension so servers built against it work.
const (
	KindReceivers  = "receivers"
	KindProcessors = "processors"
	KindExporters  = "exporters"
	KindExtensions = "extensions"
	KindConnectors = "connectors"
)

// ModuleKey is the metadata key carrying a component's builder module
// reference ("<gomod> <version>" as written in the ocb config). The OpAMP
// proto suggests the semantic-convention "code" namespace for component
// metadata (ComponentDetails.metadata in opamp.proto), and contrib's
// extension/opampextension (opamp_agent.go,
// createComponentTypeAvailableComponentDetails) reports BuilderRef under
// "code.namespace"; the Supervisor relays the map unchanged, so servers see
// the same key from either extension.
const ModuleKey = "code.namespace"

// kind pairs a top-level key with the module map it is built from. The
// order is fixed; it is also the order the hash serializes kinds in.
type kind struct {
	name    string
	modules map[component.Type]service.ModuleInfo
}

func kinds(mi service.ModuleInfos) [5]kind {
	return [5]kind{
		{KindReceivers, mi.Receiver},
		{KindProcessors, mi.Processor},
		{KindExporters, mi.Exporter},
		{KindExtensions, mi.Extension},
		{KindConnectors, mi.Connector},
	}
}

// FromHost returns the host's module information, and false when the host
// does not expose it (then the result is empty, which Build still accepts).
func FromHost(host component.Host) (service.ModuleInfos, bool) {
	if mi, ok := host.(hostcapabilities.ModuleInfo); ok {
		return mi.GetModuleInfos(), true
	}
	return service.ModuleInfos{}, false
}

// last is the message Build made most recently. Every instance in a
// process sees the same modules, so they share one read-only copy.
var last atomic.Pointer[protobufs.AvailableComponents]

// Build returns the full AvailableComponents message: all five kinds are
// present even when empty, so a server can tell "none" from "not reported".
// The message may be shared with other callers: it must not be modified.
func Build(mi service.ModuleInfos) *protobufs.AvailableComponents {
	hash := Hash(mi)
	if l := last.Load(); l != nil && bytes.Equal(l.GetHash(), hash) {
		return l // the hash covers everything the message holds
	}
	out := build(mi, hash)
	last.Store(out)
	return out
}

// build makes a new message for mi, whose hash is given.
func build(mi service.ModuleInfos, hash []byte) *protobufs.AvailableComponents {
	out := &protobufs.AvailableComponents{
		Components: make(map[string]*protobufs.ComponentDetails, 5),
		Hash:       hash,
	}
	for _, k := range kinds(mi) {
		sub := make(map[string]*protobufs.ComponentDetails, len(k.modules))
		for typ, info := range k.modules {
			sub[typ.String()] = details(info)
		}
		out.Components[k.name] = &protobufs.ComponentDetails{SubComponentMap: sub}
	}
	return out
}

// details describes one component type; an empty BuilderRef (a host that
// was not built by ocb) yields no metadata rather than an empty string.
func details(info service.ModuleInfo) *protobufs.ComponentDetails {
	if info.BuilderRef == "" {
		return &protobufs.ComponentDetails{}
	}
	return &protobufs.ComponentDetails{
		Metadata: []*protobufs.KeyValue{{
			Key:   ModuleKey,
			Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: info.BuilderRef}},
		}},
	}
}

// sortedTypes appends the map's keys to dst[:0] in byte order of their
// names, so callers can reuse one slice across kinds.
func sortedTypes(dst []component.Type, m map[component.Type]service.ModuleInfo) []component.Type {
	dst = dst[:0]
	for t := range m {
		dst = append(dst, t)
	}
	slices.SortFunc(dst, func(a, b component.Type) int { return strings.Compare(a.String(), b.String()) })
	return dst
}

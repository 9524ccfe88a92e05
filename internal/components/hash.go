package components

import (
	"crypto/sha256"
	"encoding/binary"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/service"
)

// hashDomain versions the serialization: changing the format changes every
// hash once, on purpose, instead of colliding with the old one.
const hashDomain = "opampext/available-components/v1\x00"

// Hash is SHA-256 over a canonical serialization of the module infos: kinds
// in fixed order, each with its entry count, then types sorted by name,
// every string length-prefixed so no choice of names or refs can make two
// different inputs serialize alike. proto.Marshal is not used because its
// map order is not deterministic.
func Hash(mi service.ModuleInfos) []byte {
	h := sha256.New()
	buf := make([]byte, 0, 1024)
	var types []component.Type
	buf = append(buf, hashDomain...)
	for _, k := range kinds(mi) {
		buf = appendString(buf, k.name)
		buf = binary.AppendUvarint(buf, uint64(len(k.modules)))
		types = sortedTypes(types, k.modules)
		for _, typ := range types {
			buf = appendString(buf, typ.String())
			buf = appendString(buf, k.modules[typ].BuilderRef)
		}
		// Flush per kind so the buffer stays small for large distros.
		_, _ = h.Write(buf)
		buf = buf[:0]
	}
	return h.Sum(nil)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

package agentdesc

import (
	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/keyvalue"
)

func stringKV(key, value string) *protobufs.KeyValue {
	return &protobufs.KeyValue{Key: key, Value: keyvalue.String(value)}
}

package instanceuid

import "go.opentelemetry.io/collector/confmap"

// resourceIDKey is the resource attribute the Collector's own telemetry
// identifies its instance with.
const resourceIDKey = "service.instance.id"

// ResourceIDConfigured reports whether the Collector config conf sets
// service.instance.id in service.telemetry.resource, as a plain key or in
// the attributes list, rather than leaving core to draw a new one on every
// start and reload.
func ResourceIDConfigured(conf *confmap.Conf) bool {
	res, ok := conf.Get("service::telemetry::resource").(map[string]any)
	if !ok {
		return false
	}
	if v, ok := res[resourceIDKey]; ok && v != nil {
		return true
	}
	attrs, _ := res["attributes"].([]any)
	for _, a := range attrs {
		if kv, ok := a.(map[string]any); ok && kv["name"] == resourceIDKey && kv["value"] != nil {
			return true
		}
	}
	return false
}

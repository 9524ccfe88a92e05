package reliability

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/service"
	"go.opentelemetry.io/collector/service/hostcapabilities"
)

// host is the part of the Collector's host the extension uses: module info
// for the available components, and a status reporter.
type host struct{ modules service.ModuleInfos }

var (
	_ component.Host              = host{}
	_ hostcapabilities.ModuleInfo = host{}
	_ componentstatus.Reporter    = host{}
)

func newHost() host {
	return host{modules: service.ModuleInfos{
		Receiver: map[component.Type]service.ModuleInfo{
			component.MustNewType("otlp"): {BuilderRef: "go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0"},
		},
		Exporter: map[component.Type]service.ModuleInfo{
			component.MustNewType("debug"): {BuilderRef: "go.opentelemetry.io/collector/exporter/debugexporter v0.164.0"},
		},
	}}
}

func (host) GetExtensions() map[component.ID]component.Component { return nil }
func (h host) GetModuleInfos() service.ModuleInfos               { return h.modules }
func (host) Report(*componentstatus.Event)                       {}

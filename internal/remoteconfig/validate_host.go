package remoteconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service"
	"go.opentelemetry.io/collector/service/hostcapabilities"
	"go.opentelemetry.io/collector/service/telemetry"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// HostValidator checks a merged config in this process with the running
// Collector's own factories, reached through the host core gives an
// extension's Start (hostcapabilities.ComponentFactory): the steps of the
// `validate` command (otelcol's DryRun) without starting a process, which
// is most of an apply's time when ExecValidator runs it (a whole Collector
// starting: 30-50 ms).
//
// Like DryRun it unmarshals every component's section into its factory's
// default config, runs the configs' Validate (otelcol.Config's rules for
// the service section among them) and builds the pipelines' graph, which
// creates every pipeline component without starting it; unlike DryRun it
// then shuts each of them down, since this process lives on.
//
// The telemetry factory is not on the host: service::telemetry is read with
// core's otelconftelemetry (what ocb builds in by default). When that
// refuses it, the fallback (the distro's own `validate`) decides, so a
// distro with another telemetry factory is never refused for it here.
type HostValidator struct {
	factories hostcapabilities.ComponentFactory
	modules   hostcapabilities.ModuleInfo // nil when the host has none
	telemetry telemetry.Factory
	fallback  Validator
}

// NewHostValidator returns a HostValidator over host's factories, or
// fallback itself when host does not expose them (a host other than
// core's service). fallback also decides where the in-process check
// cannot: a telemetry section it refuses, a factory that panics; nil
// leaves the in-process verdict final.
func NewHostValidator(host component.Host, fallback Validator) Validator {
	f, ok := host.(hostcapabilities.ComponentFactory)
	if !ok {
		return fallback
	}
	mi, _ := host.(hostcapabilities.ModuleInfo)
	return &HostValidator{factories: f, modules: mi, telemetry: otelconftelemetry.NewFactory(), fallback: fallback}
}

// errUndecided: the in-process check cannot give the distro's verdict.
var errUndecided = errors.New("in-process validation undecided")

// Validate implements Validator.
func (v *HostValidator) Validate(ctx context.Context, yaml []byte) error {
	err := v.check(ctx, yaml)
	if errors.Is(err, errUndecided) && v.fallback != nil {
		return v.fallback.Validate(ctx, yaml)
	}
	return err
}

func (v *HostValidator) check(ctx context.Context, yaml []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %w: a factory panicked: %v", ErrInvalid, errUndecided, r)
		}
	}()
	conf, err := resolveYAML(ctx, yaml)
	if err != nil {
		return fmt.Errorf("%w: cannot resolve the configuration: %w", ErrInvalid, err)
	}
	if err := v.checkTelemetry(conf); err != nil {
		return fmt.Errorf("%w: %w: service::telemetry: %w", ErrInvalid, errUndecided, err)
	}
	c := v.newCandidate()
	if err := conf.Unmarshal(c); err != nil {
		return fmt.Errorf("%w: cannot unmarshal the configuration: %w", ErrInvalid, err)
	}
	cfg := &otelcol.Config{
		Receivers:  c.Receivers.cfgs,
		Processors: c.Processors.cfgs,
		Exporters:  c.Exporters.cfgs,
		Connectors: c.Connectors.cfgs,
		Extensions: c.Extensions.cfgs,
		Service:    c.Service,
	}
	if err := confmap.Validate(cfg); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	created := &createdComponents{}
	defer created.shutdown(ctx)
	err = service.Validate(ctx, service.Settings{
		BuildInfo:           component.NewDefaultBuildInfo(),
		ReceiversConfigs:    cfg.Receivers,
		ReceiversFactories:  recordReceivers(c.Receivers.factories, created),
		ProcessorsConfigs:   cfg.Processors,
		ProcessorsFactories: recordProcessors(c.Processors.factories, created),
		ExportersConfigs:    cfg.Exporters,
		ExportersFactories:  recordExporters(c.Exporters.factories, created),
		ConnectorsConfigs:   cfg.Connectors,
		ConnectorsFactories: recordConnectors(c.Connectors.factories, created),
		TelemetryFactory:    v.telemetry,
	}, service.Config{Pipelines: c.Service.Pipelines})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// checkTelemetry reads service::telemetry as the distro would with
// otelconftelemetry, so that a refusal is told apart from the rest.
func (v *HostValidator) checkTelemetry(conf *confmap.Conf) error {
	sub, err := conf.Sub("service::telemetry")
	if err != nil {
		return err
	}
	cfg := v.telemetry.CreateDefaultConfig()
	if err := sub.Unmarshal(&cfg); err != nil {
		return err
	}
	return confmap.Validate(cfg)
}

// candidate mirrors the top level of otelcol's config: unknown top-level
// keys are refused by the unmarshal, as there.
type candidate struct {
	Receivers  *section[receiver.Factory]  `mapstructure:"receivers"`
	Processors *section[processor.Factory] `mapstructure:"processors"`
	Exporters  *section[exporter.Factory]  `mapstructure:"exporters"`
	Connectors *section[connector.Factory] `mapstructure:"connectors"`
	Extensions *section[extension.Factory] `mapstructure:"extensions"`
	Service    service.Config              `mapstructure:"service"`
}

func (v *HostValidator) newCandidate() *candidate {
	return &candidate{
		Receivers:  newSection[receiver.Factory](v, component.KindReceiver),
		Processors: newSection[processor.Factory](v, component.KindProcessor),
		Exporters:  newSection[exporter.Factory](v, component.KindExporter),
		Connectors: newSection[connector.Factory](v, component.KindConnector),
		Extensions: newSection[extension.Factory](v, component.KindExtension),
		Service:    service.Config{Telemetry: v.telemetry.CreateDefaultConfig()},
	}
}

// section is one kind's components: their configs, and the factories of
// the types used, looked up on the host as they are met.
type section[F component.Factory] struct {
	v         *HostValidator
	kind      component.Kind
	cfgs      map[component.ID]component.Config
	factories map[component.Type]F
}

func newSection[F component.Factory](v *HostValidator, kind component.Kind) *section[F] {
	return &section[F]{v: v, kind: kind, cfgs: map[component.ID]component.Config{}, factories: map[component.Type]F{}}
}

// Unmarshal implements confmap.Unmarshaler: each component's section over
// its factory's default config, in ID order (the first error is the same
// every time).
func (s *section[F]) Unmarshal(conf *confmap.Conf) error {
	raw := map[component.ID]map[string]any{}
	if err := conf.Unmarshal(&raw); err != nil {
		return err
	}
	ids := make([]component.ID, 0, len(raw))
	for id := range raw {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b component.ID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		f, ok := s.factory(id.Type())
		if !ok {
			return s.v.unknownType(s.kind, id)
		}
		sub, err := conf.Sub(id.String())
		if err != nil {
			return fmt.Errorf("error reading configuration for %q: %w", id, err)
		}
		cfg := f.CreateDefaultConfig()
		if err := sub.Unmarshal(&cfg); err != nil {
			return fmt.Errorf("error reading configuration for %q: %w", id, err)
		}
		s.cfgs[id] = cfg
	}
	return nil
}

func (s *section[F]) factory(t component.Type) (F, bool) {
	if f, ok := s.factories[t]; ok {
		return f, true
	}
	f, ok := s.v.factories.GetFactory(s.kind, t).(F)
	if ok {
		s.factories[t] = f
	}
	return f, ok
}

// unknownType words it as otelcol does, listing the distro's types of that
// kind when the host tells them.
func (v *HostValidator) unknownType(kind component.Kind, id component.ID) error {
	msg := fmt.Sprintf("unknown type: %q for id: %q", id.Type(), id)
	if known := v.knownTypes(kind); len(known) > 0 {
		msg += fmt.Sprintf(" (valid values: %v)", known)
	}
	return errors.New(msg)
}

func (v *HostValidator) knownTypes(kind component.Kind) []string {
	if v.modules == nil {
		return nil
	}
	mi := v.modules.GetModuleInfos()
	var out []string
	add := func(t component.Type) { out = append(out, t.String()) }
	switch kind {
	case component.KindReceiver:
		forKeys(mi.Receiver, add)
	case component.KindProcessor:
		forKeys(mi.Processor, add)
	case component.KindExporter:
		forKeys(mi.Exporter, add)
	case component.KindConnector:
		forKeys(mi.Connector, add)
	case component.KindExtension:
		forKeys(mi.Extension, add)
	}
	slices.Sort(out)
	return out
}

func forKeys[V any](m map[component.Type]V, f func(component.Type)) {
	for k := range m {
		f(k)
	}
}

// resolveYAML resolves the rendered config as a fresh resolve of it does
// ("$$" back to "$"); no provider but the bytes' own is there, as every
// reference in it is already expanded (renderYAML).
func resolveYAML(ctx context.Context, y []byte) (*confmap.Conf, error) {
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{yamlScheme + ":"},
		ProviderFactories: []confmap.ProviderFactory{yamlBytes(y).factory()},
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Shutdown(ctx) }()
	return r.Resolve(ctx)
}

const yamlScheme = "opamp-validate"

// yamlBytes serves one YAML document to a resolver.
type yamlBytes []byte

func (y yamlBytes) factory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return y })
}

func (y yamlBytes) Retrieve(context.Context, string, confmap.WatcherFunc) (*confmap.Retrieved, error) {
	return confmap.NewRetrievedFromYAML(y)
}

func (yamlBytes) Scheme() string                 { return yamlScheme }
func (yamlBytes) Shutdown(context.Context) error { return nil }

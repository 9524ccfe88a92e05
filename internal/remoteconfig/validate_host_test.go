package remoteconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
)

// edit returns hostBase with old replaced by new (old must be there).
func edit(t testing.TB, old, new string) string {
	t.Helper()
	require.Contains(t, hostBase, old)
	return strings.Replace(hostBase, old, new, 1)
}

// TestHostValidatorAsDryRun: on a real Collector's host, HostValidator
// gives the verdict of the `validate` command (DryRun with the same
// factories) for each case, with the same error text in it.
func TestHostValidatorAsDryRun(t *testing.T) {
	rig, host := startHostRig(t)
	v := NewHostValidator(host, failingFallback(t))
	require.IsType(t, &HostValidator{}, v, "core's host exposes GetFactory")
	for _, tc := range []struct {
		name, yaml string
		want       string // in both errors; "" when valid
	}{
		{"good", hostBase, ""},
		{"unknown receiver", edit(t, "receivers:\n  nop:\n", "receivers:\n  nop:\n  nosuch/x:\n"), `unknown type: "nosuch" for id: "nosuch/x"`},
		{"unknown exporter", edit(t, "exporters:\n  nop:\n", "exporters:\n  nop:\n  nosuch:\n"), `unknown type: "nosuch" for id: "nosuch"`},
		{"unknown extension", edit(t, "extensions:\n  hostcap:\n", "extensions:\n  hostcap:\n  nosuchext:\n"), `unknown type: "nosuchext"`},
		{"field that does not exist", edit(t, "    endpoint: localhost:4317\n", "    endpoint: localhost:4317\n    no_such_field: 1\n"), "no_such_field"},
		{"value the component refuses", edit(t, "endpoint: localhost:4317", "endpoint: nocolon"), errCheckEndpoint.Error()},
		{"value core's configtls refuses", edit(t, "    endpoint: localhost:4317\n", "    endpoint: localhost:4317\n    tls:\n      min_version: \"0.9\"\n"), "min_version"},
		{"pipeline references an undefined receiver", edit(t, "receivers: [check]", "receivers: [check, nop/missing]"), `references receiver "nop/missing" which is not configured`},
		{"pipeline references an undefined processor", edit(t, "processors: [nop]", "processors: [nop/missing]"), `references processor "nop/missing" which is not configured`},
		{"service extension not defined", edit(t, "extensions: [hostcap]", "extensions: [hostcap, nosuchext]"), `references extension "nosuchext" which is not configured`},
		{"connector never used as a receiver", edit(t, "      receivers: [nop/fwd]\n", "      receivers: [nop]\n"), `"nop/fwd"`},
		{"receiver in a pipeline of a signal it lacks", edit(t, "    traces:\n      receivers: [check]", "    logs:\n      receivers: [check]"), "not supported"},
		{"unknown top-level key", "receiver:\n  nop:\n" + hostBase, "invalid keys: receiver"},
		{"empty", "", "empty configuration file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			got, dry := v.Validate(ctx, []byte(tc.yaml)), rig.dryRun(ctx, []byte(tc.yaml))
			if tc.want == "" {
				require.NoError(t, dry, "the validate command")
				require.NoError(t, got)
				return
			}
			require.Error(t, dry, "the validate command")
			require.ErrorContains(t, dry, tc.want, "the validate command")
			require.ErrorIs(t, got, ErrInvalid)
			assert.ErrorContains(t, got, tc.want)
			t.Logf("in-process: %v", got)
		})
	}
}

// TestResolveYAML: the rendered config reads back as a fresh resolve reads
// it, every doubled "$" one again and no reference expanded.
func TestResolveYAML(t *testing.T) {
	y, err := renderYAML(confmap.NewFromStringMap(map[string]any{"a": "x${env:HOME}$y"}))
	require.NoError(t, err)
	conf, err := resolveYAML(context.Background(), y)
	require.NoError(t, err)
	assert.Equal(t, "x${env:HOME}$y", conf.Get("a"))
}

// TestHostValidatorUnknownTypeNamesValidOnes: the host's module infos
// give the distro's types of that kind, as the validate command lists them.
func TestHostValidatorUnknownTypeNamesValidOnes(t *testing.T) {
	_, host := startHostRig(t)
	err := NewHostValidator(host, nil).Validate(context.Background(), []byte(edit(t, "  nop:\n", "  nop:\n  nosuch:\n")))
	assert.ErrorContains(t, err, `unknown type: "nosuch" for id: "nosuch" (valid values: [check nop])`)
}

// TestHostValidatorShutsDownWhatItCreates: the graph's components are
// created and each is shut down before Validate returns (the validate
// command's process exits instead).
func TestHostValidatorShutsDownWhatItCreates(t *testing.T) {
	rig, host := startHostRig(t)
	v := NewHostValidator(host, nil)
	created, shutdown := rig.counts.created.Load(), rig.counts.shutdown.Load()
	require.NoError(t, v.Validate(context.Background(), []byte(hostBase)))
	assert.Positive(t, rig.counts.created.Load()-created, "the graph created the check receiver")
	assert.Equal(t, rig.counts.created.Load()-created, rig.counts.shutdown.Load()-shutdown, "every one created was shut down")
}

// recordingFallback counts its calls and answers err.
type recordingFallback struct {
	calls atomic.Int32
	err   error
}

func (f *recordingFallback) Validate(context.Context, []byte) error {
	f.calls.Add(1)
	return f.err
}

// failingFallback fails the test if the fallback is asked.
func failingFallback(t *testing.T) Validator {
	return ValidatorFunc(func(context.Context, []byte) error {
		t.Error("the fallback was asked")
		return errors.New("fallback")
	})
}

// TestHostValidatorFallback: where the in-process check cannot give the
// distro's verdict (a telemetry section core's telemetry factory refuses,
// which the distro's own may accept; a factory that panics), the fallback
// decides; without one the in-process refusal stands.
func TestHostValidatorFallback(t *testing.T) {
	_, host := startHostRig(t)
	errDistro := errors.New("the distro's verdict")
	for _, tc := range []struct {
		name, yaml string
		want       string // in the error without a fallback
	}{
		{"telemetry core refuses", edit(t, "level: warn", "level: nosuch"), "service::telemetry"},
		{"factory panics", edit(t, "endpoint: localhost:4317", "endpoint: panic"), "panicked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &recordingFallback{err: errDistro}
			assert.ErrorIs(t, NewHostValidator(host, fb).Validate(context.Background(), []byte(tc.yaml)), errDistro)
			assert.EqualValues(t, 1, fb.calls.Load())

			fb = &recordingFallback{}
			require.NoError(t, NewHostValidator(host, fb).Validate(context.Background(), []byte(tc.yaml)), "the distro accepts it")

			err := NewHostValidator(host, nil).Validate(context.Background(), []byte(tc.yaml))
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestNewHostValidatorWithoutFactories: a host without GetFactory gets the
// fallback itself.
func TestNewHostValidatorWithoutFactories(t *testing.T) {
	fb := &recordingFallback{}
	assert.Same(t, fb, NewHostValidator(componenttest.NewNopHost(), fb))
}

// distroBinary is the distro `make distro` builds, for the exec benchmark.
const distroBinary = "../../_build/otelcol-opamp"

// distroConfig is a small config of the distro's own components.
const distroConfig = `
receivers:
  nop:
exporters:
  nop:
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
`

// largeHostConfig is hostBase with n more check receivers in its traces
// pipeline.
func largeHostConfig(t testing.TB, n int) string {
	var recv, ids strings.Builder
	for i := range n {
		fmt.Fprintf(&recv, "  check/%d:\n    endpoint: localhost:%d\n", i, 10000+i)
		fmt.Fprintf(&ids, ", check/%d", i)
	}
	y := strings.Replace(edit(t, "receivers:\n  nop:\n", "receivers:\n  nop:\n"+recv.String()), "receivers: [check]", "receivers: [check"+ids.String()+"]", 1)
	return y
}

// BenchmarkValidate: one validation of a small config in-process on the
// running Collector's host, by DryRun in-process (the validate command
// after its start-up), and by ExecValidator running the distro's binary
// (when built).
func BenchmarkValidate(b *testing.B) {
	rig, host := startHostRig(b)
	ctx := context.Background()
	run := func(name string, v Validator, yaml string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(ctx, []byte(yaml)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("host", NewHostValidator(host, nil), hostBase)
	run("dryrun", ValidatorFunc(rig.dryRun), hostBase)
	large := largeHostConfig(b, 200)
	run("host-200", NewHostValidator(host, nil), large)
	run("dryrun-200", ValidatorFunc(rig.dryRun), large)
	exe, err := filepath.Abs(distroBinary)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(exe); err != nil {
		b.Logf("no distro binary at %s: exec not measured", exe)
		return
	}
	run("exec", ExecValidator{Path: exe, Dir: b.TempDir()}, distroConfig)
}

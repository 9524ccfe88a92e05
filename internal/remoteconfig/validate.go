package remoteconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"
)

// Validator checks a complete Collector config (YAML) with the distro's
// own factories, without running it.
type Validator interface {
	Validate(ctx context.Context, yaml []byte) error
}

// ValidatorFunc adapts a function to Validator.
type ValidatorFunc func(ctx context.Context, yaml []byte) error

// Validate implements Validator.
func (f ValidatorFunc) Validate(ctx context.Context, yaml []byte) error { return f(ctx, yaml) }

// ErrInvalid wraps what validation said of a candidate.
var ErrInvalid = errors.New("the merged configuration is invalid")

// maxValidateOutput bounds the error text kept from a validation run.
const maxValidateOutput = 4 << 10

// ExecValidator runs this binary's own `validate` command on the merged
// config, as the OpAMP Supervisor does: the check the user would run,
// with every factory of the distro, in a process that cannot disturb this
// one. The file is written 0600 into Dir (the state directory, private to
// the Collector's user) and removed afterwards.
type ExecValidator struct {
	// Path is the Collector binary (os.Executable()).
	Path string
	// Dir holds the temporary file.
	Dir string
}

// Validate implements Validator.
func (v ExecValidator) Validate(ctx context.Context, yaml []byte) error {
	f, err := os.CreateTemp(v.Dir, ".validate-*.yaml")
	if err != nil {
		return fmt.Errorf("validation file: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(yaml); err != nil {
		_ = f.Close()
		return fmt.Errorf("validation file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("validation file: %w", err)
	}
	cmd := exec.CommandContext(ctx, v.Path, "validate", "--config=file:"+f.Name())
	cmd.Env = append(os.Environ(), DisableEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%w: %s", ErrInvalid, tail(out.String(), maxValidateOutput))
		}
		return fmt.Errorf("cannot run %s validate: %w", v.Path, err)
	}
	return nil
}

// tail keeps the end of s, where the Collector prints its error.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// renderYAML renders a config for a fresh resolve: every "$" is doubled,
// since the values are final (already expanded, or remote and checked)
// and a resolver would otherwise expand them again.
func renderYAML(c *confmap.Conf) ([]byte, error) {
	return yaml.Marshal(mapStrings(c.ToStringMap(), func(s string) string { return strings.ReplaceAll(s, "$", "$$") }))
}

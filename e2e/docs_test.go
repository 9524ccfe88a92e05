//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// yamlBlock matches a fenced YAML block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docsPipeline completes a README snippet that has no pipeline of its
// own: the Collector refuses a config without one.
const docsPipeline = `receivers:
  nop:
exporters:
  nop:
service:
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
`

// TestDocsExamplesValidate runs the distro's own `validate` on every
// Collector configuration the README and examples/ show, so that an
// example a user copies is one this distro accepts.
func TestDocsExamplesValidate(t *testing.T) {
	bin := distroBin(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	configs := map[string]string{}
	for i, m := range yamlBlock.FindAllSubmatch(readme, -1) {
		body := string(m[1])
		// Collector configs only: the Supervisor's config and ocb
		// manifests have their own tests.
		if !strings.Contains(body, "\n  opamp:\n") && !strings.HasPrefix(body, "extensions:\n  opamp:") {
			continue
		}
		configs[fmt.Sprintf("README.md block %d", i+1)] = body
	}
	if len(configs) < 4 {
		t.Fatalf("found %d Collector examples in README.md; the extraction is broken", len(configs))
	}
	examples, err := filepath.Glob("../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range examples {
		if filepath.Base(p) == "supervisor.yaml" {
			continue // a Supervisor config: TestSupervisorExampleInReadme
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		configs[filepath.Base(p)] = string(data)
	}
	for name, body := range configs {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			writeFile(t, cfg, body)
			args := []string{"validate", "--config", cfg}
			if !strings.Contains(body, "pipelines:") {
				extra := filepath.Join(dir, "pipeline.yaml")
				writeFile(t, extra, docsPipeline)
				args = append(args, "--config", extra)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(os.Environ(), "OPAMP_TOKEN=docs-test-token", "OPAMP_API_KEY=docs-test-key")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s does not validate: %v\n%s\n--- config:\n%s", name, err, out, body)
			}
		})
	}
}

// TestSupervisorExampleInReadme: the README shows examples/supervisor.yaml
// as it is (its keys, less the comments), so nothing that changes
// behaviour is left out of either.
func TestSupervisorExampleInReadme(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile("../examples/supervisor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := withoutComments(string(file))
	for _, m := range yamlBlock.FindAllSubmatch(readme, -1) {
		if strings.Contains(string(m[1]), "executable:") {
			if got := withoutComments(string(m[1])); got != want {
				t.Fatalf("README's Supervisor config differs from examples/supervisor.yaml\nREADME:\n%s\nexamples/supervisor.yaml:\n%s", got, want)
			}
			return
		}
	}
	t.Fatal("README.md shows no Supervisor config")
}

// withoutComments drops comment and blank lines and trailing comments.
func withoutComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimRight(line, " ")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sample = `//go:build e2e

package main

import (
	"fmt"
	"strings"
	"testing"

	tb "example.com/testbed/testbed"
	"example.com/yaml.v3"
	"example.com/mod/v2"
)

// TestKeep stays.
func TestKeep(t *testing.T) {
	fmt.Println(strings.ToUpper("x"), mod.X)
}

// TestDrop needs testbed.
func TestDrop(t *testing.T) {
	// inside
	_ = tb.New()
	_ = yaml.Y
	fmt.Println("dropped")
}

type recv struct{}

// TestDrop as a method is not a top-level function and stays.
func (recv) TestDrop() { _ = yaml.Y }
`

func TestPrune(t *testing.T) {
	tests := []struct {
		name     string
		drop     []string
		want     []string
		wantGone []string
		wantErr  error
	}{
		{
			name: "drops the function, its doc and the imports only it used",
			drop: []string{"TestDrop"},
			want: []string{
				"func TestKeep(", `"fmt"`, `"strings"`, `"example.com/mod/v2"`,
				`"example.com/yaml.v3"`, "func (recv) TestDrop()",
			},
			wantGone: []string{"func TestDrop(", "needs testbed", "// inside", "testbed"},
		},
		{
			name:     "drops several",
			drop:     []string{"TestDrop", " TestKeep"},
			want:     []string{`"example.com/yaml.v3"`, "func (recv) TestDrop()"},
			wantGone: []string{"func TestKeep(", `"fmt"`, `"strings"`, "testbed", `"example.com/mod/v2"`},
		},
		{
			name:    "a missing function is an error",
			drop:    []string{"TestDrop", "TestRenamed"},
			wantErr: errMissing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := prune([]byte(sample), tt.drop)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("prune error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := string(out)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantGone {
				if strings.Contains(got, w) {
					t.Errorf("output still has %q:\n%s", w, got)
				}
			}
			if !strings.HasPrefix(got, "//go:build e2e\n") {
				t.Errorf("build constraint lost:\n%s", got)
			}
		})
	}
}

func TestImportName(t *testing.T) {
	tests := map[string]string{
		`"fmt"`:                       "fmt",
		`"net/http/httptest"`:         "httptest",
		`"gopkg.in/yaml.v3"`:          "yaml",
		`"github.com/x/y/v2"`:         "y",
		`"github.com/x/v2ray"`:        "v2ray",
		`clientTypes "example.com/t"`: "clientTypes",
	}
	for spec, want := range tests {
		src := "package p\nimport " + spec + "\n"
		f, err := parseImports(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := importName(f); got != want {
			t.Errorf("importName(%s) = %q, want %q", spec, got, want)
		}
	}
}

func TestRewriteFileInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e2e_test.go")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rewriteFile(path, []string{"TestDrop"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "testbed") {
		t.Errorf("file still imports testbed:\n%s", got)
	}
	// A second run has nothing left to drop and says so.
	if err := rewriteFile(path, []string{"TestDrop"}); !errors.Is(err, errMissing) {
		t.Errorf("second rewrite error = %v, want %v", err, errMissing)
	}
}

// parseImports parses src and returns its only import.
func parseImports(src string) (*ast.ImportSpec, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	return f.Imports[0], nil
}

// Command supsuite removes named top-level functions from a Go source file
// and then the imports that only they used, and writes the file back
// formatted. scripts/supervisor-suite.sh uses it on a copy of the OpAMP
// Supervisor's e2e_test.go to drop the tests that need modules the Go
// module proxy refuses (contrib's testbed), so the rest of that suite can
// be compiled here without editing it by hand.
//
// Usage: go run ./scripts/supsuite -file e2e_test.go -drop TestA,TestB
//
// It fails when a named function is not in the file: a new Supervisor
// version that renamed or removed a test should be noticed, not skipped.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
)

// errMissing marks a function asked for that the file does not declare.
var errMissing = errors.New("function not found")

func main() {
	file := flag.String("file", "", "Go source file to rewrite in place")
	drop := flag.String("drop", "", "comma-separated names of top-level functions to remove")
	flag.Parse()
	if *file == "" || *drop == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := rewriteFile(*file, strings.Split(*drop, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "supsuite:", err)
		os.Exit(1)
	}
}

// rewriteFile prunes the file at path in place.
func rewriteFile(path string, names []string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := prune(src, names)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(out, src) {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, info.Mode().Perm())
}

// prune returns src without the top-level functions (not methods) called
// names and without the imports that were used only inside them.
func prune(src []byte, names []string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.TrimSpace(n)] = true
	}
	var kept, dropped []ast.Decl
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && want[fd.Name.Name] {
			delete(want, fd.Name.Name)
			dropped = append(dropped, d)
			continue
		}
		kept = append(kept, d)
	}
	for n := range want {
		return nil, fmt.Errorf("%w: %s", errMissing, n)
	}
	f.Decls = kept
	// A doc comment stays in f.Comments after its declaration is gone and
	// would be printed loose: drop the comments inside the removed range.
	f.Comments = commentsOutside(f.Comments, dropped)

	usedBefore := qualifiers(dropped)
	usedAfter := qualifiers(kept)
	for _, imp := range slices.Clone(f.Imports) {
		name := importName(imp)
		if usedBefore[name] && !usedAfter[name] {
			removeImport(f, imp)
		}
	}

	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// commentsOutside keeps the comment groups that do not lie within a removed
// declaration or its doc comment.
func commentsOutside(groups []*ast.CommentGroup, removed []ast.Decl) []*ast.CommentGroup {
	var out []*ast.CommentGroup
	for _, g := range groups {
		inside := false
		for _, d := range removed {
			start := d.Pos()
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Doc != nil {
				start = fd.Doc.Pos()
			}
			if g.Pos() >= start && g.End() <= d.End() {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, g)
		}
	}
	return out
}

// qualifiers collects the identifiers used as X in X.Sel within decls: the
// candidates for package names. Field accesses on local variables are
// collected too, which only means an import is kept when a variable shares
// its name; nothing that is used is ever removed.
func qualifiers(decls []ast.Decl) map[string]bool {
	used := map[string]bool{}
	for _, d := range decls {
		ast.Inspect(d, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok {
					used[id.Name] = true
				}
			}
			return true
		})
	}
	return used
}

// importName is the name an import is referred to by: its explicit name, or
// the last element of its path without a major-version suffix (…/v2) or a
// gopkg.in-style ".vN". A wrong guess only keeps an import, which the
// compiler then reports.
func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	p := strings.Trim(imp.Path.Value, "\"`")
	parts := strings.Split(p, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && isMajorVersion(last) {
		last = parts[len(parts)-2]
	}
	if i := strings.Index(last, ".v"); i > 0 && isMajorVersion(last[i+1:]) {
		last = last[:i]
	}
	return last
}

// isMajorVersion reports whether s is "v" followed by digits.
func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeImport deletes imp from f's import declarations and its import list.
func removeImport(f *ast.File, imp *ast.ImportSpec) {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for i, s := range gd.Specs {
			if s == imp {
				gd.Specs = append(gd.Specs[:i], gd.Specs[i+1:]...)
				break
			}
		}
	}
	for i, s := range f.Imports {
		if s == imp {
			f.Imports = append(f.Imports[:i], f.Imports[i+1:]...)
			break
		}
	}
	var kept []*ast.CommentGroup
	for _, g := range f.Comments {
		if g != imp.Doc && g != imp.Comment {
			kept = append(kept, g)
		}
	}
	f.Comments = kept
}

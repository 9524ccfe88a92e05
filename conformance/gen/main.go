// Command gen writes CONFORMANCE.md from the conformance catalogue
// (make conformance).
package main

import (
	"fmt"
	"os"

	"github.com/opampext/opampextension/conformance"
)

func main() {
	out := "CONFORMANCE.md"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	if err := os.WriteFile(out, []byte(conformance.Markdown()), 0o644); err != nil { //nolint:gosec // a document, world-readable
		fmt.Fprintln(os.Stderr, "conformance/gen:", err)
		os.Exit(1)
	}
}

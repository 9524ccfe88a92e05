package devserver

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

// printer writes reports to the terminal, one "15:04:05 label  text" line
// each; continuation lines are indented under the text. The mutex keeps
// reports from concurrent connections from interleaving mid-line.
type printer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

func (p *printer) report(r agents.Report) {
	if len(r.Lines) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	prefix := fmt.Sprintf("%s %s  ", p.now().Format(time.TimeOnly), r.Agent)
	indent := strings.Repeat(" ", len(prefix))
	for _, l := range r.Lines {
		// Write errors to a terminal are not actionable; ignore them.
		_, _ = io.WriteString(p.w, prefix+strings.ReplaceAll(l, "\n", "\n"+indent)+"\n")
	}
}

func (p *printer) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = fmt.Fprintf(p.w, "%s "+format+"\n", append([]any{p.now().Format(time.TimeOnly)}, args...)...)
}

package devserver

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"join": strings.Join,
	"ago": func(now, t time.Time) string {
		return now.Sub(t).Round(time.Second).String()
	},
}).Parse(pageHTML))

type pageData struct {
	Now    time.Time
	Agents []agents.Agent
}

func (s *Server) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/agents", s.serveAgents)
	mux.HandleFunc("POST /api/agents/{uid}/config", s.postConfig)
	return mux
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	// Render to memory first so a template error becomes a 500, not half a page.
	var b strings.Builder
	if err := pageTemplate.Execute(&b, pageData{Now: s.cfg.Now(), Agents: s.store.Snapshot()}); err != nil {
		http.Error(w, "rendering page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// serveAgents answers a JSON array of agents sorted by instance UID.
func (s *Server) serveAgents(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.store.Snapshot())
}

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
	"remoteView":     remoteView,
	"connectionView": connectionView,
}).Parse(pageHTML))

// offerView is what the page's "status" template shows about one kind of
// offer to an agent.
type offerView struct {
	ID      string // prefix of the element ids: "rc" or "cs"
	UID     string
	What    string // what was sent, in "the config sent last"
	Status  *agents.OfferStatus
	History []agents.StatusChange
	Sent    *sentView
}

// sentView is the offer the server sent last.
type sentView struct {
	Hash      string
	At        time.Time
	Summary   string // what it changes, when the page does not show it elsewhere
	Delivered bool
}

func remoteView(a agents.Agent) offerView {
	v := offerView{ID: "rc", UID: a.InstanceUID, What: "config", Status: a.RemoteConfigStatus, History: a.StatusHistory()}
	if c := a.SentConfig; c != nil {
		v.Sent = &sentView{Hash: c.Hash, At: c.At, Delivered: c.Delivered}
	}
	return v
}

func connectionView(a agents.Agent) offerView {
	v := offerView{ID: "cs", UID: a.InstanceUID, What: "offer", Status: a.ConnectionStatus, History: a.ConnectionStatusHistory()}
	if c := a.SentConnection; c != nil {
		v.Sent = &sentView{Hash: c.Hash, At: c.At, Summary: c.Summary(), Delivered: c.Delivered}
	}
	return v
}

type pageData struct {
	Now    time.Time
	Agents []agents.Agent
	// Listeners are the server's OpAMP URLs, to offer as endpoints.
	Listeners []string
}

func (s *Server) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /api/agents", s.serveAgents)
	mux.HandleFunc("POST /api/agents/{uid}/config", s.postConfig)
	mux.HandleFunc("POST /api/agents/{uid}/connection", s.postConnection)
	return mux
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	// Render to memory first so a template error becomes a 500, not half a page.
	var b strings.Builder
	if err := pageTemplate.Execute(&b, pageData{Now: s.cfg.Now(), Agents: s.store.Snapshot(), Listeners: s.OpAMPURLs()}); err != nil {
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

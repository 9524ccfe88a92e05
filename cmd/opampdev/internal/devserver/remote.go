package devserver

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

// maxConfigBytes bounds a posted config; a Collector config is kilobytes.
const maxConfigBytes = 4 << 20

// sendTimeout bounds pushing a config on a WebSocket connection.
const sendTimeout = 5 * time.Second

// SendResult is the answer to POST /api/agents/{uid}/config.
type SendResult struct {
	Hash string `json:"hash"` // hex sha256 of the body, the config's hash
	// Delivered is false when the agent gets the config with the answer to
	// its next message (HTTP polling, or offline).
	Delivered bool `json:"delivered"`
}

// postConfig offers the YAML body as the agent's remote config. Any web
// page the user visits can make their browser POST here, so the request
// must look like it came from this page: a YAML content type (which a
// cross-site form or no-preflight fetch cannot set), an Origin, when
// present, naming this server, and a local host name (against DNS
// rebinding).
func (s *Server) postConfig(w http.ResponseWriter, r *http.Request) {
	if err := checkLocalRequest(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/yaml" && ct != "text/yaml" {
		http.Error(w, "the body must be YAML sent as Content-Type application/yaml or text/yaml", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("the config is larger than %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	uid := r.PathValue("uid")
	o, err := s.store.Offer(s.cfg.Now(), uid, body)
	switch {
	case errors.Is(err, agents.ErrUnknownAgent):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, agents.ErrNotAccepted):
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	res := SendResult{Hash: o.Hash}
	if o.Push != nil {
		if res.Delivered = s.push(r.Context(), uid, o); !res.Delivered {
			s.store.Requeue(uid, o.Hash)
		}
	}
	line := fmt.Sprintf("remote config %.8s sent (%d bytes)", o.Hash, len(body))
	if !res.Delivered {
		line = fmt.Sprintf("remote config %.8s queued (%d bytes): it goes with the answer to the agent's next message", o.Hash, len(body))
	}
	s.out.report(agents.Report{Agent: o.Agent, Lines: []string{line}})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// push sends msg on the agent's open WebSocket connection. When that
// connection has just closed, the agent gets the config on its next one.
func (s *Server) push(ctx context.Context, uid string, o agents.Offered) bool {
	s.mu.Lock()
	c := s.conns[o.ConnID]
	s.mu.Unlock()
	if c == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	err := c.Send(ctx, &protobufs.ServerToAgent{
		InstanceUid:  instanceUID(uid),
		RemoteConfig: o.Push,
		Capabilities: serverCapabilities,
	})
	if err != nil {
		s.out.report(agents.Report{Agent: o.Agent, Lines: []string{"sending remote config: " + err.Error()}})
		return false
	}
	return true
}

// instanceUID turns agents.FormatUID's text back into bytes.
func instanceUID(s string) []byte {
	if u, err := uuid.Parse(s); err == nil {
		return u[:]
	}
	b, _ := hex.DecodeString(s)
	return b
}

var errNotLocal = errors.New("config changes are accepted only from the dev server's own page on a local address (localhost or an IP)")

// checkLocalRequest refuses a request whose Host is a DNS name other than
// localhost, or whose Origin is another site.
func checkLocalRequest(r *http.Request) error {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return errNotLocal
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errNotLocal
		}
	}
	return nil
}

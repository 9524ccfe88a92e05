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
	"slices"
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

// SendResult is the answer to POST /api/agents/{uid}/config and
// /api/agents/{uid}/connection.
type SendResult struct {
	// Hash is the offer's hash in hex: for a config sha256 of the body,
	// for connection settings a hash of their content (stable while the
	// server runs).
	Hash string `json:"hash"`
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
	body, ok := readOffer(w, r, maxConfigBytes, "application/yaml", "text/yaml")
	if !ok {
		return
	}
	uid := r.PathValue("uid")
	o, err := s.store.Offer(s.cfg.Now(), uid, body)
	if err != nil {
		offerError(w, err)
		return
	}
	res := SendResult{Hash: o.Hash}
	if o.Push != nil {
		if res.Delivered = s.push(r.Context(), uid, o.Agent, o.ConnID, &protobufs.ServerToAgent{RemoteConfig: o.Push}); !res.Delivered {
			s.store.Requeue(uid, o.Hash)
		}
	}
	line := fmt.Sprintf("remote config %.8s sent (%d bytes)", o.Hash, len(body))
	if !res.Delivered {
		line = fmt.Sprintf("remote config %.8s queued (%d bytes): it goes with the answer to the agent's next message", o.Hash, len(body))
	}
	s.out.report(agents.Report{Agent: o.Agent, Lines: []string{line}})
	writeJSON(w, res)
}

// readOffer checks that r may change an agent and reads its body, of one
// of the content types (which a cross-site form or no-preflight fetch
// cannot set) and at most limit bytes. It answers the request itself, and
// returns false, when it refuses it.
func readOffer(w http.ResponseWriter, r *http.Request, limit int64, types ...string) ([]byte, bool) {
	if err := checkLocalRequest(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return nil, false
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); !slices.Contains(types, ct) {
		http.Error(w, "the body must be sent as Content-Type "+strings.Join(types, " or "), http.StatusUnsupportedMediaType)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// offerError answers a refused offer with the status that fits err.
func offerError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, agents.ErrUnknownAgent):
		code = http.StatusNotFound
	case errors.Is(err, agents.ErrNotAccepted), errors.Is(err, agents.ErrConnectionNotAccepted):
		code = http.StatusConflict
	case errors.Is(err, agents.ErrBadOffer):
		code = http.StatusBadRequest
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// push sends msg on the agent's open WebSocket connection connID. When
// that connection has just closed, it reports false: the caller queues
// the offer for the agent's next message.
func (s *Server) push(ctx context.Context, uid, label string, connID uint64, msg *protobufs.ServerToAgent) bool {
	s.mu.Lock()
	c := s.conns[connID]
	s.mu.Unlock()
	if c == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	msg.InstanceUid, msg.Capabilities = instanceUID(uid), serverCapabilities
	if err := c.Send(ctx, msg); err != nil {
		s.out.report(agents.Report{Agent: label, Lines: []string{"sending to the agent: " + err.Error()}})
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

var errNotLocal = errors.New("changes are accepted only from the dev server's own page on a local address (localhost or an IP)")

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

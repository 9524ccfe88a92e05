package devserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

// maxConnectionBytes bounds a posted connection settings offer.
const maxConnectionBytes = 64 << 10

// postConnection offers the agent the OpAMP connection settings in the
// JSON body (see agents.ConnectionOffer): a new endpoint and/or one
// header. It is guarded like postConfig; the header value goes to the
// agent and nowhere else (not the terminal, the page or the answer).
func (s *Server) postConnection(w http.ResponseWriter, r *http.Request) {
	body, ok := readOffer(w, r, maxConnectionBytes, "application/json")
	if !ok {
		return
	}
	var offer agents.ConnectionOffer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&offer); err != nil {
		// json's errors quote field names and types, never string values.
		http.Error(w, fmt.Sprintf("the body must be a JSON object with endpoint, header_name and header_value: %v", err), http.StatusBadRequest)
		return
	}
	uid := r.PathValue("uid")
	o, err := s.store.OfferConnection(s.cfg.Now(), uid, offer)
	if err != nil {
		offerError(w, err)
		return
	}
	res := SendResult{Hash: o.Hash}
	if o.Push != nil {
		if res.Delivered = s.push(r.Context(), uid, o.Agent, o.ConnID, &protobufs.ServerToAgent{ConnectionSettings: o.Push}); !res.Delivered {
			s.store.RequeueConnection(uid, o)
		}
	}
	sent := agents.SentConnection{Endpoint: offer.Endpoint, Header: offer.HeaderName}
	line := fmt.Sprintf("connection settings %.8s sent: %s", o.Hash, sent.Summary())
	if !res.Delivered {
		line = fmt.Sprintf("connection settings %.8s queued: %s; it goes with the answer to the agent's next message", o.Hash, sent.Summary())
	}
	s.out.report(agents.Report{Agent: o.Agent, Lines: []string{line}})
	writeJSON(w, res)
}

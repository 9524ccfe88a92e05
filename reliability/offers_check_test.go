package reliability

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/testserver"
)

// awaitStatus waits up to convergeBound until every agent's latest
// connection-settings status on srv is want for hash and every WebSocket
// agent is connected there, then records the result as the step's offer
// row. marks (nil for a fresh server) date the WebSocket reconnections.
func awaitStatus(r *run, srv *testserver.Server, on, hash string, want protobufs.ConnectionSettingsStatuses, marks map[string]mark, start time.Time) *offerResult {
	res := &offerResult{hash: hash, want: want, on: on}
	r.offer = res
	deadline := time.Now().Add(convergeBound)
	for {
		views := srv.Agents()
		var missing []string
		for _, a := range r.agents {
			if st := views[a.uid]; !hasStatus(st, hash, want) || (!a.http && !st.Connected) {
				missing = append(missing, a.name+": "+statusOf(st))
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			res.recovered = time.Since(start)
			countStatuses(res, r.agents, views, marks)
			if len(missing) > 0 {
				r.t.Errorf("%s: not every agent was on the %s server with %s within %s: %s", hash, on, want, convergeBound, strings.Join(missing, "; "))
				for _, other := range r.servers.list() {
					if other == srv {
						continue
					}
					for _, a := range r.agents {
						if st := other.Agent(a.uid); st != nil && st.Connected {
							r.t.Logf("%s: %s is connected to another server (%s): %s", hash, a.name, other.Addr(), statusOf(st))
						}
					}
				}
			}
			return res
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countStatuses fills in what the agents' records on the server say.
func countStatuses(res *offerResult, agents []*agent, views map[string]*testserver.AgentState, marks map[string]mark) {
	for _, a := range agents {
		st := views[a.uid]
		if st == nil {
			continue
		}
		switch {
		case hasStatus(st, res.hash, csFailed):
			res.failed++
			if strings.HasPrefix(st.ConnectionSettingsStatus.GetErrorMessage(), revertedMessage) {
				res.reverted++
			}
		case hasStatus(st, res.hash, csApplied):
			res.applied++
		}
		if !a.http {
			first := 1 // on a fresh server, the connection the agent moved in on
			if marks != nil {
				first = marks[a.uid].connections
			}
			res.wsReconnects += max(len(st.Headers)-first, 0)
		}
	}
}

func hasStatus(st *testserver.AgentState, hash string, want protobufs.ConnectionSettingsStatuses) bool {
	if st == nil {
		return false
	}
	cs := st.ConnectionSettingsStatus
	return cs != nil && string(cs.GetLastConnectionSettingsHash()) == hash && cs.GetStatus() == want
}

// statusOf says, for failures, what a record holds.
func statusOf(st *testserver.AgentState) string {
	if st == nil {
		return "unknown to the server"
	}
	cs := st.ConnectionSettingsStatus
	out := "status " + string(cs.GetLastConnectionSettingsHash()) + " " + cs.GetStatus().String() + " " + cs.GetErrorMessage()
	if st.Transport == testserver.TransportWebSocket {
		out += map[bool]string{true: ", connected", false: ", not connected"}[st.Connected]
	}
	return out
}

// failedMessages are the FAILED messages for hash on srv, by agent uid.
func failedMessages(srv *testserver.Server, hash string) map[string]string {
	out := map[string]string{}
	for uid, st := range srv.Agents() {
		if hasStatus(st, hash, csFailed) {
			out[uid] = st.ConnectionSettingsStatus.GetErrorMessage()
		}
	}
	return out
}

// stayed checks that an offer that failed moved no agent: the proxies
// accepted no connection since accepts, and no WebSocket agent opened a
// new connection.
func stayed(r *run, name string, res *offerResult, accepts int) {
	if n := r.accepted() - accepts; n > 0 {
		r.t.Errorf("%s: the proxy accepted %d connections: agents reconnected because of a failed offer", name, n)
	}
	if res.wsReconnects > 0 {
		r.t.Errorf("%s: %d new WebSocket connections: agents reconnected because of a failed offer", name, res.wsReconnects)
	}
}

// expiredClientCert is a client certificate (with its key and its CA) for
// client authentication whose validity ended 24 hours ago.
func expiredClientCert(t *testing.T) *protobufs.TLSCertificate {
	t.Helper()
	now := time.Now()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatalf("key: %v", err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "reliability CA"},
		NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "reliability agent"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("CA: %v", err)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("leaf: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	return &protobufs.TLSCertificate{
		Cert: block("CERTIFICATE", leafDER), PrivateKey: block("PRIVATE KEY", keyDER), CaCert: block("CERTIFICATE", caDER),
	}
}

package reliability

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/connsettings"
)

// offerTryTimeout is the agents' connection_settings.try_timeout: how
// long an offered connection has to work.
const offerTryTimeout = 2 * time.Second

const (
	csApplied = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED
	csFailed  = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED
)

// revertedMessage starts the FAILED message of an offer the client went
// back from after switching to it (connsettings.Manager.Reverted).
const revertedMessage = "the offered connection failed after the switch"

// offerSteps are the connection-settings faults: offers that cannot work,
// and servers that offer a move and then disappear.
func offerSteps() []step {
	return []step{
		{name: "offer-dead", kind: "offer", inject: offerDead},
		{name: "offer-expired", kind: "offer", inject: offerExpired},
		{name: "offer-vanish", kind: "offer", reconnects: true, inject: offerVanish},
		{name: "offer-move", kind: "offer", inject: offerMove},
	}
}

// offerResult is what an offer step measured: the statuses the server the
// agents ended on holds for the offer's hash, and how long until every
// agent was there with the status that says so.
type offerResult struct {
	hash            string
	want            protobufs.ConnectionSettingsStatuses
	on              string // which server the agents ended on
	failed, applied int    // agents whose latest status there is FAILED / APPLIED for hash
	reverted        int    // of failed, those that went back after a switch
	wsReconnects    int    // new WebSocket connections to the server they ended on
	recovered       time.Duration
}

// offer is a connection-settings offer of endpoint and cert (either may be
// empty) under hash.
func offer(hash, endpoint string, cert *protobufs.TLSCertificate) *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash:  []byte(hash),
		Opamp: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: endpoint, Certificate: cert},
	}}
}

// sendOffers sends every agent the offer build makes for it.
func sendOffers(r *run, build func(a *agent) *protobufs.ServerToAgent) {
	for _, a := range r.agents {
		if err := r.srv.Send(a.uid, build(a)); err != nil {
			r.t.Errorf("%s: send the offer: %v", a.name, err)
		}
	}
}

// deadAddr is a local port nothing listens on: connecting is refused.
func deadAddr(r *run) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// offerDead offers every agent an endpoint nothing listens on. Each must
// report FAILED for it, stay on its connection (the proxy accepts nothing,
// no WebSocket reconnects) and lose nothing.
func offerDead(r *run) string {
	const hash = "offer-dead"
	addr := deadAddr(r)
	marks, accepts, start := marksOf(r.srv, r.agents), r.accepted(), time.Now()
	sendOffers(r, func(a *agent) *protobufs.ServerToAgent { return offer(hash, a.endpoint(addr), nil) })
	res := awaitStatus(r, r.srv, "first", hash, csFailed, marks, start)
	for uid, msg := range failedMessages(r.srv, hash) {
		if !strings.Contains(msg, "the offered connection failed: ") {
			r.t.Errorf("offer-dead: %s: the FAILED message does not say the connection failed: %q", uid, msg)
		}
	}
	stayed(r, "offer-dead", res, accepts)
	hold(500 * time.Millisecond)
	return fmt.Sprintf("closed port; %d FAILED in %s", res.failed, res.recovered.Round(10*time.Millisecond))
}

// offerExpired offers every agent a client certificate that has expired.
// Each must refuse it with FAILED naming the certificate, and stay.
func offerExpired(r *run) string {
	const hash = "offer-expired"
	cert := expiredClientCert(r.t)
	marks, accepts, start := marksOf(r.srv, r.agents), r.accepted(), time.Now()
	sendOffers(r, func(*agent) *protobufs.ServerToAgent { return offer(hash, "", cert) })
	res := awaitStatus(r, r.srv, "first", hash, csFailed, marks, start)
	for uid, msg := range failedMessages(r.srv, hash) {
		if !strings.HasPrefix(msg, "opamp.certificate: ") || !strings.Contains(msg, connsettings.ErrExpired.Error()) {
			r.t.Errorf("offer-expired: %s: the FAILED message does not name the expired certificate: %q", uid, msg)
		}
	}
	stayed(r, "offer-expired", res, accepts)
	hold(500 * time.Millisecond)
	return fmt.Sprintf("client cert expired 24h ago; %d FAILED in %s", res.failed, res.recovered.Round(10*time.Millisecond))
}

package opampextension

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/certrotate"
	"github.com/opampext/opampextension/internal/connsettings"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
)

// renewCheck is how often a running agent asks whether its client
// certificate is due for renewal (besides every new connection).
const renewCheck = time.Hour

// offers is the extension's part in connection-settings offers: the
// manager that tries them, the rotator that asks for certificates.
type offers struct {
	manager *connsettings.Manager
	rotator *certrotate.Rotator // nil unless connection_settings.certificate_request
	// accepted is the record restored at start; its hash is reported
	// APPLIED once the client runs.
	accepted *connsettings.Record
	stop     chan struct{}
	done     chan struct{}
}

var errNoClient = errors.New("the OpAMP client is not running")

// clientConnector is the manager's way to the client, which Start creates
// after the manager.
type clientConnector struct{ a *opampAgent }

var _ connsettings.Connector = clientConnector{}

func (c clientConnector) Connection() opampclient.Connection {
	if client := c.a.client.Load(); client != nil {
		return client.Connection()
	}
	return opampclient.Connection{}
}

func (c clientConnector) TryConnection(ctx context.Context, cn opampclient.Connection) error {
	client := c.a.client.Load()
	if client == nil {
		return errNoClient
	}
	return client.TryConnection(ctx, cn)
}

func (c clientConnector) SetConnectionSettingsStatus(s *protobufs.ConnectionSettingsStatus) error {
	return c.a.setConnStatus(false, s)
}

// statusJoin holds the two parts of the one connection settings status:
// the OpAMP settings' (the connsettings manager) and own telemetry's (the
// remote config manager). For one offer carrying both, the server hears
// the worse of the two, with both messages.
type statusJoin struct {
	mu         sync.Mutex
	opamp, own *protobufs.ConnectionSettingsStatus
}

// severity orders statuses from best to worst.
var severity = map[protobufs.ConnectionSettingsStatuses]int{
	protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_UNSET:    0,
	protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED:  1,
	protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING: 2,
	protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED:   3,
}

// set records one part's status and returns what to report.
func (j *statusJoin) set(own bool, s *protobufs.ConnectionSettingsStatus) *protobufs.ConnectionSettingsStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	other := j.own
	if own {
		j.own = s
		other = j.opamp
	} else {
		j.opamp = s
	}
	if other == nil || !bytes.Equal(other.GetLastConnectionSettingsHash(), s.GetLastConnectionSettingsHash()) {
		return s
	}
	out := &protobufs.ConnectionSettingsStatus{LastConnectionSettingsHash: s.GetLastConnectionSettingsHash(), Status: s.GetStatus()}
	if severity[other.GetStatus()] > severity[out.Status] {
		out.Status = other.GetStatus()
	}
	var msgs []string
	for _, m := range []string{j.opamp.GetErrorMessage(), j.own.GetErrorMessage()} {
		if m != "" {
			msgs = append(msgs, m)
		}
	}
	out.ErrorMessage = strings.Join(msgs, "; ")
	return out
}

// setConnStatus reports one part's connection settings status.
func (a *opampAgent) setConnStatus(own bool, s *protobufs.ConnectionSettingsStatus) error {
	if !a.cfg.reportsConnectionSettingsStatus() {
		return nil
	}
	out := a.connStatus.set(own, s)
	client := a.client.Load()
	if client == nil {
		return errNoClient // the next instance reports from the state on disk
	}
	return client.SetConnectionSettingsStatus(out)
}

// setUpOffers prepares connection-settings offers before the client
// starts: it restores the accepted settings over the local ones (with the
// local ones as the client's fallback) and sets the capabilities.
func (a *opampAgent) setUpOffers(cs *opampclient.Settings) (*offers, error) {
	caps := &a.cfg.Capabilities
	if caps.ReportsOwnMetrics {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics
	}
	if caps.ReportsOwnLogs {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnLogs
	}
	if caps.ReportsOwnTraces {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnTraces
	}
	if a.cfg.reportsConnectionSettingsStatus() {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus
	}
	if !caps.AcceptsOpAMPConnectionSettings {
		return nil, nil
	}
	cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings
	dir, err := persist.NewDir(a.cfg.Storage.Directory)
	if err != nil {
		return nil, fmt.Errorf("storage.directory: %w", err)
	}
	id := a.set.ID.String()
	o := &offers{stop: make(chan struct{}), done: make(chan struct{})}
	var opts connsettings.Options
	if a.cfg.ConnectionSettings.CertificateRequest {
		o.rotator, err = certrotate.New(certrotate.Settings{
			Identity:    a.certIdentity(),
			ComponentID: id,
			Store:       dir,
			RenewBefore: a.cfg.ConnectionSettings.CertificateRenewBefore,
		})
		if err != nil {
			return nil, fmt.Errorf("%s.certificate_request: %w", pathConnSettings, err)
		}
		opts.Key = o.rotator.Key
	}
	local := cs.Connection()
	fp := localFingerprint(a.cfg)
	conn, rec, err := connsettings.Restore(dir, id, fp, local, cs.HTTP, opts)
	if err != nil {
		a.logger.Warn("Starting on the local OpAMP server settings", zap.Error(err))
	}
	if rec != nil {
		a.logger.Info("Connecting with the OpAMP connection settings the server offered before",
			zap.String("endpoint", conn.URL), zap.String("fallback", local.URL))
		cs.SetConnection(conn)
		cs.Fallback = &local
		o.accepted = rec
	}
	o.manager = connsettings.NewManager(connsettings.Settings{
		Logger:      a.logger,
		Connector:   clientConnector{a: a},
		Store:       dir,
		ComponentID: id,
		Fingerprint: fp,
		HTTPPolling: cs.HTTP,
		TryTimeout:  a.cfg.ConnectionSettings.TryTimeout,
		Options:     opts,
		Accepted:    rec,
		Done: func(offer *protobufs.OpAMPConnectionSettings, err error) {
			o.done1(offer, err)
			// A uid assigned during the round leaves one more due.
			if o.rotator != nil && o.rotator.Renamed() {
				a.requestCertificate()
			}
		},
	})
	return o, nil
}

// done1 closes the certificate round of an offer that carried one.
func (o *offers) done1(offer *protobufs.OpAMPConnectionSettings, err error) {
	if o.rotator == nil || offer.GetCertificate() == nil {
		return
	}
	if err != nil {
		o.rotator.Failed()
		return
	}
	_ = o.rotator.Applied() // its error is a failed write, retried by the next round
}

// start runs the manager once the client runs, and reports a restored
// offer's hash as APPLIED.
func (o *offers) start(a *opampAgent, client *opampclient.Client) {
	if o.accepted != nil {
		_ = a.setConnStatus(false, &protobufs.ConnectionSettingsStatus{
			LastConnectionSettingsHash: o.accepted.Hash,
			Status:                     protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED,
		})
	}
	o.manager.Start()
	if o.rotator == nil {
		close(o.done)
		return
	}
	// The client may have connected before these offers were in place,
	// when its OnConnected found nothing to ask with.
	a.requestCertificate()
	go func() {
		defer close(o.done)
		t := time.NewTicker(renewCheck)
		defer t.Stop()
		for {
			select {
			case <-o.stop:
				return
			case <-t.C:
				a.requestCertificate()
			}
		}
	}()
}

// shutdown stops the manager (a try under way is cancelled) and the
// renewal checks.
func (o *offers) shutdown(ctx context.Context) error {
	close(o.stop)
	err := o.manager.Shutdown(ctx)
	<-o.done
	return err
}

// onConnectionOffers takes the server's offers (already reduced to what
// the agent's capabilities accept).
func (a *opampAgent) onConnectionOffers(_ context.Context, in *protobufs.ConnectionSettingsOffers) {
	if in.GetOpamp() != nil {
		if o := a.offers.Load(); o != nil {
			o.manager.Receive(in)
		}
	}
	if in.GetOwnMetrics() != nil || in.GetOwnLogs() != nil || in.GetOwnTraces() != nil {
		if remote := a.remote.Load(); remote != nil {
			remote.ReceiveOwnTelemetry(in)
		}
	}
}

// onConnectionReverted: the client went back from offered settings that
// stopped working before a connection with them lasted; the manager puts
// the record on disk back to match, and reports the offer FAILED.
func (a *opampAgent) onConnectionReverted(from, to opampclient.Connection) {
	a.logger.Warn("Back on the previous OpAMP connection settings", zap.String("failed", from.URL), zap.String("now", to.URL))
	if o := a.offers.Load(); o != nil {
		o.manager.Reverted()
	}
}

// requestCertificate queues a CSR when the client certificate in use is
// missing or due for renewal (the rotator paces requests).
func (a *opampAgent) requestCertificate() {
	o, client := a.offers.Load(), a.client.Load()
	if o == nil || o.rotator == nil || client == nil {
		return
	}
	req, why, err := o.rotator.Request(leafOf(client.Connection()))
	if err != nil {
		a.logger.Warn("Cannot build a certificate signing request", zap.Error(err))
		return
	}
	if req == nil {
		return
	}
	a.logger.Info("Asking the OpAMP server for a client certificate", zap.String("reason", why))
	if err := client.RequestConnectionSettings(req); err != nil {
		a.logger.Debug("Cannot queue the certificate request", zap.Error(err))
	}
}

// renameCertificate repeats the certificate request for a uid the server
// assigned: the certificate in use names the old one (the spec asks the
// CSR flow again).
func (a *opampAgent) renameCertificate() {
	o := a.offers.Load()
	if o == nil || o.rotator == nil {
		return
	}
	if err := o.rotator.SetIdentity(a.certIdentity()); err != nil {
		a.logger.Warn("Cannot name the certificate request after the new instance uid", zap.Error(err))
		return
	}
	a.requestCertificate()
}

// leafOf is the client certificate a connection presents, if it is known:
// one set in the TLS config (an offer's), or the one configtls's callback
// presents (the local file's cert_file, reloaded as it changes).
func leafOf(cn opampclient.Connection) *x509.Certificate {
	if cn.TLS == nil {
		return nil
	}
	var cert *tls.Certificate
	switch {
	case len(cn.TLS.Certificates) > 0:
		cert = &cn.TLS.Certificates[0]
	case cn.TLS.GetClientCertificate != nil:
		c, err := cn.TLS.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil {
			return nil
		}
		cert = c
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil
	}
	if cert.Leaf != nil {
		return cert.Leaf
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

func (a *opampAgent) certIdentity() certrotate.Identity {
	id := certrotate.Identity{}
	a.mu.Lock()
	id.InstanceUID = a.uid.String()
	a.mu.Unlock()
	if v, ok := a.set.Resource.Attributes().Get("service.name"); ok {
		id.ServiceName = v.AsString()
	}
	id.HostName, _ = os.Hostname()
	return id
}

// localFingerprint identifies the local file's server settings: an
// accepted offer holds until they change. Secrets enter only hashed.
func localFingerprint(cfg *Config) string {
	s := cfg.serverSettings()
	var b strings.Builder
	field := func(k, v string) { fmt.Fprintf(&b, "%s=%q\n", k, v) }
	field("transport", map[bool]string{true: "http", false: "ws"}[cfg.Server.HTTP != nil])
	field("endpoint", s.Endpoint)
	for _, k := range sortedKeys(s.Headers) {
		field("header."+k, string(s.Headers[k]))
	}
	t := &s.TLS
	field("tls.ca_file", t.CAFile)
	field("tls.ca_pem", string(t.CAPem))
	field("tls.cert_file", t.CertFile)
	field("tls.cert_pem", string(t.CertPem))
	field("tls.key_file", t.KeyFile)
	field("tls.key_pem", string(t.KeyPem))
	field("tls.insecure", fmt.Sprint(t.Insecure))
	field("tls.insecure_skip_verify", fmt.Sprint(t.InsecureSkipVerify))
	field("tls.server_name", t.ServerName)
	field("tls.min_version", t.MinVersion)
	field("tls.max_version", t.MaxVersion)
	field("proxy.url", s.Proxy.URL)
	for _, k := range sortedKeys(s.Proxy.Headers) {
		field("proxy.header."+k, string(s.Proxy.Headers[k]))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

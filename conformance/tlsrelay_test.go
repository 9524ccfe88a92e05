package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// tlsRelay terminates TLS in front of a Raw server (which speaks plain
// sockets only) and records the client certificate of every connection:
// the rules about client certificates need to see which one the agent
// presents. It verifies a certificate when one is given and lets a
// connection without one through.
type tlsRelay struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	peers []*x509.Certificate // per accepted connection; nil: none
	conns []net.Conn
	wg    sync.WaitGroup
}

// startTLSRelay relays TLS connections on 127.0.0.1 to r, with ca's server
// certificate, until the test ends.
func startTLSRelay(t *testing.T, ca *testcerts.Bundle, r *testserver.Raw) *tlsRelay {
	t.Helper()
	cfg := ca.ServerTLSConfig(false)
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	require.NoError(t, err)
	p := &tlsRelay{ln: ln, backend: r.Addr()}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.stop)
	return p
}

// url is the relay's endpoint for transport tr.
func (p *tlsRelay) url(tr Transport) string {
	scheme := "wss://"
	if tr == HTTP {
		scheme = "https://"
	}
	return scheme + p.ln.Addr().String() + testserver.Path
}

func (p *tlsRelay) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c.(*tls.Conn))
	}
}

func (p *tlsRelay) serve(c *tls.Conn) {
	defer p.wg.Done()
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if err := c.Handshake(); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	var peer *x509.Certificate
	if pc := c.ConnectionState().PeerCertificates; len(pc) > 0 {
		peer = pc[0]
	}
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		return
	}
	defer func() { _ = b.Close() }()
	p.mu.Lock()
	p.peers = append(p.peers, peer)
	p.conns = append(p.conns, c, b)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(b, c)
	go pipe(c, b)
	<-done
	_ = c.Close()
	_ = b.Close()
	<-done
}

func (p *tlsRelay) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// presented lists the client certificate of each connection, in order.
func (p *tlsRelay) presented() []*x509.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*x509.Certificate(nil), p.peers...)
}

// serialOf names a presented certificate, "none" for no certificate.
func serialOf(c *x509.Certificate) string {
	if c == nil {
		return "none"
	}
	return c.SerialNumber.String()
}

// issued is a client certificate ca signed for a key made here: the
// server's side of an offer that carries the key.
func issued(t *testing.T, ca *testcerts.Bundle, cn string) (certPEM, keyPEM []byte, serial string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	require.NoError(t, err)
	certPEM = ca.SignCSR(t, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 2*time.Hour)
	k, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), serialOfPEM(t, certPEM)
}

func serialOfPEM(t *testing.T, certPEM []byte) string {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	require.NotNil(t, block)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return c.SerialNumber.String()
}

// tlsKeys points the agent's local config at the relay, trusting ca, with
// the bundle's client certificate as the bootstrap one when bootstrap.
func tlsKeys(tr Transport, p *tlsRelay, ca *testcerts.Bundle, dir string, bootstrap bool) keys {
	k := offersKeys(tr, p.url(tr), dir)
	tlsCfg := keys{"ca_file": ca.CAFile}
	if bootstrap {
		tlsCfg["cert_file"], tlsCfg["key_file"] = ca.ClientCertFile, ca.ClientKeyFile
	}
	k["server"].(keys)[map[Transport]string{WS: "ws", HTTP: "http"}[tr]].(keys)["tls"] = tlsCfg
	return k
}

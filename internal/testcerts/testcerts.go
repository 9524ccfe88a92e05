// Package testcerts generates a throw-away PKI (a CA, a server certificate and
// a client certificate) for tests that need real TLS handshakes. Keys are
// ECDSA P-256 so generation stays in the low milliseconds.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WrongHostName is the only name in the server certificate made with WrongHost.
const WrongHostName = "wrong-host.invalid"

// Bundle holds the paths of the generated PEM files, all inside Dir.
type Bundle struct {
	Dir            string
	CAFile         string
	ServerCertFile string
	ServerKeyFile  string
	ClientCertFile string
	ClientKeyFile  string

	caPool     *x509.CertPool
	serverCert tls.Certificate
	caCert     *x509.Certificate
	caKey      *ecdsa.PrivateKey
}

// Option changes how New builds the server certificate.
type Option func(*options)

type options struct {
	expired   bool
	wrongHost bool
}

// Expired makes the server certificate's validity window lie entirely in the
// past, so verifying clients refuse it.
func Expired() Option { return func(o *options) { o.expired = true } }

// WrongHost issues the server certificate for WrongHostName only, so clients
// connecting to 127.0.0.1 or localhost refuse it.
func WrongHost() Option { return func(o *options) { o.wrongHost = true } }

// New writes a fresh CA, server certificate (127.0.0.1, ::1, localhost) and
// client certificate with their keys into t.TempDir(). Any failure ends the
// test.
func New(t testing.TB, opts ...Option) *Bundle {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir := t.TempDir()
	now := time.Now()

	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: "testcerts CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER := sign(t, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("testcerts: parse CA: %v", err)
	}

	srvTmpl := leafTemplate(t, "testcerts server", now, x509.ExtKeyUsageServerAuth)
	if o.wrongHost {
		srvTmpl.DNSNames = []string{WrongHostName}
	} else {
		srvTmpl.DNSNames = []string{"localhost"}
		srvTmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if o.expired {
		srvTmpl.NotBefore = now.Add(-48 * time.Hour)
		srvTmpl.NotAfter = now.Add(-24 * time.Hour)
	}
	srvKey := newKey(t)
	srvDER := sign(t, srvTmpl, caCert, &srvKey.PublicKey, caKey)

	cliTmpl := leafTemplate(t, "testcerts client", now, x509.ExtKeyUsageClientAuth)
	cliKey := newKey(t)
	cliDER := sign(t, cliTmpl, caCert, &cliKey.PublicKey, caKey)

	b := &Bundle{
		Dir:            dir,
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"),
		ServerKeyFile:  filepath.Join(dir, "server-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"),
		ClientKeyFile:  filepath.Join(dir, "client-key.pem"),
		caPool:         x509.NewCertPool(),
		caCert:         caCert,
		caKey:          caKey,
	}
	b.caPool.AddCert(caCert)
	writePEM(t, b.CAFile, "CERTIFICATE", caDER)
	writePEM(t, b.ServerCertFile, "CERTIFICATE", srvDER)
	writePEM(t, b.ServerKeyFile, "PRIVATE KEY", marshalKey(t, srvKey))
	writePEM(t, b.ClientCertFile, "CERTIFICATE", cliDER)
	writePEM(t, b.ClientKeyFile, "PRIVATE KEY", marshalKey(t, cliKey))

	b.serverCert, err = tls.LoadX509KeyPair(b.ServerCertFile, b.ServerKeyFile)
	if err != nil {
		t.Fatalf("testcerts: load server key pair: %v", err)
	}
	return b
}

// SignCSR plays a server's CA: it issues a client certificate (PEM) for a
// PEM certificate signing request, valid from now - validFor/2 on for
// validFor (negative: already expired), with the request's subject and
// SANs.
func (b *Bundle) SignCSR(t testing.TB, csrPEM []byte, validFor time.Duration) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		t.Fatalf("testcerts: the CSR is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatalf("testcerts: parse CSR: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("testcerts: CSR signature: %v", err)
	}
	now := time.Now()
	tmpl := leafTemplate(t, csr.Subject.CommonName, now, x509.ExtKeyUsageClientAuth)
	tmpl.Subject = csr.Subject
	tmpl.DNSNames, tmpl.IPAddresses, tmpl.URIs = csr.DNSNames, csr.IPAddresses, csr.URIs
	if validFor < 0 {
		tmpl.NotBefore, tmpl.NotAfter = now.Add(2*validFor), now.Add(validFor)
	} else {
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-validFor/2), now.Add(validFor/2)
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("testcerts: the CSR's key is %T, not ECDSA", csr.PublicKey)
	}
	der := sign(t, tmpl, b.caCert, pub, b.caKey)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// CAPool returns a new pool holding only the bundle's CA.
func (b *Bundle) CAPool() *x509.CertPool { return b.caPool.Clone() }

// ServerTLSConfig returns a server configuration presenting the server
// certificate. With requireClientCert the server demands a client
// certificate signed by the bundle's CA.
func (b *Bundle) ServerTLSConfig(requireClientCert bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.serverCert},
		ClientCAs:    b.caPool.Clone(),
	}
	if requireClientCert {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg
}

func leafTemplate(t testing.TB, cn string, now time.Time, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testcerts: generate key: %v", err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("testcerts: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1)) // serials must be positive

}

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("testcerts: sign %q: %v", tmpl.Subject.CommonName, err)
	}
	return der
}

func marshalKey(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatalf("testcerts: marshal key: %v", err)
	}
	return der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("testcerts: write %s: %v", path, err)
	}
}

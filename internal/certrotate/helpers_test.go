package certrotate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/persist"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for Settings.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCA is the server side of the flow: a CA made in the test that signs
// the agent's CSR the way an OpAMP server would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB) *testCA {
	t.Helper()
	key := genKey(t)
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "certrotate test CA"},
		NotBefore:             t0.Add(-time.Hour),
		NotAfter:              t0.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key}
}

func genKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// certOpts shape the issued certificate.
type certOpts struct {
	notBefore, notAfter time.Time
	usage               []x509.ExtKeyUsage
	pub                 any // another key than the CSR's
}

// sign issues a certificate for the CSR in req; see issue.
func (ca *testCA) sign(t testing.TB, req *protobufs.ConnectionSettingsRequest, o certOpts) []byte {
	t.Helper()
	cert, err := ca.issue(req.GetOpamp().GetCertificateRequest().GetCsr(), o)
	require.NoError(t, err)
	return cert
}

// issue is what an OpAMP server does with a CSR: check its signature,
// then issue a certificate for its key and names, as PEM. It returns
// errors rather than failing a test, for the server's goroutines.
func (ca *testCA) issue(csrPEM []byte, o certOpts) ([]byte, error) {
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("no PEM CSR")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, err
	}
	if o.notBefore.IsZero() {
		o.notBefore = t0.Add(-time.Minute)
	}
	if o.notAfter.IsZero() {
		o.notAfter = t0.Add(90 * 24 * time.Hour)
	}
	if o.usage == nil {
		o.usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	pub := csr.PublicKey
	if o.pub != nil {
		pub = o.pub
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      csr.Subject,
		DNSNames:     csr.DNSNames,
		IPAddresses:  csr.IPAddresses,
		URIs:         csr.URIs,
		NotBefore:    o.notBefore,
		NotAfter:     o.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  o.usage,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// parseCSR digs the CSR out of the request and parses it.
func parseCSR(t testing.TB, req *protobufs.ConnectionSettingsRequest) *x509.CertificateRequest {
	t.Helper()
	require.NotNil(t, req)
	blk, _ := pem.Decode(req.GetOpamp().GetCertificateRequest().GetCsr())
	require.NotNil(t, blk, "the request carries no PEM CSR")
	require.Equal(t, "CERTIFICATE REQUEST", blk.Type)
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	require.NoError(t, err)
	return csr
}

func parseCert(t testing.TB, certPEM []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(certPEM)
	require.NotNil(t, blk)
	c, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	return c
}

var testID = Identity{InstanceUID: "0193a5c2-7b1e-7c3d-9f00-1234567890ab", ServiceName: "otelcol-edge", HostName: "node-7.example.com"}

// newRotator makes a Rotator on store (nil: memory) and clock c.
func newRotator(t testing.TB, store persist.Store, c *clock) *Rotator {
	t.Helper()
	r, err := New(Settings{Identity: testID, ComponentID: "opamp", Store: store, RenewBefore: 720 * time.Hour, Now: c.Now})
	require.NoError(t, err)
	return r
}

// request calls Request and requires a request to come out.
func request(t testing.TB, r *Rotator, current *x509.Certificate) *protobufs.ConnectionSettingsRequest {
	t.Helper()
	req, why, err := r.Request(current)
	require.NoError(t, err)
	require.NotNil(t, req, "no request: %s", why)
	return req
}

// noRequest calls Request and requires none to come out.
func noRequest(t testing.TB, r *Rotator, current *x509.Certificate) string {
	t.Helper()
	req, why, err := r.Request(current)
	require.NoError(t, err)
	require.Nil(t, req, "a request went out: %s", why)
	return why
}

// pem is the CA certificate as PEM, for an offer's ca_cert.
func (ca *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// parseCN is the CommonName of a PEM CSR, "" when it does not parse.
func parseCN(csrPEM []byte) string {
	blk, _ := pem.Decode(csrPEM)
	if blk == nil {
		return ""
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return ""
	}
	return csr.Subject.CommonName
}

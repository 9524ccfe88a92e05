package certrotate

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/persist"
)

func csrKey(t *testing.T, r *Rotator, current *x509.Certificate) *ecdsa.PublicKey {
	t.Helper()
	pub, ok := parseCSR(t, request(t, r, current)).PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok)
	return pub
}

func TestRestartBetweenRequestAndOffer(t *testing.T) {
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	ca, c := newCA(t), newClock()
	req := request(t, newRotator(t, dir, c), nil)

	// The process restarts; the server's answer reaches the new one.
	after := newRotator(t, dir, c)
	require.True(t, after.Pending())
	certPEM, keyPEM, err := after.Complete(ca.sign(t, req, certOpts{}))
	require.NoError(t, err)
	k, err := decodeKey(keyPEM)
	require.NoError(t, err)
	assert.True(t, k.PublicKey.Equal(parseCert(t, certPEM).PublicKey))

	// And a request sent again after the restart is for the same key.
	c.Advance(DefaultRetryInterval)
	assert.True(t, k.PublicKey.Equal(csrKey(t, newRotator(t, dir, c), nil)))
}

func TestPacingWhileUnanswered(t *testing.T) {
	c := newClock()
	r := newRotator(t, nil, c)
	first := csrKey(t, r, nil)
	noRequest(t, r, nil)
	c.Advance(DefaultRetryInterval - time.Second)
	why := noRequest(t, r, nil)
	assert.Contains(t, why, "unanswered")
	c.Advance(time.Second)
	assert.True(t, first.Equal(csrKey(t, r, nil)), "a request sent again has a new key: an answer to the first would be refused")
	noRequest(t, r, nil)
}

func TestAServerThatNeverAnswersGetsSixRequestsAnHour(t *testing.T) {
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	c := newClock()
	r := newRotator(t, dir, c)
	sent := 0
	for i := range 3600 / 5 { // a caller asking every 5 s, restarting every 5 min
		if i%60 == 59 {
			r = newRotator(t, dir, c)
		}
		req, _, err := r.Request(nil)
		require.NoError(t, err)
		if req != nil {
			sent++
		}
		c.Advance(5 * time.Second)
	}
	assert.Equal(t, 6, sent)
}

func TestACustomRetryInterval(t *testing.T) {
	c := newClock()
	r, err := New(Settings{Identity: testID, RetryInterval: time.Minute, Now: c.Now})
	require.NoError(t, err)
	request(t, r, nil)
	c.Advance(time.Minute)
	request(t, r, nil)
	_, err = New(Settings{Identity: testID, RetryInterval: -time.Minute})
	require.Error(t, err)
}

func TestAClockSetBackDoesNotStopRequests(t *testing.T) {
	c := newClock()
	r := newRotator(t, nil, c)
	request(t, r, nil)
	c.Advance(-time.Hour)
	request(t, r, nil)
}

func TestNoRequestAfterSuccessUntilNeedSaysSo(t *testing.T) {
	ca, c := newCA(t), newClock()
	r := newRotator(t, nil, c)
	certPEM, _, err := r.Complete(ca.sign(t, request(t, r, nil), certOpts{}))
	require.NoError(t, err)

	// While the offer is tried, nothing goes, whatever the certificate in use.
	c.Advance(time.Hour)
	assert.Contains(t, noRequest(t, r, nil), "being tried")
	require.NoError(t, r.Applied())
	require.ErrorIs(t, r.Applied(), ErrNothingIssued)

	cert := parseCert(t, certPEM)
	for range 10 {
		c.Advance(24 * time.Hour)
		noRequest(t, r, cert)
	}
	// Inside the renewal window, a new round with a new key.
	c.Advance(cert.NotAfter.Sub(c.Now()) - 719*time.Hour)
	next := csrKey(t, r, cert)
	assert.False(t, next.Equal(cert.PublicKey), "the renewal reuses the key")
	// The accepted key stays until the renewal is applied.
	_, ok := r.Key(cert.PublicKey)
	assert.True(t, ok)
	_, ok = r.Key(next)
	assert.True(t, ok)
}

func TestFailedReopensTheRoundPaced(t *testing.T) {
	ca, c := newCA(t), newClock()
	r := newRotator(t, nil, c)
	req := request(t, r, nil)
	first := parseCSR(t, req).PublicKey.(*ecdsa.PublicKey)
	_, _, err := r.Complete(ca.sign(t, req, certOpts{}))
	require.NoError(t, err)
	r.Failed()
	assert.True(t, r.Pending())
	noRequest(t, r, nil)
	c.Advance(DefaultRetryInterval)
	assert.True(t, first.Equal(csrKey(t, r, nil)))
}

// A caller that completes an offer through Key (connsettings.KeySource)
// and never calls Applied: the certificate in use tells that the round is
// over.
func TestTheCertificateInUseClosesTheRound(t *testing.T) {
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	ca, c := newCA(t), newClock()
	r := newRotator(t, dir, c)
	certPEM := ca.sign(t, request(t, r, nil), certOpts{})
	cert := parseCert(t, certPEM)
	_, ok := r.Key(cert.PublicKey)
	require.True(t, ok)

	c.Advance(DefaultRetryInterval)
	noRequest(t, r, cert)
	assert.False(t, r.Pending())
	got, _, ok := newRotator(t, dir, c).Accepted()
	require.True(t, ok)
	assert.Equal(t, certPEM, got)
}

func TestKeyKnowsOnlyOurKeys(t *testing.T) {
	r := newRotator(t, nil, newClock())
	_, ok := r.Key(&genKey(t).PublicKey)
	assert.False(t, ok, "before any request")
	pub := csrKey(t, r, nil)
	k, ok := r.Key(pub)
	require.True(t, ok)
	assert.Equal(t, pub, k.Public())
	_, ok = r.Key(&genKey(t).PublicKey)
	assert.False(t, ok)
}

func TestStringHasNoKey(t *testing.T) {
	r := newRotator(t, nil, newClock())
	request(t, r, nil)
	for _, s := range []string{r.String(), fmt.Sprint(r), fmt.Sprintf("%v", r)} {
		assertNoKeyIn(t, r, s)
		assert.Contains(t, s, "pending: true")
	}
}

func TestConcurrentUse(t *testing.T) {
	ca, c := newCA(t), newClock()
	r, err := New(Settings{Identity: testID, RetryInterval: time.Nanosecond, Now: c.Now})
	require.NoError(t, err)
	offered := ca.sign(t, request(t, r, nil), certOpts{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				_, _, _ = r.Request(nil)
				_, _, _ = r.Complete(offered)
				_, _ = r.Key(&ca.key.PublicKey)
				_ = r.Pending()
				_ = r.String()
				r.Failed()
			}
		})
	}
	wg.Wait()
}

// TestSetIdentityStartsARound: a new instance uid asks for a certificate
// at once, even with a valid one in use, and the CSR names the new uid;
// the same identity again changes nothing.
func TestSetIdentityStartsARound(t *testing.T) {
	r, certPEM := completedRound(t, "uid-1")
	require.NoError(t, r.Applied())
	leaf := parseCert(t, certPEM)
	again, _, err := r.Request(leaf)
	require.NoError(t, err)
	require.Nil(t, again, "a valid certificate needs no round")

	require.NoError(t, r.SetIdentity(Identity{InstanceUID: "uid-1"}))
	again, _, err = r.Request(leaf)
	require.NoError(t, err)
	require.Nil(t, again, "the same identity changes nothing")

	require.NoError(t, r.SetIdentity(Identity{InstanceUID: "uid-2"}))
	renamed, why, err := r.Request(leaf)
	require.NoError(t, err)
	require.NotNil(t, renamed, "a new uid starts a round")
	assert.Contains(t, why, "instance uid")
	assert.Equal(t, "uid-2", parseCSR(t, renamed).Subject.CommonName)
}

// TestRenameDuringARound: a uid assigned while a certificate for the old
// one is being tried still gets its own round once that one closes.
func TestRenameDuringARound(t *testing.T) {
	r, certPEM := completedRound(t, "uid-1")
	require.NoError(t, r.SetIdentity(Identity{InstanceUID: "uid-2"}))
	none, _, err := r.Request(nil)
	require.NoError(t, err)
	require.Nil(t, none, "no request while the old round's certificate is tried")
	require.NoError(t, r.Applied())
	next, _, err := r.Request(parseCert(t, certPEM))
	require.NoError(t, err)
	require.NotNil(t, next, "the new uid's round follows")
	assert.Equal(t, "uid-2", parseCSR(t, next).Subject.CommonName)
}

// completedRound is a rotator for uid whose first request a CA answered:
// the certificate is Completed, not yet Applied.
func completedRound(t *testing.T, uid string) (*Rotator, []byte) {
	t.Helper()
	ca := newCA(t)
	r, err := New(Settings{Identity: Identity{InstanceUID: uid}, ComponentID: "opamp", RenewBefore: time.Hour, Now: func() time.Time { return t0 }})
	require.NoError(t, err)
	req, _, err := r.Request(nil)
	require.NoError(t, err)
	require.NotNil(t, req)
	certPEM, _, err := r.Complete(ca.sign(t, req, certOpts{}))
	require.NoError(t, err)
	return r, certPEM
}

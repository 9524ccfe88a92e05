package certrotate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCSRNamesTheAgent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		host    string
		wantDNS []string
		wantIP  []net.IP
	}{
		{"DNS host name, lower-cased", "Node-7.Example.com", []string{"node-7.example.com"}, nil},
		{"IPv4 literal", "10.0.0.7", nil, []net.IP{net.ParseIP("10.0.0.7").To4()}},
		{"IPv6 literal", "fd00::7", nil, []net.IP{net.ParseIP("fd00::7")}},
		{"not a DNS name: left out", "WIN_BOX", nil, nil},
		{"no host name", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := testID
			id.HostName = tc.host
			r, err := New(Settings{Identity: id, ComponentID: "opamp", Now: newClock().Now})
			require.NoError(t, err)
			csr := parseCSR(t, request(t, r, nil))
			require.NoError(t, csr.CheckSignature())
			assert.Equal(t, id.InstanceUID, csr.Subject.CommonName)
			assert.Equal(t, []string{id.ServiceName}, csr.Subject.OrganizationalUnit)
			require.Len(t, csr.URIs, 1)
			assert.Equal(t, URIPrefix+id.InstanceUID, csr.URIs[0].String())
			assert.Equal(t, tc.wantDNS, csr.DNSNames)
			if tc.wantIP == nil {
				assert.Empty(t, csr.IPAddresses)
			} else {
				require.Len(t, csr.IPAddresses, 1)
				assert.True(t, tc.wantIP[0].Equal(csr.IPAddresses[0]))
			}
			pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
			require.True(t, ok, "not an ECDSA key: %T", csr.PublicKey)
			assert.Equal(t, elliptic.P256(), pub.Curve)
		})
	}
}

func TestCSRWithoutServiceName(t *testing.T) {
	r, err := New(Settings{Identity: Identity{InstanceUID: testID.InstanceUID}, Now: newClock().Now})
	require.NoError(t, err)
	csr := parseCSR(t, request(t, r, nil))
	assert.Empty(t, csr.Subject.OrganizationalUnit)
	assert.Empty(t, csr.DNSNames)
}

func TestNewNeedsAnInstanceUID(t *testing.T) {
	_, err := New(Settings{Identity: Identity{HostName: "h"}})
	require.ErrorIs(t, err, errNoUID)
}

func TestIsDNSName(t *testing.T) {
	for s, want := range map[string]bool{
		"host":                          true,
		"a.b-c.example":                 true,
		"trailing.dot.":                 true,
		"":                              false,
		"-lead":                         false,
		"trail-":                        false,
		"under_score":                   false,
		"a..b":                          false,
		strings.Repeat("a", 64):         false,
		strings.Repeat("a.", 127) + "a": false, // 255 characters
	} {
		assert.Equal(t, want, isDNSName(s), "%q", s)
	}
}

func TestKeyPEMRoundTrip(t *testing.T) {
	k := genKey(t)
	b, err := encodeKey(k)
	require.NoError(t, err)
	got, err := decodeKey(b)
	require.NoError(t, err)
	assert.True(t, k.Equal(got))

	for _, bad := range [][]byte{nil, []byte("junk"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")} {
		_, err := decodeKey(bad)
		require.ErrorIs(t, err, errBadKeyPEM)
	}
}

package pemcert

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/opampext/opampextension/internal/testcerts"
)

func TestParse(t *testing.T) {
	b := testcerts.New(t)
	caPEM, leafPEM := read(t, b.CAFile), read(t, b.ClientCertFile)
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a key")})
	junk := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})

	for _, tc := range []struct {
		name    string
		data    []byte
		want    []string // common names, in order
		wantErr error
		errText string
	}{
		{name: "one", data: caPEM, want: []string{"testcerts CA"}},
		{name: "chain in order", data: cat(leafPEM, caPEM), want: []string{"testcerts client", "testcerts CA"}},
		{name: "other blocks skipped", data: cat(key, leafPEM, []byte("text between\n"), caPEM), want: []string{"testcerts client", "testcerts CA"}},
		{name: "empty", data: nil, wantErr: ErrNone},
		{name: "no certificate block", data: key, wantErr: ErrNone},
		{name: "not PEM", data: []byte("hello"), wantErr: ErrNone},
		{name: "second block broken", data: cat(leafPEM, junk), errText: "certificate 2:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.data)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			case tc.errText != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one starting %q", err, tc.errText)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Subject.CommonName)
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("certificates %v, want %v", names, tc.want)
			}
			// Encode gives back the certificates and nothing else.
			again, err := Parse(Encode(got))
			if err != nil || len(again) != len(got) {
				t.Fatalf("Encode then Parse: %d certificates, %v", len(again), err)
			}
			for i := range got {
				if !bytes.Equal(again[i].Raw, got[i].Raw) {
					t.Fatalf("certificate %d changed through Encode", i+1)
				}
			}
			if bytes.Contains(Encode(got), []byte("PRIVATE KEY")) {
				t.Fatal("Encode kept a non-certificate block")
			}
		})
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

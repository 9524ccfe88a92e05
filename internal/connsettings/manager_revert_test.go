package connsettings

import (
	"context"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/opampclient"
)

const revertedMsg = "the offered connection failed after the switch; back on the previous connection"

// TestManagerReverted: when the client goes back from the connection it
// switched to, the record before that switch is put back and the offer
// is reported FAILED; a second revert, or one the Manager did not switch
// for, changes nothing.
func TestManagerReverted(t *testing.T) {
	restart := &Record{Settings: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://kept/v1/opamp"}, Hash: []byte("kept"), Fingerprint: "fp"}
	a := &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://a/v1/opamp"}
	b := &protobufs.OpAMPConnectionSettings{Headers: headers("X-B", "b")}
	tests := []struct {
		name     string
		accepted *Record
		offers   map[string]*protobufs.OpAMPConnectionSettings // applied in hash order a, b
		want     []string
		wantHash string // of the record on disk after; "" none
		wantURL  string
	}{
		{name: "back from the second of two switches", offers: map[string]*protobufs.OpAMPConnectionSettings{"a": a, "b": b},
			want:     []string{"APPLYING a", "APPLIED a", "APPLYING b", "APPLIED b", "FAILED b: " + revertedMsg},
			wantHash: "a", wantURL: "ws://a/v1/opamp"},
		{name: "back from the only switch", offers: map[string]*protobufs.OpAMPConnectionSettings{"a": a},
			want: []string{"APPLYING a", "APPLIED a", "FAILED a: " + revertedMsg}},
		{name: "back from a switch over the restart's record", accepted: restart, offers: map[string]*protobufs.OpAMPConnectionSettings{"b": b},
			want:     []string{"APPLYING b", "APPLIED b", "FAILED b: " + revertedMsg},
			wantHash: "kept", wantURL: "ws://kept/v1/opamp"},
		{name: "back from the restart's record to the local file", accepted: restart,
			want: []string{"FAILED kept: " + revertedMsg}},
		{name: "nothing switched", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeClient{conn: opampclient.Connection{URL: "ws://local/v1/opamp"}}
			m, store := newTestManager(t, f, func(s *Settings) { s.Accepted = tt.accepted })
			n := 0
			for _, h := range []string{"a", "b"} {
				if o, ok := tt.offers[h]; ok {
					m.Receive(offer(h, o))
					n += 2
					f.waitStatuses(t, n)
				}
			}
			m.Reverted()
			m.Receive(offer("mark1", &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1}))
			f.waitStatuses(t, len(tt.want)+1)
			m.Reverted() // the second: nothing left to go back from
			m.Receive(offer("mark2", &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 2}))
			f.waitStatuses(t, len(tt.want)+2)
			require.NoError(t, m.Shutdown(context.Background()))
			got, _ := f.snapshot()
			assert.Equal(t, append(append([]string(nil), tt.want...), "APPLIED mark1", "APPLIED mark2"), got)

			rec, err := Load(store, "opamp", "fp")
			require.NoError(t, err)
			if tt.wantHash == "" {
				assert.Nil(t, rec)
				return
			}
			require.NotNil(t, rec)
			assert.Equal(t, tt.wantHash, string(rec.Hash))
			conn, err := Merge(opampclient.Connection{URL: "ws://local/v1/opamp"}, rec.Settings, false, Options{})
			require.NoError(t, err)
			assert.Equal(t, tt.wantURL, conn.URL)
			assert.Empty(t, conn.Header.Get("X-B"), "the reverted offer's header is not kept")
		})
	}
}

package transport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	servertypes "github.com/open-telemetry/opamp-go/server/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testcerts"
)

// TestWithOpAMPClient wires everything this package produces into the
// extension's WebSocket client and a real opamp-go server: TLS (or none
// for ws://), static headers and authenticator headers must all reach the
// server.
func TestWithOpAMPClient(t *testing.T) {
	certs := testcerts.New(t)
	tests := []struct {
		name   string
		secure bool
		tls    configtls.ClientConfig
	}{
		{name: "ws with insecure true (Supervisor)", tls: tlsCfg(func(c *configtls.ClientConfig) { c.Insecure = true })},
		{name: "ws without tls block", tls: tlsCfg(nil)},
		{name: "wss with mTLS", secure: true, tls: tlsCfg(func(c *configtls.ClientConfig) {
			c.CAFile, c.CertFile, c.KeyFile = certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(chan http.Header, 1)
			srv := server.New(nil)
			handler, connContext, err := srv.Attach(server.Settings{Callbacks: servertypes.Callbacks{
				OnConnecting: func(r *http.Request) servertypes.ConnectionResponse {
					select {
					case seen <- r.Header.Clone():
					default:
					}
					return servertypes.ConnectionResponse{Accept: true, ConnectionCallbacks: servertypes.ConnectionCallbacks{}}
				},
			}})
			require.NoError(t, err)
			hs := httptest.NewUnstartedServer(http.HandlerFunc(handler))
			hs.Config.ConnContext = connContext
			scheme := "ws"
			if tt.secure {
				hs.TLS = certs.ServerTLSConfig(true)
				hs.StartTLS()
				scheme = "wss"
			} else {
				hs.Start()
			}
			defer hs.Close()
			endpoint := scheme + "://" + strings.TrimPrefix(strings.TrimPrefix(hs.URL, "https://"), "http://") + "/v1/opamp"

			require.NoError(t, ValidateEndpoint(endpoint, SchemeWS, SchemeWSS))
			require.NoError(t, ValidateEndpointTLS(endpoint, tt.tls))
			tlsConfig, err := LoadTLS(context.Background(), endpoint, tt.tls)
			require.NoError(t, err)
			assert.Equal(t, tt.secure, tlsConfig != nil)
			fa := &fakeAuth{}
			headerFunc, err := NewAuthHeaderFunc(fa.authenticator(), zap.NewNop())
			require.NoError(t, err)

			connected := make(chan struct{}, 1)
			c, err := opampclient.Start(context.Background(), opampclient.Settings{
				URL:         endpoint,
				InstanceUID: types.InstanceUid{1},
				TLS:         tlsConfig,
				Header:      Headers(map[string]configopaque.String{"x-static": "kept"}),
				HeaderFunc:  headerFunc,
				Description: &protobufs.AgentDescription{
					IdentifyingAttributes: []*protobufs.KeyValue{{Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "test"}}}},
				},
				Handler: opampclient.Handler{OnConnected: func() {
					select {
					case connected <- struct{}{}:
					default:
					}
				}},
			})
			require.NoError(t, err)
			defer func() { assert.NoError(t, c.Stop(context.Background())) }()

			select {
			case <-connected:
			case <-time.After(10 * time.Second):
				t.Fatal("the client did not connect")
			}
			h := <-seen
			assert.Equal(t, "kept", h.Get("X-Static"))
			assert.Equal(t, "Bearer token-1", h.Get("Authorization"))
			urls, _ := fa.seen()
			require.NotEmpty(t, urls)
			assert.Equal(t, strings.Replace(endpoint, "ws", "http", 1), urls[0], "the authenticator must see the real server URL")
		})
	}
}

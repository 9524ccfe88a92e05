package opampextension

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

const (
	logSecretToken     = "sk-log-bearer-7f3a"
	logSecretHeader    = "hdr-log-apikey-91c2"
	logSecretProxyPass = "proxy-log-pass-5d8e"
	logSecretURLPass   = "url-log-pass-c4b1"
)

// bearerAuth is an authenticator extension adding a fixed secret token.
type bearerAuth struct {
	component.StartFunc
	component.ShutdownFunc
}

var _ extensionauth.HTTPClient = bearerAuth{}

func (bearerAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+logSecretToken)
		return base.RoundTrip(r)
	}), nil
}

// TestSecretsNeverLogged runs the extension at debug level with a secret
// in every place the transport holds one, through 401 refusals and a proxy,
// and checks that no secret appears anywhere in any log entry.
func TestSecretsNeverLogged(t *testing.T) {
	proxyAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("proxyuser:"+logSecretProxyPass))
	all := append([]string{logSecretToken, logSecretHeader, logSecretProxyPass, logSecretURLPass, proxyAuth}, secrets...)
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			var mu sync.Mutex
			refusals := 3
			srv := testserver.Start(t, testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
				mu.Lock()
				defer mu.Unlock()
				if refusals > 0 || r.Header.Get("Authorization") != "Bearer "+logSecretToken {
					refusals--
					return false, http.StatusUnauthorized
				}
				return true, 0
			}))
			proxy := startConnectProxy(t, proxyAuth)
			authID := component.MustNewIDWithName("bearertokenauth", "opamp")
			host := newTestHost()
			host.exts[authID] = bearerAuth{}

			var cfg *Config
			if tr == "ws" {
				cfg = wsConfig(srv.WSURL())
				// WebSocket sends proxy credentials as a CONNECT header.
				cfg.Server.WS.Proxy = ProxySettings{URL: proxy.url, Headers: map[string]configopaque.String{"Proxy-Authorization": configopaque.String(proxyAuth)}}
			} else {
				// Plain HTTP takes them from the URL; the endpoint has some too.
				cfg = httpConfig(strings.Replace(srv.HTTPURL(), "http://", "http://opamp:"+logSecretURLPass+"@", 1))
				cfg.Server.HTTP.Proxy = ProxySettings{URL: strings.Replace(proxy.url, "http://", "http://proxyuser:"+logSecretProxyPass+"@", 1)}
			}
			cfg.serverSettings().Auth = &authID
			cfg.serverSettings().Headers = map[string]configopaque.String{"X-Api-Key": logSecretHeader}
			agent, logs := newObservedAgent(t, cfg, zapcore.DebugLevel)
			require.NoError(t, agent.Start(context.Background(), host))
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))

			uid := agentUID(agent).String()
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.MessageCount >= 2 })
			shutdown(t, agent)

			// The secrets were really in play.
			assert.Contains(t, proxy.seenAuth(), proxyAuth, "the proxy never saw the credentials")
			assert.Equal(t, logSecretHeader, srv.RequestHeaders()[0].Get("X-Api-Key"))
			require.NotZero(t, logs.Len())
			for _, e := range logs.All() {
				text := strings.Join([]string{e.Message, e.LoggerName, e.Caller.String(), e.Stack, fmt.Sprint(e.ContextMap())}, " ")
				for _, s := range all {
					assert.NotContains(t, text, s, "secret in a %s log line", e.Level)
				}
			}
		})
	}
}

// connectProxy is an HTTP proxy that demands Proxy-Authorization: it
// tunnels CONNECT requests and forwards absolute-form ones.
type connectProxy struct {
	url  string
	want string
	fwd  *http.Transport

	mu    sync.Mutex
	auths []string
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startConnectProxy(t *testing.T, wantAuth string) *connectProxy {
	t.Helper()
	p := &connectProxy{want: wantAuth, fwd: &http.Transport{DisableKeepAlives: true}, conns: map[net.Conn]struct{}{}}
	srv := httptest.NewServer(p)
	p.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) seenAuth() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auths...)
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Proxy-Authorization")
	p.mu.Lock()
	p.auths = append(p.auths, auth)
	p.mu.Unlock()
	if auth != p.want {
		w.WriteHeader(http.StatusProxyAuthRequired)
		return
	}
	if r.Method != http.MethodConnect {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.Header.Del("Proxy-Authorization")
		resp, err := p.fwd.RoundTrip(out)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
		return
	}
	upstream, err := net.Dial("tcp", r.Host)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	client, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	_, _ = io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n")
	p.mu.Lock()
	p.conns[client], p.conns[upstream] = struct{}{}, struct{}{}
	p.mu.Unlock()
	p.wg.Add(2)
	go p.pipe(client, upstream)
	go p.pipe(upstream, client)
}

func (p *connectProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// redactionWant is the sibling <name>.want.yaml of a corpus config.
type redactionWant struct {
	Env               map[string]string `yaml:"env"`
	Secrets           []string          `yaml:"secrets"`
	Visible           []string          `yaml:"visible"`
	VisibleUnexpanded []string          `yaml:"visible_unexpanded"`
}

// TestRedactionCorpus loads each testdata/redaction config through the
// Collector's resolver (file and env providers) and checks what the server
// receives: no secret in either config, the useful values in both.
func TestRedactionCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "redaction", "*.yaml"))
	require.NoError(t, err)
	var n int
	for _, file := range files {
		if strings.HasSuffix(file, ".want.yaml") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want.yaml")
			require.NoError(t, err)
			var want redactionWant
			require.NoError(t, yaml.Unmarshal(raw, &want))
			require.NotEmpty(t, want.Secrets)
			for k, v := range want.Env {
				t.Setenv(k, v)
			}
			abs, err := filepath.Abs(file)
			require.NoError(t, err)
			resolver, err := confmap.NewResolver(confmap.ResolverSettings{
				URIs:              []string{"file:" + abs},
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
				DefaultScheme:     "env",
			})
			require.NoError(t, err)
			effective, err := resolver.Resolve(context.Background())
			require.NoError(t, err)
			defer func() { require.NoError(t, resolver.Shutdown(context.Background())) }()
			for _, s := range want.Secrets {
				require.Contains(t, fmt.Sprint(effective.ToStringMap()), s, "the corpus must hold the secret")
			}

			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			cfg.EffectiveConfig.IncludeUnexpanded = true
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			snap := extensioncapabilities.NewConfigSnapshot(effective, resolver.UnexpandedConf())
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snap))

			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return len(a.EffectiveConfig.GetConfigMap().GetConfigMap()) == 2
			})
			files := st.EffectiveConfig.GetConfigMap().GetConfigMap()
			eff, unexp := string(files[""].GetBody()), string(files["raw"].GetBody())
			var wire []byte
			for _, m := range st.Messages {
				b, err := proto.Marshal(m)
				require.NoError(t, err)
				wire = append(wire, b...)
			}
			for _, s := range want.Secrets {
				assert.False(t, bytes.Contains(wire, []byte(s)), "secret %q reached the server", s)
			}
			for _, s := range want.Visible {
				assert.Contains(t, eff, s, "useful value missing from the effective config")
			}
			for _, s := range want.VisibleUnexpanded {
				assert.Contains(t, unexp, s, "useful value missing from the unexpanded config")
			}
		})
	}
	require.GreaterOrEqual(t, n, 5, "the corpus is missing")
}

package opampclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// sendHTTPDisconnect posts one last AgentToServer carrying AgentDisconnect,
// with the same URL, headers, TLS and proxy as the polls, bounded by ctx.
func (c *Client) sendHTTPDisconnect(ctx context.Context) error {
	st := c.settings.Start
	uid := c.InstanceUID()
	body, err := proto.Marshal(&protobufs.AgentToServer{
		InstanceUid:     uid[:],
		AgentDisconnect: &protobufs.AgentDisconnect{},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.OpAMPServerURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	header := st.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if st.HeaderFunc != nil {
		header = st.HeaderFunc(header)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/x-protobuf")

	tr := &http.Transport{TLSClientConfig: st.TLSConfig, Proxy: http.ProxyFromEnvironment}
	if st.ProxyURL != "" {
		pu, err := url.Parse(st.ProxyURL)
		if err != nil {
			return fmt.Errorf("proxy url: %w", err)
		}
		tr.Proxy = http.ProxyURL(pu)
		tr.ProxyConnectHeader = st.ProxyHeaders
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}

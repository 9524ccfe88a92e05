package testserver

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

var rawUID = bytes.Repeat([]byte{7}, 16)

func dialRaw(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestRawWSAnswersAndRecords(t *testing.T) {
	r := StartRaw(t)
	conn := dialRaw(t, r.WSURL())
	data, err := EncodeWS(0, &protobufs.AgentToServer{InstanceUid: rawUID, SequenceNum: 3})
	require.NoError(t, err)
	require.NoError(t, conn.WriteMessage(websocket.BinaryMessage, data))
	_, answer, err := conn.ReadMessage()
	require.NoError(t, err)
	msg := &protobufs.ServerToAgent{}
	require.Equal(t, byte(0), answer[0])
	require.NoError(t, proto.Unmarshal(answer[1:], msg))
	assert.Equal(t, rawUID, msg.GetInstanceUid(), "the answer is addressed to the agent")
	assert.Equal(t, rawCapabilities, msg.GetCapabilities())

	require.NoError(t, conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second)))
	r.WaitFor(t, waitTimeout, "connection end", func(r *Raw) bool { return r.Count(EventEnd) == 1 })
	reqs := r.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, uint64(3), reqs[0].Msg.GetSequenceNum())
	assert.True(t, reqs[0].Binary)
	var codes []int
	for _, e := range r.Events() {
		if e.Kind == EventClientClose {
			codes = append(codes, e.Code)
		}
	}
	assert.Equal(t, []int{websocket.CloseGoingAway}, codes)
	assert.Equal(t, 1, r.MaxOpenConns())
}

func TestRawWSOverLimitCloses1009(t *testing.T) {
	r := StartRaw(t, RawWithSizeLimit(64))
	conn := dialRaw(t, r.WSURL())
	require.NoError(t, conn.WriteMessage(websocket.BinaryMessage, make([]byte, 65)))
	_, _, err := conn.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseMessageTooBig, ce.Code)
}

func TestRawWSUpgradeRedirectAndPush(t *testing.T) {
	r := StartRaw(t, RawWithUpgrade(func(req *http.Request, _ int) (int, http.Header) {
		if req.URL.Path == Path {
			return http.StatusTemporaryRedirect, http.Header{"Location": {"/moved"}}
		}
		return 0, nil
	}))
	_, resp, err := websocket.DefaultDialer.Dial(r.WSURL(), nil)
	require.Error(t, err, "gorilla does not follow redirects")
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	_ = resp.Body.Close()
	conn := dialRaw(t, "ws://"+r.Addr()+"/moved")
	r.WaitFor(t, waitTimeout, "upgrade", func(r *Raw) bool { return r.OpenConns() == 1 })
	require.NoError(t, r.Push(&protobufs.ServerToAgent{Flags: 1}))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	msg := &protobufs.ServerToAgent{}
	require.NoError(t, proto.Unmarshal(data[1:], msg))
	assert.Equal(t, uint64(1), msg.GetFlags())
	require.NoError(t, r.CloseConn(websocket.CloseTryAgainLater))
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseTryAgainLater, ce.Code)
}

// postRaw posts body and returns the answer's status, header and body.
func postRaw(t *testing.T, r *Raw, body []byte, gz bool) (int, http.Header, []byte) {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(body)
		require.NoError(t, zw.Close())
		body = b.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, r.HTTPURL(), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentTypeProtobuf)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, data
}

func TestRawHTTP(t *testing.T) {
	r := StartRaw(t, RawWithSizeLimit(100), RawWithResponder(func(req Request) Reply {
		if req.Msg.GetSequenceNum() == 1 {
			return Reply{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"7"}}}
		}
		return RawDefaultReply(req)
	}))
	body, err := proto.Marshal(&protobufs.AgentToServer{InstanceUid: rawUID})
	require.NoError(t, err)
	status, _, data := postRaw(t, r, body, true)
	require.Equal(t, http.StatusOK, status)
	msg := &protobufs.ServerToAgent{}
	require.NoError(t, proto.Unmarshal(data, msg))
	assert.Equal(t, rawUID, msg.GetInstanceUid())

	body, err = proto.Marshal(&protobufs.AgentToServer{InstanceUid: rawUID, SequenceNum: 1})
	require.NoError(t, err)
	status, header, _ := postRaw(t, r, body, false)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "7", header.Get("Retry-After"))

	status, _, _ = postRaw(t, r, make([]byte, 101), true)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, "the limit applies after decompression")
	assert.Len(t, r.Requests(), 2)
	assert.Equal(t, 1, r.Count(EventRefused))
	assert.Equal(t, 1, r.MaxConcurrentHTTP())
}

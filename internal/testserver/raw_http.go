package testserver

import (
	"compress/gzip"
	"io"
	"net/http"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// serveHTTP answers one plain-HTTP OpAMP request: a body over the size
// limit (after decompression) gets 413 Content Too Large, as the
// specification requires of a server; any other gets the responder's reply.
func (r *Raw) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	r.mu.Lock()
	n := 1 + r.countLocked(EventMessage, TransportHTTP) + r.countLocked(EventRefused, TransportHTTP)
	r.httpIn++
	r.maxHTTP = max(r.maxHTTP, r.httpIn)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.httpIn--
		r.mu.Unlock()
	}()

	body := io.Reader(hr.Body)
	if hr.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer func() { _ = zr.Close() }()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, int64(r.opts.limit)+1))
	if err != nil {
		return
	}
	req := Request{Transport: TransportHTTP, Conn: n, Path: hr.URL.Path, Header: hr.Header.Clone(), Size: len(data), Binary: true}
	if len(data) > r.opts.limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		r.record(Event{Kind: EventRefused, Transport: TransportHTTP, Conn: n, Path: hr.URL.Path, Status: http.StatusRequestEntityTooLarge, Req: &req})
		return
	}
	msg := &protobufs.AgentToServer{}
	if proto.Unmarshal(data, msg) == nil {
		req.Msg = msg
	}
	r.record(Event{Kind: EventMessage, Transport: TransportHTTP, Conn: n, Path: hr.URL.Path, Header: req.Header, Req: &req})
	rep := Reply{Status: http.StatusBadRequest, Silent: true}
	if req.Msg != nil {
		rep = r.opts.responder(req)
	}
	if rep.Delay > 0 {
		t := time.NewTimer(rep.Delay)
		select {
		case <-t.C:
		case <-hr.Context().Done():
		}
		t.Stop()
	}
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	out := rep.Raw
	if out == nil && status == http.StatusOK && !rep.Silent {
		if out, err = proto.Marshal(withUID(rep.Msg, req.Msg.GetInstanceUid())); err != nil {
			return
		}
	}
	for k, v := range rep.Header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", contentTypeProtobuf)
	w.WriteHeader(status)
	_, _ = w.Write(out)
	r.record(Event{Kind: EventAnswer, Transport: TransportHTTP, Conn: n, Status: status, Reply: &rep})
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/opampext/opampextension/bench/recorder"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestControlAPI(t *testing.T) {
	r, err := recorder.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop(context.Background())) })
	api := controlAPI(r)

	tests := []struct {
		method, target string
		code           int
		wantKey        string // in the JSON answer
		wantText       string // in an error answer
	}{
		{http.MethodGet, "/full", http.StatusOK, "total", ""},
		{http.MethodGet, "/snapshot", http.StatusOK, "attempts", ""},
		{http.MethodPost, "/outage?for=10ms", http.StatusOK, "returned_at", ""},
		{http.MethodPost, "/outage?for=soon", http.StatusBadRequest, "", `parameter for: want a positive duration such as 3s, got "soon"`},
		{http.MethodPost, "/outage", http.StatusBadRequest, "", `got ""`},
		{http.MethodGet, "/outage?for=1s", http.StatusMethodNotAllowed, "", "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			require.Equal(t, tt.code, rec.Code, rec.Body.String())
			if tt.wantKey == "" {
				assert.Contains(t, rec.Body.String(), tt.wantText)
				return
			}
			var got map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Contains(t, got, tt.wantKey)
		})
	}
}

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDebugHandler: the profiler's index and a goroutine dump answer, and
// nothing else is served there.
func TestDebugHandler(t *testing.T) {
	ts := httptest.NewServer(debugHandler())
	defer ts.Close()
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/debug/pprof/", http.StatusOK, "goroutine"},
		{"/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile"},
		{"/v1/players/x", http.StatusNotFound, ""},
		{"/metrics", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		resp, err := http.Get(ts.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("GET %s = %d (body has %q: %v), want %d", tt.path, resp.StatusCode, tt.wantBody, strings.Contains(string(body), tt.wantBody), tt.wantCode)
		}
	}
}

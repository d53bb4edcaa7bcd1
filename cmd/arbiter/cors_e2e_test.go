package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
)

// TestBrowserOrigins runs the server with --cors-origins and does what a
// browser does: the preflight that
//
//	curl -i -X OPTIONS -H 'Origin: https://allowed.example' \
//	  -H 'Access-Control-Request-Method: POST' \
//	  http://…/v1/matchmaking/tickets
//
// imitates, the requests that follow, and the game WebSocket. A listed
// origin and the server's own are served, any other page is refused with
// 403 (REST and WebSocket alike), and programs that send no Origin are not
// concerned. The refusals are in /metrics.
func TestBrowserOrigins(t *testing.T) {
	const allowed = "https://allowed.example"
	const foreign = "https://evil.example"
	ts := startServer(t, "--cors-origins", allowed)

	do := func(method, path, origin string, header map[string]string, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
	tests := []struct {
		name     string
		method   string
		path     string
		origin   string
		header   map[string]string
		body     string
		want     int
		wantBody string            // a part of the body
		wantH    map[string]string // headers that must be there, with these values; "" must be absent
	}{
		{name: "preflight, listed", method: "OPTIONS", path: "/v1/matchmaking/tickets", origin: allowed, header: preflight,
			want: http.StatusNoContent, wantH: map[string]string{
				"Access-Control-Allow-Origin":  allowed,
				"Access-Control-Allow-Methods": "DELETE, GET, POST",
				"Access-Control-Allow-Headers": "Authorization, Content-Type",
				"Access-Control-Max-Age":       "3600",
				"Vary":                         "Origin",
			}},
		{name: "preflight, foreign", method: "OPTIONS", path: "/v1/matchmaking/tickets", origin: foreign, header: preflight,
			want: http.StatusForbidden, wantBody: `{"error":{"code":"origin_not_allowed","message":`,
			wantH: map[string]string{"Access-Control-Allow-Origin": "", "Content-Type": "application/json"}},
		{name: "sign-up, listed", method: "POST", path: "/v1/auth/guest", origin: allowed, body: `{"name":"web"}`,
			want: http.StatusCreated, wantBody: `"token"`,
			wantH: map[string]string{"Access-Control-Allow-Origin": allowed, "Vary": "Origin"}},
		{name: "sign-up, own origin", method: "POST", path: "/v1/auth/guest", origin: ts.base, body: `{"name":"own"}`,
			want: http.StatusCreated, wantBody: `"token"`},
		{name: "sign-up, no Origin", method: "POST", path: "/v1/auth/guest", body: `{"name":"curl"}`,
			want: http.StatusCreated, wantBody: `"token"`, wantH: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "sign-up, foreign", method: "POST", path: "/v1/auth/guest", origin: foreign, body: `{"name":"evil"}`,
			want: http.StatusForbidden, wantBody: `"origin_not_allowed"`},
	}
	for _, tt := range tests {
		resp, body := do(tt.method, tt.path, tt.origin, tt.header, tt.body)
		if resp.StatusCode != tt.want || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: %s %s = %d %s, want %d with %q", tt.name, tt.method, tt.path, resp.StatusCode, body, tt.want, tt.wantBody)
		}
		for k, v := range tt.wantH {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s: %q, want %q", tt.name, k, got, v)
			}
		}
	}

	// The game WebSocket: a page of a foreign origin is refused before the
	// upgrade, with a good join token; a listed one and the server's own
	// page are let in.
	a, b := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", a, b)
	dial := func(wsURL, origin string) (*client.Client, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, wsURL, client.Options{Header: http.Header{"Origin": {origin}}})
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
		}
		return c, err
	}
	var he *client.HandshakeError
	if _, err := dial(tickets[0].WSURL, foreign); !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Errorf("WebSocket from %s: %v, want a 403 refusal", foreign, err)
	}
	for i, origin := range []string{allowed, ts.base} {
		if _, err := dial(tickets[i].WSURL, origin); err != nil {
			t.Errorf("WebSocket from %s: %v, want it let in", origin, err)
		}
	}

	s := ts.scrape(t)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"arbiter_http_origin_refused_total", nil, 2},
		{"arbiter_ws_upgrades_total", []string{"result", "refused_origin"}, 1},
		{"arbiter_ws_upgrades_total", []string{"result", "accepted"}, 2},
	} {
		if got := s.must(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}

package netcode

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
)

// TestCheckOrigin: a request whose Origin CheckOrigin refuses is answered
// 403 in the JSON error shape before the upgrade (and before its token is
// looked at), and counted; an allowed one, and one without an Origin, is
// upgraded. Without CheckOrigin every origin is allowed.
func TestCheckOrigin(t *testing.T) {
	const allowed = "https://allowed.example"
	check := func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == allowed
	}
	tests := []struct {
		name   string
		check  func(*http.Request) bool
		origin string // "" sends none
		token  string
		want   int // the HTTP status of the answer: 101 for an upgrade
	}{
		{name: "allowed", check: check, origin: allowed, token: "good", want: http.StatusSwitchingProtocols},
		{name: "no Origin", check: check, token: "good", want: http.StatusSwitchingProtocols},
		{name: "foreign", check: check, origin: "https://evil.example", token: "good", want: http.StatusForbidden},
		{name: "foreign, bad token", check: check, origin: "https://evil.example", token: "forged", want: http.StatusForbidden},
		{name: "allowed, bad token", check: check, origin: allowed, token: "forged", want: http.StatusUnauthorized},
		{name: "no CheckOrigin", origin: "https://evil.example", token: "good", want: http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, url := newTestServer(t, Config{CheckOrigin: tt.check}, "good")
			c := &testClient{msgs: make(chan *arbiterv1.ServerMessage, 16), closed: make(chan struct{})}
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			conn, resp, err := gws.NewClient(c, &gws.ClientOption{Addr: url + tt.token, RequestHeader: h})
			if tt.want == http.StatusSwitchingProtocols {
				if err != nil {
					t.Fatalf("dial: %v, want an upgrade", err)
				}
				go conn.ReadLoop()
				t.Cleanup(func() { _ = conn.NetConn().Close(); <-c.closed })
				if m := c.next(t); m.GetWelcome() == nil {
					t.Errorf("first message %v, want Welcome", m)
				}
			} else {
				if err == nil {
					_ = conn.NetConn().Close()
					t.Fatalf("dial upgraded, want %d", tt.want)
				}
				if resp == nil || resp.StatusCode != tt.want {
					t.Fatalf("dial: %v (response %v), want status %d", err, resp, tt.want)
				}
			}
			wantRefused := uint64(0)
			if tt.want == http.StatusForbidden {
				wantRefused = 1
			}
			if got := srv.Stats.RefusedOrigin.Load(); got != wantRefused {
				t.Errorf("Stats.RefusedOrigin = %d, want %d", got, wantRefused)
			}
			if got := srv.Stats.Refused.Load(); tt.want == http.StatusForbidden && got != 0 {
				t.Errorf("Stats.Refused = %d: the token of a refused origin was looked at", got)
			}
		})
	}
}

// TestCheckOriginAnswer: the 403 is the API's JSON error shape.
func TestCheckOriginAnswer(t *testing.T) {
	_, _, url := newTestServer(t, Config{CheckOrigin: func(*http.Request) bool { return false }}, "good")
	req, err := http.NewRequestWithContext(t.Context(), "GET", strings.Replace(url, "ws://", "http://", 1)+"good", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"Origin": "https://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusForbidden ||
		got.Error.Code != "origin_not_allowed" || got.Error.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("refused upgrade = %d %q %s, want 403 application/json with code origin_not_allowed", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

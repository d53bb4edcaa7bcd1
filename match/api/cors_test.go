package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/google/go-cmp/cmp"
)

// corsHeaders are the response headers the origin policy sets.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials",
}

// corsOf returns the CORS headers of h that are set, and its Vary values.
func corsOf(h http.Header) map[string]string {
	out := make(map[string]string)
	for _, k := range corsHeaders {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	out["Vary"] = strings.Join(h.Values("Vary"), ", ")
	return out
}

func TestCORS(t *testing.T) {
	const allowed = "https://allowed.example"
	preflight := map[string]string{
		"Access-Control-Allow-Origin":  allowed,
		"Access-Control-Allow-Methods": "DELETE, GET, POST",
		"Access-Control-Allow-Headers": "Authorization, Content-Type",
		"Access-Control-Max-Age":       "3600",
		"Vary":                         "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
	}
	actual := func(origin string) map[string]string {
		return map[string]string{
			"Access-Control-Allow-Origin":   origin,
			"Access-Control-Expose-Headers": "Retry-After",
			"Vary":                          "Origin",
		}
	}
	plain := map[string]string{"Vary": "Origin"}

	tests := []struct {
		name    string
		public  string // Config.PublicURL
		method  string
		path    string
		host    string // the request's Host; "" for the test server's
		header  map[string]string
		auth    bool // send a valid bearer token
		want    int
		wantErr string // the error code of an error response
		wantH   map[string]string
	}{
		{name: "preflight, listed", method: "OPTIONS", path: "/v1/matchmaking/tickets",
			header: map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
			want:   http.StatusNoContent, wantH: preflight},
		{name: "preflight, any path", method: "OPTIONS", path: "/v1/matchmaking/tickets/t1",
			header: map[string]string{"Origin": allowed, "Access-Control-Request-Method": "DELETE"},
			want:   http.StatusNoContent, wantH: preflight},
		{name: "preflight, foreign", method: "OPTIONS", path: "/v1/matchmaking/tickets",
			header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			want:   http.StatusForbidden, wantErr: "origin_not_allowed", wantH: plain},
		{name: "OPTIONS that is no preflight", method: "OPTIONS", path: "/v1/matchmaking/tickets",
			header: map[string]string{"Origin": allowed},
			want:   http.StatusMethodNotAllowed, wantErr: "method_not_allowed", wantH: actual(allowed)},
		{name: "actual request, listed", method: "GET", path: "/v1/leaderboard/duel", auth: true,
			header: map[string]string{"Origin": allowed},
			want:   http.StatusOK, wantH: actual(allowed)},
		{name: "actual error, listed", method: "GET", path: "/v1/leaderboard/duel",
			header: map[string]string{"Origin": allowed},
			want:   http.StatusUnauthorized, wantErr: "unauthorized", wantH: actual(allowed)},
		{name: "actual request, foreign", method: "POST", path: "/v1/auth/guest",
			header: map[string]string{"Origin": "https://evil.example"},
			want:   http.StatusForbidden, wantErr: "origin_not_allowed", wantH: plain},
		{name: "actual request, null", method: "GET", path: "/healthz",
			header: map[string]string{"Origin": "null"},
			want:   http.StatusForbidden, wantErr: "origin_not_allowed", wantH: plain},
		{name: "no Origin", method: "GET", path: "/v1/leaderboard/duel", auth: true,
			want: http.StatusOK, wantH: plain},
		{name: "no Origin, OPTIONS", method: "OPTIONS", path: "/v1/matchmaking/tickets",
			header: map[string]string{"Access-Control-Request-Method": "POST"},
			want:   http.StatusMethodNotAllowed, wantErr: "method_not_allowed", wantH: plain},
		{name: "own origin, no public URL", method: "GET", path: "/healthz", host: "arbiter.example:8080",
			header: map[string]string{"Origin": "http://arbiter.example:8080"},
			want:   http.StatusOK, wantH: actual("http://arbiter.example:8080")},
		{name: "own origin by the public URL", public: "https://play.example.com", method: "GET", path: "/healthz", host: "10.0.0.7:8080",
			header: map[string]string{"Origin": "https://play.example.com"},
			want:   http.StatusOK, wantH: actual("https://play.example.com")},
		{name: "own origin by Host, public URL set", public: "https://play.example.com", method: "GET", path: "/healthz", host: "10.0.0.7:8080",
			header: map[string]string{"Origin": "http://10.0.0.7:8080"},
			want:   http.StatusOK, wantH: actual("http://10.0.0.7:8080")},
		{name: "another port of the own host", method: "GET", path: "/healthz", host: "arbiter.example:8080",
			header: map[string]string{"Origin": "http://arbiter.example:9090"},
			want:   http.StatusForbidden, wantErr: "origin_not_allowed", wantH: plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			origins, err := api.NewOrigins([]string{allowed}, tt.public)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, api.Config{PublicURL: tt.public, Origins: origins})
			req, err := http.NewRequestWithContext(t.Context(), tt.method, e.url+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.auth {
				_, token := e.guest("cors")
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			what := tt.method + " " + tt.path
			if tt.wantErr != "" {
				wantError(t, what, resp.StatusCode, resp.Header, body, tt.want, tt.wantErr)
			} else if resp.StatusCode != tt.want {
				t.Errorf("%s = %d %s, want %d", what, resp.StatusCode, body, tt.want)
			}
			if diff := cmp.Diff(tt.wantH, corsOf(resp.Header)); diff != "" {
				t.Errorf("%s: CORS headers (-want +got):\n%s", what, diff)
			}
			wantRefused := uint64(0)
			if tt.wantErr == "origin_not_allowed" {
				wantRefused = 1
			}
			if got := e.srv.Stats.RefusedOrigin.Load(); got != wantRefused {
				t.Errorf("Stats.RefusedOrigin = %d, want %d", got, wantRefused)
			}
		})
	}
}

// TestCORSDefault: with no policy configured, a page of the server's own
// origin may call the API and any other is refused.
func TestCORSDefault(t *testing.T) {
	srv, err := api.New(api.Config{Logger: quietLogger()}, nil, &fakePlayers{}, testTokens)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		origin string
		want   int
	}{
		{origin: "", want: http.StatusOK},
		{origin: "http://arbiter.example:8080", want: http.StatusOK},
		{origin: "https://game.example.com", want: http.StatusForbidden},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "http://arbiter.example:8080/healthz", nil)
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET /healthz from %q = %d %s, want %d", tt.origin, rec.Code, rec.Body, tt.want)
		}
	}
}

package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/google/go-cmp/cmp"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		wantErr string // a part of the error; "" for none
	}{
		{give: "https://game.example.com", want: "https://game.example.com"},
		{give: "http://localhost:8080", want: "http://localhost:8080"},
		{give: "HTTPS://Game.Example.COM", want: "https://game.example.com"},
		{give: "https://game.example.com:443", want: "https://game.example.com"},
		{give: "http://game.example.com:80", want: "http://game.example.com"},
		{give: "https://game.example.com:80", want: "https://game.example.com:80"},
		{give: "http://[::1]:8080", want: "http://[::1]:8080"},
		{give: "http://127.0.0.1:3000", want: "http://127.0.0.1:3000"},
		{give: "capacitor://localhost", want: "capacitor://localhost"},
		{give: "*", wantErr: `"*" is not supported`},
		{give: "null", wantErr: "no scheme"},
		{give: "", wantErr: "no scheme"},
		{give: "game.example.com", wantErr: "no scheme"},
		{give: "//game.example.com", wantErr: "no scheme"},
		{give: "1http://game.example.com", wantErr: "no scheme"},
		{give: "https://", wantErr: "no host"},
		{give: "https://game.example.com/", wantErr: "only a host and port"},
		{give: "https://game.example.com/play", wantErr: "only a host and port"},
		{give: "https://game.example.com?x=1", wantErr: "only a host and port"},
		{give: "https://game.example.com#top", wantErr: "only a host and port"},
		{give: "https://user@game.example.com", wantErr: "only a host and port"},
		{give: "https://game example.com", wantErr: "only a host and port"},
		{give: "https://game.example.com:", wantErr: "not a valid port"},
		{give: "https://game.example.com:https", wantErr: "not a valid"},
		{give: "https://:8080", wantErr: "not a valid host"},
		{give: "https://[::1", wantErr: "not a valid host"},
	}
	for _, tt := range tests {
		got, err := api.ParseOrigin(tt.give)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseOrigin(%q) = %v, want %q", tt.give, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseOrigin(%q) = %q, %v; want an error containing %q", tt.give, got, err, tt.wantErr)
		case got != tt.want:
			t.Errorf("ParseOrigin(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		give    string
		want    []string
		wantErr bool
	}{
		{give: "", want: nil},
		{give: " , ", want: nil},
		{give: "https://a.example", want: []string{"https://a.example"}},
		{give: "https://a.example, http://localhost:5173,", want: []string{"https://a.example", "http://localhost:5173"}},
		{give: "https://a.example,*", wantErr: true},
		{give: "https://a.example https://b.example", wantErr: true},
		{give: "https://a.example/", wantErr: true},
	}
	for _, tt := range tests {
		got, err := api.ParseOrigins(tt.give)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseOrigins(%q) error = %v, want error %v", tt.give, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseOrigins(%q) (-want +got):\n%s", tt.give, diff)
		}
	}
}

func TestOriginsAllowed(t *testing.T) {
	listed := []string{"https://game.example.com", "http://localhost:5173"}
	tests := []struct {
		name   string
		public string // the public URL; "" for none
		host   string // the request's Host
		origin string // "" sends none
		want   bool
	}{
		{name: "no Origin", host: "arbiter.example:8080", want: true},
		{name: "listed", host: "arbiter.example:8080", origin: "https://game.example.com", want: true},
		{name: "listed, another spelling", host: "arbiter.example:8080", origin: "https://GAME.example.com:443", want: true},
		{name: "listed, dev server", host: "127.0.0.1:8080", origin: "http://localhost:5173", want: true},
		{name: "listed host, other scheme", host: "arbiter.example:8080", origin: "http://game.example.com"},
		{name: "listed host, other port", host: "arbiter.example:8080", origin: "https://game.example.com:8443"},
		{name: "foreign", host: "arbiter.example:8080", origin: "https://evil.example"},
		{name: "a listed origin's subdomain", host: "arbiter.example:8080", origin: "https://evil.game.example.com"},
		{name: "a listed origin as prefix", host: "arbiter.example:8080", origin: "https://game.example.com.evil.example"},
		{name: "null", host: "arbiter.example:8080", origin: "null"},
		{name: "garbage", host: "arbiter.example:8080", origin: "https://game.example.com/x"},
		{name: "own host", host: "localhost:8080", origin: "http://localhost:8080", want: true},
		{name: "own host in another case", host: "LocalHost:8080", origin: "http://localhost:8080", want: true},
		{name: "own host behind TLS", host: "arbiter.example", origin: "https://arbiter.example", want: true},
		{name: "own host, explicit default port", host: "arbiter.example:443", origin: "https://arbiter.example", want: true},
		{name: "own host, other port", host: "localhost:8080", origin: "http://localhost:8081"},
		{name: "own host, not a web scheme", host: "localhost:8080", origin: "ftp://localhost:8080"},
		{name: "no Host", origin: "http://localhost:8080"},
		{name: "public URL", public: "https://play.example.com/arbiter", host: "10.0.0.7:8080", origin: "https://play.example.com", want: true},
		{name: "public URL as wss", public: "wss://play.example.com", host: "10.0.0.7:8080", origin: "https://play.example.com", want: true},
		{name: "public URL, other scheme", public: "https://play.example.com", host: "10.0.0.7:8080", origin: "http://play.example.com"},
		{name: "public URL, own host still", public: "https://play.example.com", host: "10.0.0.7:8080", origin: "http://10.0.0.7:8080", want: true},
		{name: "public URL, foreign", public: "https://play.example.com", host: "10.0.0.7:8080", origin: "https://evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := api.NewOrigins(listed, tt.public)
			if err != nil {
				t.Fatalf("NewOrigins = %v", err)
			}
			r := httptest.NewRequest("GET", "/v1/play", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if got := o.Allowed(r); got != tt.want {
				t.Errorf("Allowed(Origin %q, Host %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
			}
		})
	}
}

func TestNewOriginsRefuses(t *testing.T) {
	tests := []struct {
		listed []string
		public string
	}{
		{listed: []string{"*"}},
		{listed: []string{"https://ok.example", "https://ok.example/path"}},
		{public: "ftp://play.example.com"},
		{public: "play.example.com"},
	}
	for _, tt := range tests {
		if _, err := api.NewOrigins(tt.listed, tt.public); err == nil {
			t.Errorf("NewOrigins(%q, %q) = nil error, want one", tt.listed, tt.public)
		}
	}
}

// FuzzParseOrigin: nothing panics, and what ParseOrigin accepts it returns
// in a form it accepts unchanged.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://game.example.com", "HTTP://A:80", "http://[::1]:8080", "*", "null", "a://b:", "https://x/y", "https://%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := api.ParseOrigin(s)
		if err != nil {
			return
		}
		again, err := api.ParseOrigin(n)
		if err != nil || again != n {
			t.Fatalf("ParseOrigin(%q) = %q, whose ParseOrigin = %q, %v", s, n, again, err)
		}
	})
}

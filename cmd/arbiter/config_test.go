package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(config) bool
	}{
		{name: "defaults", check: func(c config) bool { return c.Addr == ":8080" && c.TickRate == 30 && c.FFAWait == 0 }},
		{name: "env twin", env: map[string]string{"ARBITER_TICK_RATE": "60", "ARBITER_MATCH_DURATION": "5s"},
			check: func(c config) bool { return c.TickRate == 60 && c.MatchDuration == 5*time.Second }},
		{name: "flag beats env", args: []string{"--tick-rate", "20"}, env: map[string]string{"ARBITER_TICK_RATE": "60"},
			check: func(c config) bool { return c.TickRate == 20 }},
		{name: "tick rate too high", args: []string{"--tick-rate", "61"}, wantErr: "--tick-rate 61"},
		{name: "tick rate too low in env", env: map[string]string{"ARBITER_TICK_RATE": "19"}, wantErr: "--tick-rate 19"},
		{name: "unparseable env", env: map[string]string{"ARBITER_FFA_WAIT": "soon"}, wantErr: "ARBITER_FFA_WAIT"},
		{name: "bad public url", args: []string{"--public-url", "example.com"}, wantErr: "--public-url"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
		{name: "ratings per mode", args: []string{"--ratings", "duel=glicko2,ffa=elo"},
			check: func(c config) bool {
				m, err := c.ratingSystems()
				return err == nil && m["duel"] == "glicko2" && m["ffa"] == "elo"
			}},
		{name: "bad rating system", args: []string{"--ratings", "duel=trueskill"}, wantErr: "--ratings"},
		{name: "rating parameters: each mode's own", check: func(c config) bool {
			return c.Ratings == "" && !c.EloKNew.set && !c.EloK.set && !c.EloNewGames.set && !c.GlickoTau.set
		}},
		{name: "rating parameters overridden", args: []string{"--elo-k", "16", "--elo-new-games", "0"}, env: map[string]string{"ARBITER_GLICKO_TAU": "0.3"},
			check: func(c config) bool {
				return c.EloK == override[float64]{16, true} && c.EloNewGames == override[int]{0, true} && c.GlickoTau == override[float64]{0.3, true} && !c.EloKNew.set
			}},
		{name: "elo k not positive", args: []string{"--elo-k", "0"}, wantErr: "--elo-k"},
		{name: "unparseable elo k in env", env: map[string]string{"ARBITER_ELO_K_NEW": "many"}, wantErr: "ARBITER_ELO_K_NEW"},
		{name: "glicko tau out of range", args: []string{"--glicko-tau", "3"}, wantErr: "--glicko-tau 3"},
		{name: "node ttl", env: map[string]string{"ARBITER_NODE_TTL": "3s"}, check: func(c config) bool { return c.NodeTTL == 3*time.Second }},
		{name: "node ttl too short", args: []string{"--node-ttl", "500ms"}, wantErr: "--node-ttl 500ms"},
		{name: "no cors origins", check: func(c config) bool {
			o, err := c.corsOrigins()
			return err == nil && o != nil && c.CORSOrigins == ""
		}},
		{name: "cors origins", args: []string{"--cors-origins", "https://game.example.com, http://localhost:5173"},
			check: func(c config) bool { _, err := c.corsOrigins(); return err == nil }},
		{name: "cors origins in env", env: map[string]string{"ARBITER_CORS_ORIGINS": "https://game.example.com"},
			check: func(c config) bool { return c.CORSOrigins == "https://game.example.com" }},
		{name: "cors origin with a path", args: []string{"--cors-origins", "https://game.example.com/play"}, wantErr: "--cors-origins"},
		{name: "cors origin without scheme", env: map[string]string{"ARBITER_CORS_ORIGINS": "game.example.com"}, wantErr: "--cors-origins"},
		{name: "cors wildcard", args: []string{"--cors-origins", "*"}, wantErr: `"*" is not supported`},
		{name: "cors origins separated by spaces", args: []string{"--cors-origins", "https://a.example https://b.example"}, wantErr: "--cors-origins"},
		{name: "negative window", env: map[string]string{"ARBITER_WINDOW_STEP": "-5"}, wantErr: "--window-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("parseConfig = %+v", c)
			}
		})
	}
}

package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/arena"
	"github.com/arbiter-gg/arbiter/match/chess"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/google/go-cmp/cmp"
)

// mustRegister returns the registry of the registered games with the
// default flags.
func mustRegister(t *testing.T) registry {
	t.Helper()
	reg, err := register(mustParse(t), games(config{ChessClock: chess.DefaultClock}))
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return reg
}

func mustParse(t *testing.T, args ...string) config {
	t.Helper()
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", args, err)
	}
	return cfg
}

// TestRegisterDefaults: with no flags, the server runs every mode exactly
// as its game declares it.
func TestRegisterDefaults(t *testing.T) {
	reg := mustRegister(t)
	want := make(map[string]match.Mode)
	for _, spec := range games(config{ChessClock: chess.DefaultClock}) {
		if reg.games[spec.Name] != spec.Game {
			t.Errorf("game %s = %#v, want %#v", spec.Name, reg.games[spec.Name], spec.Game)
		}
		for _, m := range spec.Modes {
			want[m.Name] = m
		}
	}
	if diff := cmp.Diff(want, reg.modes); diff != "" {
		t.Errorf("modes differ from the games' (-want +got):\n%s", diff)
	}
	for name := range want {
		if _, ok := reg.windows[name]; !ok {
			t.Errorf("mode %s has no matchmaking window", name)
		}
	}
}

// TestRegisterOverrides: flags change the rules of every mode, and only
// the rules they name.
func TestRegisterOverrides(t *testing.T) {
	cfg := mustParse(t, "--match-duration", "30s", "--ffa-wait", "4s", "--ratings", "ffa=glicko2", "--elo-k", "16", "--glicko-tau", "0.3")
	reg, err := register(cfg, []match.GameSpec{arena.Spec(), {Name: "plain", Game: arena.Game{}, Modes: []match.Mode{
		{Name: "zero", Game: "plain", Players: 2, Duration: time.Minute},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	elo := rating.DefaultElo()
	elo.KEstablished = 16
	glicko := rating.DefaultGlicko2()
	glicko.Tau = 0.3
	want := map[string]match.Mode{
		"duel": {Name: "duel", Game: arena.Name, Players: 2, MinPlayers: 2, Duration: 30 * time.Second, ScoreLimit: 10, Rating: match.SystemElo, Elo: elo, Glicko2: glicko},
		"ffa":  {Name: "ffa", Game: arena.Name, Players: 10, MinPlayers: 2, FillWait: 4 * time.Second, Duration: 30 * time.Second, Rating: match.SystemGlicko2, Elo: elo, Glicko2: glicko},
		"zero": {Name: "zero", Game: "plain", Players: 2, Duration: 30 * time.Second, Elo: elo, Glicko2: glicko},
	}
	if diff := cmp.Diff(want, reg.modes); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

func TestRegisterRefuses(t *testing.T) {
	mode := func(name, game string) match.Mode { return match.Mode{Name: name, Game: game, Players: 2} }
	tests := []struct {
		name    string
		args    []string
		give    []match.GameSpec
		wantErr string
	}{
		{name: "no game", wantErr: "no game mode"},
		{name: "a game without modes", give: []match.GameSpec{{Name: "a", Game: arena.Game{}}}, wantErr: "no game mode"},
		{name: "game twice", give: []match.GameSpec{arena.Spec(), arena.Spec()}, wantErr: "registered twice"},
		{name: "no Game", give: []match.GameSpec{{Name: "a", Modes: []match.Mode{mode("m", "a")}}}, wantErr: "want a name and a Game"},
		{name: "mode of another game", give: []match.GameSpec{{Name: "a", Game: arena.Game{}, Modes: []match.Mode{mode("m", "b")}}}, wantErr: `want a name and Game "a"`},
		{name: "mode twice", give: []match.GameSpec{
			{Name: "a", Game: arena.Game{}, Modes: []match.Mode{mode("m", "a")}},
			{Name: "b", Game: arena.Game{}, Modes: []match.Mode{mode("m", "b")}},
		}, wantErr: `mode "m" is a's already`},
		{name: "rating of no mode", args: []string{"--ratings", "go=elo"}, give: games(config{ChessClock: chess.DefaultClock}), wantErr: `unknown mode "go"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := register(mustParse(t, tt.args...), tt.give)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("register = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

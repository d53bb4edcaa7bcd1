package main

import (
	"errors"
	"fmt"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/arena"
	"github.com/arbiter-gg/arbiter/match/chess"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/rating"
)

// games returns the games this server runs, each with the modes its
// package declares. Adding a game is one line here: its modes, rules and
// rating systems come from its package, and nothing else in the server
// names it.
func games(c config) []match.GameSpec {
	return []match.GameSpec{
		arena.Spec(),
		chess.Spec(c.ChessClock),
	}
}

// registry is what the registered games bring, by name, with the flags'
// overrides applied: the Games and Modes of the Manager, the modes of the
// matchmaker and the Ledger, and each mode's matchmaking window.
type registry struct {
	games   map[string]match.Game
	modes   map[string]match.Mode
	windows map[string]matchmaker.Window
}

// register collects specs into a registry. A mode keeps the rules its game
// declares except where a flag overrides them in every mode: the time
// limit (--match-duration), the rating system (--ratings, by mode name)
// and the rating parameters (--elo-*, --glicko-tau). It fails on a game or
// mode declared twice, a mode whose Game is not its game's name, a
// --ratings entry for no registered mode, and when there is no mode at all.
func register(cfg config, specs []match.GameSpec) (registry, error) {
	systems, err := cfg.ratingSystems()
	if err != nil {
		return registry{}, err
	}
	reg := registry{
		games:   make(map[string]match.Game, len(specs)),
		modes:   make(map[string]match.Mode),
		windows: make(map[string]matchmaker.Window),
	}
	for _, spec := range specs {
		if spec.Name == "" || spec.Game == nil {
			return registry{}, fmt.Errorf("register game %q: want a name and a Game", spec.Name)
		}
		if _, dup := reg.games[spec.Name]; dup {
			return registry{}, fmt.Errorf("register game %q: registered twice", spec.Name)
		}
		reg.games[spec.Name] = spec.Game
		for _, m := range spec.Modes {
			if m.Name == "" || m.Game != spec.Name {
				return registry{}, fmt.Errorf("register game %s: mode %q: want a name and Game %q, not %q", spec.Name, m.Name, spec.Name, m.Game)
			}
			if prev, dup := reg.modes[m.Name]; dup {
				return registry{}, fmt.Errorf("register game %s: mode %q is %s's already", spec.Name, m.Name, prev.Game)
			}
			if sys, ok := systems[m.Name]; ok {
				m.Rating = sys
				delete(systems, m.Name)
			}
			reg.modes[m.Name] = cfg.overrideMode(m)
			reg.windows[m.Name] = matchmaker.Window{Start: cfg.WindowStart, Step: cfg.WindowStep, Interval: cfg.WindowInterval, Max: cfg.WindowMax}
		}
	}
	for name := range systems {
		return registry{}, fmt.Errorf("--ratings: unknown mode %q", name)
	}
	if len(reg.modes) == 0 {
		return registry{}, errors.New("no game mode registered")
	}
	return reg, nil
}

// overrideMode returns m with the flags that override every mode's rules
// applied. Where a flag changes one rating parameter of a mode that leaves
// them zero (the Ledger's defaults), the others take the rating package's
// defaults, so that the flag changes that parameter alone.
func (c config) overrideMode(m match.Mode) match.Mode {
	if c.MatchDuration > 0 && m.Duration > 0 { // a mode without a time limit (chess) keeps none
		m.Duration = c.MatchDuration
	}
	if c.FFAWait > 0 && m.MinPlayers > 0 && m.MinPlayers < m.Players {
		m.FillWait = c.FFAWait
	}
	if m.Elo == (rating.Elo{}) && (c.EloKNew.set || c.EloK.set || c.EloNewGames.set) {
		m.Elo = rating.DefaultElo()
	}
	if m.Glicko2 == (rating.Glicko2{}) && c.GlickoTau.set {
		m.Glicko2 = rating.DefaultGlicko2()
	}
	if c.EloKNew.set {
		m.Elo.KProvisional = c.EloKNew.v
	}
	if c.EloK.set {
		m.Elo.KEstablished = c.EloK.v
	}
	if c.EloNewGames.set {
		m.Elo.ProvisionalGames = c.EloNewGames.v
	}
	if c.GlickoTau.set {
		m.Glicko2.Tau = c.GlickoTau.v
	}
	return m
}

package match

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/arbiter-gg/arbiter/rating"
)

// Rating systems a Mode may use.
const (
	SystemElo     = "elo"
	SystemGlicko2 = "glicko2"
)

// LedgerStore keeps settled results and ratings. It is declared here, where
// it is used; persistence implements it.
type LedgerStore interface {
	// SettleMatch records a finished match exactly once. If res.MatchID was
	// settled before, it returns the stored result with applied false and
	// does not call apply. Otherwise it calls apply with the players'
	// current ratings in res.Mode (players without one are absent from the
	// map) and stores the result and the ratings apply returns, atomically.
	// apply may be called more than once if the store retries; it is pure.
	SettleMatch(ctx context.Context, res Result, apply func(current map[string]Rating) (Result, map[string]Rating)) (stored Result, applied bool, err error)
}

// Ledger turns match results into rating changes, exactly once per match.
// It holds no state of its own and is safe for concurrent use.
type Ledger struct {
	store LedgerStore
	modes map[string]Mode // each with its rating parameters resolved
}

// NewLedger returns a Ledger that rates each mode with its Mode.Rating
// system (Elo when empty) and that system's parameters in the mode
// (Mode.Elo, Mode.Glicko2); elo and glicko are the parameters of the modes
// that leave theirs zero.
func NewLedger(store LedgerStore, modes map[string]Mode, elo rating.Elo, glicko rating.Glicko2) *Ledger {
	resolved := make(map[string]Mode, len(modes))
	for name, m := range modes {
		if m.Elo == (rating.Elo{}) {
			m.Elo = elo
		}
		if m.Glicko2 == (rating.Glicko2{}) {
			m.Glicko2 = glicko
		}
		resolved[name] = m
	}
	return &Ledger{store: store, modes: resolved}
}

// ErrUnrated: Settle was given a result of a mode the ledger does not know.
var ErrUnrated = errors.New("match: mode not rated")

// Settle records res and applies its rating changes, once: a second Settle
// of the same match ID changes nothing and returns the first outcome. The
// returned result has every player's RatingBefore and RatingAfter. An
// aborted result is recorded without rating changes.
func (l *Ledger) Settle(ctx context.Context, res Result) (Result, error) {
	mode, ok := l.modes[res.Mode]
	if !ok {
		return res, fmt.Errorf("settle match %s: %w: %q", res.MatchID, ErrUnrated, res.Mode)
	}
	stored, _, err := l.store.SettleMatch(ctx, res, func(current map[string]Rating) (Result, map[string]Rating) {
		return l.apply(mode, res, current)
	})
	if err != nil {
		return res, fmt.Errorf("settle match %s: %w", res.MatchID, err)
	}
	return stored, nil
}

// Start returns the rating a new player has in mode.
func (l *Ledger) Start(mode string) Rating {
	return start(l.modes[mode])
}

// start returns the rating a new player has in mode, whose rating
// parameters are resolved.
func start(mode Mode) Rating {
	if mode.Rating == SystemGlicko2 {
		// Zero start fields take their defaults, as rating.Glicko2 does.
		s, d := mode.Glicko2.Start, rating.DefaultGlicko2().Start
		return Rating{Rating: cmp.Or(s.Rating, d.Rating), RD: cmp.Or(s.RD, d.RD), Volatility: cmp.Or(s.Volatility, d.Volatility)}
	}
	return Rating{Rating: mode.Elo.Start}
}

// apply computes the rating changes of one result. It is pure.
func (l *Ledger) apply(mode Mode, res Result, current map[string]Rating) (Result, map[string]Rating) {
	res.Players = append([]PlayerResult(nil), res.Players...)
	before := make([]Rating, len(res.Players))
	for i, p := range res.Players {
		r, ok := current[p.PlayerID]
		if !ok {
			r = start(mode)
		}
		before[i] = r
		res.Players[i].RatingBefore = r.Rating
		res.Players[i].RatingAfter = r.Rating
	}
	if res.Aborted || len(res.Players) < 2 {
		return res, nil
	}

	after := make([]Rating, len(before))
	copy(after, before)
	if mode.Rating == SystemGlicko2 {
		gs := make([]rating.GlickoRating, len(before))
		places := make([]int, len(before))
		for i, r := range before {
			gs[i] = rating.GlickoRating{Rating: r.Rating, RD: r.RD, Volatility: r.Volatility}
			places[i] = res.Players[i].Placement
		}
		for i, g := range mode.Glicko2.Match(gs, places) {
			after[i].Rating, after[i].RD, after[i].Volatility = g.Rating, g.RD, g.Volatility
		}
	} else {
		standings := make([]rating.Standing, len(before))
		for i, r := range before {
			standings[i] = rating.Standing{Rating: r.Rating, Games: r.Games, Placement: res.Players[i].Placement}
		}
		for i, d := range mode.Elo.Match(standings) {
			after[i].Rating += d
		}
	}

	updated := make(map[string]Rating, len(after))
	for i, p := range res.Players {
		r := after[i]
		r.Games++
		switch outcome(res.Players, i) {
		case win:
			r.Wins++
		case draw:
			r.Draws++
		default:
			r.Losses++
		}
		updated[p.PlayerID] = r
		res.Players[i].RatingAfter = r.Rating
	}
	return res, updated
}

type result int

const (
	loss result = iota
	win
	draw
)

// outcome is a player's record line for a match: a win for sole first
// place, a draw for shared first place, otherwise a loss.
func outcome(players []PlayerResult, i int) result {
	if players[i].Placement != 1 {
		return loss
	}
	for j, q := range players {
		if j != i && q.Placement == 1 {
			return draw
		}
	}
	return win
}

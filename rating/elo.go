package rating

import "math"

// Standing is one player's entry in a finished match, for rating purposes.
type Standing struct {
	Rating    float64
	Games     int // games the player had played in this mode BEFORE this match
	Placement int // 1 is best; equal placements are a draw between those players
}

// Elo is Arbiter's Elo (docs/rest.md): start 1500; K = KProvisional (40) for a player's first
// ProvisionalGames (30) games in a mode, KEstablished (20) after.
//
// Use DefaultElo; the zero Elo has K 0 and changes nothing. An Elo is a plain
// value and safe for concurrent use.
type Elo struct {
	Start            float64 // rating of a player with no games in a mode
	KProvisional     float64 // K while Games < ProvisionalGames
	KEstablished     float64 // K once Games >= ProvisionalGames
	ProvisionalGames int     // number of games played with KProvisional
}

// DefaultElo returns Arbiter's Elo (docs/rest.md): start 1500, K 40 for the first 30 games in
// a mode and 20 after.
func DefaultElo() Elo {
	return Elo{
		Start:            1500,
		KProvisional:     40,
		KEstablished:     20,
		ProvisionalGames: 30,
	}
}

// K returns the K factor for a player who has played games games in the mode
// before the match being rated: KProvisional while games < ProvisionalGames,
// KEstablished from then on.
func (e Elo) K(games int) float64 {
	if games < e.ProvisionalGames {
		return e.KProvisional
	}
	return e.KEstablished
}

// Expected returns the score a player rated ra is expected to make against a
// player rated rb: 1 / (1 + 10^((rb-ra)/400)). It is in [0, 1], and
// Expected(ra, rb) + Expected(rb, ra) = 1 up to rounding.
func Expected(ra, rb float64) float64 {
	return 1 / (1 + math.Pow(10, (rb-ra)/400))
}

// Match returns each player's rating change for one match. Every pair of
// players is one game: the better placement scores 1, equal placements 0.5
// each. Each player's K (by their own Games) is divided by (len(players) − 1),
// so a duel uses the full K. With fewer than 2 players it returns zeros.
//
// The changes are not rounded; callers store float64 ratings. They are
// returned in the order of players, which is not modified.
//
// When every player has the same K (all provisional, or all established), the
// changes sum to zero: exactly in a duel, up to rounding in an ffa. When K
// differs — a provisional player against an established one — they do not:
// the provisional player gains or loses twice as much as the other loses or
// gains, so ratings are created or destroyed. That is deliberate (new players
// converge quickly without moving established ratings much).
//
// If any rating is NaN or infinite, Match rates nothing and returns zeros for
// everyone, so that one corrupt rating cannot spread to the other players.
func (e Elo) Match(players []Standing) []float64 {
	deltas := make([]float64, len(players))
	n := len(players)
	if n < 2 {
		return deltas
	}
	for _, p := range players {
		if !finite(p.Rating) {
			return deltas
		}
	}
	// Each pair's surprise (actual minus expected score) is computed once and
	// applied with opposite signs, so equal K gives an exactly zero-sum duel.
	for i := range n {
		ki := e.K(players[i].Games) / float64(n-1)
		for j := i + 1; j < n; j++ {
			kj := e.K(players[j].Games) / float64(n-1)
			d := pairScore(players[i].Placement, players[j].Placement) -
				Expected(players[i].Rating, players[j].Rating)
			deltas[i] += ki * d
			deltas[j] -= kj * d
		}
	}
	return deltas
}

// pairScore is the score of the player placed a against the player placed b:
// 1 for the better (lower) placement, 0.5 for equal placements, 0 otherwise.
func pairScore(a, b int) float64 {
	switch {
	case a < b:
		return 1
	case a == b:
		return 0.5
	default:
		return 0
	}
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool {
	return !math.IsNaN(x) && !math.IsInf(x, 0)
}

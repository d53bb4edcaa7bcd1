package rating

import (
	"fmt"
	"math"
)

// glickoScale converts between the Glicko scale (1500-centred, what callers
// see) and the Glicko-2 scale the algorithm works on: μ = (r − 1500) / scale,
// φ = RD / scale.
const (
	glickoScale  = 173.7178
	glickoCentre = 1500
)

// maxIterations bounds each loop of the volatility iteration (step 5), so that
// hostile input cannot make Update spin. Sane input converges in under ten.
const maxIterations = 100

// Glicko2 is Glickman's Glicko-2 system. Ratings are on the Glicko scale
// (1500-centred); conversion to the Glicko-2 scale (÷173.7178) is internal.
//
// The algorithm is the one in Glickman, "Example of the Glicko-2 system"
// (2013), including the Illinois-algorithm volatility iteration of step 5.
//
// Fields that are zero, negative or not finite take their defaults, so
// Glicko2{} behaves like DefaultGlicko2(). A Glicko2 is a plain value and safe
// for concurrent use.
type Glicko2 struct {
	Start   GlickoRating // a new player's rating; default 1500 / 350 / 0.06. Start.RD is also the ceiling of every RD
	Tau     float64      // system constant τ, default 0.5; smaller values keep volatility steadier
	Epsilon float64      // convergence tolerance of the volatility iteration, default 0.000001
}

// GlickoRating is one player's Glicko-2 state, on the Glicko scale.
type GlickoRating struct {
	Rating     float64 // 1500-centred, like Elo
	RD         float64 // rating deviation, in rating points; Update returns it in (0, Start.RD]
	Volatility float64 // σ, on the Glicko-2 scale; the expected fluctuation of the rating
}

// GlickoGame is one game of a rating period, from the rated player's side.
type GlickoGame struct {
	Opponent GlickoRating // the opponent's rating before the period
	Score    float64      // 1 win, 0.5 draw, 0 loss
}

// DefaultGlicko2 returns Glicko-2 with Glickman's suggested settings: new
// players at 1500 / 350 / 0.06, τ = 0.5, ε = 0.000001.
func DefaultGlicko2() Glicko2 {
	return Glicko2{
		Start:   GlickoRating{Rating: 1500, RD: 350, Volatility: 0.06},
		Tau:     0.5,
		Epsilon: 0.000001,
	}
}

// Update returns p's rating after one rating period with the given games.
// With no games, only RD grows (step 6 of the algorithm: φ' = sqrt(φ² + σ²)).
//
// The returned RD is always in (0, Start.RD]: growth stops at Start.RD, as a
// player never becomes less known than a new one.
//
// Update never returns NaN or infinity when p.Rating is finite. Damaged input
// is handled as follows, rather than rejected:
//   - if p.Rating is NaN or infinite, p is returned unchanged;
//   - an RD (p's or an opponent's) that is NaN, ≤ 0 or above Start.RD is taken
//     as Start.RD: an unknown uncertainty is treated as the largest one;
//   - a volatility that is NaN, infinite or ≤ 0 is taken as Start.Volatility;
//   - a game whose opponent rating or score is NaN or infinite is ignored, and
//     other scores are clamped to [0, 1];
//   - if the volatility iteration fails to produce a usable σ' (extreme
//     values), the volatility is kept; if the update overflows, p (cleaned as
//     above) is returned.
func (g Glicko2) Update(p GlickoRating, games []GlickoGame) GlickoRating {
	g = g.withDefaults()
	if !finite(p.Rating) {
		return p
	}
	p = g.clean(p)

	mu := (p.Rating - glickoCentre) / glickoScale
	phi := p.RD / glickoScale
	sigma := p.Volatility

	// Steps 3 and 4: the estimated variance v of the rating from game
	// outcomes alone, and the improvement Δ (as sum·v) it suggests.
	var info, sum float64
	played := false
	for _, gm := range games {
		if !finite(gm.Opponent.Rating) || !finite(gm.Score) {
			continue
		}
		opp := g.clean(gm.Opponent)
		s := min(max(gm.Score, 0), 1)
		gj := gPhi(opp.RD / glickoScale)
		ej := 1 / (1 + math.Exp(-gj*(mu-(opp.Rating-glickoCentre)/glickoScale)))
		info += gj * gj * ej * (1 - ej)
		sum += gj * (s - ej)
		played = true
	}
	if !played {
		// Step 6 only: the player did not compete, so only RD grows.
		out := p
		out.RD = min(math.Hypot(phi, sigma)*glickoScale, g.Start.RD)
		if !(out.RD > 0) {
			return p
		}
		return out
	}
	v := 1 / info // +Inf when the games carried no information
	delta := v * sum

	// Step 5: the new volatility. Skipped (σ kept) when v or Δ² is not finite:
	// the iteration's bracket would be meaningless.
	if finite(v) && finite(delta*delta) {
		if s, ok := g.volatility(phi, sigma, v, delta); ok {
			sigma = s
		}
	}

	// Steps 6 to 8.
	phiStar := math.Hypot(phi, sigma)
	phiNew := 1 / math.Sqrt(1/(phiStar*phiStar)+1/v)
	muNew := mu + phiNew*phiNew*sum
	out := GlickoRating{
		Rating:     muNew*glickoScale + glickoCentre,
		RD:         min(phiNew*glickoScale, g.Start.RD),
		Volatility: sigma,
	}
	if !finite(out.Rating) || !(out.RD > 0) {
		return p
	}
	return out
}

// volatility is step 5: it finds σ' by the Illinois algorithm, a regula falsi
// that halves the stale end's value. ok is false if it produced no usable σ'.
func (g Glicko2) volatility(phi, sigma, v, delta float64) (float64, bool) {
	phi2, d2, tau2 := phi*phi, delta*delta, g.Tau*g.Tau
	a := math.Log(sigma * sigma)
	f := func(x float64) float64 {
		ex := math.Exp(x)
		den := phi2 + v + ex
		return ex*(d2-phi2-v-ex)/(2*den*den) - (x-a)/tau2
	}

	A := a
	var B float64
	if d2 > phi2+v {
		B = math.Log(d2 - phi2 - v)
	} else {
		k := 1.0
		for i := 0; i < maxIterations && f(a-k*g.Tau) < 0; i++ {
			k++
		}
		B = a - k*g.Tau
	}
	fA, fB := f(A), f(B)
	for i := 0; i < maxIterations && math.Abs(B-A) > g.Epsilon; i++ {
		C := A + (A-B)*fA/(fB-fA)
		fC := f(C)
		if fC*fB <= 0 {
			A, fA = B, fB
		} else {
			fA /= 2
		}
		B, fB = C, fC
	}
	s := math.Exp(A / 2)
	return s, finite(s) && s > 0
}

// Match rates one finished match as one rating period per player: every other
// player is an opponent, scored by placement as in Elo.Match. It returns the
// new ratings in the same order; players is not modified.
//
// Unlike Elo.Match nothing is divided: an ffa of n players is n − 1 full games
// for each of them, so it moves ratings more than a duel does. With fewer than
// 2 players nobody was rated against anyone, and Match returns the ratings
// unchanged (RD does not grow either). It panics if len(placements) differs
// from len(players), which is a bug in the caller.
func (g Glicko2) Match(players []GlickoRating, placements []int) []GlickoRating {
	if len(placements) != len(players) {
		panic(fmt.Sprintf("rating: Glicko2.Match with %d players and %d placements", len(players), len(placements)))
	}
	out := make([]GlickoRating, len(players))
	if len(players) < 2 {
		copy(out, players)
		return out
	}
	games := make([]GlickoGame, 0, len(players)-1)
	for i, p := range players {
		games = games[:0]
		for j, opp := range players {
			if j != i {
				games = append(games, GlickoGame{Opponent: opp, Score: pairScore(placements[i], placements[j])})
			}
		}
		out[i] = g.Update(p, games)
	}
	return out
}

// withDefaults replaces zero, negative and non-finite settings by their
// defaults.
func (g Glicko2) withDefaults() Glicko2 {
	d := DefaultGlicko2()
	if !finite(g.Start.Rating) || g.Start.Rating == 0 {
		g.Start.Rating = d.Start.Rating
	}
	if !finite(g.Start.RD) || g.Start.RD <= 0 {
		g.Start.RD = d.Start.RD
	}
	if !finite(g.Start.Volatility) || g.Start.Volatility <= 0 {
		g.Start.Volatility = d.Start.Volatility
	}
	if !finite(g.Tau) || g.Tau <= 0 {
		g.Tau = d.Tau
	}
	if !finite(g.Epsilon) || g.Epsilon <= 0 {
		g.Epsilon = d.Epsilon
	}
	return g
}

// clean brings r's RD into (0, Start.RD] and its volatility into (0, ∞) as
// Update documents. g must have its defaults applied.
func (g Glicko2) clean(r GlickoRating) GlickoRating {
	if !(r.RD > 0) || r.RD > g.Start.RD {
		r.RD = g.Start.RD
	}
	if !finite(r.Volatility) || r.Volatility <= 0 {
		r.Volatility = g.Start.Volatility
	}
	return r
}

// gPhi is Glicko-2's g(φ): how much a game against an opponent with deviation
// φ counts, 1 for a certain opponent and less for an uncertain one.
func gPhi(phi float64) float64 {
	return 1 / math.Sqrt(1+3*phi*phi/(math.Pi*math.Pi))
}

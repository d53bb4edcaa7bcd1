package rating_test

import (
	"fmt"

	"github.com/arbiter-gg/arbiter/rating"
)

func ExampleElo_Match() {
	e := rating.DefaultElo()
	deltas := e.Match([]rating.Standing{
		{Rating: 1500, Games: 0, Placement: 1},  // provisional: K 40
		{Rating: 1500, Games: 12, Placement: 2}, // provisional: K 40
	})
	fmt.Println(deltas)
	// Output: [20 -20]
}

func ExampleGlicko2_Update() {
	g := rating.DefaultGlicko2()
	p := rating.GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	got := g.Update(p, []rating.GlickoGame{
		{Opponent: rating.GlickoRating{Rating: 1400, RD: 30, Volatility: 0.06}, Score: 1},
		{Opponent: rating.GlickoRating{Rating: 1550, RD: 100, Volatility: 0.06}, Score: 0},
		{Opponent: rating.GlickoRating{Rating: 1700, RD: 300, Volatility: 0.06}, Score: 0},
	})
	fmt.Printf("%.1f %.1f %.6f\n", got.Rating, got.RD, got.Volatility)
	// Output: 1464.1 151.5 0.059996
}

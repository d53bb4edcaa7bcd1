package rating

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultGlicko2(t *testing.T) {
	want := Glicko2{Start: GlickoRating{Rating: 1500, RD: 350, Volatility: 0.06}, Tau: 0.5, Epsilon: 0.000001}
	if got := DefaultGlicko2(); got != want {
		t.Errorf("DefaultGlicko2() = %+v, want %+v", got, want)
	}
}

// glickmanGames are the games of Glickman's "Example of the Glicko-2 system"
// (2013), rated for a 1500 / 200 / 0.06 player with τ = 0.5.
var glickmanGames = []GlickoGame{
	{Opponent: GlickoRating{Rating: 1400, RD: 30, Volatility: 0.06}, Score: 1},
	{Opponent: GlickoRating{Rating: 1550, RD: 100, Volatility: 0.06}, Score: 0},
	{Opponent: GlickoRating{Rating: 1700, RD: 300, Volatility: 0.06}, Score: 0},
}

// TestGlicko2UpdateGlickmanExample is the paper's worked example: the result
// is 1464.06 / 151.52 / 0.05999.
func TestGlicko2UpdateGlickmanExample(t *testing.T) {
	give := GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	want := GlickoRating{Rating: 1464.06, RD: 151.52, Volatility: 0.05999}
	for _, g := range []Glicko2{DefaultGlicko2(), {}} {
		got := g.Update(give, glickmanGames)
		if math.Abs(got.Rating-want.Rating) > 0.01 ||
			math.Abs(got.RD-want.RD) > 0.01 ||
			math.Abs(got.Volatility-want.Volatility) > 0.00001 {
			t.Errorf("%+v.Update(%+v) = %+v, want %+v", g, give, got, want)
		}
	}
}

func TestGlicko2UpdateNoGames(t *testing.T) {
	tests := []struct {
		name string
		give GlickoRating
		want GlickoRating
	}{
		{
			// φ' = sqrt(φ² + σ²), back on the Glicko scale.
			name: "RD grows",
			give: GlickoRating{Rating: 1700, RD: 50, Volatility: 0.06},
			want: GlickoRating{Rating: 1700, RD: math.Hypot(50, 0.06*173.7178), Volatility: 0.06},
		},
		{
			name: "RD capped at Start.RD",
			give: GlickoRating{Rating: 1700, RD: 349.9, Volatility: 0.06},
			want: GlickoRating{Rating: 1700, RD: 350, Volatility: 0.06},
		},
		{
			name: "RD above Start.RD comes down to it",
			give: GlickoRating{Rating: 1700, RD: 500, Volatility: 0.06},
			want: GlickoRating{Rating: 1700, RD: 350, Volatility: 0.06},
		},
	}
	g := DefaultGlicko2()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, games := range [][]GlickoGame{nil, {}} {
				got := g.Update(tt.give, games)
				if math.Abs(got.Rating-tt.want.Rating) > 1e-9 ||
					math.Abs(got.RD-tt.want.RD) > 1e-9 ||
					got.Volatility != tt.want.Volatility {
					t.Errorf("Update(%+v, %v) = %+v, want %+v", tt.give, games, got, tt.want)
				}
			}
		})
	}
}

// TestGlicko2UpdateDamagedInput checks the documented handling of NaN,
// infinite and out-of-range input.
func TestGlicko2UpdateDamagedInput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	p := GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	g := DefaultGlicko2()
	tests := []struct {
		name      string
		give      GlickoRating
		giveGames []GlickoGame
		want      GlickoRating
	}{
		{
			name:      "NaN rating returned unchanged",
			give:      GlickoRating{Rating: nan, RD: 200, Volatility: 0.06},
			giveGames: glickmanGames,
			want:      GlickoRating{Rating: nan, RD: 200, Volatility: 0.06},
		},
		{
			name:      "infinite rating returned unchanged",
			give:      GlickoRating{Rating: -inf, RD: -1, Volatility: nan},
			giveGames: glickmanGames,
			want:      GlickoRating{Rating: -inf, RD: -1, Volatility: nan},
		},
		{
			name: "NaN RD and volatility taken as Start",
			give: GlickoRating{Rating: 1500, RD: nan, Volatility: nan},
			want: g.Update(GlickoRating{Rating: 1500, RD: 350, Volatility: 0.06}, nil),
		},
		{
			name:      "zero RD and negative volatility taken as Start",
			give:      GlickoRating{Rating: 1500, RD: 0, Volatility: -1},
			giveGames: glickmanGames,
			want:      g.Update(GlickoRating{Rating: 1500, RD: 350, Volatility: 0.06}, glickmanGames),
		},
		{
			name: "games with NaN or infinite rating or score ignored",
			give: p,
			giveGames: append([]GlickoGame{
				{Opponent: GlickoRating{Rating: nan, RD: 30, Volatility: 0.06}, Score: 1},
				{Opponent: GlickoRating{Rating: inf, RD: 30, Volatility: 0.06}, Score: 0},
				{Opponent: GlickoRating{Rating: 1500, RD: 30, Volatility: 0.06}, Score: nan},
				{Opponent: GlickoRating{Rating: 1500, RD: 30, Volatility: 0.06}, Score: inf},
			}, glickmanGames...),
			want: g.Update(p, glickmanGames),
		},
		{
			name:      "only ignored games is no games",
			give:      p,
			giveGames: []GlickoGame{{Opponent: GlickoRating{Rating: nan}, Score: 1}},
			want:      g.Update(p, nil),
		},
		{
			name: "score clamped to [0, 1]",
			give: p,
			giveGames: []GlickoGame{
				{Opponent: glickmanGames[0].Opponent, Score: 7},
				{Opponent: glickmanGames[1].Opponent, Score: -3},
				glickmanGames[2],
			},
			want: g.Update(p, glickmanGames),
		},
		{
			name:      "opponent with NaN RD taken as Start.RD",
			give:      p,
			giveGames: []GlickoGame{{Opponent: GlickoRating{Rating: 1400, RD: nan, Volatility: nan}, Score: 1}},
			want:      g.Update(p, []GlickoGame{{Opponent: GlickoRating{Rating: 1400, RD: 350, Volatility: 0.06}, Score: 1}}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.Update(tt.give, tt.giveGames)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(sameFloat)); diff != "" {
				t.Errorf("Update(%+v, %v) = %+v, want %+v (-want +got):\n%s", tt.give, tt.giveGames, got, tt.want, diff)
			}
		})
	}
}

// sameFloat is float equality under which NaN equals NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// TestGlicko2ZeroValueIsDefault checks that zero, negative and non-finite
// settings take their defaults.
func TestGlicko2ZeroValueIsDefault(t *testing.T) {
	p := GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	want := DefaultGlicko2().Update(p, glickmanGames)
	nan := math.NaN()
	for _, g := range []Glicko2{
		{},
		{Start: GlickoRating{Rating: nan, RD: -1, Volatility: math.Inf(1)}, Tau: -0.5, Epsilon: nan},
	} {
		if got := g.Update(p, glickmanGames); got != want {
			t.Errorf("%+v.Update(%+v) = %+v, want %+v", g, p, got, want)
		}
	}
}

// randomGlicko returns a plausible rating: 800..2800, RD 30..350, volatility
// 0.03..0.09.
func randomGlicko(r *rand.Rand) GlickoRating {
	return GlickoRating{
		Rating:     800 + 2000*r.Float64(),
		RD:         30 + 320*r.Float64(),
		Volatility: 0.03 + 0.06*r.Float64(),
	}
}

func TestGlicko2Properties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := DefaultGlicko2()
	for range 10000 {
		p := randomGlicko(r)
		games := make([]GlickoGame, 1+r.IntN(5))
		for i := range games {
			games[i] = GlickoGame{Opponent: randomGlicko(r), Score: float64(r.IntN(3)) / 2}
		}
		got := g.Update(p, games)
		if !finite(got.Rating) || !(got.RD > 0 && got.RD <= g.Start.RD) || !finite(got.Volatility) || !(got.Volatility > 0) {
			t.Fatalf("Update(%+v, %v) = %+v, want finite with RD in (0, 350]", p, games, got)
		}

		// Winning against anyone never lowers the rating.
		win := []GlickoGame{{Opponent: randomGlicko(r), Score: 1}}
		if got := g.Update(p, win); got.Rating < p.Rating {
			t.Fatalf("Update(%+v, %v) = %+v, want rating ≥ %v", p, win, got, p.Rating)
		}
		loss := []GlickoGame{{Opponent: randomGlicko(r), Score: 0}}
		if got := g.Update(p, loss); got.Rating > p.Rating {
			t.Fatalf("Update(%+v, %v) = %+v, want rating ≤ %v", p, loss, got, p.Rating)
		}

		// Games always leave RD below what the period's growth alone, at the
		// new volatility, would make it (unless that hits the cap). It is
		// not below the RD of a period without games: a surprising result
		// raises the volatility and so the growth.
		grown := min(math.Hypot(p.RD, got.Volatility*173.7178), g.Start.RD)
		if !(got.RD < grown || got.RD == g.Start.RD) {
			t.Fatalf("Update(%+v, %v).RD = %v, want below %v", p, games, got.RD, grown)
		}
	}
}

// TestGlicko2RDShrinks checks that a period with games makes an uncertain
// player (RD ≥ 150) more certain. It is not true of every player: for a
// low RD the growth of step 6 can outweigh one game's information, as Glicko-2
// intends.
func TestGlicko2RDShrinks(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := DefaultGlicko2()
	for range 10000 {
		p := randomGlicko(r)
		p.RD = 150 + 200*r.Float64()
		games := make([]GlickoGame, 1+r.IntN(5))
		for i := range games {
			opp := randomGlicko(r)
			opp.Rating = p.Rating - 400 + 800*r.Float64()
			games[i] = GlickoGame{Opponent: opp, Score: float64(r.IntN(3)) / 2}
		}
		if got := g.Update(p, games); !(got.RD < p.RD) {
			t.Fatalf("Update(%+v, %v).RD = %v, want below %v", p, games, got.RD, p.RD)
		}
	}
}

func TestGlicko2Match(t *testing.T) {
	g := DefaultGlicko2()
	a := GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	b := GlickoRating{Rating: 1400, RD: 30, Volatility: 0.06}
	c := GlickoRating{Rating: 1700, RD: 300, Volatility: 0.05}
	tests := []struct {
		name          string
		give          []GlickoRating
		givePlacement []int
		want          []GlickoRating
	}{
		{name: "no players", give: nil, givePlacement: nil, want: []GlickoRating{}},
		{name: "one player unchanged", give: []GlickoRating{a}, givePlacement: []int{1}, want: []GlickoRating{a}},
		{
			name:          "duel",
			give:          []GlickoRating{a, b},
			givePlacement: []int{2, 1},
			want: []GlickoRating{
				g.Update(a, []GlickoGame{{Opponent: b, Score: 0}}),
				g.Update(b, []GlickoGame{{Opponent: a, Score: 1}}),
			},
		},
		{
			name:          "ffa of 3 with a tie",
			give:          []GlickoRating{a, b, c},
			givePlacement: []int{1, 2, 2},
			want: []GlickoRating{
				g.Update(a, []GlickoGame{{Opponent: b, Score: 1}, {Opponent: c, Score: 1}}),
				g.Update(b, []GlickoGame{{Opponent: a, Score: 0}, {Opponent: c, Score: 0.5}}),
				g.Update(c, []GlickoGame{{Opponent: a, Score: 0}, {Opponent: b, Score: 0.5}}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.Match(tt.give, tt.givePlacement)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Match(%v, %v) = %v, want %v (-want +got):\n%s", tt.give, tt.givePlacement, got, tt.want, diff)
			}
		})
	}
}

// TestGlicko2MatchDuelMirrorsUpdate: a two-player Match is each player's
// Update with one game against the other.
func TestGlicko2MatchDuelMirrorsUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	g := DefaultGlicko2()
	for range 2000 {
		a, b := randomGlicko(r), randomGlicko(r)
		give := []int{1 + r.IntN(2), 1 + r.IntN(2)}
		got := g.Match([]GlickoRating{a, b}, give)
		sa := pairScore(give[0], give[1])
		want := []GlickoRating{
			g.Update(a, []GlickoGame{{Opponent: b, Score: sa}}),
			g.Update(b, []GlickoGame{{Opponent: a, Score: 1 - sa}}),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Match(%v, %v) = %v, want %v (-want +got):\n%s", []GlickoRating{a, b}, give, got, want, diff)
		}
	}
}

func TestGlicko2MatchPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Match(2 players, 1 placement) did not panic")
		}
	}()
	DefaultGlicko2().Match(make([]GlickoRating, 2), []int{1})
}

func TestGlicko2Allocs(t *testing.T) {
	g := DefaultGlicko2()
	p := GlickoRating{Rating: 1500, RD: 200, Volatility: 0.06}
	if got := testing.AllocsPerRun(100, func() { g.Update(p, glickmanGames) }); got != 0 {
		t.Errorf("Update allocates %v times, want 0", got)
	}
	players, placements := glickoPlayers(10)
	if got := testing.AllocsPerRun(100, func() { g.Match(players, placements) }); got > 2 {
		t.Errorf("Match(10 players) allocates %v times, want at most 2", got)
	}
}

// FuzzGlicko2Update rates p against up to three opponents (n of them). For any
// finite p.Rating, whatever else it is given, the result must be finite with
// RD in (0, Start.RD] and a positive volatility; for a NaN or infinite rating
// it must be p unchanged.
func FuzzGlicko2Update(f *testing.F) {
	// Glickman's worked example.
	f.Add(1500.0, 200.0, 0.06, 1400.0, 30.0, 1.0, 1550.0, 100.0, 0.0, 1700.0, 300.0, 0.0, uint8(3))
	f.Add(1500.0, 350.0, 0.06, 1500.0, 350.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, uint8(1))
	f.Add(2500.0, 30.0, 0.03, 700.0, 30.0, 0.0, 700.0, 30.0, 0.0, 700.0, 30.0, 0.0, uint8(3))
	f.Add(1e300, 1e-300, 1e-300, -1e300, 1e300, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, uint8(1))
	g := DefaultGlicko2()
	f.Fuzz(func(t *testing.T, r, rd, vol, or1, ord1, s1, or2, ord2, s2, or3, ord3, s3 float64, n uint8) {
		p := GlickoRating{Rating: r, RD: rd, Volatility: vol}
		games := []GlickoGame{
			{Opponent: GlickoRating{Rating: or1, RD: ord1, Volatility: 0.06}, Score: s1},
			{Opponent: GlickoRating{Rating: or2, RD: ord2, Volatility: 0.06}, Score: s2},
			{Opponent: GlickoRating{Rating: or3, RD: ord3, Volatility: 0.06}, Score: s3},
		}[:n%4]
		got := g.Update(p, games)
		if !finite(r) {
			if !sameFloat(got.Rating, p.Rating) || !sameFloat(got.RD, p.RD) || !sameFloat(got.Volatility, p.Volatility) {
				t.Fatalf("Update(%+v, %v) = %+v, want it unchanged", p, games, got)
			}
			return
		}
		if !finite(got.Rating) || !(got.RD > 0 && got.RD <= g.Start.RD) || !finite(got.Volatility) || !(got.Volatility > 0) {
			t.Fatalf("Update(%+v, %v) = %+v, want finite with RD in (0, %v]", p, games, got, g.Start.RD)
		}
		if grown := min(math.Hypot(p.RD, got.Volatility*173.7178), g.Start.RD); plausible(p) && !(got.RD <= grown*(1+1e-12)) {
			t.Fatalf("Update(%+v, %v).RD = %v, want at most %v", p, games, got.RD, grown)
		}
	})
}

// plausible reports whether r is a rating a real player could hold.
func plausible(r GlickoRating) bool {
	return r.Rating >= -5000 && r.Rating <= 10000 && r.RD > 0 && r.RD <= 350 && r.Volatility > 0 && r.Volatility <= 1
}

// glickoPlayers returns an ffa of n players with spread ratings and distinct
// placements.
func glickoPlayers(n int) ([]GlickoRating, []int) {
	players := make([]GlickoRating, n)
	placements := make([]int, n)
	for i := range players {
		players[i] = GlickoRating{Rating: 1300 + 50*float64(i), RD: 50 + 30*float64(i), Volatility: 0.06}
		placements[i] = n - i
	}
	return players, placements
}

func BenchmarkGlicko2(b *testing.B) {
	for _, n := range []int{2, 10} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			players, placements := glickoPlayers(n)
			g := DefaultGlicko2()
			b.ReportAllocs()
			for b.Loop() {
				g.Match(players, placements)
			}
		})
	}
}

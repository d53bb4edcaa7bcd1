package rating

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDefaultElo(t *testing.T) {
	want := Elo{Start: 1500, KProvisional: 40, KEstablished: 20, ProvisionalGames: 30}
	if got := DefaultElo(); got != want {
		t.Errorf("DefaultElo() = %+v, want %+v", got, want)
	}
}

func TestEloK(t *testing.T) {
	tests := []struct {
		give int
		want float64
	}{
		{give: -1, want: 40},
		{give: 0, want: 40},
		{give: 1, want: 40},
		{give: 29, want: 40},
		{give: 30, want: 20},
		{give: 31, want: 20},
		{give: 1000, want: 20},
	}
	e := DefaultElo()
	for _, tt := range tests {
		if got := e.K(tt.give); got != tt.want {
			t.Errorf("K(%v) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestExpected(t *testing.T) {
	tests := []struct {
		giveA, giveB float64
		want         float64
	}{
		{giveA: 1500, giveB: 1500, want: 0.5},
		{giveA: 1900, giveB: 1500, want: 10.0 / 11},          // 400 points: odds 10:1
		{giveA: 1500, giveB: 1900, want: 1.0 / 11},           // and the other way round
		{giveA: 1400, giveB: 1600, want: 0.2402530733520421}, // 1 / (1 + √10)
		{giveA: 2300, giveB: 1500, want: 100.0 / 101},
	}
	for _, tt := range tests {
		if got := Expected(tt.giveA, tt.giveB); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Expected(%v, %v) = %v, want %v", tt.giveA, tt.giveB, got, tt.want)
		}
	}
}

// TestEloMatch checks duels and ffas worked out by hand. The 200-point cases
// use e = 1 / (1 + √10) = 0.2402530733520421, the expected score of the lower
// rated player.
func TestEloMatch(t *testing.T) {
	tests := []struct {
		name string
		give []Standing
		want []float64
	}{
		{
			name: "no players",
			give: nil,
			want: []float64{},
		},
		{
			name: "one player",
			give: []Standing{{Rating: 1500, Placement: 1}},
			want: []float64{0},
		},
		{
			name: "equal provisional duel, win",
			give: []Standing{{Rating: 1500, Placement: 1}, {Rating: 1500, Placement: 2}},
			want: []float64{20, -20},
		},
		{
			name: "equal established duel, win",
			give: []Standing{{Rating: 1500, Games: 30, Placement: 2}, {Rating: 1500, Games: 30, Placement: 1}},
			want: []float64{-10, 10},
		},
		{
			name: "equal duel, draw",
			give: []Standing{{Rating: 1500, Placement: 1}, {Rating: 1500, Placement: 1}},
			want: []float64{0, 0},
		},
		{
			// K 20: the underdog gains 20(1 − e), the favourite loses as much.
			name: "established upset",
			give: []Standing{{Rating: 1600, Games: 50, Placement: 2}, {Rating: 1400, Games: 50, Placement: 1}},
			want: []float64{-15.19493853295916, 15.19493853295916},
		},
		{
			// The favourite scores 1 against an expected 1 − e.
			name: "established favourite wins",
			give: []Standing{{Rating: 1600, Games: 50, Placement: 1}, {Rating: 1400, Games: 50, Placement: 2}},
			want: []float64{20 * 0.2402530733520421, -20 * 0.2402530733520421},
		},
		{
			// Not zero-sum: the provisional player moves by K 40, the
			// established one by K 20.
			name: "provisional beats established",
			give: []Standing{{Rating: 1500, Games: 29, Placement: 1}, {Rating: 1500, Games: 30, Placement: 2}},
			want: []float64{20, -10},
		},
		{
			// K 40 / 2 = 20 each. First: two wins at 0.5 surprise = +20.
			// The tied two: a loss (−0.5) and a draw (0) = −10.
			name: "ffa of 3, tie for second",
			give: []Standing{
				{Rating: 1500, Placement: 1},
				{Rating: 1500, Placement: 2},
				{Rating: 1500, Placement: 2},
			},
			want: []float64{20, -10, -10},
		},
		{
			// K 20 / 2 = 10 each. The 1700 ties the second 1500 and loses to
			// the first: 10((0 − (1−e)) + (0.5 − (1−e))) = 20e − 15.
			// The winning 1500: 10((1 − e) + 0.5) = 15 − 10e.
			// The other 1500: 10((0.5 − e) + (0 − 0.5)) = −10e.
			name: "ffa of 3, favourite tied",
			give: []Standing{
				{Rating: 1700, Games: 100, Placement: 2},
				{Rating: 1500, Games: 100, Placement: 1},
				{Rating: 1500, Games: 100, Placement: 2},
			},
			want: []float64{-10.194938532959158, 12.597469266479578, -2.402530733520421},
		},
		{
			// Equal ratings, so every surprise is ±0.5 or 0. K / 3:
			// A (K 40) beats three: 40/3 · 1.5 = 20.
			// B (K 20) loses to A, draws C, beats D: 0. C (K 40): likewise 0.
			// D (K 20) loses three: 20/3 · −1.5 = −10. The sum is +10.
			name: "ffa of 4, mixed K, tie",
			give: []Standing{
				{Rating: 1500, Games: 0, Placement: 1},
				{Rating: 1500, Games: 50, Placement: 2},
				{Rating: 1500, Games: 29, Placement: 2},
				{Rating: 1500, Games: 30, Placement: 4},
			},
			want: []float64{20, 0, 0, -10},
		},
		{
			name: "ffa of 4, all tied",
			give: []Standing{
				{Rating: 1500, Placement: 1},
				{Rating: 1500, Placement: 1},
				{Rating: 1500, Placement: 1},
				{Rating: 1500, Placement: 1},
			},
			want: []float64{0, 0, 0, 0},
		},
		{
			name: "NaN rating rates nobody",
			give: []Standing{{Rating: math.NaN(), Placement: 1}, {Rating: 1500, Placement: 2}},
			want: []float64{0, 0},
		},
		{
			name: "infinite rating rates nobody",
			give: []Standing{{Rating: 1500, Placement: 1}, {Rating: math.Inf(1), Placement: 2}},
			want: []float64{0, 0},
		},
	}
	e := DefaultElo()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Match(tt.give)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("Match(%v) = %v, want %v (-want +got):\n%s", tt.give, got, tt.want, diff)
			}
		})
	}
}

// TestEloMatchUpsetExact checks the upset against the formula, independently
// of the literal above.
func TestEloMatchUpsetExact(t *testing.T) {
	give := []Standing{{Rating: 1600, Games: 30, Placement: 2}, {Rating: 1400, Games: 30, Placement: 1}}
	want := 20 * (1 - Expected(1400, 1600))
	got := DefaultElo().Match(give)
	if math.Abs(got[1]-want) > 1e-9 || math.Abs(got[0]+want) > 1e-9 {
		t.Errorf("Match(%v) = %v, want [%v %v]", give, got, -want, want)
	}
}

func TestEloMatchDoesNotModifyInput(t *testing.T) {
	give := []Standing{{Rating: 1500, Placement: 1}, {Rating: 1600, Games: 40, Placement: 2}}
	want := append([]Standing(nil), give...)
	DefaultElo().Match(give)
	if diff := cmp.Diff(want, give); diff != "" {
		t.Errorf("Match modified its input (-want +got):\n%s", diff)
	}
}

// randomRating returns a rating in [800, 2800).
func randomRating(r *rand.Rand) float64 { return 800 + 2000*r.Float64() }

func TestEloDuelProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	e := DefaultElo()
	for range 10000 {
		games := r.IntN(30) // both provisional
		if r.IntN(2) == 0 {
			games += 30 // both established
		}
		a := Standing{Rating: randomRating(r), Games: games, Placement: 1}
		b := Standing{Rating: randomRating(r), Games: games, Placement: 1 + r.IntN(2)}
		give := []Standing{a, b}
		got := e.Match(give)

		// Equal K: exactly zero-sum.
		if got[0]+got[1] != 0 {
			t.Fatalf("Match(%v) = %v, want a zero sum", give, got)
		}
		switch {
		case b.Placement == 2:
			// Ratings move toward the result, unless the win was certain.
			if Expected(a.Rating, b.Rating) < 1 && !(got[0] > 0 && got[1] < 0) {
				t.Fatalf("Match(%v) = %v, want winner up and loser down", give, got)
			}
			if got[0] < 0 {
				t.Fatalf("Match(%v) = %v, want the winner not to lose", give, got)
			}
		case a.Rating > b.Rating:
			// A draw moves the higher rating down.
			if !(got[0] < 0) {
				t.Fatalf("Match(%v) = %v, want the favourite down after a draw", give, got)
			}
		case a.Rating < b.Rating:
			if !(got[0] > 0) {
				t.Fatalf("Match(%v) = %v, want the underdog up after a draw", give, got)
			}
		}

		// A draw between equal ratings changes nothing, whatever their K.
		eq := []Standing{
			{Rating: a.Rating, Games: r.IntN(60), Placement: 1},
			{Rating: a.Rating, Games: r.IntN(60), Placement: 1},
		}
		if got := e.Match(eq); got[0] != 0 || got[1] != 0 {
			t.Fatalf("Match(%v) = %v, want [0 0]", eq, got)
		}
	}
}

func TestEloFFAProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	e := DefaultElo()
	for range 5000 {
		n := 3 + r.IntN(8) // 3..10 players
		games := r.IntN(30) + 30*r.IntN(2)
		players := make([]Standing, n)
		for i := range players {
			players[i] = Standing{Rating: randomRating(r), Games: games, Placement: 1 + r.IntN(n)}
		}
		got := e.Match(players)
		var sum float64
		for _, d := range got {
			sum += d
		}
		if math.Abs(sum) > 1e-9 {
			t.Fatalf("Match(%v) = %v, sum %v, want 0", players, got, sum)
		}

		// With equal ratings, first place never loses rating, whatever the K.
		equal := make([]Standing, n)
		for i := range equal {
			equal[i] = Standing{Rating: 1500, Games: r.IntN(60), Placement: 1 + r.IntN(n)}
		}
		equal[r.IntN(n)].Placement = 1
		got = e.Match(equal)
		for i, p := range equal {
			if p.Placement == 1 && got[i] < 0 {
				t.Fatalf("Match(%v) = %v, want player %d (first) not to lose", equal, got, i)
			}
		}
	}
}

func TestEloMatchAllocs(t *testing.T) {
	players := standings(10)
	e := DefaultElo()
	if got := testing.AllocsPerRun(100, func() { e.Match(players) }); got > 1 {
		t.Errorf("Match(10 players) allocates %v times, want at most 1", got)
	}
}

// standings returns an ffa of n players with spread ratings and distinct
// placements.
func standings(n int) []Standing {
	players := make([]Standing, n)
	for i := range players {
		players[i] = Standing{Rating: 1300 + 50*float64(i), Games: 10 * i, Placement: n - i}
	}
	return players
}

func BenchmarkElo(b *testing.B) {
	for _, n := range []int{2, 10} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			players := standings(n)
			e := DefaultElo()
			b.ReportAllocs()
			for b.Loop() {
				e.Match(players)
			}
		})
	}
}

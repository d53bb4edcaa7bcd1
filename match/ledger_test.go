package match_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/rating"
)

func newLedger(t *testing.T) (*match.Ledger, *persistence.Memory) {
	t.Helper()
	store := persistence.NewMemory()
	modes := map[string]match.Mode{
		"duel":   {Name: "duel", Players: 2},
		"ffa":    {Name: "ffa", Players: 10},
		"ranked": {Name: "ranked", Players: 2, Rating: match.SystemGlicko2},
	}
	return match.NewLedger(store, modes, rating.DefaultElo(), rating.DefaultGlicko2()), store
}

func duel(id string, scoreA, scoreB uint32) match.Result {
	res := match.Result{MatchID: id, Mode: "duel", Players: []match.PlayerResult{
		{PlayerID: "a", Entity: 1, Score: scoreA}, {PlayerID: "b", Entity: 2, Score: scoreB},
	}}
	match.Place(res.Players)
	return res
}

func ratingOf(t *testing.T, s *persistence.Memory, player, mode string) match.Rating {
	t.Helper()
	r, _, err := s.Rating(context.Background(), player, mode)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestLedgerDuelOnce(t *testing.T) {
	l, store := newLedger(t)
	ctx := context.Background()
	got, err := l.Settle(ctx, duel("m1", 5, 2))
	if err != nil {
		t.Fatal(err)
	}
	a, b := got.Players[0], got.Players[1]
	if !near(a.RatingBefore, 1500) || !near(a.RatingAfter, 1520) || !near(b.RatingAfter, 1480) {
		t.Fatalf("Settle = a %.2f→%.2f, b %.2f→%.2f; want 1500→1520, 1500→1480", a.RatingBefore, a.RatingAfter, b.RatingBefore, b.RatingAfter)
	}
	// Zero-sum: the same amount in opposite directions.
	if !near(a.RatingAfter-a.RatingBefore, -(b.RatingAfter - b.RatingBefore)) {
		t.Errorf("changes %.4f and %.4f are not opposite", a.RatingAfter-a.RatingBefore, b.RatingAfter-b.RatingBefore)
	}
	ra := ratingOf(t, store, "a", "duel")
	if ra.Games != 1 || ra.Wins != 1 || ratingOf(t, store, "b", "duel").Losses != 1 {
		t.Errorf("records a=%+v b=%+v", ra, ratingOf(t, store, "b", "duel"))
	}

	// The same result delivered again changes nothing and returns the
	// first outcome, even with different content.
	again, err := l.Settle(ctx, duel("m1", 0, 9))
	if err != nil {
		t.Fatal(err)
	}
	if !near(again.Players[0].RatingAfter, 1520) || ratingOf(t, store, "a", "duel") != ra {
		t.Errorf("second Settle changed ratings: %+v, stored %+v", again.Players, ratingOf(t, store, "a", "duel"))
	}

	// A new match builds on the new ratings.
	next, _ := l.Settle(ctx, duel("m2", 1, 3))
	if !near(next.Players[0].RatingBefore, 1520) || next.Players[0].RatingAfter >= 1520 {
		t.Errorf("second match: a %.2f→%.2f, want a loss from 1520", next.Players[0].RatingBefore, next.Players[0].RatingAfter)
	}
}

func TestLedgerConcurrentDeliveryAppliesOnce(t *testing.T) {
	l, store := newLedger(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { _, _ = l.Settle(context.Background(), duel("m1", 1, 0)) })
	}
	wg.Wait()
	if r := ratingOf(t, store, "a", "duel"); r.Games != 1 || !near(r.Rating, 1520) {
		t.Errorf("after 16 deliveries a = %+v, want one game at 1520", r)
	}
}

func TestLedgerDrawAndAbort(t *testing.T) {
	l, store := newLedger(t)
	ctx := context.Background()
	got, _ := l.Settle(ctx, duel("draw", 3, 3))
	if !near(got.Players[0].RatingAfter, 1500) || !near(got.Players[1].RatingAfter, 1500) {
		t.Errorf("draw between equals moved ratings: %+v", got.Players)
	}
	if r := ratingOf(t, store, "a", "duel"); r.Draws != 1 || r.Games != 1 {
		t.Errorf("after a draw a = %+v", r)
	}
	aborted := duel("aborted", 9, 0)
	aborted.Aborted = true
	if _, err := l.Settle(ctx, aborted); err != nil {
		t.Fatal(err)
	}
	if r := ratingOf(t, store, "a", "duel"); r.Games != 1 {
		t.Errorf("an aborted match counted: a = %+v", r)
	}
	if _, ok, _ := store.MatchResult(ctx, "aborted"); !ok {
		t.Error("aborted match not recorded")
	}
}

// TestLedgerFFA: four players, one tie and one forfeit; the K of each pair
// game is K/(n-1), so with equal ratings and K the deltas sum to zero.
func TestLedgerFFA(t *testing.T) {
	l, store := newLedger(t)
	res := match.Result{MatchID: "f1", Mode: "ffa", Players: []match.PlayerResult{
		{PlayerID: "p1", Score: 7}, {PlayerID: "p2", Score: 4}, {PlayerID: "p3", Score: 4}, {PlayerID: "p4", Score: 9, Forfeit: true},
	}}
	match.Place(res.Players)
	got, err := l.Settle(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, p := range got.Players {
		sum += p.RatingAfter - p.RatingBefore
	}
	if math.Abs(sum) > 1e-9 {
		t.Errorf("ffa deltas sum to %v, want 0", sum)
	}
	// p1 beat all three: 3 × 40/3 × 0.5 = +20. The forfeiter lost to all.
	if d := got.Players[0].RatingAfter - 1500; !near(d, 20) {
		t.Errorf("p1 change %.4f, want +20", d)
	}
	if d := got.Players[3].RatingAfter - 1500; !near(d, -20) {
		t.Errorf("forfeiter change %.4f, want −20", d)
	}
	if !near(got.Players[1].RatingAfter, got.Players[2].RatingAfter) {
		t.Errorf("tied players differ: %.4f vs %.4f", got.Players[1].RatingAfter, got.Players[2].RatingAfter)
	}
	board, _ := store.Leaderboard(context.Background(), "ffa", 10)
	var order []string
	for _, e := range board {
		order = append(order, e.PlayerID)
	}
	if len(order) != 4 || order[0] != "p1" || order[3] != "p4" {
		t.Errorf("leaderboard order %v, want p1 first and p4 last", order)
	}
}

func TestLedgerGlicko2(t *testing.T) {
	l, store := newLedger(t)
	res := duel("g1", 2, 1)
	res.Mode = "ranked"
	got, err := l.Settle(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	a := ratingOf(t, store, "a", "ranked")
	if got.Players[0].RatingAfter <= 1500 || a.RD >= 350 || a.RD <= 0 || a.Volatility <= 0 {
		t.Errorf("glicko2 winner = %+v (after %.2f), want a higher rating and a smaller RD", a, got.Players[0].RatingAfter)
	}
}

func TestLedgerUnknownMode(t *testing.T) {
	l, _ := newLedger(t)
	res := duel("x", 1, 0)
	res.Mode = "nope"
	if _, err := l.Settle(context.Background(), res); err == nil {
		t.Error("Settle of an unknown mode succeeded")
	}
}

// TestLedgerModeParameters: a mode that brings its own rating parameters is
// rated with them; one that leaves them zero gets the Ledger's.
func TestLedgerModeParameters(t *testing.T) {
	store := persistence.NewMemory()
	modes := map[string]match.Mode{
		"flat":    {Name: "flat", Players: 2, Elo: rating.Elo{Start: 1200, KProvisional: 32, KEstablished: 32}},
		"default": {Name: "default", Players: 2},
		"steady":  {Name: "steady", Players: 2, Rating: match.SystemGlicko2, Glicko2: rating.Glicko2{Tau: 0.3}},
	}
	l := match.NewLedger(store, modes, rating.DefaultElo(), rating.DefaultGlicko2())
	tests := []struct {
		give            string
		wantStart       match.Rating
		wantWinnerAfter float64 // 0: only above the start
	}{
		{give: "flat", wantStart: match.Rating{Rating: 1200}, wantWinnerAfter: 1216},
		{give: "default", wantStart: match.Rating{Rating: 1500}, wantWinnerAfter: 1520},
		{give: "steady", wantStart: match.Rating{Rating: 1500, RD: 350, Volatility: 0.06}},
	}
	for _, tt := range tests {
		if got := l.Start(tt.give); got != tt.wantStart {
			t.Errorf("Start(%s) = %+v, want %+v", tt.give, got, tt.wantStart)
		}
		res := duel(tt.give, 2, 1)
		res.Mode = tt.give
		got, err := l.Settle(context.Background(), res)
		if err != nil {
			t.Fatalf("Settle(%s): %v", tt.give, err)
		}
		a := got.Players[0]
		if !near(a.RatingBefore, tt.wantStart.Rating) || a.RatingAfter <= a.RatingBefore ||
			(tt.wantWinnerAfter != 0 && !near(a.RatingAfter, tt.wantWinnerAfter)) {
			t.Errorf("Settle(%s): winner %.2f→%.2f, want from %.2f up (to %.2f when set)", tt.give, a.RatingBefore, a.RatingAfter, tt.wantStart.Rating, tt.wantWinnerAfter)
		}
	}
}

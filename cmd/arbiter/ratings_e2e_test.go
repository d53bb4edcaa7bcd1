package main

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// TestRatedDuel plays a duel to its time limit over the real server and
// checks that its result moves both ratings by the same amount in opposite
// directions, exactly once, and shows in MatchEnd, the players' and match's
// REST views and the leaderboard.
// It runs once per store configuration.
func TestRatedDuel(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { testRatedDuel(t, storeArgs(t, kind)...) })
	}
}

func testRatedDuel(t *testing.T, storeArgs ...string) {
	ts := startServer(t, append([]string{"--tick-rate", "30", "--match-duration", "2s"}, storeArgs...)...)
	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	ctx := context.Background()

	// Arena matches are draws until combat exists, and a draw between
	// equals moves nothing; so give them different ratings first, through
	// the same ledger.
	earlier := match.Result{MatchID: "earlier", Mode: "duel", Players: []match.PlayerResult{
		{PlayerID: alice.PlayerID, Score: 1}, {PlayerID: bob.PlayerID, Score: 0},
	}}
	match.Place(earlier.Players)
	if _, err := ts.ledger.Settle(ctx, earlier); err != nil {
		t.Fatal(err)
	}

	tickets := ts.queue(t, "duel", alice, bob)
	matchID := tickets[0].MatchID
	players := []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Go(func() { p.play(stop, i) })
	}
	for i, p := range players {
		select {
		case <-p.c.Done():
		case <-time.After(15 * time.Second):
			t.Fatalf("player %d: match did not end", i)
		}
	}
	close(stop)
	wg.Wait()

	// Both got MatchEnd with the same, opposite changes.
	want := map[string][2]float64{}
	for i, p := range players {
		p.mu.Lock()
		end := p.end
		p.mu.Unlock()
		if end == nil || end.GetMatchId() != matchID || len(end.GetResults()) != 2 {
			t.Fatalf("player %d: MatchEnd = %v", i, end)
		}
		for _, r := range end.GetResults() {
			if w, ok := want[r.GetPlayerId()]; ok && (w[0] != r.GetRatingBefore() || w[1] != r.GetRatingAfter()) {
				t.Errorf("players were told different ratings for %s", r.GetPlayerId())
			}
			want[r.GetPlayerId()] = [2]float64{r.GetRatingBefore(), r.GetRatingAfter()}
		}
	}
	a, b := want[alice.PlayerID], want[bob.PlayerID]
	if a[0] != 1520 || b[0] != 1480 {
		t.Fatalf("ratings before = %.2f, %.2f; want 1520, 1480", a[0], b[0])
	}
	da, db := a[1]-a[0], b[1]-b[0]
	if !(da < 0 && db > 0) || math.Abs(da+db) > 1e-9 {
		t.Errorf("a draw moved the favourite by %.4f and the underdog by %.4f; want equal and opposite, favourite down", da, db)
	}

	// The REST views agree.
	prof, err := ts.api(t, bob.Token).Player(ctx, bob.PlayerID)
	if err != nil {
		t.Fatalf("GET player: %v", err)
	}
	if d := prof.Ratings["duel"]; math.Abs(d.Rating-b[1]) > 0.01 || d.Games != 2 || d.Draws != 1 {
		t.Errorf("bob's profile duel rating = %+v, want %.2f after 2 games, 1 draw", d, b[1])
	}
	m, err := ts.api(t, alice.Token).Match(ctx, matchID)
	if err != nil || m.Status != match.StatusEnded || m.Result == nil || len(m.Result.Players) != 2 {
		t.Errorf("GET match: %+v, %v", m, err)
	}
	board, err := ts.api(t, alice.Token).Leaderboard(ctx, "duel", 10)
	if err != nil || len(board.Entries) != 2 {
		t.Fatalf("GET leaderboard: %+v, %v", board, err)
	}
	if board.Entries[0].PlayerID != alice.PlayerID || board.Entries[1].PlayerID != bob.PlayerID {
		t.Errorf("leaderboard = %+v, want alice then bob", board.Entries)
	}

	// Delivering the same result again changes nothing.
	res, ok, err := ts.stores.MatchResult(ctx, matchID)
	if err != nil || !ok {
		t.Fatalf("stored result: %v %v", ok, err)
	}
	if _, err := ts.ledger.Settle(ctx, res); err != nil {
		t.Fatal(err)
	}
	after, _, _ := ts.stores.Rating(ctx, alice.PlayerID, "duel")
	if after.Rating != a[1] || after.Games != 2 {
		t.Errorf("after a second delivery alice = %+v, want %.4f after 2 games", after, a[1])
	}
}

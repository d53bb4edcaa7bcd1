package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/rating"
)

// result is a finished, unsettled match between players, the first seat
// winning.
func result(id, mode string, players ...string) match.Result {
	res := match.Result{MatchID: id, Mode: mode, Reason: "score_limit", CreatedAt: t0, StartedAt: t0.Add(time.Second),
		EndedAt: t0.Add(time.Minute), Ticks: 600}
	for i, p := range players {
		res.Players = append(res.Players, match.PlayerResult{PlayerID: p, Entity: match.EntityID(i + 1), Score: uint32(len(players) - i)})
	}
	match.Place(res.Players)
	return res
}

// countingApply counts its calls and rates like a toy ledger: every player
// gains a game, the winner 10 points.
func countingApply(res match.Result, calls *atomic.Int32) func(map[string]match.Rating) (match.Result, map[string]match.Rating) {
	return func(current map[string]match.Rating) (match.Result, map[string]match.Rating) {
		calls.Add(1)
		res.Players = append([]match.PlayerResult(nil), res.Players...)
		updated := make(map[string]match.Rating)
		for i, p := range res.Players {
			r, ok := current[p.PlayerID]
			if !ok {
				r = match.Rating{Rating: 1500}
			}
			res.Players[i].RatingBefore = r.Rating
			r.Games++
			if p.Placement == 1 {
				r.Wins++
				r.Rating += 10
			} else {
				r.Losses++
			}
			res.Players[i].RatingAfter = r.Rating
			updated[p.PlayerID] = r
		}
		return res, updated
	}
}

func TestSettleMatchOnce(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	res := result("m-1", "duel", "a", "b")
	var calls atomic.Int32

	first, applied, err := a.SettleMatch(ctx, res, countingApply(res, &calls))
	if err != nil || !applied {
		t.Fatalf("SettleMatch = applied %v, %v, want true, nil", applied, err)
	}
	if first.Players[0].RatingAfter != 1510 {
		t.Errorf("settled RatingAfter = %v, want 1510", first.Players[0].RatingAfter)
	}
	again, applied, err := a.SettleMatch(ctx, res, countingApply(res, &calls))
	if err != nil || applied {
		t.Fatalf("SettleMatch again = applied %v, %v, want false, nil", applied, err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("SettleMatch again returned (-first +again):\n%s", diff)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("apply called %d times, want 1", n)
	}
	// The archiver writing the same settlement later changes nothing.
	err = a.Write(ctx, persistence.Batch{Settlements: []persistence.Settlement{{Result: first,
		Ratings: map[string]match.Rating{"a": {Rating: 1510, Games: 1, Wins: 1}, "b": {Rating: 1500, Games: 1, Losses: 1}}}}})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	wantCounts(t, a, Counts{Players: 2, Ratings: 2, Matches: 1, MatchPlayers: 2, RatingHistory: 2})
	if name, _, _ := a.PlayerName(ctx, "a"); name != "a" {
		t.Errorf("PlayerName(a) = %q, want the placeholder a", name)
	}
	if r, _, _ := a.Rating(ctx, "a", "duel"); r != (match.Rating{Rating: 1510, Games: 1, Wins: 1}) {
		t.Errorf("Rating(a) = %+v, want one win at 1510", r)
	}
}

func TestSettleMatchConcurrent(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	const matches = 8
	var calls, applied atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*matches)
	// Every match shares "shared", who has no rating yet; each is also
	// settled twice at once.
	for i := range 2 * matches {
		wg.Go(func() {
			res := result(fmt.Sprintf("m-%d", i%matches), "duel", "shared", fmt.Sprintf("p%d", i%matches))
			apply := countingApply(res, &calls)
			_, ok, err := a.SettleMatch(ctx, res, func(current map[string]match.Rating) (match.Result, map[string]match.Rating) {
				// Hold the settlement open a while: without the locks,
				// the others would read the same rating meanwhile.
				time.Sleep(10 * time.Millisecond)
				return apply(current)
			})
			if err != nil {
				errs <- err
			}
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("SettleMatch: %v", err)
	}
	if n := applied.Load(); n != matches {
		t.Errorf("%d settlements applied, want %d", n, matches)
	}
	r, _, err := a.Rating(ctx, "shared", "duel")
	if err != nil {
		t.Fatal(err)
	}
	if want := (match.Rating{Rating: 1500 + 10*matches, Games: matches, Wins: matches}); r != want {
		t.Errorf("Rating(shared) = %+v, want %+v", r, want)
	}
	wantCounts(t, a, Counts{Players: matches + 1, Ratings: matches + 1, Matches: matches, MatchPlayers: 2 * matches, RatingHistory: 2 * matches})
}

// TestSettleMatchLikeMemory settles the same results through match.Ledger
// on the archive and on persistence.Memory: everything readable must agree.
func TestSettleMatchLikeMemory(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	mem := persistence.NewMemory()
	ctx := context.Background()
	modes := map[string]match.Mode{
		"duel":   {Name: "duel"},
		"ffa":    {Name: "ffa"},
		"ranked": {Name: "ranked", Rating: match.SystemGlicko2},
	}
	onPG := match.NewLedger(a, modes, rating.DefaultElo(), rating.DefaultGlicko2())
	onMem := match.NewLedger(mem, modes, rating.DefaultElo(), rating.DefaultGlicko2())
	players := playerIDs(7)
	for _, id := range players {
		for _, s := range []interface {
			CreatePlayer(context.Context, string, string, time.Time) error
		}{a, mem} {
			if err := s.CreatePlayer(ctx, id, "N"+id, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ids []string
	for i := range 60 {
		mode := []string{"duel", "ffa", "ranked"}[i%3]
		n := 2
		if mode == "ffa" {
			n = 2 + i%6
		}
		res := result(fmt.Sprintf("m-%03d", i), mode, rotate(players, i*3)[:n]...)
		if i%5 == 4 {
			res.Players[1].Score = res.Players[0].Score // a shared first place
			match.Place(res.Players)
		}
		if i%11 == 10 {
			res.Aborted, res.Reason = true, "shutdown"
		}
		ids = append(ids, res.MatchID)
		for round := range 2 { // the second Settle is a duplicate delivery
			got, err := onPG.Settle(ctx, res)
			if err != nil {
				t.Fatalf("Settle(%s) on Postgres, round %d: %v", res.MatchID, round, err)
			}
			want, err := onMem.Settle(ctx, res)
			if err != nil {
				t.Fatalf("Settle(%s) on Memory: %v", res.MatchID, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Settle(%s) round %d: Postgres differs from Memory (-mem +pg):\n%s", res.MatchID, round, diff)
			}
		}
	}
	for _, id := range ids {
		want, _, _ := mem.MatchResult(ctx, id)
		got, found, err := a.MatchResult(ctx, id)
		if err != nil || !found {
			t.Fatalf("MatchResult(%s) = %v, %v", id, found, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("MatchResult(%s) differs (-mem +pg):\n%s", id, diff)
		}
	}
	for mode := range modes {
		want, _ := mem.Leaderboard(ctx, mode, 100)
		got, err := a.Leaderboard(ctx, mode, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Leaderboard(%s) differs (-mem +pg):\n%s", mode, diff)
		}
	}
	for _, id := range players {
		want, _ := mem.PlayerRatings(ctx, id)
		got, err := a.PlayerRatings(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("PlayerRatings(%s) differs (-mem +pg):\n%s", id, diff)
		}
	}
}

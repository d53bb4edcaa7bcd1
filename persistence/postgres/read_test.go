package postgres

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
)

func TestCreatePlayer(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	if err := a.CreatePlayer(ctx, "a", "Ann", t0); err != nil {
		t.Fatalf("CreatePlayer(a): %v", err)
	}
	if err := a.CreatePlayer(ctx, "a", "Bob", t0); !errors.Is(err, persistence.ErrExists) {
		t.Errorf("CreatePlayer(a) again = %v, want ErrExists", err)
	}
	if err := a.CreatePlayer(ctx, "b", strings.Repeat("é", 33), t0); err == nil {
		t.Errorf("CreatePlayer(b) with a 33-character name = nil, want an error")
	}
	if err := a.CreatePlayer(ctx, "c", strings.Repeat("é", 32), t0); err != nil {
		t.Errorf("CreatePlayer(c) with a 32-character name: %v", err)
	}

	tests := []struct {
		give      string
		wantName  string
		wantFound bool
	}{
		{"a", "Ann", true}, // untouched by the second create
		{"b", "", false},
		{"c", strings.Repeat("é", 32), true},
		{"nobody", "", false},
	}
	for _, tt := range tests {
		name, found, err := a.PlayerName(ctx, tt.give)
		if err != nil || name != tt.wantName || found != tt.wantFound {
			t.Errorf("PlayerName(%s) = %q, %v, %v, want %q, %v, nil", tt.give, name, found, err, tt.wantName, tt.wantFound)
		}
	}
}

func TestMatchResultRoundTrip(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		give match.Result
	}{
		{"ended", match.Result{
			MatchID: "m-ended", Mode: "ffa", Reason: "time_limit",
			CreatedAt: t0.In(berlin), StartedAt: t0.Add(time.Second), EndedAt: t0.Add(5 * time.Minute), Ticks: math.MaxUint32,
			Players: []match.PlayerResult{
				{PlayerID: "c", Entity: math.MaxUint32, Score: math.MaxUint32, Placement: 1, RatingBefore: 1500.25, RatingAfter: 1531.125},
				{PlayerID: "a", Entity: 2, Score: 3, Placement: 2, RatingBefore: 1400, RatingAfter: 1390.5},
				{PlayerID: "b", Entity: 3, Score: 3, Placement: 2, RatingBefore: 1600, RatingAfter: 1590},
				{PlayerID: "d", Entity: 4, Placement: 4, Forfeit: true, RatingBefore: 1500, RatingAfter: 1480},
			},
		}},
		{"never started", match.Result{
			MatchID: "m-aborted", Mode: "duel", Aborted: true, Reason: "shutdown",
			CreatedAt: t0, EndedAt: t0.Add(time.Second),
			Players: []match.PlayerResult{{PlayerID: "a", Entity: 1, Placement: 1, RatingBefore: 1500, RatingAfter: 1500}},
		}},
		{"no players", match.Result{MatchID: "m-empty", Mode: "duel", Aborted: true, Reason: "internal_error", CreatedAt: t0, EndedAt: t0}},
	}
	for _, tt := range tests {
		err := a.Write(ctx, persistence.Batch{Settlements: []persistence.Settlement{{Result: tt.give}}})
		if err != nil {
			t.Fatalf("Write(%s): %v", tt.name, err)
		}
		got, found, err := a.MatchResult(ctx, tt.give.MatchID)
		if err != nil || !found {
			t.Fatalf("MatchResult(%s) = %v, %v", tt.give.MatchID, found, err)
		}
		if diff := cmp.Diff(tt.give, got); diff != "" {
			t.Errorf("MatchResult(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, found, err := a.MatchResult(ctx, "nope"); found || err != nil {
		t.Errorf("MatchResult(nope) = %v, %v, want false, nil", found, err)
	}
}

func TestAntiCheatEvents(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	late, early, other := kick("m-2", "a", 50), kick("m-1", "a", 10), kick("m-1", "b", 20)
	quiet := kick("m-3", "a", 30)
	quiet.Violations = nil
	for _, ev := range []match.AntiCheatEvent{late, other, early, quiet, early} { // early twice
		if err := a.RecordAntiCheat(ctx, ev); err != nil {
			t.Fatalf("RecordAntiCheat: %v", err)
		}
	}
	got, err := a.AntiCheatEvents(ctx, "a")
	if err != nil {
		t.Fatalf("AntiCheatEvents(a): %v", err)
	}
	if diff := cmp.Diff([]match.AntiCheatEvent{early, quiet, late}, got); diff != "" {
		t.Errorf("AntiCheatEvents(a) mismatch (-want +got):\n%s", diff)
	}
	got, err = a.AntiCheatEvents(ctx, "nobody")
	if err != nil || got != nil {
		t.Errorf("AntiCheatEvents(nobody) = %v, %v, want nil, nil", got, err)
	}
	wantCounts(t, a, Counts{Players: 2, AntiCheatEvents: 4})
}

func TestRatingsAndLeaderboard(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	rated := func(r float64, games int) match.Rating {
		return match.Rating{Rating: r, RD: 50, Volatility: 0.06, Games: games, Wins: games}
	}
	// One settlement per player and mode sets its rating directly.
	give := []struct {
		player, mode string
		r            match.Rating
	}{
		{"d", "duel", rated(1600, 3)},
		{"b", "duel", rated(1700, 1)},
		{"c", "duel", rated(1600, 2)}, // ties with d: lower ID first
		{"a", "duel", rated(1400, 5)},
		{"a", "ffa", rated(1900, 1)},
	}
	var batch persistence.Batch
	for i, g := range give {
		batch.Players = append(batch.Players, persistence.Player{ID: g.player, Name: strings.ToUpper(g.player), CreatedAt: t0})
		batch.Settlements = append(batch.Settlements, persistence.Settlement{
			Result: match.Result{MatchID: "m" + string(rune('0'+i)), Mode: g.mode, CreatedAt: t0, EndedAt: t0,
				Players: []match.PlayerResult{{PlayerID: g.player, Placement: 1, RatingAfter: g.r.Rating}}},
			Ratings: map[string]match.Rating{g.player: g.r},
		})
	}
	if err := a.Write(ctx, batch); err != nil {
		t.Fatalf("Write: %v", err)
	}

	entry := func(rank int, id string, r match.Rating) match.LeaderboardEntry {
		return match.LeaderboardEntry{Rank: rank, PlayerID: id, Name: strings.ToUpper(id), Rating: r}
	}
	full := []match.LeaderboardEntry{
		entry(1, "b", rated(1700, 1)), entry(2, "c", rated(1600, 2)), entry(3, "d", rated(1600, 3)), entry(4, "a", rated(1400, 5)),
	}
	tests := []struct {
		mode  string
		limit int
		want  []match.LeaderboardEntry
	}{
		{"duel", 10, full},
		{"duel", 3, full[:3]},
		{"duel", 0, []match.LeaderboardEntry{}},
		{"duel", -1, []match.LeaderboardEntry{}},
		{"ffa", 10, []match.LeaderboardEntry{entry(1, "a", rated(1900, 1))}},
		{"nothing", 10, []match.LeaderboardEntry{}},
	}
	for _, tt := range tests {
		got, err := a.Leaderboard(ctx, tt.mode, tt.limit)
		if err != nil {
			t.Fatalf("Leaderboard(%s, %d): %v", tt.mode, tt.limit, err)
		}
		if got == nil {
			t.Errorf("Leaderboard(%s, %d) = nil, want non-nil", tt.mode, tt.limit)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Leaderboard(%s, %d) mismatch (-want +got):\n%s", tt.mode, tt.limit, diff)
		}
	}

	ratings, err := a.PlayerRatings(ctx, "a")
	if err != nil {
		t.Fatalf("PlayerRatings(a): %v", err)
	}
	if diff := cmp.Diff(map[string]match.Rating{"duel": rated(1400, 5), "ffa": rated(1900, 1)}, ratings); diff != "" {
		t.Errorf("PlayerRatings(a) mismatch (-want +got):\n%s", diff)
	}
	ratings, err = a.PlayerRatings(ctx, "nobody")
	if err != nil || ratings == nil || len(ratings) != 0 {
		t.Errorf("PlayerRatings(nobody) = %v, %v, want an empty map", ratings, err)
	}
	if r, found, err := a.Rating(ctx, "c", "duel"); err != nil || !found || r != rated(1600, 2) {
		t.Errorf("Rating(c, duel) = %+v, %v, %v", r, found, err)
	}
	if _, found, err := a.Rating(ctx, "c", "ffa"); err != nil || found {
		t.Errorf("Rating(c, ffa) = found %v, %v, want not found", found, err)
	}

	type line struct{ player, mode string }
	var each []line
	err = a.EachRating(ctx, func(player, mode string, r match.Rating) error {
		each = append(each, line{player, mode})
		return nil
	})
	if err != nil {
		t.Fatalf("EachRating: %v", err)
	}
	wantEach := []line{{"a", "duel"}, {"b", "duel"}, {"c", "duel"}, {"d", "duel"}, {"a", "ffa"}}
	if diff := cmp.Diff(wantEach, each, cmp.AllowUnexported(line{})); diff != "" {
		t.Errorf("EachRating mismatch (-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	calls := 0
	err = a.EachRating(ctx, func(string, string, match.Rating) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("EachRating with a failing fn = %v after %d calls, want stop after 1", err, calls)
	}
}

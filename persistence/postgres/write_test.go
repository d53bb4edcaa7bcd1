package postgres

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
)

func batchOf(ss []persistence.Settlement) persistence.Batch {
	return persistence.Batch{Settlements: ss}
}

func TestWriteIdempotent(t *testing.T) {
	t.Parallel()
	// 200 settlements of 2 to 4 players out of 6, played in order.
	l := newLeague("duel", "m")
	players := playerIDs(6)
	var all []persistence.Settlement
	seats := 0
	for i := range 200 {
		n := 2 + i%3
		all = append(all, l.play(rotate(players, i)[:n]...))
		seats += n
	}
	reversed := slices.Clone(all)
	slices.Reverse(reversed)

	tests := []struct {
		name    string
		batches []persistence.Batch
	}{
		{"once", []persistence.Batch{batchOf(all)}},
		{"twice", []persistence.Batch{batchOf(all), batchOf(all)}},
		{"in chunks", []persistence.Batch{batchOf(all[:50]), batchOf(all[50:100]), batchOf(all[100:150]), batchOf(all[150:])}},
		{"overlapping", []persistence.Batch{batchOf(all[:120]), batchOf(all[80:]), batchOf(all[30:170])}},
		{"newest chunk first", []persistence.Batch{batchOf(all[100:]), batchOf(all[:100])}},
		{"duplicates within a batch", []persistence.Batch{batchOf(append(slices.Clone(all), all...))}},
		{"reversed within a batch", []persistence.Batch{batchOf(reversed)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openTest(t)
			ctx := context.Background()
			for i, b := range tt.batches {
				if err := a.Write(ctx, b); err != nil {
					t.Fatalf("Write(batch %d): %v", i, err)
				}
			}
			wantCounts(t, a, Counts{Players: 6, Ratings: 6, Matches: 200, MatchPlayers: int64(seats), RatingHistory: int64(seats)})
			for _, id := range players {
				got, found, err := a.Rating(ctx, id, "duel")
				if err != nil || !found {
					t.Fatalf("Rating(%s) = %v, %v", id, found, err)
				}
				if want := l.ratings[id]; got != want {
					t.Errorf("Rating(%s) = %+v, want the newest %+v", id, got, want)
				}
			}
			for _, s := range []persistence.Settlement{all[0], all[117], all[199]} {
				got, found, err := a.MatchResult(ctx, s.Result.MatchID)
				if err != nil || !found {
					t.Fatalf("MatchResult(%s) = %v, %v", s.Result.MatchID, found, err)
				}
				if diff := cmp.Diff(s.Result, got); diff != "" {
					t.Errorf("MatchResult(%s) mismatch (-want +got):\n%s", s.Result.MatchID, diff)
				}
			}
		})
	}
}

// TestWriteConcurrent has several writers store overlapping batches at
// once, as archivers in two processes might: none fails (no deadlock, no
// conflict error) and the archive ends as if they had written in turn.
func TestWriteConcurrent(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	l := newLeague("ffa", "m")
	players := playerIDs(12)
	var all []persistence.Settlement
	for i := range 120 {
		all = append(all, l.play(rotate(players, i*5)[:6]...))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			// Writer w writes every batch of 30 starting from its own
			// offset, so each settlement is written by several writers.
			for start := (w * 10) % 120; start < 120; start += 30 {
				if err := a.Write(ctx, batchOf(all[start:min(start+30, 120)])); err != nil {
					errs <- err
					return
				}
			}
			if err := a.Write(ctx, batchOf(all[:w*15])); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write: %v", err)
	}
	wantCounts(t, a, Counts{Players: 12, Ratings: 12, Matches: 120, MatchPlayers: 720, RatingHistory: 720})
	for _, id := range players {
		if got, _, err := a.Rating(ctx, id, "ffa"); err != nil || got != l.ratings[id] {
			t.Errorf("Rating(%s) = %+v, %v, want %+v", id, got, err, l.ratings[id])
		}
	}
}

func TestWriteOlderSettlementKeepsNewerRating(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	l := newLeague("duel", "m")
	first := l.play("a", "b")
	second := l.play("b", "a")
	for _, s := range []persistence.Settlement{second, first} {
		if err := a.Write(ctx, batchOf([]persistence.Settlement{s})); err != nil {
			t.Fatalf("Write(%s): %v", s.Result.MatchID, err)
		}
	}
	for _, id := range []string{"a", "b"} {
		got, _, err := a.Rating(ctx, id, "duel")
		if err != nil {
			t.Fatal(err)
		}
		if want := second.Ratings[id]; got != want {
			t.Errorf("Rating(%s) = %+v, want %+v from the newer match", id, got, want)
		}
	}
	wantCounts(t, a, Counts{Players: 2, Ratings: 2, Matches: 2, MatchPlayers: 4, RatingHistory: 4})
}

func TestWriteAborted(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	l := newLeague("ffa", "m")
	s := l.abort("a", "b", "c")
	// Ratings on an aborted result are ignored: it changes no rating.
	s.Ratings = map[string]match.Rating{"a": {Rating: 1600, Games: 1, Wins: 1}}
	if err := a.Write(ctx, batchOf([]persistence.Settlement{s})); err != nil {
		t.Fatalf("Write: %v", err)
	}
	wantCounts(t, a, Counts{Players: 3, Matches: 1, MatchPlayers: 3})
	got, found, err := a.MatchResult(ctx, s.Result.MatchID)
	if err != nil || !found {
		t.Fatalf("MatchResult = %v, %v", found, err)
	}
	if diff := cmp.Diff(s.Result, got); diff != "" {
		t.Errorf("MatchResult mismatch (-want +got):\n%s", diff)
	}
	if !got.StartedAt.IsZero() {
		t.Errorf("StartedAt = %v, want zero for a match that never started", got.StartedAt)
	}
}

func TestWritePlayers(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := context.Background()
	long := strings.Repeat("x", 40)
	l := newLeague("duel", "m")
	s := l.play("a", "ghost")
	s.Players = s.Players[:1] // ghost is in the result but was never named

	steps := []persistence.Batch{
		{Players: []persistence.Player{{ID: "a", Name: "Ann", CreatedAt: t0.Add(time.Hour)}}},
		// An earlier creation time wins; the first name stays.
		{Players: []persistence.Player{{ID: "a", Name: "Bob", CreatedAt: t0}, {ID: "a", Name: "Cid", CreatedAt: t0.Add(time.Minute)}}},
		{Settlements: []persistence.Settlement{s}, Events: []match.AntiCheatEvent{
			kick("m-x", long, 7),       // unknown player with a long ID
			kick("m-x", "a", 9),        // known player
			kick("m-x", "stranger", 3), // unknown, named later
		}},
		// A placeholder's name, once stored, is the player's name.
		{Players: []persistence.Player{{ID: "stranger", Name: "Stella", CreatedAt: t0.Add(-time.Hour)}}},
	}
	for i, b := range steps {
		if err := a.Write(ctx, b); err != nil {
			t.Fatalf("Write(step %d): %v", i, err)
		}
	}
	wantCounts(t, a, Counts{Players: 4, Ratings: 2, Matches: 1, MatchPlayers: 2, RatingHistory: 2, AntiCheatEvents: 3})

	tests := []struct {
		give        string
		wantName    string
		wantCreated time.Time
	}{
		{"a", "Ann", t0},
		{"ghost", "ghost", s.Result.CreatedAt},
		{long, long[:32], t0.Add(7 * time.Second)},
		{"stranger", "stranger", t0.Add(-time.Hour)},
	}
	for _, tt := range tests {
		var name string
		var created time.Time
		if err := a.pool.QueryRow(ctx, `SELECT name, created_at FROM players WHERE id = $1`, tt.give).Scan(&name, &created); err != nil {
			t.Fatalf("load player %s: %v", tt.give, err)
		}
		if name != tt.wantName || !created.Equal(tt.wantCreated) {
			t.Errorf("player %s = %q created %v, want %q created %v", tt.give, name, created, tt.wantName, tt.wantCreated)
		}
	}
}

func TestWriteRejectsWholeBatch(t *testing.T) {
	t.Parallel()
	l := newLeague("duel", "m")
	good := []persistence.Settlement{l.play("a", "b"), l.play("b", "c")}
	bad := func(edit func(*persistence.Batch)) persistence.Batch {
		b := persistence.Batch{
			Players:     []persistence.Player{{ID: "z", Name: "Zed", CreatedAt: t0}},
			Settlements: slices.Clone(good),
			Events:      []match.AntiCheatEvent{kick("m-1", "a", 5)},
		}
		edit(&b)
		return b
	}
	// withRating returns a copy of good[1] with player b's rating replaced.
	withRating := func(r match.Rating) persistence.Settlement {
		s := good[1]
		s.Ratings = map[string]match.Rating{"b": r}
		return s
	}
	withResult := func(edit func(*match.Result)) persistence.Settlement {
		s := good[1]
		s.Result.Players = slices.Clone(s.Result.Players)
		edit(&s.Result)
		return s
	}
	tests := []struct {
		name string
		give persistence.Batch
	}{
		{"name of 40 characters", bad(func(b *persistence.Batch) {
			b.Players = append(b.Players, persistence.Player{ID: "y", Name: strings.Repeat("n", 40), CreatedAt: t0})
		})},
		{"empty name", bad(func(b *persistence.Batch) {
			b.Players = append(b.Players, persistence.Player{ID: "y", CreatedAt: t0})
		})},
		{"record not adding up", bad(func(b *persistence.Batch) {
			b.Settlements[1] = withRating(match.Rating{Rating: 1500, Games: 2, Wins: 1})
		})},
		{"negative games", bad(func(b *persistence.Batch) {
			b.Settlements[1] = withRating(match.Rating{Rating: 1500, Games: -1, Losses: -1})
		})},
		{"placement 0", bad(func(b *persistence.Batch) {
			b.Settlements[1] = withResult(func(r *match.Result) { r.Players[0].Placement = 0 })
		})},
		{"record not JSON", bad(func(b *persistence.Batch) {
			b.Settlements[1] = withResult(func(r *match.Result) { r.Record = []byte(`{"moves":`) })
		})},
		{"player in two seats", bad(func(b *persistence.Batch) {
			b.Settlements[1] = withResult(func(r *match.Result) { r.Players[1].PlayerID = r.Players[0].PlayerID })
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := openTest(t)
			if err := a.Write(context.Background(), tt.give); err == nil {
				t.Fatalf("Write(%s) = nil, want an error", tt.name)
			}
			wantCounts(t, a, Counts{}) // nothing half-written
		})
	}
}

func kick(matchID, playerID string, tick uint32) match.AntiCheatEvent {
	return match.AntiCheatEvent{
		MatchID: matchID, PlayerID: playerID, Mode: "duel", Tick: tick,
		At: t0.Add(time.Duration(tick) * time.Second), Action: "kick",
		Violations: map[string]int{"speed": int(tick), "input_overflow": 2},
	}
}

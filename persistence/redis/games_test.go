package redis

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

// TestLiveGames: a saved game reads back as saved, whether its state is
// JSON or not, replaces the previous save of its match, and expires
// GameTTL after the save; a game never saved is not found.
func TestLiveGames(t *testing.T) {
	s := openTest(t, Config{})
	c := s.NewCheckpoints(CheckpointConfig{Node: "n"})
	runCheckpoints(t, c)
	ctx := t.Context()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for _, state := range [][]byte{[]byte(`{"moves":["e2e4"]}`), []byte("not json \x00"), []byte(`{"a":1} trailing`), {}} {
		g := match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 3, State: state, SavedAt: at}
		if err := c.SaveGame(ctx, g); err != nil {
			t.Fatalf("SaveGame: %v", err)
		}
		got, found, err := s.LoadGame(ctx, "m1")
		if err != nil || !found {
			t.Fatalf("LoadGame = %v, %v", found, err)
		}
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("LoadGame (-saved +loaded):\n%s", diff)
		}
	}
	if ttl := s.rdb.TTL(ctx, s.keys.game("m1")).Val(); ttl <= GameTTL-time.Minute || ttl > GameTTL {
		t.Errorf("TTL %v, want about %v", ttl, GameTTL)
	}
	if _, found, err := s.LoadGame(ctx, "never"); found || err != nil {
		t.Errorf("LoadGame(never saved) = %v, %v; want not found", found, err)
	}
}

// TestSaveGameEntersDirectory: a game saved before its node's first flush
// (a crash in its first 100 ms) is in the match directory already, under
// its node and URL, so a successor finds it and can resume it; after a
// peer took it over, the old node's saves are refused and change nothing.
func TestSaveGameEntersDirectory(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	first := s.NewCheckpoints(CheckpointConfig{Node: "first", URL: "http://first:8080", Flush: time.Hour})
	runCheckpoints(t, first)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	g := match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 1, State: []byte(`{"moves":["e2e4"]}`), SavedAt: at}
	if err := first.SaveGame(ctx, g); err != nil {
		t.Fatal(err)
	}
	m, found, err := first.Lookup(ctx, "m1")
	if err != nil || !found {
		t.Fatalf("Lookup = %v, %v; want found", found, err)
	}
	if m.Node != "first" || m.URL != "http://first:8080" || m.Mode != "chess" || m.Status != match.StatusRunning ||
		len(m.Players) != 2 || m.Players[1].PlayerID != "b" || !m.CreatedAt.Equal(at) {
		t.Errorf("Lookup = %+v; want m1 run by first at its URL, chess, players a and b, created at %v", m, at)
	}
	// A later save does not make a second entry, nor move it.
	g.Version, g.State = 2, []byte(`{"moves":["e2e4","e7e5"]}`)
	if err := first.SaveGame(ctx, g); err != nil {
		t.Fatal(err)
	}
	if ids := running(t, first); !slices.Equal(ids, []string{"m1"}) {
		t.Errorf("running = %v, want m1", ids)
	}

	// first never flushed: no heartbeat, so it counts as dead.
	second := s.NewCheckpoints(CheckpointConfig{Node: "second", URL: "http://second:8080"})
	runCheckpoints(t, second)
	orphans, err := second.Orphans(ctx)
	if err != nil || len(orphans) != 1 || orphans[0].MatchID != "m1" || orphans[0].Mode != "chess" {
		t.Fatalf("Orphans = %+v, %v; want m1", orphans, err)
	}
	if m, _, _ := second.Lookup(ctx, "m1"); m.Node != "second" || m.URL != "http://second:8080" {
		t.Errorf("after the claim Lookup = %+v; want second at its URL", m)
	}
	stale := g
	stale.Version, stale.State = 3, []byte(`{"moves":["e2e4","e7e5","stale"]}`)
	if err := first.SaveGame(ctx, stale); !errors.Is(err, ErrTakenOver) {
		t.Errorf("the old node's save after the takeover: %v, want ErrTakenOver", err)
	}
	if got, _, _ := s.LoadGame(ctx, "m1"); got.Version != 2 {
		t.Errorf("game after the refused save at version %d, want 2", got.Version)
	}
	if err := second.SaveGame(ctx, stale); err != nil {
		t.Errorf("the new owner's save: %v", err)
	}
}

package redis

import (
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
	ctx := t.Context()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for _, state := range [][]byte{[]byte(`{"moves":["e2e4"]}`), []byte("not json \x00")} {
		g := match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 3, State: state, SavedAt: at}
		if err := s.SaveGame(ctx, g); err != nil {
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

package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	goredis "github.com/redis/go-redis/v9"
)

// GameTTL is how long a live game's state outlives its last change (SPEC
// §4b: two hours after the last move).
const GameTTL = 2 * time.Hour

// liveGame is a match.LiveGame as Redis holds it: JSON, the state as the
// world encoded it (itself JSON for chess, so it is kept readable).
type liveGame struct {
	MatchID string          `json:"match_id"`
	Mode    string          `json:"mode"`
	Players []string        `json:"players"`
	Version uint32          `json:"version"`
	State   json.RawMessage `json:"state"`
	Base64  bool            `json:"state_base64,omitempty"` // State is a JSON string of the bytes, which were not JSON
	SavedAt time.Time       `json:"saved_at"`
}

// SaveGame implements match.GameStore: one SET of the game's key, expiring
// GameTTL after this change — one round trip per move.
func (s *Store) SaveGame(ctx context.Context, g match.LiveGame) error {
	state, base64 := json.RawMessage(g.State), false
	if !json.Valid(state) {
		base64 = true
		// A world whose state is not JSON is kept as a JSON string of its
		// bytes (base64).
		b, err := json.Marshal(g.State)
		if err != nil {
			return fmt.Errorf("save game %s: %w", g.MatchID, err)
		}
		state = b
	}
	b, err := json.Marshal(liveGame{MatchID: g.MatchID, Mode: g.Mode, Players: g.Players, Version: g.Version, State: state, Base64: base64, SavedAt: g.SavedAt})
	if err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	if err := s.rdb.Set(ctx, s.keys.game(g.MatchID), b, GameTTL).Err(); err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	return nil
}

// LoadGame returns the live state of the game of match id; found is false
// when Redis holds none (never an event game, ended long ago, or lost).
func (s *Store) LoadGame(ctx context.Context, id string) (g match.LiveGame, found bool, err error) {
	b, err := s.rdb.Get(ctx, s.keys.game(id)).Bytes()
	switch {
	case errors.Is(err, goredis.Nil):
		return match.LiveGame{}, false, nil
	case err != nil:
		return match.LiveGame{}, false, fmt.Errorf("load game %s: %w", id, err)
	}
	var lg liveGame
	if err := json.Unmarshal(b, &lg); err != nil {
		return match.LiveGame{}, false, fmt.Errorf("load game %s: %w", id, err)
	}
	state := []byte(lg.State)
	if lg.Base64 {
		if err := json.Unmarshal(lg.State, &state); err != nil {
			return match.LiveGame{}, false, fmt.Errorf("load game %s: %w", id, err)
		}
	}
	return match.LiveGame{MatchID: lg.MatchID, Mode: lg.Mode, Players: lg.Players, Version: lg.Version,
		State: state, SavedAt: lg.SavedAt}, true, nil
}

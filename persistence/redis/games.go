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

// GameTTL is how long a live game's state outlives its last change (two
// hours after the last move: docs/chess.md).
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

// saveGame writes a live game (KEYS[1]) and, if no node runs its match
// yet in the directory (KEYS[2], KEYS[3]: a game that started less than a
// flush ago), enters it there under this node, so that a crash at any
// moment after the first save leaves the game to a successor. If another
// node runs the match (it took the game over from this one, thought dead),
// nothing is written and the owner's name is returned.
// ARGV: the game, its TTL in ms, node, url, meta, the match's TTL in ms,
// now in ms, the match ID.
var saveGame = newScript(`
local owner = redis.call('HGET', KEYS[2], 'node')
if owner and owner ~= ARGV[3] then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if not owner then
  redis.call('HSET', KEYS[2], 'node', ARGV[3], 'url', ARGV[4], 'meta', ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[8])
end
return ''
`)

// SaveGame implements match.GameStore: the game's key, expiring GameTTL
// after this change, and (for a game the directory does not hold yet) its
// directory entry, in one script. It refuses to overwrite a game another
// node has taken over (ErrTakenOver).
//
// The save is queued for the writer that Run starts, which sends every
// save waiting as one pipeline (gamesaves.go); SaveGame returns once Redis
// has confirmed or refused this game's write, or the write failed, or ctx
// ended. Until Run starts, saves wait in the queue; once it has returned
// they fail with ErrSavesStopped. With MaxPendingSaves waiting, it fails
// at once with ErrSaveQueueFull. Safe for concurrent use.
func (c *Checkpoints) SaveGame(ctx context.Context, g match.LiveGame) error {
	b, err := encodeLiveGame(g)
	if err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	players := make([]match.PlayerResult, len(g.Players))
	for i, id := range g.Players {
		players[i] = match.PlayerResult{PlayerID: id}
	}
	meta, err := json.Marshal(checkpointMeta{Mode: g.Mode, Status: match.StatusRunning, Players: players, CreatedAt: g.SavedAt, StartedAt: g.SavedAt})
	if err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	k := c.store.keys
	r := &saveRequest{
		ctx:  ctx,
		id:   g.MatchID,
		keys: []string{k.game(g.MatchID), k.match(g.MatchID), k.running()},
		args: []any{b, GameTTL.Milliseconds(), c.cfg.Node, c.cfg.URL, meta, c.cfg.MatchTTL.Milliseconds(), time.Now().UnixMilli(), g.MatchID},
		done: make(chan error, 1),
	}
	if err := c.saves.enqueue(r); err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	select {
	case err = <-r.done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	return nil
}

// ErrTakenOver is SaveGame's refusal to write a game that another node
// runs now: it took the game over from this node, which it presumed dead
// (no heartbeat for NodeTTL).
var ErrTakenOver = errors.New("match taken over by another node")

// encodeLiveGame is g as Redis keeps it.
func encodeLiveGame(g match.LiveGame) ([]byte, error) {
	lg := liveGame{MatchID: g.MatchID, Mode: g.Mode, Players: g.Players, Version: g.Version, State: g.State, SavedAt: g.SavedAt}
	// Marshal checks a RawMessage (and fails on one that is not JSON): no
	// json.Valid first, which would read the state once more. (An empty
	// state is not JSON, but a nil RawMessage marshals as null.)
	if len(g.State) > 0 {
		if b, err := json.Marshal(lg); err == nil {
			return b, nil
		}
	}
	// A world whose state is not JSON is kept as a JSON string of its
	// bytes (base64).
	state, err := json.Marshal(g.State)
	if err != nil {
		return nil, err
	}
	lg.State, lg.Base64 = state, true
	return json.Marshal(lg)
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

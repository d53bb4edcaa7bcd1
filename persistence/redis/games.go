package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/jsonappend"
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
//
// The encoded game comes from a pool and goes back to it once the writer
// has answered (it no longer reads the request then), not when ctx ended
// first: a pipeline may still be writing it.
func (c *Checkpoints) SaveGame(ctx context.Context, g match.LiveGame) error {
	buf := saveBufs.Get().(*[]byte)
	all, b, meta, err := encodeSave((*buf)[:0], g)
	if err != nil {
		saveBufs.Put(buf)
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	*buf = all[:0]
	k := c.store.keys
	r := &saveRequest{
		ctx:  ctx,
		id:   g.MatchID,
		keys: []string{k.game(g.MatchID), k.match(g.MatchID), k.running()},
		args: []any{b, c.args.gameTTL, c.args.node, c.args.url, meta, c.args.matchTTL, time.Now().UnixMilli(), g.MatchID},
		done: make(chan error, 1),
	}
	if err := c.saves.enqueue(r); err != nil {
		saveBufs.Put(buf)
		return fmt.Errorf("save game %s: %w", g.MatchID, err)
	}
	select {
	case err = <-r.done:
		saveBufs.Put(buf)
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

// saveBufs are the buffers SaveGame encodes into (*[]byte, empty): a
// save's game and meta are a kilobyte or two, made at every move.
var saveBufs = sync.Pool{New: func() any { return new([]byte) }}

// encodeSave returns what SaveGame sends for g: the game as Redis keeps
// it (encodeLiveGame) and the directory's meta for its match, which the
// save script uses only for a match the directory does not hold yet (the
// first save, and one after the entry was lost). Both are appended to
// dst, grown once to their size if it is too small: all is dst with both,
// game its start (capped), meta the rest.
func encodeSave(dst []byte, g match.LiveGame) (all, game, meta []byte, err error) {
	// The fixed parts of both are about 260 bytes (two instants of up to
	// 37 in the meta, one in the game); a player about 120 in the meta.
	n := 300 + len(g.State) + len(g.MatchID) + 2*len(g.Mode)
	for _, id := range g.Players {
		n += 120 + 2*len(id)
	}
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	b, err := appendLiveGame(dst, g)
	if err != nil {
		return dst, nil, nil, err
	}
	start, end := len(dst), len(b)
	b = appendRunningMeta(b, g.Mode, g.Players, g.SavedAt)
	return b, b[start:end:end], b[end:], nil
}

// encodeLiveGame is g as Redis keeps it.
func encodeLiveGame(g match.LiveGame) ([]byte, error) {
	return appendLiveGame(nil, g)
}

// appendLiveGame appends g as Redis keeps it, a liveGame as json.Marshal
// writes it (TestEncodeLiveGame), to dst. A state that is JSON is copied
// as it is: checked (json.Valid, which allocates nothing) but not
// re-encoded, as Marshal would do with a RawMessage (it compacts it into a
// buffer of its own first); so a state with spaces keeps them, and reads
// back the same. A state that is not JSON, a string encoding/json escapes
// or an instant it refuses go through json.Marshal, as before.
func appendLiveGame(dst []byte, g match.LiveGame) ([]byte, error) {
	if len(g.State) == 0 || !json.Valid(g.State) {
		return marshalLiveGame(dst, g)
	}
	b := append(dst, `{"match_id":`...)
	b = appendJSONString(b, g.MatchID)
	b = append(b, `,"mode":`...)
	b = appendJSONString(b, g.Mode)
	b = append(b, `,"players":`...)
	if g.Players == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, id := range g.Players {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, id)
		}
		b = append(b, ']')
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, uint64(g.Version), 10)
	b = append(b, `,"state":`...)
	b = append(b, g.State...)
	b = append(b, `,"saved_at":`...)
	b, ok := jsonappend.Time(b, g.SavedAt)
	if !ok {
		return marshalLiveGame(dst, g)
	}
	return append(b, '}'), nil
}

// marshalLiveGame is appendLiveGame by encoding/json: for a state that is
// not JSON, which is kept as a JSON string of its bytes (base64), and for
// what the fast path leaves to it.
func marshalLiveGame(dst []byte, g match.LiveGame) ([]byte, error) {
	lg := liveGame{MatchID: g.MatchID, Mode: g.Mode, Players: g.Players, Version: g.Version, State: g.State, SavedAt: g.SavedAt}
	if len(g.State) == 0 || !json.Valid(g.State) {
		state, err := json.Marshal(g.State)
		if err != nil {
			return nil, err
		}
		lg.State, lg.Base64 = state, true
	}
	b, err := json.Marshal(lg)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendRunningMeta appends the directory's meta of a running match of
// mode between players, created and started at at: what
// json.Marshal(checkpointMeta{…}) writes (TestEncodeSave), without it.
func appendRunningMeta(dst []byte, mode string, players []string, at time.Time) []byte {
	b := append(dst, `{"mode":`...)
	b = appendJSONString(b, mode)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, match.StatusRunning)
	b = append(b, `,"players":[`...)
	for i, id := range players {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"PlayerID":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"Entity":0,"Score":0,"Placement":0,"Forfeit":false,"RatingBefore":0,"RatingAfter":0}`...)
	}
	b = append(b, `],"tick":0,"created_at":`...)
	b = appendMetaTime(b, at)
	b = append(b, `,"started_at":`...)
	b = appendMetaTime(b, at)
	return append(b, '}')
}

// appendMetaTime appends t as jsonappend.Time does, or for an instant JSON
// cannot hold the zero instant, which the directory reads as none (a
// save's SavedAt is the room's clock's now: never such an instant).
func appendMetaTime(dst []byte, t time.Time) []byte {
	if b, ok := jsonappend.Time(dst, t); ok {
		return b
	}
	return append(dst, `"0001-01-01T00:00:00Z"`...)
}

// appendJSONString appends s as json.Marshal writes a string: as it is
// when jsonappend can, otherwise through Marshal.
func appendJSONString(dst []byte, s string) []byte {
	if b, ok := jsonappend.String(dst, s); ok {
		return b
	}
	j, _ := json.Marshal(s) // a string always encodes
	return append(dst, j...)
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

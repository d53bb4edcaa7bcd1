// Package redis is Arbiter's live store on Redis (README.md, "State"): players,
// ratings and leaderboards, settled results, anti-cheat events, and the
// stream through which every one of them reaches the durable archive
// (Postgres) by way of the Archiver; besides, the match directory with each
// running match's checkpoint (Checkpoints) and the matchmaking queue that
// every server on the Redis shares (Pool).
//
// Every key lives under one prefix ("arbiter:" by default). The store is
// the source of truth for live ratings; the archive is their durable copy,
// and a cold Redis reads players, ratings and results through from it. Warm
// loads the archive's ratings (the leaderboards) into a cold Redis at start,
// and a Warmer does it again whenever Redis loses its data while the server
// runs (warm.go).
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	goredis "github.com/redis/go-redis/v9"
)

// Archive is the durable store a cold Redis reads through to. The Postgres
// archive satisfies it.
type Archive interface {
	PlayerName(ctx context.Context, id string) (name string, found bool, err error)
	PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error)
	MatchResult(ctx context.Context, matchID string) (match.Result, bool, error)
}

// Config configures a Store. The zero value of every field but URL means
// its default.
type Config struct {
	// URL is the Redis URL, such as redis://127.0.0.1:6379/0.
	URL string
	// Prefix starts every key; default "arbiter:". Tests use their own.
	Prefix string
	// ResultTTL is how long a settled result stays in Redis, readable and
	// guarding against a second settlement; default 7 days. Past it the
	// archive answers.
	ResultTTL time.Duration
	// StreamMaxLen caps the archive stream (approximately) when no archiver
	// drains it, as when Redis runs without Postgres; 0 leaves it
	// unbounded, so that nothing waiting for the archive is ever trimmed.
	StreamMaxLen int64
	// Archive, if set, is read through on a cache miss.
	Archive Archive
	// Logger receives the store's warnings; default slog.Default().
	Logger *slog.Logger
}

// Store is the Redis live store. Safe for concurrent use.
type Store struct {
	rdb    *goredis.Client
	cfg    Config
	keys   keys
	warmth warmth // whether Redis holds the archive's ratings (warm.go)
}

// keys names every key the store uses.
type keys struct{ prefix string }

func (k keys) player(id string) string     { return k.prefix + "player:" + id }
func (k keys) ratings(id string) string    { return k.prefix + "ratings:" + id }
func (k keys) board(mode string) string    { return k.prefix + "leaderboard:" + mode }
func (k keys) result(id string) string     { return k.prefix + "result:" + id }
func (k keys) events(player string) string { return k.prefix + "anticheat:" + player }
func (k keys) stream() string              { return k.prefix + "archive" }
func (k keys) deadLetters() string         { return k.prefix + "archive:dead" }
func (k keys) warm() string                { return k.prefix + "warm" }
func (k keys) warming(id string) string    { return k.prefix + "warm:pending:" + id }
func (k keys) match(id string) string      { return k.prefix + "match:" + id }
func (k keys) game(id string) string       { return k.prefix + "game:" + id }
func (k keys) running() string             { return k.prefix + "matches:running" }
func (k keys) node(name string) string     { return k.prefix + "node:" + name }
func (k keys) nodes() string               { return k.prefix + "nodes" }

// loadedField marks a ratings hash as complete: the player's ratings in
// every mode are in it (a new player, or one read through from the
// archive), so a missing mode means no rating rather than a cache miss.
const loadedField = "~"

// maxEvents bounds the anti-cheat events kept per player in Redis, and
// eventsTTL how long after the last one; the archive keeps them all.
const (
	maxEvents = 100
	eventsTTL = 30 * 24 * time.Hour
)

// DefaultPoolSize is the Redis connection pool Open gives a store whose
// URL sets no pool_size: go-redis's own default, 10 × GOMAXPROCS, is 10
// connections for a server on one core, and every long-poll, settlement
// and archive read holds one while it waits. Connections are opened as
// needed, never ahead, so a quiet server keeps few.
const DefaultPoolSize = 100

// Open connects to cfg.URL, checks that Redis answers and loads the
// store's scripts (LoadScripts). The URL's query may set go-redis's
// options (pool_size, dial_timeout, read_timeout, …); without pool_size
// the pool is DefaultPoolSize connections (or go-redis's 10 × GOMAXPROCS
// where that is more).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	opts, err := goredis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = max(DefaultPoolSize, 10*runtime.GOMAXPROCS(0))
	}
	s := New(goredis.NewClient(opts), cfg)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("connect to redis at %s: %w", opts.Addr, err)
	}
	if err := s.LoadScripts(pctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// New returns a store on an existing client; Close closes the client.
func New(rdb *goredis.Client, cfg Config) *Store {
	if cfg.Prefix == "" {
		cfg.Prefix = "arbiter:"
	}
	if cfg.ResultTTL <= 0 {
		cfg.ResultTTL = 7 * 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{rdb: rdb, cfg: cfg, keys: keys{cfg.Prefix}}
	s.warmth.wake = make(chan struct{}, 1)
	return s
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Ready is the live store's readiness: Redis answers and, once Warm has
// loaded the archive's ratings, still holds them (the warm marker is
// there). From the moment Redis has lost its data until a Warm (the
// Warmer's) has loaded them again, it returns ErrCold; finding the loss, it
// wakes the Warmer. One round trip.
func (s *Store) Ready(ctx context.Context) error {
	var warm *goredis.IntCmd
	if _, err := s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Ping(ctx)
		if s.warmth.expected.Load() {
			warm = pipe.Exists(ctx, s.keys.warm())
		}
		return nil
	}); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	switch {
	case warm != nil && warm.Val() == 0:
		s.foundCold()
		return ErrCold
	case warm == nil && s.warmth.cold.Load():
		return ErrCold // a Warmer found the loss before any Warm completed
	}
	return nil
}

// Stream entry kinds, in the "k" field; "v" holds the record as JSON.
const (
	kindPlayer = "player"
	kindSettle = "settlement"
	kindEvent  = "anticheat"
)

// addToStream queues one record for the archive inside pipe.
func (s *Store) addToStream(ctx context.Context, pipe goredis.Pipeliner, kind string, v []byte) {
	pipe.XAdd(ctx, &goredis.XAddArgs{
		Stream: s.keys.stream(),
		MaxLen: s.cfg.StreamMaxLen,
		Approx: s.cfg.StreamMaxLen > 0,
		Values: []any{"k", kind, "v", v},
	})
}

// createPlayer creates the player hash, marks its ratings complete (a new
// player has none) and queues the player for the archive, unless the ID is
// taken.
var createPlayer = newScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'created', ARGV[2])
redis.call('HSET', KEYS[2], '~', '1')
if tonumber(ARGV[5]) > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'k', ARGV[3], 'v', ARGV[4])
else
  redis.call('XADD', KEYS[3], '*', 'k', ARGV[3], 'v', ARGV[4])
end
return 1
`)

// CreatePlayer stores a new player and queues it for the archive. It fails
// with persistence.ErrExists if the ID is taken.
func (s *Store) CreatePlayer(ctx context.Context, id, name string, createdAt time.Time) error {
	rec, err := json.Marshal(persistence.Player{ID: id, Name: name, CreatedAt: createdAt})
	if err != nil {
		return fmt.Errorf("create player %s: %w", id, err)
	}
	created, err := createPlayer.Run(ctx, s.rdb,
		[]string{s.keys.player(id), s.keys.ratings(id), s.keys.stream()},
		name, createdAt.Format(time.RFC3339Nano), kindPlayer, rec, s.cfg.StreamMaxLen).Int()
	if err != nil {
		return fmt.Errorf("create player %s: %w", id, err)
	}
	if created == 0 {
		return fmt.Errorf("create player %s: %w", id, persistence.ErrExists)
	}
	return nil
}

// PlayerName returns a player's name, from the archive if Redis does not
// have it.
func (s *Store) PlayerName(ctx context.Context, id string) (string, bool, error) {
	name, err := s.rdb.HGet(ctx, s.keys.player(id), "name").Result()
	switch {
	case err == nil:
		return name, true, nil
	case !errors.Is(err, goredis.Nil):
		return "", false, fmt.Errorf("load player %s: %w", id, err)
	case s.cfg.Archive == nil:
		return "", false, nil
	}
	name, found, err := s.cfg.Archive.PlayerName(ctx, id)
	if err != nil || !found {
		return "", false, err
	}
	if err := s.rdb.HSetNX(ctx, s.keys.player(id), "name", name).Err(); err != nil {
		s.cfg.Logger.Warn("caching a player read from the archive", "player", id, "err", err)
	}
	return name, true, nil
}

// Rating returns a player's rating in mode.
func (s *Store) Rating(ctx context.Context, playerID, mode string) (match.Rating, bool, error) {
	all, err := s.PlayerRatings(ctx, playerID)
	if err != nil {
		return match.Rating{}, false, err
	}
	r, ok := all[mode]
	return r, ok, nil
}

// PlayerRatings returns a player's ratings by mode, reading them through
// from the archive when Redis does not hold them.
func (s *Store) PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error) {
	fields, err := s.rdb.HGetAll(ctx, s.keys.ratings(playerID)).Result()
	if err != nil {
		return nil, fmt.Errorf("load ratings of %s: %w", playerID, err)
	}
	out, complete, err := parseRatings(playerID, fields)
	if err != nil || complete || s.cfg.Archive == nil {
		return out, err
	}
	archived, err := s.archivedRatings(ctx, playerID, out)
	if err != nil {
		return out, err
	}
	if _, err := s.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		s.cacheArchived(ctx, pipe, playerID, archived)
		return nil
	}); err != nil {
		s.cfg.Logger.Warn("caching ratings read from the archive", "player", playerID, "err", err)
	}
	return out, nil
}

// parseRatings decodes a player's ratings hash; complete reports that it
// holds all of the player's ratings.
func parseRatings(playerID string, fields map[string]string) (_ map[string]match.Rating, complete bool, _ error) {
	_, complete = fields[loadedField]
	out, err := decodeRatings(playerID, fields)
	return out, complete, err
}

// archivedRatings reads the player's ratings from the archive and adds
// those missing from cached to it (the cached ones are newer). It returns
// the ones it added, to be cached.
func (s *Store) archivedRatings(ctx context.Context, playerID string, cached map[string]match.Rating) (map[string]match.Rating, error) {
	if s.cfg.Archive == nil {
		return nil, nil
	}
	archived, err := s.cfg.Archive.PlayerRatings(ctx, playerID)
	if err != nil {
		return nil, fmt.Errorf("load ratings of %s from the archive: %w", playerID, err)
	}
	for mode, r := range archived {
		if _, ok := cached[mode]; ok {
			delete(archived, mode)
			continue
		}
		cached[mode] = r
	}
	return archived, nil
}

// cacheArchived queues, in pipe, the caching of ratings read from the
// archive and marks the player's ratings complete.
func (s *Store) cacheArchived(ctx context.Context, pipe goredis.Pipeliner, playerID string, archived map[string]match.Rating) {
	key := s.keys.ratings(playerID)
	for mode, r := range archived {
		b, _ := json.Marshal(r)
		pipe.HSetNX(ctx, key, mode, b)
		pipe.ZAddNX(ctx, s.keys.board(mode), goredis.Z{Score: -r.Rating, Member: playerID})
	}
	pipe.HSet(ctx, key, loadedField, "1")
}

func decodeRatings(playerID string, fields map[string]string) (map[string]match.Rating, error) {
	out := make(map[string]match.Rating, len(fields))
	for mode, v := range fields {
		if mode == loadedField {
			continue
		}
		var r match.Rating
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("decode %s rating of %s: %w", mode, playerID, err)
		}
		out[mode] = r
	}
	return out, nil
}

// settleRetries bounds how often SettleMatch retries when another
// settlement touched the same players between its read and its write.
const settleRetries = 50

// SettleMatch implements match.LedgerStore with optimistic locking: it
// watches the result and the players' ratings, computes the new ratings,
// and writes result, ratings, leaderboard and the archive's stream entry
// in one MULTI; if another settlement changed a watched key first, it
// starts again.
func (s *Store) SettleMatch(ctx context.Context, res match.Result, apply func(map[string]match.Rating) (match.Result, map[string]match.Rating)) (match.Result, bool, error) {
	watched := []string{s.keys.result(res.MatchID)}
	for _, p := range res.Players {
		watched = append(watched, s.keys.ratings(p.PlayerID))
	}
	for range settleRetries {
		var (
			stored  match.Result
			applied bool
		)
		err := s.rdb.Watch(ctx, func(tx *goredis.Tx) error {
			var err error
			stored, applied, err = s.settle(ctx, tx, res, apply)
			return err
		}, watched...)
		if errors.Is(err, goredis.TxFailedErr) {
			// Another settlement moved one of these players: let it
			// finish, then read again.
			time.Sleep(time.Duration(rand.Int64N(int64(2 * time.Millisecond))))
			continue
		}
		if err != nil {
			return res, false, fmt.Errorf("settle match %s: %w", res.MatchID, err)
		}
		return stored, applied, nil
	}
	return res, false, fmt.Errorf("settle match %s: still contended after %d attempts", res.MatchID, settleRetries)
}

// settle is one attempt of SettleMatch, inside WATCH.
func (s *Store) settle(ctx context.Context, tx *goredis.Tx, res match.Result, apply func(map[string]match.Rating) (match.Result, map[string]match.Rating)) (match.Result, bool, error) {
	prev, err := tx.Get(ctx, s.keys.result(res.MatchID)).Bytes()
	switch {
	case err == nil:
		var stored match.Result
		if err := json.Unmarshal(prev, &stored); err != nil {
			return res, false, fmt.Errorf("decode stored result: %w", err)
		}
		return stored, false, nil
	case !errors.Is(err, goredis.Nil):
		return res, false, err
	}
	// A result delivered again after ResultTTL would count twice; rooms
	// and recovery deliver within minutes, and the archive's insert is
	// idempotent by match ID besides. The archive is not asked for an
	// earlier result of this match, so that a warm settlement never waits
	// on it; it is read only below, for a player whose ratings are not all
	// in Redis (a cold cache).
	// Every player's ratings and name, in one round trip.
	ratings := make([]*goredis.MapStringStringCmd, len(res.Players))
	names := make([]*goredis.StringCmd, len(res.Players))
	if _, err := tx.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, p := range res.Players {
			ratings[i] = pipe.HGetAll(ctx, s.keys.ratings(p.PlayerID))
			names[i] = pipe.HGet(ctx, s.keys.player(p.PlayerID), "name")
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return res, false, err
	}
	current := make(map[string]match.Rating, len(res.Players))
	fill := make(map[string]map[string]match.Rating) // read through, to cache
	for i, p := range res.Players {
		all, complete, err := parseRatings(p.PlayerID, ratings[i].Val())
		if err != nil {
			return res, false, err
		}
		if !complete {
			if fill[p.PlayerID], err = s.archivedRatings(ctx, p.PlayerID, all); err != nil {
				return res, false, err
			}
		}
		if r, ok := all[res.Mode]; ok {
			current[p.PlayerID] = r
		}
	}

	settled, updated := apply(current)
	rec := persistence.Settlement{Result: settled, Ratings: updated}
	for i, p := range res.Players {
		name, _ := names[i].Result()
		if name == "" {
			name = p.PlayerID
		}
		rec.Players = append(rec.Players, persistence.Player{ID: p.PlayerID, Name: name, CreatedAt: res.CreatedAt})
	}
	resultJSON, err := json.Marshal(settled)
	if err != nil {
		return res, false, err
	}
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return res, false, err
	}
	_, err = tx.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Set(ctx, s.keys.result(res.MatchID), resultJSON, s.cfg.ResultTTL)
		for player, archived := range fill {
			s.cacheArchived(ctx, pipe, player, archived)
		}
		for player, r := range updated {
			b, _ := json.Marshal(r)
			pipe.HSet(ctx, s.keys.ratings(player), res.Mode, b)
			pipe.ZAdd(ctx, s.keys.board(res.Mode), goredis.Z{Score: -r.Rating, Member: player})
		}
		s.addToStream(ctx, pipe, kindSettle, recJSON)
		return nil
	})
	if err != nil {
		return res, false, err
	}
	return settled, true, nil
}

// Leaderboard returns the top limit players of mode, best first: higher
// rating, then lower player ID. Once Warm has loaded the archive's ratings,
// it fails with ErrCold (and wakes the Warmer) rather than answer from a
// Redis that lost them: a board missing most of its players is wrong, not
// merely stale.
func (s *Store) Leaderboard(ctx context.Context, mode string, limit int) ([]match.LeaderboardEntry, error) {
	if limit <= 0 {
		return []match.LeaderboardEntry{}, ctx.Err()
	}
	// Scores are negated ratings, so ascending order is best first and
	// ties fall to the lower member.
	var warm *goredis.IntCmd
	var board *goredis.StringSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		if s.warmth.expected.Load() {
			warm = pipe.Exists(ctx, s.keys.warm())
		}
		board = pipe.ZRange(ctx, s.keys.board(mode), 0, int64(limit-1))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
	}
	if warm != nil && warm.Val() == 0 {
		s.foundCold()
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, ErrCold)
	}
	ids := board.Val()
	ratings := make([]*goredis.StringCmd, len(ids))
	names := make([]*goredis.StringCmd, len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, id := range ids {
			ratings[i] = pipe.HGet(ctx, s.keys.ratings(id), mode)
			names[i] = pipe.HGet(ctx, s.keys.player(id), "name")
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
	}
	out := make([]match.LeaderboardEntry, 0, len(ids))
	for i, id := range ids {
		var r match.Rating
		b, err := ratings[i].Bytes()
		if err != nil {
			continue // left the board between the two reads
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decode %s rating of %s: %w", mode, id, err)
		}
		name, err := names[i].Result()
		if err != nil {
			if name, _, err = s.PlayerName(ctx, id); err != nil {
				return nil, err
			}
		}
		out = append(out, match.LeaderboardEntry{Rank: len(out) + 1, PlayerID: id, Name: name, Rating: r})
	}
	return out, nil
}

// MatchResult returns a settled match's result, from the archive once it
// has left Redis.
func (s *Store) MatchResult(ctx context.Context, matchID string) (match.Result, bool, error) {
	b, err := s.rdb.Get(ctx, s.keys.result(matchID)).Bytes()
	switch {
	case err == nil:
		var res match.Result
		if err := json.Unmarshal(b, &res); err != nil {
			return res, false, fmt.Errorf("decode result of %s: %w", matchID, err)
		}
		return res, true, nil
	case !errors.Is(err, goredis.Nil):
		return match.Result{}, false, fmt.Errorf("load match %s: %w", matchID, err)
	case s.cfg.Archive == nil:
		return match.Result{}, false, nil
	}
	return s.cfg.Archive.MatchResult(ctx, matchID)
}

// RecordAntiCheat implements match.EventSink: the event joins the player's
// recent events in Redis and the archive's stream.
func (s *Store) RecordAntiCheat(ctx context.Context, ev match.AntiCheatEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("record anti-cheat event for %s: %w", ev.PlayerID, err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		key := s.keys.events(ev.PlayerID)
		pipe.RPush(ctx, key, b)
		pipe.LTrim(ctx, key, -maxEvents, -1)
		pipe.Expire(ctx, key, eventsTTL)
		s.addToStream(ctx, pipe, kindEvent, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record anti-cheat event for %s: %w", ev.PlayerID, err)
	}
	return nil
}

// AntiCheatEvents returns the player's most recent anti-cheat events (at
// most 100), oldest first.
func (s *Store) AntiCheatEvents(ctx context.Context, playerID string) ([]match.AntiCheatEvent, error) {
	vals, err := s.rdb.LRange(ctx, s.keys.events(playerID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("load anti-cheat events of %s: %w", playerID, err)
	}
	out := make([]match.AntiCheatEvent, 0, len(vals))
	for _, v := range vals {
		var ev match.AntiCheatEvent
		if err := json.Unmarshal([]byte(v), &ev); err != nil {
			return nil, fmt.Errorf("decode anti-cheat event of %s: %w", playerID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Backlog is the number of records waiting for the archive: the archiver
// deletes what it has written, so it is the stream's length.
func (s *Store) Backlog(ctx context.Context) (int64, error) {
	n, err := s.rdb.XLen(ctx, s.keys.stream()).Result()
	if err != nil {
		return 0, fmt.Errorf("archive backlog: %w", err)
	}
	return n, nil
}

// warmChunk loads one chunk of archived ratings into Redis; a mode Redis
// already holds is newer and stays.
var warmChunk = newScript(`
local n = 0
for i = 1, #KEYS, 2 do
  local a = (i - 1) / 2 * 4
  if redis.call('HSETNX', KEYS[i], ARGV[a+1], ARGV[a+2]) == 1 then
    redis.call('ZADD', KEYS[i+1], ARGV[a+3], ARGV[a+4])
    n = n + 1
  end
end
return n
`)

// EachRating streams every rating the archive holds to fn, stopping at
// fn's first error; postgres.Archive.EachRating is one.
type EachRating func(ctx context.Context, fn func(playerID, mode string, r match.Rating) error) error

// warmingTTL bounds how long a warm-up's pending key outlives a process
// that died while warming.
const warmingTTL = 24 * time.Hour

// finishWarm sets the warm marker (KEYS[2]) if the warm-up's pending key
// (KEYS[1]) is still there, that is, if Redis kept everything the warm-up
// loaded; it returns 0 otherwise.
var finishWarm = newScript(`
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
`)

// Warm loads every rating the archive holds into a cold Redis (one whose
// warm marker is missing), so that leaderboards are whole after Redis lost
// its data, and then sets the marker. each streams the archive's ratings;
// they go to Redis in chunks of 500, one short script each, so that other
// clients wait at most one chunk. A mode Redis already holds is newer (a
// settlement since) and stays. Warm returns how many ratings it loaded; on
// a warm Redis it does nothing. Once it has succeeded, the store expects
// the marker: a Redis found without it is cold (see Warmer). If Redis loses
// its data again while Warm runs, Warm fails rather than mark a half-loaded
// Redis warm. Safe to run concurrently, from several servers too.
func (s *Store) Warm(ctx context.Context, each EachRating) (int, error) {
	exists, err := s.rdb.Exists(ctx, s.keys.warm()).Result()
	if err != nil {
		return 0, fmt.Errorf("warm ratings: %w", err)
	}
	if exists == 1 {
		s.warmed()
		return 0, nil
	}
	// This warm-up's own key: it goes if Redis loses its data meanwhile.
	pending := s.keys.warming(strconv.FormatUint(rand.Uint64(), 36))
	if err := s.rdb.Set(ctx, pending, "1", warmingTTL).Err(); err != nil {
		return 0, fmt.Errorf("warm ratings: %w", err)
	}
	loaded, err := s.load(ctx, each)
	if err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		s.rdb.Del(dctx, pending) // best effort: warmingTTL is the backstop
		cancel()
		return loaded, fmt.Errorf("warm ratings: %w", err)
	}
	done, err := finishWarm.Run(ctx, s.rdb, []string{pending, s.keys.warm()}, time.Now().UTC().Format(time.RFC3339)).Int()
	if err != nil {
		return loaded, fmt.Errorf("warm ratings: %w", err)
	}
	if done == 0 {
		return loaded, errors.New("warm ratings: redis lost its data again while being warmed")
	}
	s.warmed()
	return loaded, nil
}

// load copies the archive's ratings into Redis in chunks and returns how
// many it added.
func (s *Store) load(ctx context.Context, each EachRating) (int, error) {
	var (
		keys   []string
		args   []any
		loaded int
	)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		n, err := warmChunk.Run(ctx, s.rdb, keys, args...).Int()
		keys, args = keys[:0], args[:0]
		loaded += n
		return err
	}
	err := each(ctx, func(playerID, mode string, r match.Rating) error {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		keys = append(keys, s.keys.ratings(playerID), s.keys.board(mode))
		args = append(args, mode, b, strconv.FormatFloat(-r.Rating, 'g', -1, 64), playerID)
		if len(keys) >= 2*500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return loaded, err
}

// slogPrinter routes go-redis's own log lines (pool dial failures and the
// like, which the store's errors report anyway) to a slog.Logger at debug
// level.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// SetDriverLogger sends go-redis's internal logging, process-wide, to log
// at debug level instead of standard error. Call it once, at start.
func SetDriverLogger(log *slog.Logger) {
	goredis.SetLogger(slogPrinter{log})
}

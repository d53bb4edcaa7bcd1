package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/arbiter-gg/arbiter/match/matchmaker"
	goredis "github.com/redis/go-redis/v9"
)

// PoolConfig configures a Pool. The zero value of every field means its
// default.
type PoolConfig struct {
	// LogLen caps, approximately, the log of changes that every server
	// reads; a server that falls further behind reloads the whole queue.
	// Default 50,000 changes (a ticket makes about three).
	LogLen int64
	// Batch is how many changes one Changes call returns at most.
	// Default 1,000.
	Batch int64
}

// Pool is the matchmaking queue shared by every server on the Redis; it
// implements matchmaker.Pool. Every operation that changes the queue is
// one Lua script, so it is atomic with respect to every other on every
// server; that is what guarantees that a ticket is claimed for at most one
// match. Safe for concurrent use.
//
// Its keys, under the store's prefix:
//
//	mm:ticket:{id}      hash: player, mode, rating, created (Unix ns), home
//	                    (the instance it was queued with), seq, status
//	                    (searching, claimed, matched, cancelled, expired),
//	                    claimer; once matched: match, token, host, server.
//	                    Expires with the ticket's TTL, then is kept for the
//	                    retention once ended.
//	mm:queue            sorted set: the searching tickets, by seq
//	mm:player:{id}      the player's live ticket ("t:{ticket}") or match
//	                    ("m:{match}"), with a TTL: the one-live-ticket rule
//	mm:node:{instance}  a matchmaker instance is alive (TTL: its heartbeat)
//	mm:seq              the arrival order
//	mm:ver, mm:log      the version and the stream of changes, each entry
//	                    carrying its version ("v") so that a reader can
//	                    tell a gap (the stream is trimmed to LogLen)
//
// The scripts build the keys of tickets, players and instances from the
// prefix, which a single Redis (or a primary with replicas) allows and
// Redis Cluster does not: the pool needs a single primary, as the rest of
// the live store does.
type Pool struct {
	s   *Store
	cfg PoolConfig
	pfx string // the store's prefix + "mm:"
}

// NewPool returns the matchmaking pool on s.
func (s *Store) NewPool(cfg PoolConfig) *Pool {
	if cfg.LogLen <= 0 {
		cfg.LogLen = 50_000
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	return &Pool{s: s, cfg: cfg, pfx: s.keys.prefix + "mm:"}
}

var _ matchmaker.Pool = (*Pool)(nil)

func (p *Pool) ticketKey(id string) string     { return p.pfx + "ticket:" + id }
func (p *Pool) playerKey(id string) string     { return p.pfx + "player:" + id }
func (p *Pool) nodeKey(instance string) string { return p.pfx + "node:" + instance }
func (p *Pool) queueKey() string               { return p.pfx + "queue" }
func (p *Pool) seqKey() string                 { return p.pfx + "seq" }
func (p *Pool) verKey() string                 { return p.pfx + "ver" }
func (p *Pool) logKey() string                 { return p.pfx + "log" }

// poolLua is the start of every pool script. KEYS[1..3] are the queue, the
// log's version and the log; ARGV[1] is the key prefix and ARGV[2] the
// log's cap; a script's own arguments start at ARGV[3].
const poolLua = `
local P, LOGLEN = ARGV[1], ARGV[2]
local function tkey(id) return P .. 'ticket:' .. id end
local function pkey(player) return P .. 'player:' .. player end
local function alive(inst) return inst and redis.call('EXISTS', P .. 'node:' .. inst) == 1 end
local function log(...)
  local v = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', LOGLEN, '*', 'v', v, ...)
end
-- ends a searching or claimed ticket as status: out of the queue, its
-- player free to queue again
local function withdraw(id, player, status, keep)
  redis.call('HSET', tkey(id), 'status', status)
  redis.call('HDEL', tkey(id), 'claimer')
  redis.call('PEXPIRE', tkey(id), keep)
  redis.call('ZREM', KEYS[1], id)
  if player and redis.call('GET', pkey(player)) == 't:' .. id then
    redis.call('DEL', pkey(player))
  end
end
`

// poolPublish: KEYS[4..6] the seq counter, the ticket, the player's lock;
// ARGV[3..10] id, player, mode, rating, created, home, ttl (ms), keep (ms).
// Returns {1, seq}, or {0, the lock} when the player is taken.
var poolPublish = newScript(poolLua + `
local lock = redis.call('GET', KEYS[6])
if lock then
  if string.sub(lock, 1, 2) ~= 't:' then return {0, lock} end
  local old = string.sub(lock, 3)
  local st = redis.call('HMGET', tkey(old), 'status', 'home', 'claimer')
  if (st[1] == 'searching' and alive(st[2])) or (st[1] == 'claimed' and alive(st[3])) then
    return {0, lock}
  end
  if st[1] == 'searching' or st[1] == 'claimed' then
    withdraw(old, ARGV[4], 'expired', ARGV[10])
    log('k', 'r', 'why', 'expired', 'by', '', 'ids', old)
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then return redis.error_reply('ticket ' .. ARGV[3] .. ' exists') end
local seq = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[5], 'player', ARGV[4], 'mode', ARGV[5], 'rating', ARGV[6], 'created', ARGV[7],
  'home', ARGV[8], 'seq', seq, 'status', 'searching')
redis.call('PEXPIRE', KEYS[5], ARGV[9])
redis.call('SET', KEYS[6], 't:' .. ARGV[3], 'PX', ARGV[9])
redis.call('ZADD', KEYS[1], seq, ARGV[3])
log('k', 'a', 'id', ARGV[3], 'p', ARGV[4], 'm', ARGV[5], 'r', ARGV[6], 'c', ARGV[7], 's', seq, 'h', ARGV[8])
return {1, seq}
`)

// poolClaim: ARGV[3] claimer, ARGV[4] keep (ms), ARGV[5..] the tickets.
// Returns the tickets lost ({} when all were claimed).
var poolClaim = newScript(poolLua + `
local lost, dead = {}, {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HMGET', tkey(id), 'status', 'home', 'player')
  if st[1] ~= 'searching' then
    lost[#lost + 1] = id
    if not st[1] and redis.call('ZREM', KEYS[1], id) == 1 then dead[#dead + 1] = id end
  elseif not alive(st[2]) then
    lost[#lost + 1] = id
    dead[#dead + 1] = id
    withdraw(id, st[3], 'expired', ARGV[4])
  end
end
if #dead > 0 then log('k', 'r', 'why', 'expired', 'by', '', 'ids', table.concat(dead, ' ')) end
if #lost > 0 then return lost end
local ids = {}
for i = 5, #ARGV do
  redis.call('HSET', tkey(ARGV[i]), 'status', 'claimed', 'claimer', ARGV[3])
  redis.call('ZREM', KEYS[1], ARGV[i])
  ids[#ids + 1] = ARGV[i]
end
log('k', 'r', 'why', 'matched', 'by', ARGV[3], 'ids', table.concat(ids, ' '))
return {}
`)

// poolRelease: ARGV[3] claimer, ARGV[4..] the tickets. Returns how many
// went back to the queue.
var poolRelease = newScript(poolLua + `
local n = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HMGET', tkey(id), 'status', 'claimer', 'player', 'mode', 'rating', 'created', 'seq', 'home')
  if st[1] == 'claimed' and st[2] == ARGV[3] then
    redis.call('HSET', tkey(id), 'status', 'searching')
    redis.call('HDEL', tkey(id), 'claimer')
    redis.call('ZADD', KEYS[1], st[7], id)
    log('k', 'a', 'id', id, 'p', st[3], 'm', st[4], 'r', st[5], 'c', st[6], 's', st[7], 'h', st[8])
    n = n + 1
  end
end
return n
`)

// poolSeat: ARGV[3] claimer, ARGV[4] until (Unix ms), ARGV[5] keep (ms),
// then five per seat: ticket, match, token, host, server. Returns the
// tickets not seated.
var poolSeat = newScript(poolLua + `
local unseated = {}
for i = 6, #ARGV, 5 do
  local id, match, token, host, server = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local st = redis.call('HMGET', tkey(id), 'status', 'claimer', 'player')
  if st[1] == 'claimed' and st[2] == ARGV[3] then
    redis.call('HSET', tkey(id), 'status', 'matched', 'match', match, 'token', token, 'host', host, 'server', server)
    redis.call('HDEL', tkey(id), 'claimer')
    redis.call('PEXPIRE', tkey(id), ARGV[5])
    local lock = redis.call('GET', pkey(st[3]))
    if not lock or lock == 't:' .. id then
      redis.call('SET', pkey(st[3]), 'm:' .. match, 'PXAT', ARGV[4])
    end
    log('k', 's', 'id', id, 'mt', match, 'tk', token, 'h', host, 'u', server)
  else
    unseated[#unseated + 1] = id
  end
end
return unseated
`)

// poolWithdraw: ARGV[3] ticket, ARGV[4] player (empty: any), ARGV[5] the
// status, ARGV[6] keep (ms). Returns the ticket's status afterwards,
// 'claimed', or 'missing'.
var poolWithdraw = newScript(poolLua + `
local id = ARGV[3]
local st = redis.call('HMGET', tkey(id), 'status', 'player', 'claimer')
if not st[1] then
  if redis.call('ZREM', KEYS[1], id) == 1 then log('k', 'r', 'why', 'expired', 'by', '', 'ids', id) end
  return 'missing'
end
if ARGV[4] ~= '' and st[2] ~= ARGV[4] then return 'missing' end
if st[1] == 'claimed' and alive(st[3]) then return 'claimed' end
if st[1] == 'searching' or st[1] == 'claimed' then
  withdraw(id, st[2], ARGV[5], ARGV[6])
  log('k', 'r', 'why', ARGV[5], 'by', '', 'ids', id)
  return ARGV[5]
end
return st[1]
`)

// poolFree: ARGV[3] match, ARGV[4..] its players. Returns how many were
// freed.
var poolFree = newScript(poolLua + `
local n = 0
for i = 4, #ARGV do
  if redis.call('GET', pkey(ARGV[i])) == 'm:' .. ARGV[3] then
    redis.call('DEL', pkey(ARGV[i]))
    n = n + 1
  end
end
return n
`)

// run runs one of the pool's scripts with its common keys and arguments.
func (p *Pool) run(ctx context.Context, script *goredis.Script, extraKeys []string, args ...any) *goredis.Cmd {
	keys := append([]string{p.queueKey(), p.verKey(), p.logKey()}, extraKeys...)
	return script.Run(ctx, p.s.rdb, keys, append([]any{p.pfx, p.cfg.LogLen}, args...)...)
}

// checkID refuses IDs the log's encoding cannot carry.
func checkID(what, id string) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("%s %q: must be non-empty, without spaces", what, id)
	}
	return nil
}

// Publish implements matchmaker.Pool.
func (p *Pool) Publish(ctx context.Context, t matchmaker.PoolTicket, ttl time.Duration) (uint64, error) {
	for _, err := range []error{checkID("ticket", t.ID), checkID("player", t.PlayerID), checkID("mode", t.Mode), checkID("instance", t.Home)} {
		if err != nil {
			return 0, fmt.Errorf("publish ticket: %w", err)
		}
	}
	res, err := p.run(ctx, poolPublish, []string{p.seqKey(), p.ticketKey(t.ID), p.playerKey(t.PlayerID)},
		t.ID, t.PlayerID, t.Mode, strconv.FormatFloat(t.Rating, 'g', -1, 64), t.CreatedAt.UnixNano(), t.Home,
		ttl.Milliseconds(), poolKeep.Milliseconds()).Slice()
	if err != nil {
		return 0, fmt.Errorf("publish ticket %s: %w", t.ID, err)
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("publish ticket %s: unexpected reply %v", t.ID, res)
	}
	if ok, _ := res[0].(int64); ok == 0 {
		held, _ := res[1].(string)
		return 0, fmt.Errorf("publish ticket %s: player %s holds %s: %w", t.ID, t.PlayerID, held, matchmaker.ErrConflict)
	}
	seq, _ := res[1].(int64)
	return uint64(seq), nil
}

// Claim implements matchmaker.Pool.
func (p *Pool) Claim(ctx context.Context, claimer string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{claimer, poolKeep.Milliseconds()}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if err := checkID("ticket", id); err != nil {
			return nil, fmt.Errorf("claim: %w", err)
		}
		if seen[id] {
			return nil, fmt.Errorf("claim: ticket %s twice", id)
		}
		seen[id] = true
		args = append(args, id)
	}
	lost, err := p.run(ctx, poolClaim, nil, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim %d tickets: %w", len(ids), err)
	}
	return lost, nil
}

// poolKeep is how long a ticket that a claim found on a dead server stays
// readable.
const poolKeep = 10 * time.Minute

// Release implements matchmaker.Pool.
func (p *Pool) Release(ctx context.Context, claimer string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{claimer}
	for _, id := range ids {
		args = append(args, id)
	}
	if err := p.run(ctx, poolRelease, nil, args...).Err(); err != nil {
		return fmt.Errorf("release %d tickets: %w", len(ids), err)
	}
	return nil
}

// Seat implements matchmaker.Pool.
func (p *Pool) Seat(ctx context.Context, claimer string, seats []matchmaker.PoolSeat, until time.Time, keep time.Duration) ([]string, error) {
	if len(seats) == 0 {
		return nil, nil
	}
	args := []any{claimer, until.UnixMilli(), keep.Milliseconds()}
	for _, s := range seats {
		args = append(args, s.TicketID, s.MatchID, s.JoinToken, s.Host, s.Server)
	}
	unseated, err := p.run(ctx, poolSeat, nil, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("seat match %s: %w", seats[0].MatchID, err)
	}
	return unseated, nil
}

// Withdraw implements matchmaker.Pool.
func (p *Pool) Withdraw(ctx context.Context, id, playerID string, s matchmaker.Status, keep time.Duration) (matchmaker.Status, error) {
	if s != matchmaker.StatusCancelled && s != matchmaker.StatusExpired {
		return "", fmt.Errorf("withdraw ticket %s: status %q: want cancelled or expired", id, s)
	}
	got, err := p.run(ctx, poolWithdraw, nil, id, playerID, string(s), keep.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("withdraw ticket %s: %w", id, err)
	}
	switch got {
	case "missing":
		return "", fmt.Errorf("withdraw ticket %s: %w", id, matchmaker.ErrNotFound)
	case "claimed", string(matchmaker.StatusMatched):
		return "", fmt.Errorf("withdraw ticket %s: %w", id, matchmaker.ErrMatched)
	}
	return matchmaker.Status(got), nil
}

// Lookup implements matchmaker.Pool.
func (p *Pool) Lookup(ctx context.Context, id string) (matchmaker.PoolState, error) {
	h, err := p.s.rdb.HGetAll(ctx, p.ticketKey(id)).Result()
	if err != nil {
		return matchmaker.PoolState{}, fmt.Errorf("look up ticket %s: %w", id, err)
	}
	if len(h) == 0 {
		return matchmaker.PoolState{}, fmt.Errorf("look up ticket %s: %w", id, matchmaker.ErrNotFound)
	}
	t, err := decodeTicket(id, h["player"], h["mode"], h["rating"], h["created"], h["home"], h["seq"])
	if err != nil {
		return matchmaker.PoolState{}, fmt.Errorf("look up ticket %s: %w", id, err)
	}
	st := matchmaker.PoolState{PoolTicket: t, Status: matchmaker.Status(h["status"])}
	switch st.Status {
	case "claimed":
		st.Status, st.Claimed = matchmaker.StatusSearching, true
	case matchmaker.StatusMatched:
		st.Seat = matchmaker.PoolSeat{TicketID: id, MatchID: h["match"], JoinToken: h["token"], Host: h["host"], Server: h["server"]}
	}
	return st, nil
}

// Free implements matchmaker.Pool.
func (p *Pool) Free(ctx context.Context, matchID string, players []string) error {
	if len(players) == 0 {
		return nil
	}
	args := []any{matchID}
	for _, pl := range players {
		args = append(args, pl)
	}
	if err := p.run(ctx, poolFree, nil, args...).Err(); err != nil {
		return fmt.Errorf("free the players of match %s: %w", matchID, err)
	}
	return nil
}

// Alive implements matchmaker.Pool.
func (p *Pool) Alive(ctx context.Context, instance string, ttl time.Duration) error {
	var err error
	if ttl > 0 {
		err = p.s.rdb.Set(ctx, p.nodeKey(instance), "1", ttl).Err()
	} else {
		err = p.s.rdb.Del(ctx, p.nodeKey(instance)).Err()
	}
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", instance, err)
	}
	return nil
}

// Changes implements matchmaker.Pool. A cursor is "{version}/{stream ID}"
// of the last change read.
func (p *Pool) Changes(ctx context.Context, cursor string) (matchmaker.PoolChanges, error) {
	ver, id, ok := parseCursor(cursor)
	if !ok {
		return p.snapshot(ctx)
	}
	var (
		cur  *goredis.StringCmd
		msgs *goredis.XMessageSliceCmd
	)
	_, err := p.s.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		cur = pipe.Get(ctx, p.verKey())
		msgs = pipe.XRangeN(ctx, p.logKey(), "("+id, "+", p.cfg.Batch)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return matchmaker.PoolChanges{}, fmt.Errorf("read changes: %w", err)
	}
	now, err := counter(cur)
	if err != nil {
		return matchmaker.PoolChanges{}, fmt.Errorf("read changes: %w", err)
	}
	out := matchmaker.PoolChanges{Cursor: cursor, More: int64(len(msgs.Val())) == p.cfg.Batch}
	for _, msg := range msgs.Val() {
		v, _ := strconv.ParseUint(str(msg.Values["v"]), 10, 64)
		if v != ver+1 {
			return p.snapshot(ctx) // a gap: trimmed, or a Redis that lost its data
		}
		ver = v
		out.Cursor = formatCursor(ver, msg.ID)
		if c, ok := decodeChange(msg.Values); ok {
			out.Changes = append(out.Changes, c)
		}
	}
	if len(msgs.Val()) == 0 && now != ver {
		return p.snapshot(ctx)
	}
	return out, nil
}

// snapshot reads every searching ticket and the cursor of the changes
// after them. The version, the last change and the queue are read
// together; the tickets after: one that changed meanwhile has a change
// after the cursor, which the reader applies next.
func (p *Pool) snapshot(ctx context.Context) (matchmaker.PoolChanges, error) {
	var (
		cur  *goredis.StringCmd
		last *goredis.XMessageSliceCmd
		ids  *goredis.StringSliceCmd
	)
	_, err := p.s.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		cur = pipe.Get(ctx, p.verKey())
		last = pipe.XRevRangeN(ctx, p.logKey(), "+", "-", 1)
		ids = pipe.ZRange(ctx, p.queueKey(), 0, -1)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return matchmaker.PoolChanges{}, fmt.Errorf("read the queue: %w", err)
	}
	ver, err := counter(cur)
	if err != nil {
		return matchmaker.PoolChanges{}, fmt.Errorf("read the queue: %w", err)
	}
	lastID := "0-0"
	if l := last.Val(); len(l) > 0 {
		lastID = l[0].ID
	}
	out := matchmaker.PoolChanges{Cursor: formatCursor(ver, lastID), Reset: true}
	all := ids.Val()
	for len(all) > 0 {
		chunk := all[:min(len(all), 1000)]
		all = all[len(chunk):]
		cmds := make([]*goredis.SliceCmd, len(chunk))
		if _, err := p.s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
			for i, id := range chunk {
				cmds[i] = pipe.HMGet(ctx, p.ticketKey(id), "status", "player", "mode", "rating", "created", "home", "seq")
			}
			return nil
		}); err != nil {
			return matchmaker.PoolChanges{}, fmt.Errorf("read the queue: %w", err)
		}
		for i, cmd := range cmds {
			f := cmd.Val()
			if len(f) != 7 || str(f[0]) != string(matchmaker.StatusSearching) {
				continue // ended since, or expired
			}
			t, err := decodeTicket(chunk[i], str(f[1]), str(f[2]), str(f[3]), str(f[4]), str(f[5]), str(f[6]))
			if err != nil {
				p.s.cfg.Logger.Warn("matchmaking pool: skipping an undecodable ticket", "ticket", chunk[i], "err", err)
				continue
			}
			out.Snapshot = append(out.Snapshot, t)
		}
	}
	return out, nil
}

// counter reads a counter that may not exist yet.
func counter(cmd *goredis.StringCmd) (uint64, error) {
	s, err := cmd.Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

func formatCursor(ver uint64, id string) string { return strconv.FormatUint(ver, 10) + "/" + id }

func parseCursor(c string) (ver uint64, id string, ok bool) {
	v, id, ok := strings.Cut(c, "/")
	if !ok || id == "" {
		return 0, "", false
	}
	ver, err := strconv.ParseUint(v, 10, 64)
	return ver, id, err == nil
}

// str is a stream or HMGET value as a string ("" when absent).
func str(v any) string {
	s, _ := v.(string)
	return s
}

func decodeTicket(id, player, mode, rating, created, home, seq string) (matchmaker.PoolTicket, error) {
	r, err := strconv.ParseFloat(rating, 64)
	if err != nil {
		return matchmaker.PoolTicket{}, fmt.Errorf("rating %q: %w", rating, err)
	}
	c, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return matchmaker.PoolTicket{}, fmt.Errorf("created %q: %w", created, err)
	}
	s, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return matchmaker.PoolTicket{}, fmt.Errorf("seq %q: %w", seq, err)
	}
	return matchmaker.PoolTicket{ID: id, PlayerID: player, Mode: mode, Rating: r, CreatedAt: time.Unix(0, c), Home: home, Seq: s}, nil
}

// decodeChange decodes one entry of the log; false for one it does not
// know (or cannot read), which the reader skips.
func decodeChange(v map[string]any) (matchmaker.PoolChange, bool) {
	switch str(v["k"]) {
	case "a":
		t, err := decodeTicket(str(v["id"]), str(v["p"]), str(v["m"]), str(v["r"]), str(v["c"]), str(v["h"]), str(v["s"]))
		if err != nil {
			return matchmaker.PoolChange{}, false
		}
		return matchmaker.PoolChange{Added: &t}, true
	case "r":
		return matchmaker.PoolChange{Removed: strings.Fields(str(v["ids"])), Reason: matchmaker.Status(str(v["why"])), Claimer: str(v["by"])}, true
	case "s":
		return matchmaker.PoolChange{Seated: &matchmaker.PoolSeat{TicketID: str(v["id"]), MatchID: str(v["mt"]),
			JoinToken: str(v["tk"]), Host: str(v["h"]), Server: str(v["u"])}}, true
	}
	return matchmaker.PoolChange{}, false
}

package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	goredis "github.com/redis/go-redis/v9"
)

// CheckpointConfig configures Checkpoints. The zero value of every field
// means its default.
type CheckpointConfig struct {
	// Node names this process among those sharing the Redis; default the
	// host name. A process restarted under the same name treats the
	// matches its previous life left as orphans at once.
	Node string
	// URL is this process's advertised base URL (its --public-url), kept
	// with each match it runs, so that the players of a match a peer has
	// taken over are sent to the peer (GET /v1/matches/{id}). Empty: the
	// players' requests' own host.
	URL string
	// Flush is how often the writer sends what rooms saved; default 100ms.
	Flush time.Duration
	// MaxPending bounds the matches with a checkpoint waiting to be
	// written, and the ended matches waiting to leave the directory; past
	// it new ones are dropped (and counted) until the writer catches up
	// (an end dropped leaves the match for a successor's EndOrphans, which
	// finds its result already recorded). Default 100,000.
	MaxPending int
	// NodeTTL is how long this process counts as alive after its last
	// flush; default 15s. A match whose node has been silent longer is an
	// orphan.
	NodeTTL time.Duration
	// MatchTTL bounds how long a checkpoint outlives its last update;
	// default 24h. It only matters if nobody ever ends the match.
	MatchTTL time.Duration
	// MaxBackoff caps the wait between flushes while Redis fails: the
	// wait starts at Flush and doubles (with jitter). Default 2s, and at
	// most NodeTTL/4, so that a Redis that comes back hears from this node
	// again before its heartbeat lapses.
	MaxBackoff time.Duration
	// Clock times the flushes and the back-off; default match.SystemClock.
	Clock match.Clock
	// MaxPendingSaves bounds the live-game saves (SaveGame) waiting for
	// the save writer; past it SaveGame fails at once. Default
	// DefaultMaxPendingSaves.
	MaxPendingSaves int
	// SaveWriters is how many pipelines of live-game saves may be in
	// flight at once; default DefaultSaveWriters.
	SaveWriters int
}

// CheckpointStats counts what Checkpoints did. Safe to read concurrently.
type CheckpointStats struct {
	Written    atomic.Uint64 // checkpoints sent to Redis
	Superseded atomic.Uint64 // replaced by a newer one of the same match before being sent
	Dropped    atomic.Uint64 // checkpoints or ends refused because MaxPending were waiting
	Failures   atomic.Uint64 // flushes Redis refused; their checkpoints are retried

	GameSaves    atomic.Uint64 // live-game saves Redis answered (written, or refused as taken over)
	SaveBatches  atomic.Uint64 // pipelines the save writer sent: GameSaves / SaveBatches is the mean batch
	SavesRefused atomic.Uint64 // live-game saves refused at once, MaxPendingSaves being queued
}

// Checkpoints keeps the running matches' latest checkpoints in Redis: the
// match directory (every running match, with its node), each match's
// standings and encoded state. It implements match.Checkpointer: rooms
// hand checkpoints over without waiting, newer ones replace unsent older
// ones, and one writer goroutine (Run) sends them in pipelined batches.
// It also implements match.GameStore (SaveGame): the live games' saves,
// which a second writer goroutine of Run's sends in pipelines too.
type Checkpoints struct {
	store *Store
	cfg   CheckpointConfig
	saves *saveQueue
	// args are SaveGame's script arguments that never change, boxed once:
	// an int64 or a string put in an interface at each save would be an
	// allocation each.
	args struct{ gameTTL, node, url, matchTTL any }
	wake chan struct{}
	mu   struct {
		sync.Mutex
		pending map[string]match.Checkpoint
		ended   map[string]struct{}
	}
	// Stats counts what the writer did.
	Stats CheckpointStats
}

// NewCheckpoints returns the match directory of s. Run writes it.
func (s *Store) NewCheckpoints(cfg CheckpointConfig) *Checkpoints {
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
		if cfg.Node == "" {
			cfg.Node = "arbiter"
		}
	}
	if cfg.Flush <= 0 {
		cfg.Flush = 100 * time.Millisecond
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100_000
	}
	if cfg.NodeTTL <= 0 {
		cfg.NodeTTL = 15 * time.Second
	}
	if cfg.MatchTTL <= 0 {
		cfg.MatchTTL = 24 * time.Hour
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	cfg.MaxBackoff = min(cfg.MaxBackoff, cfg.NodeTTL/4)
	if cfg.Clock == nil {
		cfg.Clock = match.SystemClock{}
	}
	if cfg.MaxPendingSaves <= 0 {
		cfg.MaxPendingSaves = DefaultMaxPendingSaves
	}
	if cfg.SaveWriters <= 0 {
		cfg.SaveWriters = DefaultSaveWriters
	}
	c := &Checkpoints{store: s, cfg: cfg, wake: make(chan struct{}, 1)}
	c.saves = newSaveQueue(s.rdb, cfg.MaxPendingSaves, cfg.SaveWriters, &c.Stats)
	c.args.gameTTL, c.args.node, c.args.url, c.args.matchTTL = GameTTL.Milliseconds(), cfg.Node, cfg.URL, cfg.MatchTTL.Milliseconds()
	c.mu.pending = make(map[string]match.Checkpoint)
	c.mu.ended = make(map[string]struct{})
	return c
}

// Save implements match.Checkpointer. It never blocks.
func (c *Checkpoints) Save(cp match.Checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.mu.pending[cp.MatchID]; ok {
		c.Stats.Superseded.Add(1)
	} else if len(c.mu.pending) >= c.cfg.MaxPending {
		c.Stats.Dropped.Add(1)
		return
	}
	c.mu.pending[cp.MatchID] = cp
}

// Ended implements match.Checkpointer: the match leaves the directory at
// the next flush. It never blocks.
func (c *Checkpoints) Ended(matchID string) {
	c.mu.Lock()
	delete(c.mu.pending, matchID)
	c.endLocked(matchID)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}: // an end is worth writing at once
	default:
	}
}

// endLocked queues a match's removal from the directory, within
// MaxPending.
func (c *Checkpoints) endLocked(matchID string) {
	if _, ok := c.mu.ended[matchID]; !ok && len(c.mu.ended) >= c.cfg.MaxPending {
		c.Stats.Dropped.Add(1)
		return
	}
	c.mu.ended[matchID] = struct{}{}
}

// Run writes checkpoints every Flush until ctx ends, then makes a last
// flush (bounded by Flush × 10) so that matches ended during shutdown
// leave the directory. While Redis fails it backs off (up to MaxBackoff)
// and logs the outage as it starts and ends, not at every flush. Beside
// it, Run's second goroutine sends the live games' saves (SaveGame) as they
// come; when ctx ends it sends those still queued (for at most 2 s) and
// refuses new ones. Run returns nil once both are done. Call it once.
func (c *Checkpoints) Run(ctx context.Context) error {
	var saver sync.WaitGroup
	defer saver.Wait()
	saver.Go(func() { c.saves.run(ctx) })
	retry := match.NewRetrier("checkpoint writer", match.RetrierConfig{
		Backoff: match.Backoff{Min: c.cfg.Flush, Max: c.cfg.MaxBackoff, Jitter: 0.5},
		Clock:   c.cfg.Clock,
		Logger:  c.store.cfg.Logger,
	})
	t := c.cfg.Clock.NewTimer(c.cfg.Flush)
	defer t.Stop()
	wake := c.wake // nil while backing off: an end does not hurry a retry
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*c.cfg.Flush)
			defer cancel()
			if err := c.flush(fctx); err != nil {
				c.store.cfg.Logger.Warn("last checkpoints not written at shutdown", "err", err)
			}
			return nil
		case <-t.C():
		case <-wake:
			t.Stop()
		}
		next := c.cfg.Flush
		wake = c.wake
		switch err := c.flush(ctx); {
		case err == nil:
			retry.Succeeded()
		case ctx.Err() == nil:
			next, wake = retry.Failed(err), nil
		}
		t.Reset(next)
	}
}

// checkpointMeta is a checkpoint without its state, as the directory
// stores it.
type checkpointMeta struct {
	Mode      string               `json:"mode"`
	Status    string               `json:"status"`
	Players   []match.PlayerResult `json:"players"`
	Tick      uint32               `json:"tick"`
	CreatedAt time.Time            `json:"created_at"`
	StartedAt time.Time            `json:"started_at"`
}

// flush sends everything pending in one pipeline and refreshes the node's
// heartbeat. What Redis refuses goes back to pending, unless a newer
// checkpoint (or the match's end) has arrived meanwhile.
func (c *Checkpoints) flush(ctx context.Context) error {
	c.mu.Lock()
	pending, ended := c.mu.pending, c.mu.ended
	c.mu.pending = make(map[string]match.Checkpoint, len(pending))
	c.mu.ended = make(map[string]struct{})
	c.mu.Unlock()

	k := c.store.keys
	_, err := c.store.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Set(ctx, k.node(c.cfg.Node), time.Now().UTC().Format(time.RFC3339Nano), c.cfg.NodeTTL)
		pipe.SAdd(ctx, k.nodes(), c.cfg.Node)
		now := float64(time.Now().UnixMilli())
		for id, cp := range pending {
			meta, err := json.Marshal(checkpointMeta{Mode: cp.Mode, Status: cp.Status, Players: cp.Players, Tick: cp.Tick, CreatedAt: cp.CreatedAt, StartedAt: cp.StartedAt})
			if err != nil {
				return fmt.Errorf("encode checkpoint of %s: %w", id, err)
			}
			pipe.HSet(ctx, k.match(id), "node", c.cfg.Node, "url", c.cfg.URL, "meta", meta, "state", cp.State)
			pipe.Expire(ctx, k.match(id), c.cfg.MatchTTL)
			pipe.ZAdd(ctx, k.running(), goredis.Z{Score: now, Member: id})
		}
		for id := range ended {
			pipe.Del(ctx, k.match(id))
			pipe.ZRem(ctx, k.running(), id)
		}
		return nil
	})
	if err != nil {
		c.Stats.Failures.Add(1)
		c.mu.Lock()
		for id, cp := range pending {
			if _, newer := c.mu.pending[id]; newer {
				continue
			}
			if _, gone := c.mu.ended[id]; !gone {
				c.mu.pending[id] = cp
			}
		}
		for id := range ended {
			if _, back := c.mu.pending[id]; !back {
				c.endLocked(id)
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("write %d checkpoints: %w", len(pending), err)
	}
	c.Stats.Written.Add(uint64(len(pending)))
	return nil
}

// claimOrphan makes this node the owner of a match whose node is dead (its
// heartbeat gone) or, when ARGV[3] is "1", is this node in a previous
// life, atomically: of two processes looking at once, one gets each
// orphan. It returns 1 if this node now owns the match.
var claimOrphan = newScript(`
local owner = redis.call('HGET', KEYS[1], 'node')
if not owner then return 0 end
if owner == ARGV[1] then
  if ARGV[3] ~= '1' then return 0 end
elseif redis.call('EXISTS', ARGV[2] .. owner) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'url', ARGV[4])
return 1
`)

// Orphans finds the matches that processes now dead (or this node in its
// previous life) left in the directory, claims them for this node, and
// returns their last checkpoints: to resume (a game whose live state is in
// Redis, see SaveGame) or end (match.Manager.EndOrphans). A match whose
// checkpoint has expired is dropped from the directory. Call it at start,
// before this process creates a room: until then every match with this
// node's name is a previous life's.
func (c *Checkpoints) Orphans(ctx context.Context) ([]match.Checkpoint, error) {
	// Alive first, so that no other node takes what this one claims.
	if err := c.announce(ctx); err != nil {
		return nil, err
	}
	return c.claim(ctx, true)
}

// Abandoned is Orphans for a process that is running: it claims the
// matches of the other nodes that have died since (their heartbeat lapsed
// for NodeTTL), never this node's own. It costs one round trip per known
// node while every node is alive, and a scan of the directory only when
// one is not. Call it every few seconds.
func (c *Checkpoints) Abandoned(ctx context.Context) ([]match.Checkpoint, error) {
	k := c.store.keys
	nodes, err := c.store.rdb.SMembers(ctx, k.nodes()).Result()
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var dead []string
	for _, n := range nodes {
		if n == c.cfg.Node {
			continue
		}
		alive, err := c.store.rdb.Exists(ctx, k.node(n)).Result()
		if err != nil {
			return nil, fmt.Errorf("check node %s: %w", n, err)
		}
		if alive == 0 {
			dead = append(dead, n)
		}
	}
	if len(dead) == 0 {
		return nil, nil
	}
	out, err := c.claim(ctx, false)
	if err != nil {
		return out, err
	}
	// Every match of theirs is someone's now (this node's, or a peer's
	// that claimed it first): forget them. One that comes back adds
	// itself again at its next flush.
	if err := c.store.rdb.SRem(ctx, k.nodes(), dead).Err(); err != nil {
		return out, fmt.Errorf("forget dead nodes: %w", err)
	}
	return out, nil
}

// announce marks this node alive (its heartbeat) and known (the node set
// Abandoned watches).
func (c *Checkpoints) announce(ctx context.Context) error {
	k := c.store.keys
	_, err := c.store.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Set(ctx, k.node(c.cfg.Node), time.Now().UTC().Format(time.RFC3339Nano), c.cfg.NodeTTL)
		pipe.SAdd(ctx, k.nodes(), c.cfg.Node)
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce node %s: %w", c.cfg.Node, err)
	}
	return nil
}

// claim claims every match in the directory whose node is dead (or, with
// self, is this node's name) and returns their checkpoints.
func (c *Checkpoints) claim(ctx context.Context, self bool) ([]match.Checkpoint, error) {
	k := c.store.keys
	ids, err := c.store.rdb.ZRange(ctx, k.running(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list running matches: %w", err)
	}
	selfArg := "0"
	if self {
		selfArg = "1"
	}
	var out []match.Checkpoint
	for _, id := range ids {
		claimed, err := claimOrphan.Run(ctx, c.store.rdb, []string{k.match(id)}, c.cfg.Node, k.node(""), selfArg, c.cfg.URL).Int()
		if err != nil {
			return out, fmt.Errorf("claim match %s: %w", id, err)
		}
		if claimed == 0 {
			if n, err := c.store.rdb.Exists(ctx, k.match(id)).Result(); err == nil && n == 0 {
				c.store.rdb.ZRem(ctx, k.running(), id) // expired
			}
			continue
		}
		fields, err := c.store.rdb.HMGet(ctx, k.match(id), "meta", "state").Result()
		if err != nil {
			return out, fmt.Errorf("load checkpoint of %s: %w", id, err)
		}
		metaJSON, _ := fields[0].(string)
		var meta checkpointMeta
		if err := json.Unmarshal([]byte(metaJSON), &meta); err != nil {
			return out, fmt.Errorf("decode checkpoint of %s: %w", id, err)
		}
		cp := meta.checkpoint(id)
		if state, _ := fields[1].(string); state != "" {
			cp.State = []byte(state)
		}
		out = append(out, cp)
	}
	return out, nil
}

// RunningMatch is a match of the directory as any node sees it: its last
// checkpoint (without the state) and the node that runs it.
type RunningMatch struct {
	match.Checkpoint
	// Node names the process that runs the match, and URL is its
	// advertised base URL (empty if it advertises none).
	Node, URL string
}

// Lookup returns the directory's entry of match id; found is false when
// no node runs it (it never existed, ended, or has expired).
func (c *Checkpoints) Lookup(ctx context.Context, id string) (m RunningMatch, found bool, err error) {
	fields, err := c.store.rdb.HMGet(ctx, c.store.keys.match(id), "node", "url", "meta").Result()
	if err != nil {
		return RunningMatch{}, false, fmt.Errorf("look up match %s: %w", id, err)
	}
	node, _ := fields[0].(string)
	metaJSON, _ := fields[2].(string)
	if node == "" || metaJSON == "" {
		return RunningMatch{}, false, nil
	}
	var meta checkpointMeta
	if err := json.Unmarshal([]byte(metaJSON), &meta); err != nil {
		return RunningMatch{}, false, fmt.Errorf("decode checkpoint of %s: %w", id, err)
	}
	url, _ := fields[1].(string)
	return RunningMatch{Checkpoint: meta.checkpoint(id), Node: node, URL: url}, true, nil
}

// checkpoint returns the checkpoint of match id that meta describes,
// without its state.
func (meta checkpointMeta) checkpoint(id string) match.Checkpoint {
	return match.Checkpoint{MatchID: id, Mode: meta.Mode, Status: meta.Status, Players: meta.Players, Tick: meta.Tick, CreatedAt: meta.CreatedAt, StartedAt: meta.StartedAt}
}

// Running returns the IDs in the match directory (every node's), for
// operators and tests.
func (c *Checkpoints) Running(ctx context.Context) ([]string, error) {
	ids, err := c.store.rdb.ZRange(ctx, c.store.keys.running(), 0, -1).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("list running matches: %w", err)
	}
	return ids, nil
}

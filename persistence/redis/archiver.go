package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	goredis "github.com/redis/go-redis/v9"
)

// Sink is the durable archive: it writes a batch in one transaction,
// idempotently. The Postgres archive satisfies it.
type Sink interface {
	Write(ctx context.Context, b persistence.Batch) error
}

// ArchiverConfig configures an Archiver. The zero value of every field
// means its default.
type ArchiverConfig struct {
	// Group is the stream's consumer group; default "archiver". Every
	// process sharing a Redis uses the same group, so that each record is
	// archived by one of them.
	Group string
	// Consumer names this archiver within the group; default the host
	// name. A process that restarts under the same name takes up what it
	// left unacknowledged at once; a different name waits ClaimIdle.
	Consumer string
	// BatchSize is the most records written in one transaction; default
	// 500.
	BatchSize int
	// Block is how long one read waits for new records; default 1s.
	Block time.Duration
	// ClaimIdle is how long a record may stay unacknowledged with another
	// consumer (one that died mid-batch) before this one takes it over;
	// default 30s.
	ClaimIdle time.Duration
	// MaxBackoff caps the wait between attempts while the archive or
	// Redis fails; default 5s. The wait starts at 50ms and doubles (with
	// jitter).
	MaxBackoff time.Duration
	// Logger receives failures; default the store's. An outage is logged
	// as it starts and ends, not at every attempt.
	Logger *slog.Logger
	// Clock times the back-off and the takeovers; default
	// match.SystemClock.
	Clock match.Clock
}

// ArchiverStats counts what an archiver did. Safe to read concurrently.
type ArchiverStats struct {
	Archived     atomic.Uint64 // records written and acknowledged
	Batches      atomic.Uint64 // transactions committed
	Failures     atomic.Uint64 // failed reads, writes and acknowledgements
	Reclaimed    atomic.Uint64 // records taken over from another consumer
	DeadLettered atomic.Uint64 // undecodable records moved aside
}

// Archiver moves records from the Redis stream into the archive: it reads
// with a consumer group, writes each batch in one transaction and
// acknowledges (and deletes) the records only after the commit. A record
// whose write failed stays pending and is written again; the archive's
// writes are idempotent, so a record is never counted twice.
type Archiver struct {
	store *Store
	sink  Sink
	cfg   ArchiverConfig
	Stats ArchiverStats

	// Owned by the goroutine running Run (or step).
	lastClaim time.Time
	cursor    string // XAUTOCLAIM's resume point
	grouped   bool   // the consumer group is known to exist

	// afterWrite, when set (by tests), runs between commit and
	// acknowledgement.
	afterWrite func()
}

// NewArchiver returns an archiver of s's stream into sink. Run runs it.
func (s *Store) NewArchiver(sink Sink, cfg ArchiverConfig) *Archiver {
	if cfg.Group == "" {
		cfg.Group = "archiver"
	}
	if cfg.Consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "arbiter"
		}
		cfg.Consumer = host
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = s.cfg.Logger
	}
	if cfg.Clock == nil {
		cfg.Clock = match.SystemClock{}
	}
	return &Archiver{store: s, sink: sink, cfg: cfg, cursor: "0-0"}
}

// Run archives until ctx ends, then returns nil. It never gives up on a
// failing archive or Redis: it backs off and tries again, and what it has
// not acknowledged stays in Redis.
func (a *Archiver) Run(ctx context.Context) error {
	retry := match.NewRetrier("archiver", match.RetrierConfig{
		Backoff: match.Backoff{Min: 50 * time.Millisecond, Max: a.cfg.MaxBackoff, Jitter: 0.5},
		Clock:   a.cfg.Clock,
		Logger:  a.cfg.Logger,
	})
	for ctx.Err() == nil {
		if err := a.step(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			a.Stats.Failures.Add(1)
			retry.Wait(ctx, retry.Failed(err))
			continue
		}
		retry.Succeeded()
	}
	return nil
}

// step archives one batch, if there is one within Block.
func (a *Archiver) step(ctx context.Context) error {
	msgs, err := a.next(ctx)
	if err != nil || len(msgs) == 0 {
		return err
	}
	return a.archive(ctx, msgs)
}

// next returns the records to archive next: this consumer's own pending
// ones first (left by a failed write or a previous life), then ones
// another consumer left pending past ClaimIdle, then new ones.
func (a *Archiver) next(ctx context.Context) (msgs []goredis.XMessage, err error) {
	stream := a.store.keys.stream()
	if !a.grouped {
		if err := a.ensureGroup(ctx); err != nil {
			return nil, err
		}
		a.grouped = true
	}
	defer func() {
		if err != nil && strings.Contains(err.Error(), "NOGROUP") {
			a.grouped = false // Redis lost the group (and the stream): make it again
		}
	}()
	own, err := a.read(ctx, "0", -1)
	if err != nil || len(own) > 0 {
		return own, err
	}
	if now := a.cfg.Clock.Now(); now.Sub(a.lastClaim) >= a.cfg.ClaimIdle/4 {
		a.lastClaim = now
		claimed, cursor, err := a.store.rdb.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream: stream, Group: a.cfg.Group, Consumer: a.cfg.Consumer,
			MinIdle: a.cfg.ClaimIdle, Start: a.cursor, Count: int64(a.cfg.BatchSize),
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("reclaim pending records: %w", err)
		}
		a.cursor = cursor
		if len(claimed) > 0 {
			a.Stats.Reclaimed.Add(uint64(len(claimed)))
			a.cfg.Logger.Info("archiver: took over records a dead consumer left", "records", len(claimed))
			return claimed, nil
		}
	}
	return a.read(ctx, ">", a.cfg.Block)
}

// read reads from the group: id "0" for this consumer's pending records,
// ">" for new ones (waiting up to block).
func (a *Archiver) read(ctx context.Context, id string, block time.Duration) ([]goredis.XMessage, error) {
	streams, err := a.store.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: a.cfg.Group, Consumer: a.cfg.Consumer,
		Streams: []string{a.store.keys.stream(), id},
		Count:   int64(a.cfg.BatchSize), Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the archive stream: %w", err)
	}
	var out []goredis.XMessage
	for _, s := range streams {
		out = append(out, s.Messages...)
	}
	return out, nil
}

// ensureGroup creates the consumer group (and the stream) if missing: at
// the first read, and again after a read finds the group gone (a Redis that
// lost its data).
func (a *Archiver) ensureGroup(ctx context.Context) error {
	err := a.store.rdb.XGroupCreateMkStream(ctx, a.store.keys.stream(), a.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s: %w", a.cfg.Group, err)
	}
	return nil
}

// archive writes msgs in one transaction and acknowledges them. A batch
// the archive rejects for its content is written again record by record,
// and the records rejected alone go to the dead-letter stream, so that one
// bad record never holds the others back.
func (a *Archiver) archive(ctx context.Context, msgs []goredis.XMessage) error {
	var (
		batch persistence.Batch
		good  []goredis.XMessage // decoded, in batch
		dead  []goredis.XMessage // undecodable or rejected: to the dead letters
		ids   = make([]string, 0, len(msgs))
		nRej  int
	)
	for _, m := range msgs {
		ids = append(ids, m.ID)
		if len(m.Values) == 0 {
			continue // deleted while pending: nothing to write
		}
		if err := decode(m, &batch); err != nil {
			a.cfg.Logger.Error("archiver: undecodable record moved to the dead-letter stream", "id", m.ID, "err", err)
			dead = append(dead, m)
			continue
		}
		good = append(good, m)
	}
	if batch.Len() > 0 {
		err := a.sink.Write(ctx, batch)
		if errors.Is(err, persistence.ErrRejected) {
			var rejected []goredis.XMessage
			rejected, err = a.isolate(ctx, good)
			nRej = len(rejected)
			dead = append(dead, rejected...)
		}
		if err != nil {
			return fmt.Errorf("write %d records: %w", batch.Len(), err)
		}
		a.Stats.Batches.Add(1)
	}
	if a.afterWrite != nil {
		a.afterWrite()
	}
	stream := a.store.keys.stream()
	_, err := a.store.rdb.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, m := range dead {
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: a.store.keys.deadLetters(), Values: m.Values})
		}
		pipe.XAck(ctx, stream, a.cfg.Group, ids...)
		pipe.XDel(ctx, stream, ids...)
		return nil
	})
	if err != nil {
		// Written but not acknowledged: the records will be written again,
		// which changes nothing.
		return fmt.Errorf("acknowledge %d records: %w", len(ids), err)
	}
	a.Stats.Archived.Add(uint64(len(good) - nRej))
	a.Stats.DeadLettered.Add(uint64(len(dead)))
	return nil
}

// isolate writes msgs one record at a time after their batch was rejected,
// and returns the records the archive rejects on their own. Any other
// failure stops it: the whole batch is retried later, and what was written
// meanwhile is written again harmlessly.
func (a *Archiver) isolate(ctx context.Context, msgs []goredis.XMessage) ([]goredis.XMessage, error) {
	var rejected []goredis.XMessage
	for _, m := range msgs {
		var one persistence.Batch
		_ = decode(m, &one) // decoded once already
		err := a.sink.Write(ctx, one)
		switch {
		case errors.Is(err, persistence.ErrRejected):
			a.cfg.Logger.Error("archiver: record rejected by the archive moved to the dead-letter stream", "id", m.ID, "err", err)
			rejected = append(rejected, m)
		case err != nil:
			return nil, err
		}
	}
	return rejected, nil
}

// decode adds one stream record to b.
func decode(m goredis.XMessage, b *persistence.Batch) error {
	kind, _ := m.Values["k"].(string)
	v, _ := m.Values["v"].(string)
	switch kind {
	case kindPlayer:
		var p persistence.Player
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return fmt.Errorf("decode player: %w", err)
		}
		b.Players = append(b.Players, p)
	case kindSettle:
		var s persistence.Settlement
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return fmt.Errorf("decode settlement: %w", err)
		}
		b.Settlements = append(b.Settlements, s)
	case kindEvent:
		var ev match.AntiCheatEvent
		if err := json.Unmarshal([]byte(v), &ev); err != nil {
			return fmt.Errorf("decode anti-cheat event: %w", err)
		}
		b.Events = append(b.Events, ev)
	default:
		return fmt.Errorf("unknown record kind %q", kind)
	}
	return nil
}

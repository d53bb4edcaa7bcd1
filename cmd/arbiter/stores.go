package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/persistence/postgres"
	"github.com/arbiter-gg/arbiter/persistence/redis"
)

// store is everything the server needs from its stores, whichever are
// configured: memory, Redis, Postgres, or Redis in front of Postgres.
type store interface {
	match.LedgerStore
	match.EventSink
	api.Players
	api.RatingsReader
	Rating(ctx context.Context, playerID, mode string) (match.Rating, bool, error)
	MatchResult(ctx context.Context, matchID string) (match.Result, bool, error)
	AntiCheatEvents(ctx context.Context, playerID string) ([]match.AntiCheatEvent, error)
	Ping(ctx context.Context) error
}

// stores is the configured store and what runs behind it.
type stores struct {
	store
	// archivers move results from Redis to Postgres, as consumers of one
	// group (so several overlap Redis round trips with Postgres commits);
	// none unless both stores are configured.
	archivers []*redis.Archiver
	// checkpoints is the match directory in Redis; nil without Redis.
	checkpoints *redis.Checkpoints
	// backlog counts the records waiting in Redis for the archive; nil
	// without Redis.
	backlog func(ctx context.Context) (int64, error)
	// games keeps the live state of event games (chess) after every
	// change (entering a new game in the match directory, so that a crash
	// at any time after its first save leaves it to a successor), and
	// loadGame reads it back for a resume; nil without Redis.
	games    match.GameStore
	loadGame func(ctx context.Context, matchID string) (match.LiveGame, bool, error)
	// pool is the matchmaking queue shared by the servers on the Redis;
	// nil without Redis (the matchmaker then keeps its queues in memory).
	pool *redis.Pool
	// warmer warms Redis again from Postgres when Redis loses its data
	// while the server runs; nil unless both stores are configured.
	warmer *redis.Warmer
	// ready reports whether every configured store answers (and Redis,
	// with Postgres behind it, holds the archive's ratings).
	ready func(ctx context.Context) error
	close func()
}

// storeOpenTimeout bounds connecting to the stores at start: an
// unreachable URL fails the start rather than hanging it.
const storeOpenTimeout = 10 * time.Second

// openStores connects to the configured stores (running Postgres
// migrations) and warms a cold Redis from Postgres.
func openStores(cfg config, log *slog.Logger) (*stores, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	switch {
	case cfg.RedisURL == "" && cfg.DatabaseURL == "":
		log.Warn("using in-memory stores: nothing is durable; players, ratings, tickets and matches are lost when the process stops (set ARBITER_REDIS_URL and ARBITER_DATABASE_URL)")
		m := persistence.NewMemory()
		return &stores{store: m, ready: m.Ping, close: func() {}}, nil

	case cfg.RedisURL == "":
		pg, err := postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL, Schema: cfg.DatabaseSchema})
		if err != nil {
			return nil, err
		}
		log.Warn("using Postgres without Redis: results are written straight to Postgres, and sign-ups and reads wait on it (set ARBITER_REDIS_URL for the write-behind path)")
		return &stores{store: pg, ready: pg.Ping, close: pg.Close}, nil

	case cfg.DatabaseURL == "":
		rs, err := redis.Open(ctx, redis.Config{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, StreamMaxLen: redisOnlyStreamLen, Logger: log})
		if err != nil {
			return nil, err
		}
		log.Warn("using Redis without Postgres: Redis is the only copy of players, ratings and results (set ARBITER_DATABASE_URL for a durable archive)")
		cps := rs.NewCheckpoints(checkpointConfig(cfg))
		return &stores{store: rs, games: cps, loadGame: rs.LoadGame, checkpoints: cps,
			backlog: rs.Backlog, pool: rs.NewPool(redis.PoolConfig{}), ready: rs.Ready, close: func() { _ = rs.Close() }}, nil
	}

	pg, err := postgres.Open(ctx, postgres.Config{URL: cfg.DatabaseURL, Schema: cfg.DatabaseSchema})
	if err != nil {
		return nil, err
	}
	rs, err := redis.Open(ctx, redis.Config{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix, Archive: pg, Logger: log})
	if err != nil {
		pg.Close()
		return nil, err
	}
	n, err := rs.Warm(ctx, pg.EachRating)
	if err != nil {
		_ = rs.Close()
		pg.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("warmed a cold Redis from Postgres", "ratings", n)
	}
	node := nodeName(cfg)
	archivers := make([]*redis.Archiver, cfg.Archivers)
	for i := range archivers {
		archivers[i] = rs.NewArchiver(pg, redis.ArchiverConfig{Consumer: fmt.Sprintf("%s/%d", node, i), Logger: log})
	}
	log.Info("using Redis for live state and Postgres as the archive; results reach Postgres through the archiver", "archivers", cfg.Archivers)
	cps := rs.NewCheckpoints(checkpointConfig(cfg))
	return &stores{
		store:       rs,
		games:       cps,
		loadGame:    rs.LoadGame,
		archivers:   archivers,
		checkpoints: cps,
		backlog:     rs.Backlog,
		pool:        rs.NewPool(redis.PoolConfig{}),
		warmer:      rs.NewWarmer(pg.EachRating, redis.WarmerConfig{Logger: log}),
		// Postgres down does not make the server unready: nothing live
		// waits on it, and results queue in Redis until it returns. A
		// Redis that lost its data does, until it is warmed again.
		ready: rs.Ready,
		close: func() { _ = rs.Close(); pg.Close() },
	}, nil
}

// redisOnlyStreamLen caps the archive stream when no archiver drains it.
const redisOnlyStreamLen = 100_000

// checkpointConfig is the match directory's configuration: this node's
// name and advertised URL, and how long it may be silent before its peers
// take its matches over.
func checkpointConfig(cfg config) redis.CheckpointConfig {
	return redis.CheckpointConfig{Node: nodeName(cfg), URL: cfg.PublicURL, NodeTTL: cfg.NodeTTL}
}

// nodeName names this process among those sharing a Redis: the host and
// the listen address, stable across restarts, so that a restarted server
// takes up at once what its previous life left (unarchived results,
// matches it was running).
func nodeName(cfg config) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "arbiter"
	}
	return host + cfg.Addr
}

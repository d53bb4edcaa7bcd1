package redis

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// A Redis that restarts without its data (no persistence, a lost volume, a
// failover to an empty replica) comes back empty while the server runs.
// Most of what it held is read through from the archive on demand (players,
// ratings, results), but a leaderboard is a sorted set that only Warm fills:
// without it, boards would show only the players who happened to be read
// since. Warm therefore leaves a marker key; a store that has been warmed
// expects it, and its absence is how the loss is detected: by the Warmer's
// periodic check, or at once by Ready (a /readyz probe) or a leaderboard
// read, which wake the Warmer. Until the re-warm completes, Ready returns
// ErrCold (so /readyz answers 503) and Leaderboard fails with ErrCold
// rather than answer from a partial board.
//
// What the re-warm does not bring back (README.md, "State"): records still
// in the archive stream when Redis lost it (sign-ups, results and rating
// changes not yet written to Postgres), recent anti-cheat events beyond
// those archived, the matchmaking pool's tickets and its record of who is
// in a match (searching players queue again). Running matches carry on in memory: their checkpoints and the
// node heartbeat are written again at the next flush, and the archivers
// recreate their stream and consumer group.

// ErrCold is what Ready and Leaderboard return while Redis, after losing
// its data, is being warmed again from the archive. It says so to callers
// too (PublicReason), without the details of the store.
var ErrCold error = coldError{}

type coldError struct{}

func (coldError) Error() string {
	return "redis: the live store lost its data and is being re-warmed from the archive"
}

// PublicReason is the reason fit for any caller, such as /readyz's answer.
func (coldError) PublicReason() string {
	return "the live store is being re-warmed from the archive"
}

// warmth is whether Redis holds the archive's ratings, as the store knows
// it.
type warmth struct {
	// expected is set once Warm has succeeded: from then on the warm marker
	// belongs in Redis, and its absence means Redis lost its data.
	expected atomic.Bool
	// cold is set from the moment the marker is found missing until a Warm
	// completes.
	cold atomic.Bool
	// wake tells the Warmer that a read found the marker missing. One
	// pending nudge is as good as several: size one.
	// (Once expected, Ready and Leaderboard judge by the marker itself,
	// not by cold.)
	wake chan struct{}
}

// warmed records that Redis holds the archive's ratings and the marker.
func (s *Store) warmed() {
	s.warmth.expected.Store(true)
	s.warmth.cold.Store(false)
}

// foundCold records that a read (Ready, Leaderboard) found the marker
// missing and wakes the Warmer. It never blocks.
func (s *Store) foundCold() {
	s.warmth.cold.Store(true)
	select {
	case s.warmth.wake <- struct{}{}:
	default:
	}
}

// WarmerConfig configures a Warmer. The zero value of every field means its
// default.
type WarmerConfig struct {
	// Interval is how often the warm marker is checked; default 1s. Ready
	// or a leaderboard read that finds the marker missing wakes the Warmer
	// at once.
	Interval time.Duration
	// FailureLog is the least time between two logged failures of one
	// re-warm (Postgres down, say); default 1m. The first is always logged.
	FailureLog time.Duration
	// Logger receives detection, completion and failures; default the
	// store's.
	Logger *slog.Logger
}

// WarmerStats counts what a Warmer did. Safe to read concurrently.
type WarmerStats struct {
	Detected atomic.Uint64 // times Redis was found to have lost its data
	Rewarmed atomic.Uint64 // re-warms completed
	Failures atomic.Uint64 // re-warm attempts that failed; each is retried at the next check
}

// Warmer keeps Redis warm while the server runs: it checks the warm marker
// every Interval (and when a read found it missing) and, when Redis has lost
// it, warms Redis again from the archive (Store.Warm), in the Warmer's own
// goroutine: no room, request or other writer waits for it beyond one
// chunk of ratings at a time. A failed re-warm is retried at the next check.
// Several servers on one Redis each warm it again; that is safe, Warm being
// idempotent.
type Warmer struct {
	store *Store
	each  EachRating
	cfg   WarmerConfig
	// Stats counts what the Warmer did.
	Stats WarmerStats

	// Owned by the goroutine running Run.
	since    time.Time // when the current loss was detected; zero while warm
	lastFail time.Time // when a failure of the current re-warm was last logged
}

// NewWarmer returns a Warmer of s from the archive's ratings, which each
// streams. Run runs it.
func (s *Store) NewWarmer(each EachRating, cfg WarmerConfig) *Warmer {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.FailureLog <= 0 {
		cfg.FailureLog = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = s.cfg.Logger
	}
	return &Warmer{store: s, each: each, cfg: cfg}
}

// Run checks and re-warms until ctx ends, then returns nil; a re-warm under
// way stops with it.
func (w *Warmer) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.store.warmth.wake:
		}
		w.check(ctx)
	}
}

// check looks for the warm marker and warms Redis again if it is missing.
func (w *Warmer) check(ctx context.Context) {
	s := w.store
	n, err := s.rdb.Exists(ctx, s.keys.warm()).Result()
	if err != nil {
		// Redis does not answer (or is loading its data): Ready says so
		// already, and there is nothing to check until it does.
		return
	}
	if n == 1 && w.since.IsZero() {
		s.warmth.cold.Store(false) // a read's alarm raised just as a Warm finished
		return
	}
	if w.since.IsZero() {
		w.since = time.Now()
		w.Stats.Detected.Add(1)
		s.warmth.cold.Store(true)
		w.cfg.Logger.Warn("redis lost its data (its warm marker is gone): re-warming ratings and leaderboards from the archive; /readyz answers 503 until done")
	}
	loaded, err := s.Warm(ctx, w.each)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		w.Stats.Failures.Add(1)
		if w.lastFail.IsZero() || time.Since(w.lastFail) >= w.cfg.FailureLog {
			w.lastFail = time.Now()
			w.cfg.Logger.Warn("re-warming redis from the archive failed; retrying", "every", w.cfg.Interval, "down_for", time.Since(w.since).Round(time.Millisecond), "err", err)
		}
		return
	}
	w.Stats.Rewarmed.Add(1)
	w.cfg.Logger.Info("re-warmed redis from the archive", "ratings", loaded, "took", time.Since(w.since).Round(time.Millisecond))
	w.since, w.lastFail = time.Time{}, time.Time{}
}

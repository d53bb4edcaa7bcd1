package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

// wipe deletes every key of s, as a Redis restarted without its data would
// have lost them.
func wipe(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	keys, err := s.rdb.Keys(ctx, s.cfg.Prefix+"*").Result()
	if err != nil {
		t.Fatalf("list keys: %v", err)
	}
	if len(keys) > 0 {
		if err := s.rdb.Del(ctx, keys...).Err(); err != nil {
			t.Fatalf("wipe: %v", err)
		}
	}
}

// runWarmer runs w until the test ends and waits for it.
func runWarmer(t *testing.T, w *Warmer) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("Warmer.Run = %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// ratings is a fake archive of n duel ratings; failing, while set, makes
// it fail.
type ratings struct {
	n       int
	failing atomic.Bool
	during  func() // called once the first rating has been handed over
}

func (f *ratings) each(ctx context.Context, fn func(playerID, mode string, r match.Rating) error) error {
	if f.failing.Load() {
		return errors.New("archive down")
	}
	for i := range f.n {
		if err := fn(string(rune('a'+i)), "duel", match.Rating{Rating: 1500 + float64(i), Games: 1, Wins: 1}); err != nil {
			return err
		}
		if i == 0 && f.during != nil {
			f.during()
		}
	}
	return nil
}

// TestWarmerRewarms: a Redis that lost its data while the store runs is
// found cold, by a readiness probe, a leaderboard read or the periodic
// check; the store is not ready and refuses leaderboards until the Warmer
// has loaded the archive's ratings again, and then the boards are as
// before.
func TestWarmerRewarms(t *testing.T) {
	ctx := t.Context()
	a := openArchive(t)
	s := openTest(t, Config{Archive: a})
	playMatches(t, s, "", 6, 20)
	stop := runArchiver(t, s.NewArchiver(a, ArchiverConfig{}))
	waitDrained(t, s, 30*time.Second)
	stop()
	if _, err := s.Warm(ctx, a.EachRating); err != nil {
		t.Fatalf("Warm: %v", err)
	}
	want, err := s.Leaderboard(ctx, "duel", 10)
	if err != nil || len(want) != 6 {
		t.Fatalf("Leaderboard = %v, %v; want 6 players", want, err)
	}

	tests := []struct {
		name     string
		interval time.Duration
		find     func() error // a read that finds the loss before the check does, or nil
	}{
		{"found by a readiness probe", time.Hour, func() error { return s.Ready(ctx) }},
		{"found by a leaderboard read", time.Hour, func() error { _, err := s.Leaderboard(ctx, "duel", 10); return err }},
		{"found by the check", 20 * time.Millisecond, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := s.NewWarmer(a.EachRating, WarmerConfig{Interval: tt.interval})
			wipe(t, s)
			if tt.find != nil {
				if err := tt.find(); !errors.Is(err, ErrCold) {
					t.Errorf("reading a wiped Redis = %v, want ErrCold", err)
				}
				if _, err := s.Leaderboard(ctx, "duel", 10); !errors.Is(err, ErrCold) {
					t.Errorf("Leaderboard of a wiped Redis = %v, want ErrCold", err)
				}
				if err := s.Ready(ctx); !errors.Is(err, ErrCold) {
					t.Errorf("Ready of a wiped Redis = %v, want ErrCold", err)
				}
			}
			runWarmer(t, w)
			waitFor(t, 10*time.Second, "re-warmed", func() bool { return w.Stats.Rewarmed.Load() == 1 })
			if err := s.Ready(ctx); err != nil {
				t.Errorf("Ready after the re-warm = %v", err)
			}
			got, err := s.Leaderboard(ctx, "duel", 10)
			if err != nil {
				t.Fatalf("Leaderboard after the re-warm: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("leaderboard after the re-warm (-before +after):\n%s", diff)
			}
			if d := w.Stats.Detected.Load(); d != 1 {
				t.Errorf("Detected = %d, want 1", d)
			}
		})
	}
}

// TestWarmerRetries: while the archive fails, the store stays cold (not
// ready) and the Warmer keeps trying; once the archive answers, it warms.
func TestWarmerRetries(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, Config{})
	arch := &ratings{n: 3}
	if n, err := s.Warm(ctx, arch.each); err != nil || n != 3 {
		t.Fatalf("Warm = %d, %v; want 3", n, err)
	}
	arch.failing.Store(true)
	w := s.NewWarmer(arch.each, WarmerConfig{Interval: 10 * time.Millisecond})
	runWarmer(t, w)
	wipe(t, s)
	waitFor(t, 10*time.Second, "two failed attempts", func() bool { return w.Stats.Failures.Load() >= 2 })
	if err := s.Ready(ctx); !errors.Is(err, ErrCold) {
		t.Errorf("Ready while the archive fails = %v, want ErrCold", err)
	}
	if _, err := s.Leaderboard(ctx, "duel", 10); !errors.Is(err, ErrCold) {
		t.Errorf("Leaderboard while the archive fails = %v, want ErrCold", err)
	}
	arch.failing.Store(false)
	waitFor(t, 10*time.Second, "ready", func() bool { return s.Ready(ctx) == nil })
	if board, err := s.Leaderboard(ctx, "duel", 10); err != nil || len(board) != 3 {
		t.Errorf("Leaderboard after the re-warm = %v, %v; want 3 players", board, err)
	}
	if got := w.Stats.Rewarmed.Load(); got != 1 {
		t.Errorf("Rewarmed = %d, want 1", got)
	}
}

// TestWarmLostWhileWarming: a Redis that loses its data again during a Warm
// is not marked warm; the next Warm completes.
func TestWarmLostWhileWarming(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, Config{})
	arch := &ratings{n: 4}
	arch.during = func() { wipe(t, s) }
	if _, err := s.Warm(ctx, arch.each); err == nil {
		t.Fatal("Warm across a wipe succeeded, want an error")
	}
	if n, _ := s.rdb.Exists(ctx, s.keys.warm()).Result(); n != 0 {
		t.Error("the warm marker was set over a Redis wiped during the warm-up")
	}
	arch.during = nil
	if _, err := s.Warm(ctx, arch.each); err != nil {
		t.Errorf("Warm again: %v", err)
	}
	if n, _ := s.rdb.Exists(ctx, s.keys.warm()).Result(); n != 1 {
		t.Error("the warm marker is missing after a complete Warm")
	}
	if board, err := s.Leaderboard(ctx, "duel", 10); err != nil || len(board) != 4 {
		t.Errorf("Leaderboard = %v, %v; want 4 players", board, err)
	}
	if keys, _ := s.rdb.Keys(ctx, s.keys.warming("*")).Result(); len(keys) != 0 {
		t.Errorf("pending warm-up keys left behind: %v", keys)
	}
}

// TestNeverWarmed: a store that never warmed (Redis without an archive)
// expects no marker: an empty Redis is simply empty, and ready.
func TestNeverWarmed(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, Config{})
	if board, err := s.Leaderboard(ctx, "duel", 10); err != nil || len(board) != 0 {
		t.Errorf("Leaderboard = %v, %v; want empty", board, err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Errorf("Ready = %v", err)
	}
}

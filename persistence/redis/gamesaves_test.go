package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// runCheckpoints runs c (its flushes and its save writer) until the test
// ends, and waits for it then.
func runCheckpoints(t *testing.T, c *Checkpoints) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// testGame is version v of the game of match id.
func testGame(id string, v uint32) match.LiveGame {
	return match.LiveGame{MatchID: id, Mode: "chess", Players: []string{"a", "b"}, Version: v,
		State: fmt.Appendf(nil, `{"moves":%d}`, v), SavedAt: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
}

// saveAsync saves g in a goroutine of its own and returns where its error
// will arrive.
func saveAsync(ctx context.Context, c *Checkpoints, g match.LiveGame) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- c.SaveGame(ctx, g) }()
	return errc
}

// checkVersion fails unless Redis holds version want of match id's game.
func checkVersion(t *testing.T, s *Store, id string, want uint32) {
	t.Helper()
	got, found, err := s.LoadGame(t.Context(), id)
	if err != nil || !found || got.Version != want {
		t.Errorf("LoadGame(%s) = version %d, found %v, %v; want version %d", id, got.Version, found, err, want)
	}
}

// TestSaveGameConcurrent: many rooms saving at once, each game several
// times in a row, have every save confirmed, in fewer pipelines than
// saves, and Redis holds each game's last version.
func TestSaveGameConcurrent(t *testing.T) {
	s := openTest(t, Config{})
	c := s.NewCheckpoints(CheckpointConfig{Node: "n"})
	runCheckpoints(t, c)
	const games, versions = 200, 5
	var wg sync.WaitGroup
	errs := make(chan error, games*versions)
	for i := range games {
		wg.Go(func() {
			for v := range uint32(versions) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				errs <- c.SaveGame(ctx, testGame(fmt.Sprintf("m%d", i), v+1))
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("SaveGame: %v", err)
		}
	}
	for i := range games {
		checkVersion(t, s, fmt.Sprintf("m%d", i), versions)
	}
	saves, batches := c.Stats.GameSaves.Load(), c.Stats.SaveBatches.Load()
	t.Logf("%d saves in %d pipelines", saves, batches)
	if saves != games*versions || batches >= saves {
		t.Errorf("GameSaves, SaveBatches = %d, %d; want %d in fewer pipelines", saves, batches, games*versions)
	}
}

// TestSaveGameBatchTakenOver: in one pipeline, the save of a match another
// node has taken over is refused with ErrTakenOver and writes nothing,
// while the others in the same pipeline are written.
func TestSaveGameBatchTakenOver(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	if err := s.rdb.HSet(ctx, s.keys.match("taken"), "node", "other").Err(); err != nil {
		t.Fatal(err)
	}
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour})
	ids := []string{"m1", "m2", "taken", "m3", "m4"}
	results := make([]<-chan error, len(ids))
	for i, id := range ids {
		results[i] = saveAsync(ctx, c, testGame(id, 7))
	}
	// Every save waits in the queue before the writer starts: one batch.
	waitFor(t, 5*time.Second, "the saves to be queued", func() bool { return c.saves.pending() == len(ids) })
	runCheckpoints(t, c)
	for i, id := range ids {
		err := <-results[i]
		if id == "taken" {
			if !errors.Is(err, ErrTakenOver) {
				t.Errorf("SaveGame(%s) = %v, want ErrTakenOver", id, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("SaveGame(%s) = %v, want nil", id, err)
		}
		checkVersion(t, s, id, 7)
	}
	if _, found, err := s.LoadGame(ctx, "taken"); found || err != nil {
		t.Errorf("LoadGame(taken) = %v, %v; want nothing written", found, err)
	}
	if n := c.Stats.SaveBatches.Load(); n != 1 {
		t.Errorf("SaveBatches = %d, want 1", n)
	}
}

// TestSaveGameContext: SaveGame returns when its context ends, whether the
// save is still queued or Redis does not answer, and the saves after a
// stall are confirmed again.
func TestSaveGameContext(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		s := openTest(t, Config{})
		c := s.NewCheckpoints(CheckpointConfig{Node: "n"}) // not running: the save stays queued
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := c.SaveGame(ctx, testGame("m1", 1)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SaveGame = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("stalled", func(t *testing.T) {
		url, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBPersistence)
		s, err := Open(t.Context(), Config{URL: url, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour})
		runCheckpoints(t, c)
		if err := c.SaveGame(t.Context(), testGame("m1", 1)); err != nil {
			t.Fatal(err)
		}
		proxy.Stall(3 * time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := c.SaveGame(ctx, testGame("m1", 2)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SaveGame with Redis stalled = %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("SaveGame with a 200 ms deadline returned after %v", took)
		}
		// After the stall (the writer's pipeline ends with its deadline).
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := c.SaveGame(ctx, testGame("m1", 3)); err != nil {
			t.Errorf("SaveGame after the stall = %v", err)
		}
		checkVersion(t, s, "m1", 3)
	})
}

// TestSaveGameQueueFull: with MaxPendingSaves waiting, the next save fails
// at once with ErrSaveQueueFull and is counted; the queued ones are
// written once the writer runs.
func TestSaveGameQueueFull(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", MaxPendingSaves: 2, Flush: time.Hour})
	first, second := saveAsync(ctx, c, testGame("m1", 1)), saveAsync(ctx, c, testGame("m2", 1))
	waitFor(t, 5*time.Second, "two saves queued", func() bool { return c.saves.pending() == 2 })
	if err := c.SaveGame(ctx, testGame("m3", 1)); !errors.Is(err, ErrSaveQueueFull) {
		t.Errorf("the third save = %v, want ErrSaveQueueFull", err)
	}
	if n := c.Stats.SavesRefused.Load(); n != 1 {
		t.Errorf("SavesRefused = %d, want 1", n)
	}
	runCheckpoints(t, c)
	for _, errc := range []<-chan error{first, second} {
		if err := <-errc; err != nil {
			t.Errorf("a queued save = %v", err)
		}
	}
	checkVersion(t, s, "m1", 1)
	checkVersion(t, s, "m2", 1)
}

// TestSaveGameShutdown: when Run stops, the saves still queued are sent
// (or, Redis being unreachable, failed — not left waiting), and later ones
// fail at once with ErrSavesStopped.
func TestSaveGameShutdown(t *testing.T) {
	t.Run("drained", func(t *testing.T) {
		s := openTest(t, Config{})
		c := s.NewCheckpoints(CheckpointConfig{Node: "n"})
		ctx := t.Context()
		pending := []<-chan error{saveAsync(ctx, c, testGame("m1", 1)), saveAsync(ctx, c, testGame("m2", 1))}
		waitFor(t, 5*time.Second, "two saves queued", func() bool { return c.saves.pending() == 2 })
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		if err := c.Run(stopped); err != nil {
			t.Fatalf("Run = %v", err)
		}
		for _, errc := range pending {
			if err := <-errc; err != nil {
				t.Errorf("a save queued at shutdown = %v, want it written", err)
			}
		}
		checkVersion(t, s, "m1", 1)
		if err := c.SaveGame(ctx, testGame("m3", 1)); !errors.Is(err, ErrSavesStopped) {
			t.Errorf("SaveGame after Run = %v, want ErrSavesStopped", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		url, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBPersistence)
		s, err := Open(t.Context(), Config{URL: withoutClientRetries(t, url), Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour})
		ctx := t.Context()
		errc := saveAsync(ctx, c, testGame("m1", 1)) // no deadline: only the shutdown ends it
		waitFor(t, 5*time.Second, "the save queued", func() bool { return c.saves.pending() == 1 })
		proxy.Stall(time.Minute)
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		if err := c.Run(stopped); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if err := <-errc; err == nil {
			t.Error("a save queued at shutdown with Redis stalled = nil, want an error")
		}
		// go-redis does not cut a socket read short at a context's
		// deadline (ContextTimeoutEnabled is off): the last pipeline and
		// the last flush each end at its ReadTimeout, 5 s.
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("Run took %v to stop with Redis stalled", took)
		}
	})
}

// TestSaveGameNoScript: a Redis that lost its script cache (a restart,
// SCRIPT FLUSH) after the store loaded it still takes the saves: the
// writer loads the script and sends the batch again.
func TestSaveGameNoScript(t *testing.T) {
	r := servicetest.NewPrivateRedis(t)
	s, err := Open(t.Context(), Config{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour})
	runCheckpoints(t, c)
	ctx := t.Context()
	if err := c.SaveGame(ctx, testGame("m1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := c.Stats.SaveBatches.Load()
	if err := c.SaveGame(ctx, testGame("m1", 2)); err != nil {
		t.Fatalf("SaveGame after SCRIPT FLUSH = %v", err)
	}
	if n := c.Stats.SaveBatches.Load() - before; n != 2 {
		t.Errorf("%d pipelines for a save after SCRIPT FLUSH, want 2 (NOSCRIPT, then again)", n)
	}
	checkVersion(t, s, "m1", 2)
}

// TestSaveGameOrder: two saves of one match waiting together go in two
// pipelines, the older first, so Redis ends with the newer — however many
// writers are idle.
func TestSaveGameOrder(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour, SaveWriters: 4})
	older := saveAsync(ctx, c, testGame("m1", 1))
	waitFor(t, 5*time.Second, "the first save queued", func() bool { return c.saves.pending() == 1 })
	newer := saveAsync(ctx, c, testGame("m1", 2))
	other := saveAsync(ctx, c, testGame("m2", 1))
	waitFor(t, 5*time.Second, "three saves queued", func() bool { return c.saves.pending() == 3 })
	runCheckpoints(t, c)
	for _, errc := range []<-chan error{older, newer, other} {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	checkVersion(t, s, "m1", 2)
	checkVersion(t, s, "m2", 1)
	if n := c.Stats.SaveBatches.Load(); n != 2 {
		t.Errorf("SaveBatches = %d, want 2 (m1's older save and m2's, then m1's newer)", n)
	}
}

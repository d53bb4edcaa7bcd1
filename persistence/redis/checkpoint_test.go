package redis

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	"github.com/google/go-cmp/cmp"
)

func checkpoint(id string, tick uint32) match.Checkpoint {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return match.Checkpoint{
		MatchID: id, Mode: "duel", Status: match.StatusRunning, Tick: tick,
		CreatedAt: created, StartedAt: created.Add(time.Second),
		Players: []match.PlayerResult{{PlayerID: "a", Entity: 1, Score: tick}, {PlayerID: "b", Entity: 2, Forfeit: true}},
		State:   []byte{0x0a, byte(tick), 0x00, 0xff},
	}
}

func running(t *testing.T, c *Checkpoints) []string {
	t.Helper()
	ids, err := c.Running(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// TestCheckpointDirectory: saved checkpoints reach the directory at the
// next flush, newer ones replacing older unsent ones; ended matches leave
// it; past MaxPending new matches are dropped and counted.
func TestCheckpointDirectory(t *testing.T) {
	s := openTest(t, Config{})
	c := s.NewCheckpoints(CheckpointConfig{Node: "n1", MaxPending: 3})
	ctx := t.Context()
	c.Save(checkpoint("m1", 10))
	c.Save(checkpoint("m1", 20)) // replaces tick 10
	c.Save(checkpoint("m2", 20))
	c.Save(checkpoint("m3", 20))
	c.Save(checkpoint("m4", 20)) // over MaxPending
	if err := c.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := running(t, c); !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Errorf("running = %v, want m1 m2 m3", got)
	}
	if w, sup, d := c.Stats.Written.Load(), c.Stats.Superseded.Load(), c.Stats.Dropped.Load(); w != 3 || sup != 1 || d != 1 {
		t.Errorf("written, superseded, dropped = %d, %d, %d; want 3, 1, 1", w, sup, d)
	}
	c.Ended("m2")
	c.Save(checkpoint("m3", 30))
	if err := c.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := running(t, c); !slices.Equal(got, []string{"m1", "m3"}) {
		t.Errorf("running after m2 ended = %v, want m1 m3", got)
	}
	// A restart under the same name finds them all as orphans, as saved.
	again := s.NewCheckpoints(CheckpointConfig{Node: "n1"})
	orphans, err := again.Orphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(orphans, func(a, b match.Checkpoint) int { return strings.Compare(a.MatchID, b.MatchID) })
	want := []match.Checkpoint{checkpoint("m1", 20), checkpoint("m3", 30)}
	if diff := cmp.Diff(want, orphans); diff != "" {
		t.Errorf("orphans (-want +got):\n%s", diff)
	}
}

// TestOrphansOfDeadNodes: a live node's matches are not orphans; a dead
// node's are, and exactly one of two claimants gets each.
func TestOrphansOfDeadNodes(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	dead := s.NewCheckpoints(CheckpointConfig{Node: "dead"})
	alive := s.NewCheckpoints(CheckpointConfig{Node: "alive"})
	for i, c := range []*Checkpoints{dead, dead, alive} {
		c.Save(checkpoint(string(rune('a'+i)), 5))
		if err := c.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.rdb.Del(ctx, s.keys.node("dead")) // its heartbeat expires

	first := s.NewCheckpoints(CheckpointConfig{Node: "first"})
	second := s.NewCheckpoints(CheckpointConfig{Node: "second"})
	got1, err := first.Orphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got2, err := second.Orphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cp := range append(got1, got2...) {
		ids = append(ids, cp.MatchID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("orphans claimed = %v, want a and b, once each", ids)
	}
}

// TestAbandoned: a running node claims the matches of a peer that died
// (once between two claimants), never its own nor a live peer's, and
// forgets the dead node; with every node alive it claims nothing.
func TestAbandoned(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	nodes := map[string]*Checkpoints{}
	for i, name := range []string{"dead", "dead", "alive", "first", "second"} {
		c := nodes[name]
		if c == nil {
			c = s.NewCheckpoints(CheckpointConfig{Node: name, URL: "http://" + name})
			nodes[name] = c
		}
		c.Save(checkpoint(string(rune('a'+i)), 5))
		if err := c.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	first, second := nodes["first"], nodes["second"]
	if got, err := first.Abandoned(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Abandoned with every node alive = %+v, %v; want none", got, err)
	}
	s.rdb.Del(ctx, s.keys.node("dead")) // its heartbeat expires
	got1, err := first.Abandoned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got2, err := second.Abandoned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, cp := range append(got1, got2...) {
		ids = append(ids, cp.MatchID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a", "b"}) {
		t.Errorf("claimed = %v, want the dead node's a and b, once each", ids)
	}
	for _, id := range []string{"a", "b"} {
		if m, found, err := first.Lookup(ctx, id); err != nil || !found || m.Node != "first" || m.URL != "http://first" {
			t.Errorf("Lookup(%s) = %+v, %v, %v; want run by first at http://first", id, m, found, err)
		}
	}
	for id, node := range map[string]string{"c": "alive", "d": "first", "e": "second"} {
		if m, _, _ := first.Lookup(ctx, id); m.Node != node {
			t.Errorf("%s is run by %q, want %q still", id, m.Node, node)
		}
	}
	if known := s.rdb.SMembers(ctx, s.keys.nodes()).Val(); slices.Contains(known, "dead") {
		t.Errorf("nodes = %v: the dead node is still watched", known)
	}
}

// TestCheckpointsSurviveRedisOutage: a flush Redis refuses keeps its
// checkpoints (unless newer ones came meanwhile) for the next flush.
func TestCheckpointsSurviveRedisOutage(t *testing.T) {
	raw, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBPersistence)
	s, err := Open(t.Context(), Config{URL: raw, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.NewCheckpoints(CheckpointConfig{Node: "n"})
	c.Save(checkpoint("m1", 1))
	c.Save(checkpoint("m2", 1))
	proxy.Cut()
	if err := c.flush(t.Context()); err == nil {
		t.Fatal("flush with Redis cut off succeeded")
	}
	c.Save(checkpoint("m2", 2)) // newer than the failed one
	c.Ended("m1")
	proxy.Restore()
	if err := c.flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := running(t, c); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("running = %v, want m2", got)
	}
	orphans, err := s.NewCheckpoints(CheckpointConfig{Node: "n"}).Orphans(t.Context())
	if err != nil || len(orphans) != 1 || orphans[0].Tick != 2 {
		t.Errorf("orphans = %+v, %v; want m2 at tick 2", orphans, err)
	}
	if c.Stats.Failures.Load() != 1 {
		t.Errorf("Failures = %d, want 1", c.Stats.Failures.Load())
	}
}

// TestCheckpointWriterLogsOutageOnce: while Redis is cut off the writer
// retries with a growing wait and logs the outage once, not at every
// flush; when Redis is back it logs the recovery once and writes what was
// saved meanwhile.
func TestCheckpointWriterLogsOutageOnce(t *testing.T) {
	raw, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBPersistence)
	rec := &logRecorder{}
	// Without the client's own retries a flush fails at once, and one
	// every 10ms would log 100 lines a second if each failure were logged.
	s, err := Open(t.Context(), Config{URL: withoutClientRetries(t, raw), Prefix: prefix, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	c.Save(checkpoint("m1", 1))
	waitFor(t, 5*time.Second, "m1 in the directory", func() bool { return slices.Equal(running(t, c), []string{"m1"}) })
	rec.Lines() // whatever opening said

	proxy.Cut()
	c.Save(checkpoint("m1", 2))
	c.Save(checkpoint("m2", 1))
	c.Ended("m1") // wakes the writer; it must not hurry the retry
	c.Save(checkpoint("m3", 1))
	// At least a second of outage and ten failed flushes.
	cut := time.Now()
	waitFor(t, 10*time.Second, "ten failed flushes", func() bool {
		return c.Stats.Failures.Load() >= 10 && time.Since(cut) >= time.Second
	})
	proxy.Restore()
	waitFor(t, 5*time.Second, "m2 and m3 in the directory", func() bool {
		ids, err := c.Running(t.Context())
		slices.Sort(ids)
		return err == nil && slices.Equal(ids, []string{"m2", "m3"})
	})
	waitFor(t, time.Second, "the recovery logged", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.lines) >= 2
	})
	cancel()
	wg.Wait()
	checkOutageLogged(t, "checkpoint writer", rec.Lines())
	t.Logf("%d failed flushes in %v", c.Stats.Failures.Load(), time.Since(cut).Round(time.Millisecond))
}

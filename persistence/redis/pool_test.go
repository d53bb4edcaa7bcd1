package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/match/matchmaker/pooltest"
)

// TestPoolContract runs the matchmaker's pool contract suite on the real
// Redis, each test on a prefix of its own, Second on connections of its
// own (another process).
func TestPoolContract(t *testing.T) {
	pooltest.Run(t, func(t *testing.T, logLen int) pooltest.Fixture {
		s := openTest(t, Config{})
		cfg := PoolConfig{LogLen: int64(logLen)}
		p := s.NewPool(cfg)
		return pooltest.Fixture{
			Pool:   p,
			Second: samePrefix(t, s).NewPool(cfg),
			Forget: func(t *testing.T, id string) {
				if err := p.s.rdb.Del(t.Context(), p.ticketKey(id)).Err(); err != nil {
					t.Fatal(err)
				}
				if err := p.s.rdb.ZRem(t.Context(), p.queueKey(), id).Err(); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// samePrefix opens a second store (its own connections: another process)
// on s's Redis and prefix.
func samePrefix(t *testing.T, s *Store) *Store {
	t.Helper()
	s2, err := Open(t.Context(), Config{URL: s.cfg.URL, Prefix: s.cfg.Prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s2.Close() })
	return s2
}

// TestPoolChangesBatches: a reader far behind reads the log in batches of
// Batch, told More until it has caught up.
func TestPoolChangesBatches(t *testing.T) {
	s := openTest(t, Config{})
	p := s.NewPool(PoolConfig{Batch: 5})
	ctx := t.Context()
	if err := p.Alive(ctx, "h1", time.Minute); err != nil {
		t.Fatal(err)
	}
	first, err := p.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		pt := matchmaker.PoolTicket{ID: fmt.Sprint("t", i), PlayerID: fmt.Sprint("p", i), Mode: "duel", CreatedAt: time.Now(), Home: "h1"}
		if _, err := p.Publish(ctx, pt, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	cursor, got := first.Cursor, 0
	for calls := 1; ; calls++ {
		ch, err := p.Changes(ctx, cursor)
		if err != nil || ch.Reset {
			t.Fatalf("Changes = %+v, %v; want changes, no reset", ch, err)
		}
		if len(ch.Changes) > 5 {
			t.Fatalf("a batch of %d changes, want at most Batch 5", len(ch.Changes))
		}
		got += len(ch.Changes)
		cursor = ch.Cursor
		if !ch.More {
			break
		}
		if calls > 4 {
			t.Fatalf("More never ends")
		}
	}
	if got != 12 {
		t.Errorf("read %d changes in batches, want 12", got)
	}
}

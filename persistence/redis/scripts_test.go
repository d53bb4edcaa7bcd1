package redis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	goredis "github.com/redis/go-redis/v9"
)

// TestOpenLoadsScripts: a store opened on a Redis that has never seen its
// scripts has loaded every one of them (so none's first EVALSHA fails with
// NOSCRIPT), the matchmaking pool's and the game saves' among them; and a
// URL without pool_size gets DefaultPoolSize connections.
func TestOpenLoadsScripts(t *testing.T) {
	r := servicetest.NewPrivateRedis(t)
	s, err := Open(t.Context(), Config{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if len(scripts) < 11 {
		t.Fatalf("%d scripts registered, want every one of the package's (11 or more)", len(scripts))
	}
	hashes := make([]string, len(scripts))
	for i, sc := range scripts {
		hashes[i] = sc.Hash()
	}
	exists, err := s.rdb.ScriptExists(t.Context(), hashes...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range exists {
		if !ok {
			t.Errorf("script %s not loaded", hashes[i])
		}
	}
	for name, sc := range map[string]*goredis.Script{"poolPublish": poolPublish, "poolFree": poolFree, "saveGame": saveGame, "claimOrphan": claimOrphan} {
		if !slices.Contains(scripts, sc) {
			t.Errorf("%s is not among the scripts loaded at Open", name)
		}
	}
	if got := s.rdb.Options().PoolSize; got < DefaultPoolSize {
		t.Errorf("PoolSize = %d, want at least %d", got, DefaultPoolSize)
	}

	// A pool operation and a save on the fresh Redis: no NOSCRIPT.
	c := s.NewCheckpoints(CheckpointConfig{Node: "n", Flush: time.Hour})
	runCheckpoints(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.SaveGame(ctx, testGame("m1", 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.NewPool(PoolConfig{}).Free(ctx, "m1", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	info, err := s.rdb.Info(ctx, "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(info, "NOSCRIPT") {
		t.Errorf("Redis answered NOSCRIPT:\n%s", info)
	}
}

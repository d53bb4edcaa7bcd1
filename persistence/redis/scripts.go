package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// scripts is every Lua script the store runs, as newScript registered
// them, and sources their sources, in the same order: LoadScripts loads
// them all.
var (
	scripts []*goredis.Script
	sources []string
)

// newScript is goredis.NewScript for the package's scripts: it registers
// the script for LoadScripts. Call it only from package-level variable
// declarations.
func newScript(src string) *goredis.Script {
	s := goredis.NewScript(src)
	scripts = append(scripts, s)
	sources = append(sources, src)
	return s
}

// LoadScripts loads every script the store runs (the player, warm-up,
// match-directory, game-save and matchmaking-pool scripts) into Redis's
// script cache, in one round trip. Open calls it. Without it the first
// EVALSHA of each script after Redis started fails with NOSCRIPT and costs
// a second round trip (go-redis then sends EVAL): when thousands of
// matches end at once, thousands of them. A Redis that restarts later
// loses the cache again; the scripts are then reloaded as they are used
// (EVAL, or for the game saves' pipelines a SCRIPT LOAD and one retry).
func (s *Store) LoadScripts(ctx context.Context) error {
	// Not Script.Load: in a pipeline it would set the script's hash to
	// the reply before there is one (empty).
	cmds := make([]*goredis.StringCmd, len(sources))
	_, err := s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, src := range sources {
			cmds[i] = pipe.ScriptLoad(ctx, src)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load %d scripts into redis: %w", len(scripts), err)
	}
	for i, cmd := range cmds {
		if h := cmd.Val(); h != scripts[i].Hash() {
			return fmt.Errorf("load scripts into redis: hash %q for a script whose SHA-1 is %s", h, scripts[i].Hash())
		}
	}
	return nil
}

package bench

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStats reads the command counts of the Redis a server under test
// uses (ChessConfig.RedisURL), from INFO commandstats: every command any
// client of that Redis ran, so the Redis must serve this server alone for
// the figure to be the server's.
type redisStats struct {
	rdb *redis.Client
}

// newRedisStats connects to the Redis at rawURL (redis://host:port/db) and
// checks that it answers INFO commandstats.
func newRedisStats(ctx context.Context, rawURL string) (*redisStats, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bench: redis URL %q: %w", rawURL, err)
	}
	opts.PoolSize = 1
	s := &redisStats{rdb: redis.NewClient(opts)}
	if _, err := s.calls(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// calls returns how many commands the Redis has run since its statistics
// were last reset, by command, INFO itself excepted (the generator's own
// reads).
func (s *redisStats) calls(ctx context.Context) (commandCounts, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	text, err := s.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("bench: redis INFO commandstats: %w", err)
	}
	return parseCommandStats(text)
}

func (s *redisStats) close() error { return s.rdb.Close() }

// commandCounts is what INFO commandstats says: the calls of each command
// ("get", "evalsha", "client|setinfo") since the statistics were reset.
//
// Redis counts a script's own commands (redis.call) under their names as
// well as the EVALSHA that ran it: a script of two commands is one round
// trip and three calls here. And a pipeline's commands are counted one by
// one though they travel together. The counts are commands Redis ran, not
// round trips.
type commandCounts map[string]uint64

// total is the sum over every command.
func (c commandCounts) total() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// since returns c − before, command by command: what ran in between. A
// command absent from before counts from 0; one whose count went down
// (the statistics were reset in between) counts from 0 too.
func (c commandCounts) since(before commandCounts) commandCounts {
	d := make(commandCounts, len(c))
	for name, v := range c {
		if b := before[name]; b <= v {
			v -= b
		}
		if v > 0 {
			d[name] = v
		}
	}
	return d
}

// parseCommandStats reads the calls of INFO commandstats' lines
// ("cmdstat_get:calls=12,usec=40,…"), leaving out INFO's own.
func parseCommandStats(text string) (commandCounts, error) {
	counts := commandCounts{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, fields, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		for f := range strings.SplitSeq(fields, ",") {
			v, ok := strings.CutPrefix(f, "calls=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bench: redis INFO commandstats: %q: %w", sc.Text(), err)
			}
			counts[strings.TrimPrefix(name, "cmdstat_")] += n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: redis INFO commandstats: %w", err)
	}
	return counts, nil
}

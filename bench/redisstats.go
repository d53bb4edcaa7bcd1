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
// were last reset, INFO itself excepted (the generator's own reads).
func (s *redisStats) calls(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	text, err := s.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: redis INFO commandstats: %w", err)
	}
	return parseCommandStats(text)
}

func (s *redisStats) close() error { return s.rdb.Close() }

// parseCommandStats sums the calls of INFO commandstats' lines
// ("cmdstat_get:calls=12,usec=40,…"), leaving out INFO's own.
func parseCommandStats(text string) (uint64, error) {
	var total uint64
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
				return 0, fmt.Errorf("bench: redis INFO commandstats: %q: %w", sc.Text(), err)
			}
			total += n
		}
	}
	return total, sc.Err()
}

package redis

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	goredis "github.com/redis/go-redis/v9"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	url, prefix := servicetest.Redis(b, servicetest.DBPersistence)
	s, err := Open(b.Context(), Config{URL: url, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkCheckpointFlush measures the match directory's throughput: each
// op is one flush of one checkpoint for every one of `matches` running
// matches (10 players, a 400-byte snapshot each), as the writer sends them.
// checkpoints/s is what Redis absorbs; divided by the tick rate it is how
// many matches could checkpoint every tick.
func BenchmarkCheckpointFlush(b *testing.B) {
	for _, matches := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("matches=%d", matches), func(b *testing.B) {
			s := openBench(b)
			c := s.NewCheckpoints(CheckpointConfig{Node: "bench"})
			state := make([]byte, 400)
			cps := make([]match.Checkpoint, matches)
			for i := range cps {
				cps[i] = match.Checkpoint{MatchID: fmt.Sprintf("m%d", i), Mode: "ffa", Status: match.StatusRunning, State: state,
					CreatedAt: time.Now(), StartedAt: time.Now()}
				for p := range 10 {
					cps[i].Players = append(cps[i].Players, match.PlayerResult{PlayerID: fmt.Sprintf("p%d-%d", i, p), Entity: match.EntityID(p + 1), Score: uint32(p)})
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				for j := range cps {
					cps[j].Tick = uint32(i)
					c.Save(cps[j])
				}
				if err := c.flush(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.Stats.Written.Load())/b.Elapsed().Seconds(), "checkpoints/s")
		})
	}
}

// BenchmarkArchiver measures the archiver end to end: records read from the
// Redis stream, written to Postgres in batches, acknowledged and deleted.
// Each op archives one result (a duel, or a 10-player ffa) with its
// players' ratings and rating history; results/s is the figure to hold
// against the 10,000/s goal.
func BenchmarkArchiver(b *testing.B) {
	for _, tt := range []struct{ players, archivers int }{{2, 1}, {2, 2}, {10, 1}, {10, 2}} {
		b.Run(fmt.Sprintf("players=%d/archivers=%d", tt.players, tt.archivers), func(b *testing.B) {
			s := openBench(b)
			pg := openArchive(b)
			ctx := b.Context()
			n := b.N
			// Fill the stream outside the timer, in pipelined chunks.
			for start := 0; start < n; start += 1000 {
				_, err := s.rdb.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
					for i := start; i < min(start+1000, n); i++ {
						v, err := json.Marshal(benchSettlement(i, tt.players))
						if err != nil {
							return err
						}
						pipe.XAdd(ctx, &goredis.XAddArgs{Stream: s.keys.stream(), Values: []any{"k", kindSettle, "v", v}})
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			// Several archivers share the stream as one consumer group,
			// as several servers (or goroutines) would.
			var archived atomic.Uint64
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range tt.archivers {
				arch := s.NewArchiver(pg, ArchiverConfig{Consumer: fmt.Sprintf("bench-%d", i), BatchSize: 1000, Block: 10 * time.Millisecond})
				wg.Go(func() {
					for archived.Load() < uint64(n) {
						before := arch.Stats.Archived.Load()
						if err := arch.step(ctx); err != nil {
							b.Error(err)
							return
						}
						archived.Add(arch.Stats.Archived.Load() - before)
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "results/s")
		})
	}
}

// benchSettlement is the i-th of a run of distinct results of players
// players each, drawn from a pool of 5,000.
func benchSettlement(i, players int) persistence.Settlement {
	now := time.Now().UTC()
	res := match.Result{MatchID: fmt.Sprintf("bench-%d", i), Mode: "arena", Reason: "time_limit",
		CreatedAt: now, StartedAt: now, EndedAt: now, Ticks: 3600}
	st := persistence.Settlement{Ratings: make(map[string]match.Rating, players)}
	for p := range players {
		id := fmt.Sprintf("bp%d", (i*players+p)%5000)
		res.Players = append(res.Players, match.PlayerResult{PlayerID: id, Entity: match.EntityID(p + 1), Score: uint32(10 - p), Placement: p + 1,
			RatingBefore: 1500, RatingAfter: 1500 + float64(5-p)})
		st.Ratings[id] = match.Rating{Rating: 1500 + float64(5-p), Games: i + 1, Losses: i + 1}
		st.Players = append(st.Players, persistence.Player{ID: id, Name: id, CreatedAt: now})
	}
	st.Result = res
	return st
}

package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// BenchmarkSaveGame measures live-game saves as a busy server's chess
// rooms make them, on a go-redis pool of `pool` connections (10 is
// go-redis's default for a server on one core): each of `games` rooms
// waits for a move (a think time uniform in 0–3.5 s, 1.75 s on average,
// as arbiter-bench's bots), spends moveWork of CPU on it (the rules, the
// encoding: what the server spends on a move besides the save), saves its
// game (the snapshot of a 40-ply game, ~600 bytes) and spends sendWork
// more. Each op is one move; the server at 5,000 games makes ~2,800 a
// second. p50-µs and p99-µs are a save's latency as its room sees it;
// cpu-µs/op is this process's CPU time per move (the work included; not
// Redis's). Run it with -cpu 1, as the server runs, and a fixed
// -benchtime (such as 10000x: a run is then N / (games / 1.75 s) long).
func BenchmarkSaveGame(b *testing.B) {
	for _, games := range []int{1000, 5000} {
		for _, pool := range []int{10, 100} {
			b.Run(fmt.Sprintf("games=%d/pool=%d", games, pool), func(b *testing.B) {
				benchSaveGame(b, games, pool, true)
			})
		}
	}
}

// BenchmarkSaveGameSaturated is BenchmarkSaveGame without the think time
// and the work: each room saves again as soon as its save returned, as
// many as Redis and this process can take. ns/op is the throughput's
// inverse, cpu-µs/op this process's CPU time per save: what a save costs
// a server whose core is its bottleneck.
func BenchmarkSaveGameSaturated(b *testing.B) {
	for _, games := range []int{100, 1000} {
		for _, pool := range []int{10, 100} {
			b.Run(fmt.Sprintf("games=%d/pool=%d", games, pool), func(b *testing.B) {
				benchSaveGame(b, games, pool, false)
			})
		}
	}
}

// The CPU a move costs the server besides its save, before and after it.
const (
	moveWork = 150 * time.Microsecond
	sendWork = 50 * time.Microsecond
	think    = 3500 * time.Millisecond // the longest; uniform from 0
)

// spin burns about d of CPU (calibrated once), whatever the scheduler does
// meanwhile.
func spin(d time.Duration) {
	n := int(d.Nanoseconds() * spinPerNs.Load() / 1000)
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	spinSink.Store(x)
}

var (
	spinPerNs atomic.Int64 // loop iterations per 1000 ns
	spinSink  atomic.Uint64
	calibrate sync.Once
)

func calibrateSpin() {
	calibrate.Do(func() {
		spinPerNs.Store(1000)
		for {
			start := processCPU()
			spin(100 * time.Millisecond)
			took := processCPU() - start
			if took <= 0 {
				return // no CPU clock here: leave it rough
			}
			perNs := spinPerNs.Load() * int64(100*time.Millisecond) / int64(took)
			spinPerNs.Store(perNs)
			if took > 90*time.Millisecond && took < 110*time.Millisecond {
				return
			}
		}
	})
}

func benchSaveGame(b *testing.B, games, pool int, paced bool) {
	rawURL, prefix := servicetest.Redis(b, servicetest.DBBench)
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_size", strconv.Itoa(pool))
	u.RawQuery = q.Encode()
	s, err := Open(b.Context(), Config{URL: u.String(), Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	c := s.NewCheckpoints(CheckpointConfig{Node: "bench", Flush: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { _ = c.Run(ctx) })
	defer func() { cancel(); run.Wait() }()

	state := []byte(`{"white":"player-white-0001","black":"player-black-0002","clock":{"base":180000000000,"increment":2000000000},"moves":[`)
	for i := range 40 {
		if i > 0 {
			state = append(state, ',')
		}
		state = append(state, `"e2e4"`...)
	}
	state = append(state, `],"status":"playing","white_left":171000000000,"black_left":169000000000,"turn":"white","turn_since":"2026-12-06T08:00:00Z","started":"2026-12-06T07:55:00Z","version":41}`...)
	// Every game saved once before the clock starts: the directory entries
	// exist, as in a running server.
	save := func(i int, v uint32) error {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		return c.SaveGame(sctx, match.LiveGame{MatchID: "m" + strconv.Itoa(i), Mode: "chess", Players: []string{"a", "b"},
			Version: v, State: state, SavedAt: time.Now()})
	}
	var setup sync.WaitGroup
	for i := range games {
		setup.Go(func() {
			if err := save(i, 0); err != nil {
				b.Error(err)
			}
		})
	}
	setup.Wait()

	calibrateSpin()
	var next atomic.Int64
	lat := make([][]time.Duration, games)
	var wg sync.WaitGroup
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range games {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if paced {
					time.Sleep(time.Duration(rng.Int64N(int64(think))))
					spin(moveWork)
				}
				start := time.Now()
				if err := save(i, uint32(n)); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(start))
				if paced {
					spin(sendWork)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := processCPU() - cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

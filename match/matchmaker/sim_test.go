package matchmaker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

var simDuel = match.Mode{Name: "duel", Players: 2, MinPlayers: 2}

// simResult is what one simulated run of the duel queue measured.
type simResult struct {
	waits   []time.Duration // per matched player, from enqueue to match
	gaps    []float64       // per match, |ra − rb|
	firsts  []time.Duration // per match, the wait of its older ticket
	expired int             // tickets that reached the TTL unmatched
	expWait time.Duration   // their wait: the TTL
	cycles  int             // pair calls
	spread  float64         // max − min skill of the population
}

// simulate runs players duel tickets through a queue with window w, on a
// simulated clock: skills ~ Normal(1500, 300), used as the ratings, Poisson
// arrivals at rate per second, tickets expiring after ttl. Like Run, it
// pairs at every arrival and at every instant pair asks for, and nowhere
// else. It is deterministic for a seed.
func simulate(t *testing.T, seed uint64, players int, rate float64, w Window, ttl time.Duration) simResult {
	t.Helper()
	rng := newRand(seed)
	q := newQueue(simDuel, w)
	var res simResult
	lo, hi := math.Inf(1), math.Inf(-1)
	now, arrival := t0, t0
	var wake time.Time
	for arrived := 0; ; {
		switch {
		case arrived < players && (wake.IsZero() || !wake.Before(arrival)):
			now = arrival
			skill := 1500 + 300*rng.NormFloat64()
			lo, hi = min(lo, skill), max(hi, skill)
			arrived++
			q.add(&member{PoolTicket: PoolTicket{PlayerID: fmt.Sprint(arrived), Rating: skill, CreatedAt: now, Seq: uint64(arrived)}})
			arrival = arrival.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
		case !wake.IsZero():
			now = wake
		default:
			res.spread = hi - lo
			return res
		}
		if out, _ := q.expire(now, ttl, 0); len(out) > 0 {
			res.expired += len(out)
			res.expWait = ttl
		}
		groups, next := q.pair(now)
		res.cycles++
		for _, g := range groups {
			a, b := g[0], g[1]
			gap := math.Abs(a.Rating - b.Rating)
			for _, p := range g {
				waited := now.Sub(p.CreatedAt)
				if win := w.At(waited); gap > win {
					t.Fatalf("at %v: match of %.0f and %.0f: gap %.1f beyond the window %.1f of a ticket %v old",
						now.Sub(t0), a.Rating, b.Rating, gap, win, waited)
				}
				res.waits = append(res.waits, waited)
			}
			res.gaps = append(res.gaps, gap)
			res.firsts = append(res.firsts, now.Sub(a.CreatedAt)) // seat order: a is the older
		}
		if _, due := q.expire(now, ttl, 0); !due.IsZero() {
			next = earliestSet(next, due)
		}
		wake = next
	}
}

func quantile[T int64 | float64 | time.Duration](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)]
}

func TestSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 10,000 players; skipped with -short")
	}
	const (
		seed    = 20300101
		players = 10_000
		rate    = 20.0 // arrivals per second
		ttl     = 10 * time.Minute
	)
	widen := func(max float64) Window { return Window{Start: 100, Step: 50, Interval: 5 * time.Second, Max: max} }
	tests := []struct {
		name string
		give Window
	}{
		{"±100 +50/5s, no cap", widen(0)},
		{"±100 +50/5s, cap 600", widen(600)},
		{"±100 +50/5s, cap 200", widen(200)},
		{"±100, no widening", Window{Start: 100}},
	}
	results := make([]simResult, len(tests))
	for i, tt := range tests {
		res := simulate(t, seed, players, rate, tt.give, ttl)
		results[i] = res
		maxWait := max(slices.Max(res.waits), res.expWait)
		t.Logf("%-22s matched %5d/%d, expired %d | wait p50 %v p95 %v max %v (older of the pair: p50 %v p95 %v) | gap p50 %.1f p95 %.1f max %.1f | %d cycles",
			tt.name, len(res.waits), players, res.expired,
			quantile(res.waits, 0.5).Round(time.Millisecond), quantile(res.waits, 0.95).Round(time.Millisecond),
			maxWait.Round(time.Millisecond),
			quantile(res.firsts, 0.5).Round(time.Millisecond), quantile(res.firsts, 0.95).Round(time.Millisecond),
			quantile(res.gaps, 0.5), quantile(res.gaps, 0.95), slices.Max(res.gaps), res.cycles)

		if got := len(res.waits) + res.expired + 0; got != players && got != players-1 {
			t.Errorf("%s: %d players matched or expired, want all %d (but a last odd one)", tt.name, got, players)
		}
		if tt.give.Max > 0 {
			if got := slices.Max(res.gaps); got > tt.give.Max {
				t.Errorf("%s: largest gap %.1f, want ≤ the cap %v", tt.name, got, tt.give.Max)
			}
		}
	}

	// Without a cap, everyone plays, and nobody waits longer than it takes
	// a window to cover the whole population's spread.
	uncapped := results[0]
	if len(uncapped.waits) != players || uncapped.expired != 0 {
		t.Errorf("no cap: %d matched, %d expired; want all %d matched", len(uncapped.waits), uncapped.expired, players)
	}
	k, _ := tests[0].give.stepsTo(uncapped.spread)
	bound := time.Duration(k) * tests[0].give.Interval
	t.Logf("skill spread %.0f: a window covers it after %v", uncapped.spread, bound)
	if got := slices.Max(uncapped.waits); got > bound {
		t.Errorf("no cap: max wait %v, want ≤ %v (a window covering the spread of %.0f)", got, bound, uncapped.spread)
	}
	if got := quantile(uncapped.gaps, 0.95); got > 100 {
		t.Errorf("no cap: p95 gap %.1f, want ≤ the starting window 100 at this arrival rate", got)
	}
	// A narrower cap or none at all leaves the outliers waiting out the TTL.
	if results[3].expired == 0 {
		t.Errorf("no widening: no ticket expired; want the outliers to")
	}
	for i := range results[1:] {
		if a, b := slices.Max(results[i].waits), max(slices.Max(results[i+1].waits), results[i+1].expWait); a > b {
			t.Errorf("max wait of %q (%v) above that of %q (%v): want a wider window to wait less", tests[i].name, a, tests[i+1].name, b)
		}
	}
}

// BenchmarkPairing measures one full pairing cycle over a duel queue of n
// tickets, none indexed yet (the worst case: a cycle after n arrivals), with
// ratings ~ Normal(1500, 300) and ages spread over the last minute.
func BenchmarkPairing(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			rng := newRand(1)
			now := t0.Add(time.Hour)
			tickets := make([]member, n)
			ages := make([]time.Duration, n)
			for i := range ages {
				ages[i] = time.Duration(rng.Int64N(int64(time.Minute)))
			}
			slices.SortFunc(ages, func(a, b time.Duration) int { return int(b - a) })
			for i := range tickets {
				tickets[i] = member{PoolTicket: PoolTicket{Rating: 1500 + 300*rng.NormFloat64(), CreatedAt: now.Add(-ages[i]), Seq: uint64(i + 1)}}
			}
			q := newQueue(simDuel, DefaultWindow())
			var matched int
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				q.reset()
				for i := range tickets {
					q.add(&tickets[i])
				}
				b.StartTimer()
				groups, _ := q.pair(now)
				matched += 2 * len(groups)
			}
			b.ReportMetric(float64(matched)/float64(b.N), "matched/op")
		})
	}
}

package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestWindowAt(t *testing.T) {
	widening := Window{Start: 100, Step: 50, Interval: 5 * time.Second, Max: 300}
	tests := []struct {
		name       string
		giveWindow Window
		giveWaited time.Duration
		want       float64
	}{
		{"at once", widening, 0, 100},
		{"just before the first step", widening, 5*time.Second - 1, 100},
		{"first step", widening, 5 * time.Second, 150},
		{"between steps", widening, 12 * time.Second, 200},
		{"last step below the cap", widening, 15 * time.Second, 250},
		{"capped", widening, 20 * time.Second, 300},
		{"capped long after", widening, time.Hour, 300},
		{"cap between steps", Window{Start: 100, Step: 50, Interval: 5 * time.Second, Max: 220}, 15 * time.Second, 220},
		{"no cap", Window{Start: 100, Step: 50, Interval: 5 * time.Second}, time.Minute, 700},
		{"no step", Window{Start: 100, Interval: 5 * time.Second}, time.Hour, 100},
		{"no interval", Window{Start: 100, Step: 50}, time.Hour, 100},
		{"negative wait", widening, -time.Second, 100},
		{"default", DefaultWindow(), 23 * time.Second, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.giveWindow.At(tt.giveWaited); got != tt.want {
				t.Errorf("%+v.At(%v) = %v, want %v", tt.giveWindow, tt.giveWaited, got, tt.want)
			}
		})
	}
}

func TestWindowStepsTo(t *testing.T) {
	w := Window{Start: 100, Step: 50, Interval: 5 * time.Second, Max: 300}
	for _, tt := range []struct {
		give   float64
		want   int64
		wantOK bool
	}{
		{0, 0, true}, {100, 0, true}, {100.5, 1, true}, {150, 1, true}, {300, 4, true},
		{300.5, 0, false}, {math.Inf(1), 0, false},
	} {
		got, ok := w.stepsTo(tt.give)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("stepsTo(%v) = %v, %v; want %v, %v", tt.give, got, ok, tt.want, tt.wantOK)
		}
		if ok && w.atStep(got) < tt.give {
			t.Errorf("atStep(stepsTo(%v)) = %v, below the gap", tt.give, w.atStep(got))
		}
	}
}

// queued is a ticket for a queue test: who, at which rating, and how long
// it has searched at the test's now.
type queued struct {
	id     string
	rating float64
	age    time.Duration
}

// testQueue returns a queue of mode with window holding give, added oldest
// first as the Matchmaker would.
func testQueue(mode match.Mode, w Window, now time.Time, give []queued) *queue {
	give = slices.Clone(give)
	slices.SortStableFunc(give, func(a, b queued) int { return -int(a.age - b.age) })
	q := newQueue(mode, w)
	for i, g := range give {
		q.add(&member{PoolTicket: PoolTicket{PlayerID: g.id, Rating: g.rating, CreatedAt: now.Add(-g.age), Seq: uint64(i + 1)}})
	}
	return q
}

func ids(groups [][]*member) [][]string {
	var out [][]string
	for _, g := range groups {
		var ids []string
		for _, t := range g {
			ids = append(ids, t.PlayerID)
		}
		out = append(out, ids)
	}
	return out
}

func TestPair(t *testing.T) {
	const wait = 10 * time.Second
	duel := match.Mode{Name: "duel", Players: 2, MinPlayers: 2}
	ffa := match.Mode{Name: "ffa", Players: 4, MinPlayers: 2, FillWait: wait}
	widening := DefaultWindow()                                                 // 100, +50 every 5 s, no cap
	capped := Window{Start: 100, Step: 50, Interval: 5 * time.Second, Max: 200} // reaches 200 after 10 s
	fixed := Window{Start: 100}
	sec := func(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
	tests := []struct {
		name       string
		giveMode   match.Mode
		giveWindow Window
		give       []queued
		want       [][]string // seat order: oldest first
		wantNext   time.Duration
		wantLeft   int
	}{
		{name: "empty", giveMode: duel, giveWindow: widening},
		{name: "closest rating preferred", giveMode: duel, giveWindow: widening,
			// a's window is 200; b is within it and within its own 150, but c is closer.
			give: []queued{{"a", 1500, sec(10)}, {"b", 1650, sec(9)}, {"c", 1520, 0}},
			want: [][]string{{"a", "c"}}, wantLeft: 1},
		{name: "oldest served first", giveMode: duel, giveWindow: widening,
			// c is b's closest, but a comes first and b is a's closest.
			give: []queued{{"a", 1500, sec(2)}, {"b", 1550, sec(1)}, {"c", 1560, 0}},
			want: [][]string{{"a", "b"}}, wantLeft: 1},
		{name: "equal gaps on both sides: older first", giveMode: duel, giveWindow: widening,
			give: []queued{{"a", 1500, sec(4)}, {"b", 1450, sec(1)}, {"c", 1550, sec(2)}, {"d", 1450, sec(3)}},
			want: [][]string{{"a", "d"}, {"c", "b"}}},
		{name: "equal ratings: older first", giveMode: duel, giveWindow: widening,
			give: []queued{{"a", 1500, sec(5)}, {"b", 1480, sec(1)}, {"c", 1480, sec(4)}, {"d", 1480, sec(3)}},
			want: [][]string{{"a", "c"}, {"d", "b"}}},
		{name: "equal ratings pair in arrival order", giveMode: duel, giveWindow: widening,
			give: []queued{{"0", 1500, sec(5)}, {"1", 1500, sec(4)}, {"2", 1500, sec(3)}, {"3", 1500, sec(2)}, {"4", 1500, sec(1)}},
			want: [][]string{{"0", "1"}, {"2", "3"}}, wantLeft: 1},
		{name: "the newer window is too narrow", giveMode: duel, giveWindow: widening,
			// a's window (300) covers the gap of 250, b's (100) does not
			// until it has searched for 15 s.
			give:     []queued{{"a", 1500, sec(20)}, {"b", 1750, 0}},
			wantNext: sec(15), wantLeft: 2},
		{name: "both windows must widen", giveMode: duel, giveWindow: widening,
			give:     []queued{{"a", 1500, sec(1)}, {"b", 1800, 0}},
			wantNext: sec(19), wantLeft: 2}, // a reaches 300 at 20 s, b at 20 s after it came
		{name: "next widening that matters", giveMode: duel, giveWindow: widening,
			// c is out of everyone's reach for long; b's window reaches a
			// at 10 s (a's reached b already).
			give:     []queued{{"a", 1500, sec(30)}, {"b", 1700, sec(3)}, {"c", 3000, 0}},
			wantNext: sec(7), wantLeft: 3},
		{name: "capped below the gap: never", giveMode: duel, giveWindow: capped,
			give:     []queued{{"a", 1500, sec(60)}, {"b", 1800, sec(60)}},
			wantLeft: 2},
		{name: "within the cap", giveMode: duel, giveWindow: capped,
			give: []queued{{"a", 1500, sec(60)}, {"b", 1700, sec(10)}},
			want: [][]string{{"a", "b"}}},
		{name: "no widening: never", giveMode: duel, giveWindow: fixed,
			give:     []queued{{"a", 1500, sec(60)}, {"b", 1601, sec(60)}},
			wantLeft: 2},
		{name: "ffa full group at once", giveMode: ffa, giveWindow: fixed,
			// The closest first: the equal ratings, then the older of b
			// and c, equally far.
			give: []queued{{"a", 1500, sec(4)}, {"b", 1550, sec(3)}, {"c", 1450, sec(2)}, {"d", 1500, sec(1)}, {"e", 1500, 0}},
			want: [][]string{{"a", "b", "d", "e"}}, wantLeft: 1},
		{name: "ffa every pair compatible", giveMode: ffa, giveWindow: fixed,
			// b and c are both within a's window but 180 apart: a takes
			// the older, c; b and d play each other.
			give: []queued{{"a", 1500, sec(12)}, {"c", 1410, sec(11.5)}, {"b", 1590, sec(11)}, {"d", 1595, sec(1)}},
			want: [][]string{{"a", "c"}, {"b", "d"}}},
		{name: "ffa short-handed only among compatible", giveMode: ffa, giveWindow: fixed,
			give: []queued{{"a", 1500, sec(10)}, {"c", 2000, sec(9)}, {"b", 1550, sec(5)}},
			want: [][]string{{"a", "b"}}, wantLeft: 1},
		{name: "ffa short-handed waits for its oldest", giveMode: ffa, giveWindow: widening,
			give:     []queued{{"a", 1500, sec(5)}, {"b", 1500, sec(3)}},
			wantNext: sec(5), wantLeft: 2},
		{name: "ffa full, then the rest waits", giveMode: ffa, giveWindow: widening,
			give: []queued{{"0", 1500, sec(6)}, {"1", 1500, sec(5)}, {"2", 1500, sec(4)}, {"3", 1500, sec(3)},
				{"4", 1500, sec(2)}, {"5", 1500, sec(1)}},
			want: [][]string{{"0", "1", "2", "3"}}, wantNext: sec(8), wantLeft: 2},
		{name: "ffa lone player waits", giveMode: ffa, giveWindow: widening,
			give:     []queued{{"a", 1500, time.Hour}},
			wantLeft: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(time.Hour)
			q := testQueue(tt.giveMode, tt.giveWindow, now, tt.give)
			groups, next := q.pair(now)
			if diff := cmp.Diff(tt.want, ids(groups)); diff != "" {
				t.Errorf("pair groups (-want +got):\n%s", diff)
			}
			var wantNext time.Time
			if tt.wantNext != 0 {
				wantNext = now.Add(tt.wantNext)
			}
			if !next.Equal(wantNext) {
				t.Errorf("pair next = %v, want %v", next, wantNext)
			}
			if q.live != tt.wantLeft {
				t.Errorf("pair left %d tickets, want %d", q.live, tt.wantLeft)
			}
			// Nothing changes when pairing again at the same instant.
			if groups, _ := q.pair(now); len(groups) != 0 {
				t.Errorf("second pair at the same instant = %v, want none", ids(groups))
			}
		})
	}
}

// TestPairAgainstBruteForce checks pair's duel choices against the rule
// applied literally: oldest first, the compatible ticket with the smallest
// gap, ties to the older.
func TestPairAgainstBruteForce(t *testing.T) {
	duel := match.Mode{Name: "duel", Players: 2, MinPlayers: 2}
	w := Window{Start: 50, Step: 25, Interval: time.Second, Max: 300}
	now := t0.Add(time.Hour)
	for seed := range uint64(200) {
		rng := newRand(seed)
		var give []queued
		n := 40
		if seed%20 == 0 {
			n = 600 // enough to take sortFresh's radix path
		}
		for i := range n {
			// Integer ratings, few of them: plenty of equal ratings and gaps.
			give = append(give, queued{id: fmt.Sprint(i), rating: float64(1400 + 10*rng.IntN(20)),
				age: time.Duration(rng.IntN(12)) * time.Second})
		}
		q := testQueue(duel, w, now, give)
		want := bruteDuel(q, w, now)
		groups, _ := q.pair(now)
		if diff := cmp.Diff(want, ids(groups)); diff != "" {
			t.Fatalf("seed %d: pair groups (-brute force +got):\n%s", seed, diff)
		}
	}
}

// TestPairFFAProperties checks, on random ffa queues, what every group must
// satisfy: no ticket twice, every pair within both windows, full or due.
func TestPairFFAProperties(t *testing.T) {
	const wait = 10 * time.Second
	ffa := match.Mode{Name: "ffa", Players: 10, MinPlayers: 2, FillWait: wait}
	w := Window{Start: 50, Step: 25, Interval: time.Second, Max: 400}
	now := t0.Add(time.Hour)
	for seed := range uint64(100) {
		rng := newRand(seed)
		var give []queued
		for i := range 20 + rng.IntN(400) {
			give = append(give, queued{id: fmt.Sprint(i), rating: 1500 + 300*rng.NormFloat64(),
				age: time.Duration(rng.Int64N(int64(20 * time.Second)))})
		}
		q := testQueue(ffa, w, now, give)
		groups, _ := q.pair(now)
		seen := make(map[*member]bool)
		for _, g := range groups {
			oldest := g[0].CreatedAt
			for i, a := range g {
				if seen[a] {
					t.Fatalf("seed %d: ticket %s in two groups", seed, a.PlayerID)
				}
				seen[a] = true
				if i > 0 && a.Seq < g[i-1].Seq {
					t.Fatalf("seed %d: group %v not in seat (arrival) order", seed, ids([][]*member{g}))
				}
				oldest = earliest(oldest, a.CreatedAt)
				for _, b := range g[:i] {
					gap := math.Abs(a.Rating - b.Rating)
					if gap > w.At(now.Sub(a.CreatedAt)) || gap > w.At(now.Sub(b.CreatedAt)) {
						t.Fatalf("seed %d: %s and %s grouped %.1f apart, beyond a window", seed, a.PlayerID, b.PlayerID, gap)
					}
				}
			}
			if len(g) < ffa.MinPlayers || len(g) > ffa.Players || (len(g) < ffa.Players && now.Sub(oldest) < wait) {
				t.Fatalf("seed %d: group of %d whose oldest waited %v", seed, len(g), now.Sub(oldest))
			}
		}
		if len(seen)+q.live != len(give) {
			t.Fatalf("seed %d: %d grouped + %d left, want %d", seed, len(seen), q.live, len(give))
		}
	}
}

func TestSortFresh(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 3000} {
		rng := newRand(uint64(n))
		var es []entry
		for i := range n {
			var r float64
			switch rng.IntN(4) {
			case 0:
				r = 1500 // many equal
			case 1:
				r = -1000 * rng.Float64() // negative: the sign bit flips the order
			case 2:
				r = math.Copysign(0, float64(rng.IntN(2)*2-1))
			default:
				r = 1e6 * rng.NormFloat64()
			}
			if r == 0 {
				r = 0 // as index does
			}
			es = append(es, entry{rating: r, seq: uint64(i + 1)})
		}
		want := slices.Clone(es)
		slices.SortFunc(want, compareEntries)
		got := newQueue(match.Mode{}, Window{}).sortFresh(es)
		if !slices.EqualFunc(want, got, func(a, b entry) bool { return a.rating == b.rating && a.seq == b.seq }) {
			t.Errorf("sortFresh of %d entries disagrees with compareEntries", n)
		}
	}
}

func bruteDuel(q *queue, w Window, now time.Time) [][]string {
	ts := slices.Clone(q.order)
	taken := make(map[*member]bool)
	var out [][]string
	for _, a := range ts {
		if taken[a] {
			continue
		}
		wa := w.At(now.Sub(a.CreatedAt))
		var best *member
		for _, b := range ts {
			if b == a || taken[b] {
				continue
			}
			gap := math.Abs(a.Rating - b.Rating)
			if gap > wa || gap > w.At(now.Sub(b.CreatedAt)) {
				continue
			}
			if best == nil || gap < math.Abs(a.Rating-best.Rating) ||
				(gap == math.Abs(a.Rating-best.Rating) && b.Seq < best.Seq) {
				best = b
			}
		}
		if best != nil {
			taken[a], taken[best] = true, true
			first, second := a, best
			if second.Seq < first.Seq {
				first, second = second, first
			}
			out = append(out, []string{first.PlayerID, second.PlayerID})
		}
	}
	return out
}

// ratings is a Config.Rating backed by a map (read-only once the test runs).
func ratings(m map[string]float64) func(context.Context, string, string) (float64, error) {
	return func(_ context.Context, player, _ string) (float64, error) {
		r, ok := m[player]
		if !ok {
			return DefaultRating, nil
		}
		return r, nil
	}
}

func TestTicketsCarryTheirRating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gotMode string
		mm, _ := start(t, Config{Rating: func(_ context.Context, player, mode string) (float64, error) {
			gotMode = mode
			return 1234, nil
		}})
		tk := mustEnqueue(t, mm, "a", "ffa")
		if tk.Rating != 1234 || gotMode != "ffa" {
			t.Errorf("Enqueue(a, ffa) = rating %v (looked up in %q), want 1234 in ffa", tk.Rating, gotMode)
		}
	})
}

func TestRatingLookupFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 3 * time.Second
		broken := errors.New("store down")
		mm, fs := start(t, Config{RatingTimeout: timeout, Rating: func(ctx context.Context, player, _ string) (float64, error) {
			switch player {
			case "broken":
				return 0, broken
			case "nan":
				return math.NaN(), nil
			case "slow":
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return DefaultRating, nil
		}})
		for _, p := range []string{"broken", "nan"} {
			if _, err := mm.Enqueue(t.Context(), p, "duel"); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Enqueue(%s) = %v, want ErrUnavailable", p, err)
			}
		}
		if _, err := mm.Enqueue(t.Context(), "broken", "duel"); !errors.Is(err, broken) {
			t.Errorf("Enqueue(broken) = %v, want it to wrap the lookup's error", err)
		}
		begin := time.Now()
		_, err := mm.Enqueue(t.Context(), "slow", "duel")
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Enqueue(slow) = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if took := time.Since(begin); took != timeout {
			t.Errorf("Enqueue(slow) took %v, want the RatingTimeout %v", took, timeout)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := mm.Enqueue(ctx, "slow", "duel"); !errors.Is(err, ErrUnavailable) || time.Since(begin) != timeout+time.Second {
			t.Errorf("EnqueueContext(1 s ctx, slow) = %v after %v, want ErrUnavailable after 1 s", err, time.Since(begin)-timeout)
		}
		// No ticket was created: the players may queue (and pair) later.
		mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "broken-no-more", "duel")
		synctest.Wait()
		if got := len(fs.Calls()); got != 1 {
			t.Errorf("Create calls = %d, want 1", got)
		}
	})
}

func TestRunWaitsForWindowsToWiden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, fs := start(t, Config{Rating: ratings(map[string]float64{"a": 1500, "b": 1800, "c": 2600})})
		a := mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "c", "duel")
		time.Sleep(5 * time.Second)
		b := mustEnqueue(t, mm, "b", "duel")
		// The gap of 300 takes 4 widenings (20 s) of b's window, which
		// comes last.
		time.Sleep(20*time.Second - time.Millisecond)
		synctest.Wait()
		if got := fs.Calls(); len(got) != 0 {
			t.Fatalf("Create calls before both windows cover the gap = %v, want none", got)
		}
		wantStatus(t, mm, a, StatusSearching)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a", "b"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls once the windows cover the gap (-want +got):\n%s", diff)
		}
		wantStatus(t, mm, b, StatusMatched)
	})
}

func TestRunPrefersTheClosestRating(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{
			Logger: quietLogger(),
			Modes:  testModes(),
			Rating: ratings(map[string]float64{"a": 1500, "far": 1590, "near": 1510, "new": 1600}),
		}
		fs := &fakeStarter{}
		mm := New(cfg, fs, testTokens)
		// Queued before Run starts, so that one cycle sees them all.
		for _, p := range []string{"a", "far", "near", "new"} {
			mustEnqueue(t, mm, p, "duel")
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- mm.Run(ctx) }()
		synctest.Wait()
		cancel()
		<-done
		if diff := cmp.Diff([][]string{{"a", "near"}, {"far", "new"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls (-want +got):\n%s", diff)
		}
	})
}

func TestShortHandedFFAOnlyAmongCompatible(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wait = 10 * time.Second
		mm, fs := start(t, Config{
			Modes:   fillWait(wait),
			Windows: map[string]Window{"ffa": {Start: 100}}, // never widens
			Rating:  ratings(map[string]float64{"a": 1500, "b": 1560, "c": 1650, "far": 2500}),
		})
		mustEnqueue(t, mm, "a", "ffa")
		mustEnqueue(t, mm, "far", "ffa")
		time.Sleep(time.Second)
		mustEnqueue(t, mm, "b", "ffa")
		mustEnqueue(t, mm, "c", "ffa") // within b's window, not a's
		time.Sleep(wait - time.Second - time.Millisecond)
		synctest.Wait()
		if got := fs.Calls(); len(got) != 0 {
			t.Fatalf("Create calls before the wait = %v, want none", got)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a", "b"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls after a's wait (-want +got):\n%s", diff)
		}
		// c's only compatible partner is gone; far has none at all.
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := len(fs.Calls()); got != 1 {
			t.Fatalf("Create calls = %v, want only the first", fs.Calls())
		}
	})
}

package client

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/sim"
)

var pacerEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestPacerNominalPace(t *testing.T) {
	for _, rate := range []int{20, 30, 60} {
		p := NewPacer(rate)
		period := time.Second / time.Duration(rate)
		if due := p.Due(); !due.IsZero() {
			t.Fatalf("%d Hz: Due() before the first input = %v, want the zero Time", rate, due)
		}
		at := pacerEpoch
		for seq := uint32(1); seq <= 100; seq++ {
			p.Sent(seq, at)
			due := p.Due()
			if d := due.Sub(at); d < period-time.Microsecond || d > period+time.Microsecond {
				t.Fatalf("%d Hz: Due() after input %d = send + %v, want + %v (no snapshots yet: the nominal pace)", rate, seq, d, period)
			}
			at = due
		}
		if s := p.Stats(); math.Abs(s.Dilation) > 1e-6 || s.Lead != 0 {
			t.Errorf("%d Hz: Stats() = %+v, want no dilation and no lead before any snapshot", rate, s)
		}
	}
}

func TestPacerIgnoresStaleCalls(t *testing.T) {
	p := NewPacer(30)
	p.Sent(5, pacerEpoch)
	due := p.Due()
	p.Sent(5, pacerEpoch.Add(time.Millisecond))
	p.Sent(4, pacerEpoch.Add(2*time.Millisecond))
	if got := p.Due(); !got.Equal(due) {
		t.Errorf("Due() after repeated and older seqs = %v, want %v unchanged", got, due)
	}
	p.Observe(10, 5, 0, pacerEpoch.Add(100*time.Millisecond))
	p.Observe(10, 3, 7, pacerEpoch.Add(110*time.Millisecond)) // same tick again
	p.Observe(9, 3, 7, pacerEpoch.Add(120*time.Millisecond))  // older
	if s := p.Stats(); s.Backlog != 0 || s.Starved != 0 || s.Dropped != 0 {
		t.Errorf("Stats() after stale snapshots = %+v, want backlog 0, nothing starved or dropped", s)
	}
}

// simTick is what the server did at one tick.
type simTick struct {
	at      time.Duration
	starved bool
	dropped int
	backlog int // pending after the take
	wait    time.Duration
}

// recordTicks makes w record every tick from virtual time from on.
func recordTicks(w *simWorld, from time.Duration) *[]simTick {
	var ticks []simTick
	w.onTick = func(w *simWorld, _ sim.Tick) {
		if w.now < from {
			return
		}
		st := simTick{at: w.now, starved: w.srv.starved, dropped: w.srv.dropped, backlog: len(w.srv.pending)}
		if !w.srv.starved {
			st.wait = w.now - w.srv.applied.at
		}
		ticks = append(ticks, st)
	}
	return &ticks
}

// between returns the ticks in [from, to).
func between(ticks []simTick, from, to time.Duration) []simTick {
	var out []simTick
	for _, tk := range ticks {
		if tk.at >= from && tk.at < to {
			out = append(out, tk)
		}
	}
	return out
}

func count(ticks []simTick, f func(simTick) bool) int {
	n := 0
	for _, tk := range ticks {
		if f(tk) {
			n++
		}
	}
	return n
}

func starvedTick(tk simTick) bool { return tk.starved }
func dropTick(tk simTick) bool    { return tk.dropped > 0 }

func meanWait(ticks []simTick) time.Duration {
	var sum time.Duration
	n := 0
	for _, tk := range ticks {
		if !tk.starved {
			sum += tk.wait
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// TestPacerFindsTheEdge: started almost a tick early on a steady link without
// jitter, the Pacer probes later until inputs arrive just before their tick,
// and then stays there, coming back to the edge about once a minute.
func TestPacerFindsTheEdge(t *testing.T) {
	for _, rate := range []int{30, 60} {
		period := time.Second / time.Duration(rate)
		sc := simScenario{tickRate: rate, latency: constLatency(40 * time.Millisecond)}
		// With 40 ms each way, a client starting at this offset sends
		// its inputs to arrive 0.9 tick before their tick.
		offset := (simStart + period - 40*time.Millisecond - period*9/10) % period
		end := simStart + 65*time.Second
		w := newSimWorld(sc, true, offset, 1)
		ticks := recordTicks(w, 0)
		w.run(end)

		fixed := newSimWorld(sc, false, offset, 1)
		fixedTicks := recordTicks(fixed, 0)
		fixed.run(end)

		late := between(*ticks, simStart+5*time.Second, end)
		if got := meanWait(late); got > 5*time.Millisecond {
			t.Errorf("%d Hz: mean wait at the server after 5 s = %v, want at most 5 ms (a fixed ticker's: %v)",
				rate, got, meanWait(between(*fixedTicks, simStart+5*time.Second, end)))
		}
		if n := count(*ticks, dropTick); n > 0 {
			t.Errorf("%d Hz: %d ticks with drops, want none", rate, n)
		}
		if n := count(late, starvedTick); n > 2 {
			t.Errorf("%d Hz: %d starved ticks in the minute after the first 5 s, want at most 2 (the probe coming back to the edge about once a minute)", rate, n)
		}
	}
}

// TestPacerShedsStandingBacklog: when the link gets faster, inputs stand in
// the server's queue; the Pacer slows down to shed them well before the
// server's two-second rule would drop them.
func TestPacerShedsStandingBacklog(t *testing.T) {
	for _, rate := range []int{30, 60} {
		period := time.Second / time.Duration(rate)
		change := simStart + 10*time.Second
		sc := simScenario{tickRate: rate, latency: latencyStep(change, 150*time.Millisecond, 50*time.Millisecond)}
		w := newSimWorld(sc, true, 0, 1)
		ticks := recordTicks(w, simStart+5*time.Second)
		w.run(simStart + 15*time.Second)

		after := between(*ticks, change, simStart+15*time.Second)
		if n := count(*ticks, dropTick); n > 0 {
			t.Errorf("%d Hz: %d ticks with drops, want none", rate, n)
		}
		// 100 ms less latency is a backlog of 100 ms: it must be gone
		// within a second.
		peak := 0
		for _, tk := range after {
			peak = max(peak, tk.backlog)
		}
		if want := int(100 * time.Millisecond / period); peak < want {
			t.Errorf("%d Hz: peak backlog after the change = %d, want at least %d (the test is not testing)", rate, peak, want)
		}
		rest := between(*ticks, change+time.Second, simStart+15*time.Second)
		if n := count(rest, func(tk simTick) bool { return tk.backlog > 0 }); n > len(rest)/10 {
			t.Errorf("%d Hz: backlog left in %d of %d ticks from 1 s after the change, want it shed", rate, n, len(rest))
		}
		if got := meanWait(rest); got > period/2 {
			t.Errorf("%d Hz: mean wait from 1 s after the change = %v, want under half a tick", rate, got)
		}
	}
}

// TestPacerLateOutlier: one input delayed on its way starves one tick, which
// pushes the whole stream a tick back; the Pacer sheds that tick, and ends a
// little earlier than the late input was.
func TestPacerLateOutlier(t *testing.T) {
	for _, rate := range []int{30, 60} {
		period := time.Second / time.Duration(rate)
		sc := simScenario{tickRate: rate, latency: constLatency(60 * time.Millisecond)}
		w := newSimWorld(sc, true, 0, 1)
		const lateSeq = 10 * 60 // about 10 s in
		w.extraDelay = func(seq uint32) time.Duration {
			if seq == lateSeq*uint32(rate)/60 {
				return period / 2
			}
			return 0
		}
		ticks := recordTicks(w, simStart+5*time.Second)
		w.run(simStart + 8*time.Second)
		before := w.pacer.Stats()
		w.run(simStart + 16*time.Second)

		if n := count(*ticks, dropTick); n > 0 {
			t.Errorf("%d Hz: %d ticks with drops, want none", rate, n)
		}
		var late time.Duration
		for _, tk := range *ticks {
			if tk.starved && tk.at > simStart+9*time.Second {
				late = tk.at
				break
			}
		}
		if late == 0 {
			t.Fatalf("%d Hz: the late input starved no tick (the test is not testing)", rate)
		}
		// The extra tick of lead is gone within a second.
		rest := between(*ticks, late+time.Second, late+5*time.Second)
		if n := count(rest, func(tk simTick) bool { return tk.backlog > 0 }); n > len(rest)/10 {
			t.Errorf("%d Hz: backlog left in %d of %d ticks from 1 s after the starvation, want it shed", rate, n, len(rest))
		}
		if n := count(between(*ticks, late, late+2*time.Second), starvedTick); n > 2 {
			t.Errorf("%d Hz: %d starved ticks in the 2 s after the late input, want at most 2", rate, n)
		}
		if after := w.pacer.Stats(); after.Starved-before.Starved > 4 {
			t.Errorf("%d Hz: Stats().Starved grew by %d, want at most 4", rate, after.Starved-before.Starved)
		}
	}
}

// TestPacerLinkSlower: when the latency grows, ticks starve until inputs
// arrive again; the stream is then later by whole ticks, which the Pacer
// keeps: it does not shed them back into more starvation.
func TestPacerLinkSlower(t *testing.T) {
	for _, rate := range []int{30, 60} {
		period := time.Second / time.Duration(rate)
		change := simStart + 10*time.Second
		sc := simScenario{tickRate: rate, latency: latencyStep(change, 50*time.Millisecond, 130*time.Millisecond)}
		w := newSimWorld(sc, true, 0, 1)
		ticks := recordTicks(w, simStart+5*time.Second)
		w.run(simStart + 16*time.Second)

		if n := count(*ticks, dropTick); n > 0 {
			t.Errorf("%d Hz: %d ticks with drops, want none", rate, n)
		}
		// 80 ms more latency starves ⌈80 ms / period⌉ ticks at least.
		unavoidable := int((80*time.Millisecond + period - 1) / period)
		if n := count(between(*ticks, change, change+3*time.Second), starvedTick); n > unavoidable+2 {
			t.Errorf("%d Hz: %d starved ticks in the 3 s after the change, want at most %d", rate, n, unavoidable+2)
		}
		if got := meanWait(between(*ticks, change+3*time.Second, simStart+16*time.Second)); got > period/2 {
			t.Errorf("%d Hz: mean wait from 3 s after the change = %v, want under half a tick", rate, got)
		}
	}
}

// TestPacerAfterStall: a stall of the path makes the server starve, then
// receive a burst, which it drops once. The Pacer holds inputs back once
// twice the round trip's worth are unacknowledged, so that the burst is
// that, not the whole stall's; it neither catches up on the starved ticks
// nor sheds the dropped ones twice, and settles without another drop. (The
// input it held back goes out when the stall ends, and the next at once,
// as after a pause; none after those early.)
func TestPacerAfterStall(t *testing.T) {
	for _, rate := range []int{30, 60} {
		period := time.Second / time.Duration(rate)
		stallEnd := simStart + 12*time.Second
		sc := simScenario{tickRate: rate, latency: constLatency(60 * time.Millisecond), stall: [2]time.Duration{simStart + 10*time.Second, stallEnd}}
		w := newSimWorld(sc, true, 0, 1)
		var minPeriod time.Duration = math.MaxInt64
		resumed := 0
		w.onSend = func(w *simWorld, _ uint32, due time.Time) {
			if w.now >= stallEnd && resumed < 2 {
				resumed++
				return
			}
			if w.now > stallEnd-time.Second {
				minPeriod = min(minPeriod, w.virtual(due)-w.now)
			}
		}
		ticks := recordTicks(w, simStart+5*time.Second)
		w.run(simStart + 18*time.Second)

		if drops := count(*ticks, dropTick); drops != 1 {
			t.Errorf("%d Hz: %d ticks with drops, want 1 (the burst after the stall)", rate, drops)
		}
		dropped := 0
		for _, tk := range *ticks {
			dropped += tk.dropped
		}
		// 120 ms of round trip is 3.6 ticks at 30 Hz, 7.2 at 60.
		if limit := 2 * (2 + int(120*time.Millisecond/period)); dropped > limit {
			t.Errorf("%d Hz: %d inputs dropped, want at most %d (the in-flight limit)", rate, dropped, limit)
		}
		if n := count(between(*ticks, stallEnd+time.Second, simStart+18*time.Second), func(tk simTick) bool { return tk.starved || tk.dropped > 0 }); n > 3 {
			t.Errorf("%d Hz: %d ticks starved or with drops from 1 s after the stall, want at most 3", rate, n)
		}
		if minPeriod < period*95/100 {
			t.Errorf("%d Hz: shortest send period around the stall = %v, want no catching up (at least %v)", rate, minPeriod, period*95/100)
		}
	}
}

// TestPacerLoadedMachine: a client and its server on one loaded machine,
// over loopback — the browser demo's case: the page's timers fire 20–150 ms
// late at times and the tab stalls for 300 ms now and then, and the
// server's tick loop stalls too, then runs at most three ticks at once and
// skips the rest, so that each tick from then on comes later than the
// client's tick clock has it. For a minute the server drops no input: no
// burst beyond ⌈tick rate/10⌉ + 1 waiting, no backlog of two or more
// standing through the server's window. A client that sends whenever the
// schedule says, whatever the in-flight limit, loses inputs in the same
// runs.
func TestPacerLoadedMachine(t *testing.T) {
	at := func(s float64) time.Duration { return simStart + time.Duration(s*float64(time.Second)) }
	// One timer in four fires 20–150 ms late, the others within 3 ms.
	late := func(rng *rand.Rand) time.Duration {
		if rng.IntN(4) == 0 {
			return 20*time.Millisecond + time.Duration(rng.Int64N(int64(130*time.Millisecond)))
		}
		return time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
	}
	fixed := &simLoad{
		late:         late,
		clientStalls: [][2]time.Duration{{at(8), at(8.3)}, {at(21), at(21.3)}, {at(37.5), at(37.8)}, {at(52), at(52.3)}},
		serverStalls: [][2]time.Duration{
			{at(5), at(5.15)}, {at(13.2), at(13.45)}, {at(17), at(17.3)}, {at(21.1), at(21.2)},
			{at(29), at(29.12)}, {at(37.6), at(37.9)}, {at(44), at(44.25)}, {at(58), at(58.3)},
		},
	}
	// randomLoad is harsher: the tab (if busy) busy for 20–150 ms every
	// 0.3 s on average, stalled for 300 ms every 5 s, the server for
	// 50–300 ms every 2 s.
	randomLoad := func(seed uint64, busy bool) *simLoad {
		rng := rand.New(rand.NewPCG(seed, 99))
		end := at(62)
		stalls := func(every, lo, hi time.Duration) [][2]time.Duration {
			var out [][2]time.Duration
			for t := simStart + time.Duration(rng.Int64N(int64(2*every))); t < end; t += time.Duration(rng.Int64N(int64(2 * every))) {
				d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
				out = append(out, [2]time.Duration{t, t + d})
				t += d
			}
			return out
		}
		l := &simLoad{}
		if busy {
			l.late = late
			l.clientStalls = stalls(300*time.Millisecond, 20*time.Millisecond, 150*time.Millisecond)
			l.clientStalls = append(l.clientStalls, stalls(5*time.Second, 300*time.Millisecond, 300*time.Millisecond)...)
		}
		l.serverStalls = stalls(2*time.Second, 50*time.Millisecond, 300*time.Millisecond)
		return l
	}
	tests := []struct {
		name string
		rate int
		load *simLoad
	}{
		{"stalls/30Hz", 30, fixed},
		{"stalls/60Hz", 60, fixed},
		{"random/30Hz/1", 30, randomLoad(1, true)},
		{"random/30Hz/2", 30, randomLoad(2, true)},
		{"random/60Hz/3", 60, randomLoad(3, true)},
		// The server stalls, the tab does not: no held input hides the
		// ticks the server lost.
		{"server/30Hz/1", 30, randomLoad(1, false)},
		{"server/60Hz/4", 60, randomLoad(4, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(ignoreHold bool) (dropped int, w *simWorld) {
				w = newSimWorld(simScenario{tickRate: tt.rate, latency: constLatency(200 * time.Microsecond)}, true, 0, 1)
				w.load, w.ignoreHold = tt.load, ignoreHold
				ticks := recordTicks(w, simStart+2*time.Second)
				w.run(at(62))
				for _, tk := range *ticks {
					dropped += tk.dropped
				}
				return dropped, w
			}
			dropped, w := run(false)
			if dropped > 0 {
				t.Errorf("the server dropped %d inputs, want none", dropped)
			}
			if w.skipped == 0 {
				t.Errorf("the server skipped no tick: the test is not testing")
			}
			s := w.pacer.Stats()
			if s.HeldBack == 0 || s.InFlightLimit == 0 {
				t.Errorf("Stats() = %+v: the Pacer held nothing back, want some held", s)
			}
			if unlimited, _ := run(true); unlimited == 0 {
				t.Errorf("a client ignoring the in-flight limit lost no input either: the test is not testing")
			}
		})
	}
}

// TestPacerStalledReads: over loopback, the server's reading of the inputs
// stalls for 10–80 ms every 0.6 s on average (a loaded machine that does
// not schedule the server's goroutine; issue 14, where bench TestRun/paced
// saw an input dropped as surplus). Each stall starves a tick or two; the
// Pacer raises its lead after each, and now and then keeps a tick of
// inputs waiting for a while before its standing-backlog rule sheds it
// (twice, when the margin it keeps after starvations was not enough the
// first time). For a minute the server drops no input. With the server's
// standing-excess window at one second (simStandingWindow = 1), it dropped
// inputs in most of these runs. sdk/ts holds its port, with the same seeds.
func TestPacerStalledReads(t *testing.T) {
	for _, rate := range []int{30, 60} {
		for seed := uint64(1); seed <= 4; seed++ {
			end := simStart + 62*time.Second
			rng := rand.New(rand.NewPCG(seed, 14))
			var stalls [][2]time.Duration
			for at := time.Duration(rng.Int64N(int64(1200 * time.Millisecond))); at < end; at += time.Duration(rng.Int64N(int64(1200 * time.Millisecond))) {
				d := 10*time.Millisecond + time.Duration(rng.Int64N(int64(70*time.Millisecond)))
				stalls = append(stalls, [2]time.Duration{at, at + d})
				at += d
			}
			w := newSimWorld(simScenario{tickRate: rate, latency: constLatency(200 * time.Microsecond)}, true, 0, seed)
			w.up.stalls = stalls
			ticks := recordTicks(w, simStart)
			w.run(end)
			if n := count(*ticks, starvedTick); n < 10 {
				t.Errorf("%d Hz, seed %d: %d ticks starved, want the stalls to starve some: the test is not testing", rate, seed, n)
			}
			dropped := 0
			for _, tk := range *ticks {
				dropped += tk.dropped
			}
			if dropped > 0 {
				t.Errorf("%d Hz, seed %d: the server dropped %d inputs, want none", rate, seed, dropped)
			}
		}
	}
}

// TestPacerStallAtStart: the server stalls for 300 ms in a match's first
// ticks, over loopback: the start is when a loaded machine stalls (two
// browser tabs start drawing, the server starts the room). The in-flight
// limit of a short round trip holds from the first acknowledgement, so
// what arrives when the stall ends is no more than the server takes at
// once. With the limit only after eight acknowledgements, the server
// dropped all but the newest of the burst (6, 9 and 18 inputs at 20, 30
// and 60 Hz): the correction cmd/arbiter's TestBrowserDuel saw on a loaded
// machine. sdk/ts holds its port.
func TestPacerStallAtStart(t *testing.T) {
	for _, rate := range []int{20, 30, 60} {
		period := time.Second / time.Duration(rate)
		for after := 2; after <= 10; after++ {
			from := simStart + time.Duration(after)*period + period/2
			w := newSimWorld(simScenario{tickRate: rate, latency: constLatency(200 * time.Microsecond)}, true, 0, 1)
			w.load = &simLoad{serverStalls: [][2]time.Duration{{from, from + 300*time.Millisecond}}}
			ticks := recordTicks(w, simStart)
			w.run(simStart + 5*time.Second)
			dropped := 0
			for _, tk := range *ticks {
				dropped += tk.dropped
			}
			if dropped > 0 {
				t.Errorf("%d Hz, stalled after tick %d: the server dropped %d inputs, want none", rate, after, dropped)
			}
			if w.skipped == 0 || w.pacer.Stats().HeldBack == 0 {
				t.Errorf("%d Hz, stalled after tick %d: skipped %d ticks, held back %d inputs: the test is not testing", rate, after, w.skipped, w.pacer.Stats().HeldBack)
			}
		}
	}
}

// TestPacerLeadStat: Stats().Lead is how long before the snapshot of its
// tick arrives an input goes out: about the round trip and the jitter of
// the way there on a link, a few ms over loopback — also while the server's
// tick loop loses ticks, which move the Pacer's own target lead (against
// its tick clock, which does not follow them) by a period each.
func TestPacerLeadStat(t *testing.T) {
	at := func(s float64) time.Duration { return simStart + time.Duration(s*float64(time.Second)) }
	var stalls [][2]time.Duration
	for s := 4.0; s < 60; s += 3 {
		stalls = append(stalls, [2]time.Duration{at(s), at(s + 0.2)})
	}
	tests := []struct {
		name   string
		sc     simScenario
		load   *simLoad
		lo, hi time.Duration
	}{
		{"60±20ms", simScenario{tickRate: 30, latency: constLatency(60 * time.Millisecond), jitter: 20 * time.Millisecond}, nil, 120 * time.Millisecond, 180 * time.Millisecond},
		{"loopback", simScenario{tickRate: 30, latency: constLatency(200 * time.Microsecond)}, nil, 0, 40 * time.Millisecond},
		{"loopback, server stalls", simScenario{tickRate: 30, latency: constLatency(200 * time.Microsecond)}, &simLoad{serverStalls: stalls}, 0, 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSimWorld(tt.sc, true, 0, 1)
			w.load = tt.load
			out, n := 0, 0
			for s := 5.0; s <= 60; s += 0.5 {
				w.run(at(s))
				n++
				if l := w.pacer.Stats().Lead; l < tt.lo || l > tt.hi {
					out++
					t.Logf("at %.1f s: Lead = %v", s, l)
				}
			}
			if out > n/20 {
				t.Errorf("Stats().Lead outside [%v, %v] at %d of %d times, want at most 5 %%", tt.lo, tt.hi, out, n)
			}
			if tt.load != nil && w.pacer.lead > -float64(time.Second) {
				t.Errorf("the target lead is %v after %d lost ticks, want below −1 s: the test is not testing", time.Duration(w.pacer.lead), w.skipped)
			}
		})
	}
}

// TestPacerIdleClient: a client that stops sending for a while (a paused
// game) is not starving the server; the Pacer neither counts those ticks nor
// takes them as evidence, and resumes at its pace.
func TestPacerIdleClient(t *testing.T) {
	sc := simScenario{tickRate: 30, latency: constLatency(60 * time.Millisecond)}
	w := newSimWorld(sc, true, 0, 1)
	pauseFrom, pauseTo := simStart+8*time.Second, simStart+9*time.Second
	w.paused = func(t time.Duration) bool { return t >= pauseFrom && t < pauseTo }
	ticks := recordTicks(w, simStart+5*time.Second)
	w.run(pauseFrom)
	before := w.pacer.Stats()
	w.run(simStart + 14*time.Second)
	after := w.pacer.Stats()

	idle := count(between(*ticks, pauseFrom, pauseTo+200*time.Millisecond), starvedTick)
	if idle < 25 {
		t.Fatalf("the server starved %d ticks during the pause, want about 30 (the test is not testing)", idle)
	}
	if got := after.Starved - before.Starved; got > 3 {
		t.Errorf("Stats().Starved grew by %d across a pause of %d idle ticks, want the idle ones not counted", got, idle)
	}
	if n := count(between(*ticks, pauseTo+time.Second, simStart+14*time.Second), func(tk simTick) bool { return tk.starved || tk.dropped > 0 || tk.backlog > 1 }); n > 3 {
		t.Errorf("%d ticks starved, with drops or a backlog from 1 s after the pause, want at most 3", n)
	}
}

// TestPacerLoopback: on a link whose round trip is near zero (loopback, a
// LAN), the edge is at the tick's own time; an input the probe moves past
// it starves its tick and must count as late, not idle, or the probe runs
// away (sending 25 % slower than the ticks for good, and starving a fifth
// of them). sdk/ts holds its port to the same cases.
func TestPacerLoopback(t *testing.T) {
	tests := []simScenario{
		{name: "0 ms", tickRate: 30, latency: constLatency(0)},
		{name: "0.1 ms", tickRate: 30, latency: constLatency(100 * time.Microsecond)},
		{name: "0.1±0.1 ms", tickRate: 60, latency: constLatency(100 * time.Microsecond), jitter: 100 * time.Microsecond},
		{name: "0 ms, 144 fps loop", tickRate: 30, latency: constLatency(0), frame: time.Second / 144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSimWorld(tt, true, 0, 1)
			from := simStart + 5*time.Second
			ticks := recordTicks(w, from)
			w.run(simStart + 35*time.Second)
			if n := count(*ticks, starvedTick); n > len(*ticks)/100 {
				t.Errorf("%d of %d ticks starved after 5 s, want at most 1 %%", n, len(*ticks))
			}
			if n := count(*ticks, dropTick); n > 0 {
				t.Errorf("%d ticks with drops, want none", n)
			}
			sent := 0
			for _, at := range w.sentAt {
				if at >= from {
					sent++
				}
			}
			if d := sent - len(*ticks); d < -3 || d > 3 {
				t.Errorf("%d inputs sent for %d ticks, want one per tick", sent, len(*ticks))
			}
			if s := w.pacer.Stats(); math.Abs(s.Dilation) >= MaxDilation {
				t.Errorf("Stats().Dilation = %v: the schedule is running away", s.Dilation)
			}
			if got, period := meanWait(*ticks), time.Second/time.Duration(tt.tickRate); got > period/2 {
				t.Errorf("mean wait %v, want under half a tick", got)
			}
		})
	}
}

// TestPacerBoundedDilation: whatever the network does, the Pacer never asks
// for two inputs less than (1−MaxDilation) periods apart, nor more than
// (1+MaxDilation) periods, give or take the skew estimate, when the caller
// sends on time (an input the Pacer held back goes out late, and keeps its
// slot).
func TestPacerBoundedDilation(t *testing.T) {
	tests := []simScenario{
		{name: "jitter", tickRate: 30, latency: constLatency(60 * time.Millisecond), jitter: 30 * time.Millisecond},
		{name: "stall", tickRate: 60, latency: constLatency(60 * time.Millisecond), jitter: 20 * time.Millisecond,
			stall: [2]time.Duration{simStart + 10*time.Second, simStart + 13*time.Second}},
		{name: "steps", tickRate: 20, jitter: 30 * time.Millisecond, latency: func(t time.Duration) time.Duration {
			return time.Duration(20+(int64(t/(3*time.Second))%4)*60) * time.Millisecond
		}},
		{name: "skew and skips", tickRate: 60, latency: constLatency(100 * time.Millisecond), jitter: 30 * time.Millisecond, skew: 0.005, skip: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			period := float64(time.Second) / float64(tt.tickRate)
			lo, hi := (1-MaxDilation)*period*(1-tickClockMaxSkew), (1+MaxDilation)*period*(1+tickClockMaxSkew)
			w := newSimWorld(tt, true, 0, 7)
			n, late := 0, 0
			var asked time.Time // when the input now sent was due
			w.onSend = func(w *simWorld, seq uint32, due time.Time) {
				now := w.local(w.now)
				if !asked.IsZero() && now.Sub(asked) > time.Millisecond {
					late++
				} else if d := float64(due.Sub(now)); d < lo || d > hi {
					t.Errorf("input %d: next due in %.2f periods, want within [%.2f, %.2f]", seq, d/period, lo/period, hi/period)
				}
				asked = due
				n++
			}
			w.run(simStart + 30*time.Second)
			if n < 25*tt.tickRate {
				t.Errorf("%d inputs sent in 30 s, want about %d", n, 30*tt.tickRate)
			}
			t.Logf("%d of %d inputs held back", late, n)
		})
	}
}

// TestTickClockRate: the tick clock's rate estimate follows the server's
// clock through jitter, a latency step and a stall.
func TestTickClockRate(t *testing.T) {
	for _, skew := range []float64{-0.005, 0, 0.002, 0.005} {
		const rate = 30
		var tc tickClock
		nominal := float64(time.Second) / rate
		tc.init(nominal, rate)
		rng := rand.New(rand.NewPCG(1, 2))
		for k := sim.Tick(1); k < 40*rate; k++ {
			if k > 20*rate && k < 22*rate {
				continue // a stall: nothing arrives
			}
			at := float64(k) * nominal * (1 + skew)
			at += float64(rng.Int64N(int64(30 * time.Millisecond))) // jitter
			if k > 12*rate {
				at += float64(60 * time.Millisecond) // latency step
			}
			tc.add(k, at)
		}
		if d := tc.skew - skew; math.Abs(d) > 0.0003 {
			t.Errorf("skew %v: estimated %v, want within 0.03 %%", skew, tc.skew)
		}
	}
}

// TestTickClockLatencySteps: through jitter of 60 ms and two latency steps of
// 60 ms, the tick clock keeps the time of every tick within a few ms of the
// server's (less a constant): the Pacer's schedule and evidence are in its
// time, so its wander is a probe nobody asked for.
func TestTickClockLatencySteps(t *testing.T) {
	for _, rate := range []int{30, 60} {
		for _, skew := range []float64{-0.005, 0, 0.002, 0.005} {
			var tc tickClock
			nominal := float64(time.Second) / float64(rate)
			tc.init(nominal, rate)
			rng := rand.New(rand.NewPCG(1, 2))
			lo, hi := math.Inf(1), math.Inf(-1)
			for k := sim.Tick(1); k < sim.Tick(60*rate); k++ {
				server := float64(k) * nominal * (1 + skew)
				at := server + float64(rng.Int64N(int64(60*time.Millisecond))) // jitter
				if k > sim.Tick(20*rate) && k < sim.Tick(40*rate) {
					at += float64(60 * time.Millisecond) // latency steps
				}
				tc.add(k, at)
				if k > sim.Tick(10*rate) {
					off := tc.at(int64(k)) - server
					lo, hi = min(lo, off), max(hi, off)
				}
			}
			if d := tc.skew - skew; math.Abs(d) > 0.0003 {
				t.Errorf("%d Hz, skew %v: estimated %v, want within 0.03 %%", rate, skew, tc.skew)
			}
			if wander := time.Duration(hi - lo); wander > 5*time.Millisecond {
				t.Errorf("%d Hz, skew %v: the time of a tick moved by %v relative to the server's from 10 s on, want at most 5 ms", rate, skew, wander)
			}
		}
	}
}

// latencyStep is a link latency of before until at, and of after from then
// on.
func latencyStep(at, before, after time.Duration) func(time.Duration) time.Duration {
	return func(t time.Duration) time.Duration {
		if t >= at {
			return after
		}
		return before
	}
}

// TestNetRing: whatever the values (repeated, ±0, infinities, NaN) and the
// order of the queries, netRing.newest answers what a scan of the newest k
// values with min and max answers, to the bit.
func TestNetRing(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 2.5, 1e9, -1e9, math.Inf(1), math.Inf(-1), math.NaN()}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || math.IsNaN(a) && math.IsNaN(b)
	}
	for _, nanOK := range []bool{false, true} {
		rng := splitmix(5)
		var r netRing
		var all []float64
		for step := range 5000 {
			x := values[rng.intn(len(values))]
			if math.IsNaN(x) && (!nanOK || rng.pct(90)) {
				x = float64(rng.intn(7))
			}
			r.add(x)
			all = append(all, x)
			for range rng.intn(4) {
				k := []int{0, 1, pacerEnvelopeSnapshots, pacerRTTSnapshots, pacerNetRing, pacerNetRing + 5}[rng.intn(6)]
				lo, hi := r.newest(k)
				wlo, whi := math.Inf(1), math.Inf(-1)
				for _, v := range all[max(len(all)-min(k, pacerNetRing), 0):] {
					wlo, whi = min(wlo, v), max(whi, v)
				}
				if !same(lo, wlo) || !same(hi, whi) {
					t.Fatalf("step %d, nan %v: newest(%d) = %v, %v; want %v, %v", step, nanOK, k, lo, hi, wlo, whi)
				}
			}
		}
	}
}

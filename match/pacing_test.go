package match

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// TestPacedClientStalledReads is issue 14: an honest client paced by the
// client library (client.Pacer) against a real room's input rules (take),
// over loopback, while the server's reading of its inputs stalls for
// 10–80 ms every 0.6 s on average, as a server process on a loaded machine
// does when its goroutines are not scheduled (the CI run in which bench
// TestRun/paced saw an input dropped as surplus). Each stall starves a tick
// or two, and the Pacer, raising its lead after each, now and then keeps
// a tick's worth of inputs waiting for a while, which it sheds itself; the
// room must not drop one first (each drop is a prediction correction). With
// a one-second standing window (standingWindow = 1) the room dropped inputs
// in two of these four runs (and in 21 of the first 40 seeds).
//
// Time is virtual: the test steps the room itself, tick by tick, and
// plays the client's sends and the deliveries between them in order.
func TestPacedClientStalledReads(t *testing.T) {
	const (
		tickRate = 30
		latency  = 200 * time.Microsecond // each way
		duration = 60 * time.Second
	)
	period := time.Second / tickRate
	for seed := uint64(1); seed <= 4; seed++ {
		world, _ := (&fakeGame{}).NewWorld(WorldConfig{})
		cfg := RoomConfig{TickRate: tickRate, JoinTimeout: time.Second, Grace: 2 * time.Second, MaxCatchUp: 3}
		r := newRoom("m1", Mode{Name: "test", Players: 1, Duration: time.Hour}, cfg, world, []string{"a"}, newFakeClock(), discardLogger(), nil)
		peer := newFakePeer()
		s := seat(r, 0)
		if err := s.Attach(peer); err != nil {
			t.Fatal(err)
		}
		r.state.Store(stateRunning)

		// The stalls of the server's reads: every 0–1.2 s, 10–80 ms.
		rng := rand.New(rand.NewPCG(seed, 14))
		var stalls [][2]time.Duration
		for at := time.Duration(rng.Int64N(int64(1200 * time.Millisecond))); at < duration; at += time.Duration(rng.Int64N(int64(1200 * time.Millisecond))) {
			d := 10*time.Millisecond + time.Duration(rng.Int64N(int64(70*time.Millisecond)))
			stalls = append(stalls, [2]time.Duration{at, at + d})
			at += d
		}
		// arrives returns when an input sent at sent reaches the room: in
		// order, after latency, and not during a stall.
		var lastArrival time.Duration
		arrives := func(sent time.Duration) time.Duration {
			a := sent + latency
			for _, st := range stalls {
				if a >= st[0] && a < st[1] {
					a = st[1]
				}
			}
			a = max(a, lastArrival)
			lastArrival = a
			return a
		}

		type input struct {
			at  time.Duration
			seq uint32
		}
		type snapshot struct {
			at  time.Duration
			ack arbiterv1.Ack
			k   sim.Tick
		}
		var (
			epoch     = time.Unix(1_700_000_000, 0)
			pacer     = client.NewPacer(tickRate)
			inFlight  []input    // to the room, in arrival order
			snapshots []snapshot // to the client, in arrival order
			nextTick  = period   // the room ticks at k·period
			nextSend  time.Duration
			held      bool // the client waits for a snapshot (Pacer.Held)
			seq       uint32
			starved   int
		)
		for now := time.Duration(0); now < duration; {
			// The next event: an input arriving, a snapshot arriving, a
			// tick, a send; ties in that order.
			now = nextTick
			if !held {
				now = min(now, nextSend)
			}
			if len(inFlight) > 0 {
				now = min(now, inFlight[0].at)
			}
			if len(snapshots) > 0 {
				now = min(now, snapshots[0].at)
			}
			switch {
			case len(inFlight) > 0 && inFlight[0].at == now:
				s.Input(&arbiterv1.Input{Seq: inFlight[0].seq, MoveX: 1})
				inFlight = inFlight[1:]
			case len(snapshots) > 0 && snapshots[0].at == now:
				sn := snapshots[0]
				snapshots = snapshots[1:]
				pacer.Observe(sn.k, sn.ack.LastInputSeq, sn.ack.InputBacklog, epoch.Add(now))
				if held {
					held, nextSend = false, now
				}
			case nextTick == now:
				before := r.Stats.InputsApplied.Load()
				r.step()
				if r.Stats.InputsApplied.Load() == before && seq > 0 {
					starved++
				}
				peer.mu.Lock()
				ack := peer.acks[len(peer.acks)-1]
				peer.mu.Unlock()
				snapshots = append(snapshots, snapshot{at: now + latency, ack: ack, k: sim.Tick(r.tick.Load())})
				nextTick += period
			default: // a send is due, as RunInputs sends
				if due := pacer.Due(); !due.IsZero() && due.Sub(epoch) > now {
					nextSend = due.Sub(epoch)
					break
				}
				if pacer.Held(epoch.Add(now)) {
					held = true
					break
				}
				seq++
				pacer.Sent(seq, epoch.Add(now))
				inFlight = append(inFlight, input{at: arrives(now), seq: seq})
				nextSend = max(pacer.Due().Sub(epoch), now+period/2)
			}
		}

		if starved < 10 {
			t.Errorf("seed %d: %d ticks starved, want the stalls to starve some: the test is not testing", seed, starved)
		}
		if n := r.Stats.InputsSurplus.Load(); n != 0 {
			st := pacer.Stats()
			t.Errorf("seed %d: the room dropped %d inputs as surplus, want none (%d ticks starved; pacer %+v)", seed, n, starved, st)
		}
	}
}

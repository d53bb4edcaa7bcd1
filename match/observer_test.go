package match

import (
	"context"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/google/go-cmp/cmp"
)

// tickRecorder is a TickObserver that keeps every observation.
type tickRecorder struct {
	mu  sync.Mutex
	got []observedTick
}

type observedTick struct{ duration, lateness time.Duration }

func (r *tickRecorder) ObserveTick(duration, lateness time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, observedTick{duration, lateness})
}

// TestTickObserver runs ticks on time, then stalls the loop for ten periods,
// and checks that the observer sees every tick once, with the work the tick
// did as its duration and how far past its deadline it started as its
// lateness.
func TestTickObserver(t *testing.T) {
	const work = time.Millisecond // each tick's own work, on the fake clock
	period := time.Second / 30
	clock := newFakeClock()
	g := &fakeGame{onStep: func(int) { clock.Advance(work) }}
	r := testRoom(t, g, clock, 1, time.Hour, nil)
	rec := &tickRecorder{}
	r.cfg.Observer = rec
	_ = seat(r, 0).Attach(newFakePeer())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	clock.WaitArmed(2) // the join timer, then the first tick's
	for range 5 {      // ticks 1..5 on time
		n := clock.Armed()
		clock.FireNext()
		clock.WaitArmed(n + 1)
	}
	// Tick 6 was due at start+6P and the clock is at start+5P+work: jump to
	// start+16P, making ticks 6..16 due. The loop runs 6, 7, 8 (MaxCatchUp 3)
	// and skips the rest.
	n := clock.Armed()
	clock.Advance(11*period - work)
	clock.WaitArmed(n + 1)
	cancel()
	<-done

	want := []observedTick{
		{work, 0}, {work, 0}, {work, 0}, {work, 0}, {work, 0},
		{work, 10 * period},
		{work, 9*period + work},
		{work, 8*period + 2*work},
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if diff := cmp.Diff(want, rec.got, cmp.AllowUnexported(observedTick{})); diff != "" {
		t.Errorf("observed ticks (-want +got):\n%s", diff)
	}
	if got := uint32(len(rec.got)); got != r.Tick() {
		t.Errorf("observed %d ticks, room ran %d", got, r.Tick())
	}
	for i, o := range rec.got {
		if o.duration < 0 || o.lateness < 0 {
			t.Errorf("tick %d: ObserveTick(%v, %v), want non-negative", i+1, o.duration, o.lateness)
		}
	}
}

// TestStatsTotals checks that rooms add every count to the shared totals as
// well as to their own stats, so that a manager's totals keep what ended
// rooms did.
func TestStatsTotals(t *testing.T) {
	total := new(Stats)
	var frameBytes uint64
	for _, players := range []int{1, 2} {
		r := testRoom(t, &fakeGame{}, newFakeClock(), players, time.Hour, nil)
		r.total = total
		peers := make([]*fakePeer, players)
		for i := range peers {
			peers[i] = newFakePeer()
			if err := seat(r, i).Attach(peers[i]); err != nil {
				t.Fatal(err)
			}
		}
		r.state.Store(stateRunning)
		s := seat(r, 0)
		s.Input(&arbiterv1.Input{Seq: 1})
		s.Input(&arbiterv1.Input{Seq: 2, Buttons: 0xdead}) // invalid
		s.Input(&arbiterv1.Input{Seq: 3})
		r.step()
		r.step()
		s.Input(&arbiterv1.Input{Seq: 1}) // stale
		r.step()
		for _, p := range peers {
			for _, f := range p.snapshots {
				frameBytes += uint64(len(f))
			}
		}
		if got, want := r.Stats.SnapshotFrames.Load(), uint64(3*players); got != want {
			t.Errorf("%d players: SnapshotFrames = %d, want %d", players, got, want)
		}
	}
	got := map[string]uint64{
		"ticks": total.Ticks.Load(), "applied": total.InputsApplied.Load(), "invalid": total.InputsInvalid.Load(),
		"stale": total.InputsStale.Load(), "frames": total.SnapshotFrames.Load(), "bytes": total.SnapshotBytes.Load(),
		"surplus": total.InputsSurplus.Load(),
	}
	want := map[string]uint64{
		"ticks": 6, "applied": 4, "invalid": 2, "stale": 2, "frames": 3 + 6, "bytes": frameBytes, "surplus": 0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

package bench

import (
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// TestAckParts plays one bot's snapshots and inputs by hand against a room
// ticking every period from 0 and checks that every acknowledgement is
// split into lead + ticks late × period + delivery as it happened.
func TestAckParts(t *testing.T) {
	const tickRate = 30
	period := int64(time.Second / tickRate)
	ms := int64(time.Millisecond)

	type send struct {
		seq uint32
		at  int64 // ns
	}
	type snap struct {
		tick  uint32
		ack   uint32
		delay int64 // ns after the tick's time
	}
	tests := []struct {
		name      string
		sends     []send
		snaps     []snap
		wantLead  time.Duration // p50, of the one timed input
		wantLate  [4]uint64     // early, on time, one, two or more
		wantDeliv time.Duration // of its snapshot
		wantTail  uint64
	}{{
		name:      "on time",
		sends:     []send{{seq: 5, at: 5*period - 3*ms}},
		snaps:     []snap{{tick: 5, ack: 5}},
		wantLead:  3 * time.Millisecond,
		wantLate:  [4]uint64{0, 1, 0, 0},
		wantDeliv: 0,
	}, {
		name:      "on time, delivered late",
		sends:     []send{{seq: 5, at: 5*period - 3*ms}},
		snaps:     []snap{{tick: 5, ack: 5, delay: 20 * ms}},
		wantLead:  3 * time.Millisecond,
		wantLate:  [4]uint64{0, 1, 0, 0},
		wantDeliv: 20 * time.Millisecond,
	}, {
		name:      "a tick late, delivered late: the tail",
		sends:     []send{{seq: 5, at: 5*period - 1*ms}},
		snaps:     []snap{{tick: 5, ack: 4}, {tick: 6, ack: 5, delay: 40 * ms}},
		wantLead:  1 * time.Millisecond,
		wantLate:  [4]uint64{0, 0, 1, 0},
		wantDeliv: 40 * time.Millisecond,
		wantTail:  1,
	}, {
		name:      "two ticks late",
		sends:     []send{{seq: 5, at: 5*period - 1*ms}},
		snaps:     []snap{{tick: 5, ack: 4}, {tick: 6, ack: 4}, {tick: 7, ack: 5}},
		wantLead:  1 * time.Millisecond,
		wantLate:  [4]uint64{0, 0, 0, 1},
		wantDeliv: 0,
		wantTail:  1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBot(&recorder{}, 0)
			b.entity.Store(7)
			b.room = newRoomClock(tickRate)
			parts := newAckParts(tickRate)
			lat := new(histogram)
			b.rec.lat.Store(lat)
			b.rec.parts.Store(parts)
			snapshot := func(tick, ack uint32) *arbiterv1.Snapshot {
				return &arbiterv1.Snapshot{Tick: tick, Entities: []*arbiterv1.Entity{{Id: 3}, {Id: 7, LastInputSeq: ack}}}
			}
			// Ticks 1–4 arrive at their tick's time and acknowledge
			// inputs 1–4 (sent before the window: not timed): the room's
			// clock is the envelope, and the lag 0.
			for k := uint32(1); k <= 4; k++ {
				b.timeAcks(snapshot(k, k), int64(k)*period)
			}
			parts.delivery = histogram{} // only the snapshots below
			b.rec.from.Store(4 * period)
			sent := map[uint32]int64{}
			for _, s := range tt.sends {
				slot := &b.ring[s.seq&ringMask]
				slot.at.Store(s.at)
				slot.aimed.Store(int64(s.seq) + b.lag.Load())
				slot.seq.Store(s.seq)
				sent[s.seq] = s.at
			}
			var wantTotal int64
			for _, s := range tt.snaps {
				at := int64(s.tick)*period + s.delay
				if sa, ok := sent[s.ack]; ok && s.ack > b.acked.Load() {
					wantTotal = at - sa
				}
				b.timeAcks(snapshot(s.tick, s.ack), at)
			}
			got := parts.breakdown(nil)
			if lat.Count() != 1 || got.Early+got.OnTime+got.LateOne+got.LateMore != 1 {
				t.Fatalf("%d acks timed, %d split; want 1 and 1", lat.Count(), got.Early+got.OnTime+got.LateOne+got.LateMore)
			}
			if lat.Max() != time.Duration(wantTotal) {
				t.Errorf("ack = %v, want %v", lat.Max(), time.Duration(wantTotal))
			}
			if !near(got.LeadP50, tt.wantLead, 0.02) { // a histogram's quantile: within 1.6 %
				t.Errorf("lead = %v, want %v", got.LeadP50, tt.wantLead)
			}
			if late := [4]uint64{got.Early, got.OnTime, got.LateOne, got.LateMore}; late != tt.wantLate {
				t.Errorf("ticks late (early, on time, one, more) = %v, want %v", late, tt.wantLate)
			}
			if got.DeliveryMax != tt.wantDeliv {
				t.Errorf("delivery max = %v, want %v", got.DeliveryMax, tt.wantDeliv)
			}
			if got.Tail != tt.wantTail {
				t.Errorf("tail = %d, want %d", got.Tail, tt.wantTail)
			}
			// The parts add up to the whole.
			if got.Tail == 1 {
				sum := got.TailLeadMean + time.Duration(got.TailTicksLateMean*float64(period)) + got.TailDeliveryMean
				if d := sum - time.Duration(wantTotal); d < -time.Microsecond || d > time.Microsecond {
					t.Errorf("lead %v + %.0f ticks + delivery %v = %v, want %v", got.TailLeadMean, got.TailTicksLateMean, got.TailDeliveryMean, sum, time.Duration(wantTotal))
				}
			}
		})
	}
}

// TestRoomClock: the envelope is the least offset of the newest one to two
// blocks of snapshots, so that a room whose ticks moved later is followed.
func TestRoomClock(t *testing.T) {
	rc := newRoomClock(10) // 100 ms ticks, blocks of 20 snapshots
	ms := int64(time.Millisecond)
	if d := rc.add(1, 100*ms+5*ms); d != 0 {
		t.Errorf("first snapshot: %v late, want 0", time.Duration(d))
	}
	if d := rc.add(2, 200*ms+9*ms); d != 4*time.Millisecond {
		t.Errorf("second: %v late, want 4ms", d)
	}
	// The room's ticks move 30 ms later for good (it skipped time):
	// within two blocks, arrivals are on time again.
	var d time.Duration
	for k := uint32(3); k < 3+40; k++ {
		d = rc.add(k, int64(k)*100*ms+35*ms)
	}
	if d != 0 {
		t.Errorf("after two blocks at the new phase: %v late, want 0", d)
	}
}

// TestSchedQuantile: the scheduling latency quantiles are bucket bounds.
func TestSchedQuantile(t *testing.T) {
	h := readSched()
	if h == nil {
		t.Skip("the runtime has no " + schedMetric)
	}
	d := subSched(h, h)
	if q := schedQuantile(d, 0.99); q != 0 {
		t.Errorf("empty window's p99 = %v, want 0", q)
	}
	d.Counts[len(d.Counts)/2] = 10
	if q, want := schedQuantile(d, 0.5), time.Duration(d.Buckets[len(d.Counts)/2+1]*float64(time.Second)); q != want {
		t.Errorf("p50 = %v, want %v (the bucket's upper bound)", q, want)
	}
}

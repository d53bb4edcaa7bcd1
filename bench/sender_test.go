package bench

import (
	"testing"
	"time"
)

// TestSenderDue: a batch of due bots that takes longer than the gap to the
// next due time sends that one too, at its time, instead of waiting out a
// sleep computed from the batch's start; the wait returned is from the
// clock after the batch.
func TestSenderDue(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		give     []time.Duration // when each bot is due, from the sender's base
		cost     time.Duration   // each send takes this long
		wantSent int             // in the batch starting at 0
		wantWait time.Duration
	}{
		{name: "nothing due", give: []time.Duration{5 * ms}, cost: ms, wantSent: 0, wantWait: 5 * ms},
		{name: "one due, the next later", give: []time.Duration{0, 5 * ms}, cost: ms, wantSent: 1, wantWait: 4 * ms},
		// Ten bots due at 0 take 10 ms; the ones due at 3 and 8 ms come
		// due meanwhile and go in the same batch.
		{name: "came due during the batch", give: []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 * ms, 8 * ms, 20 * ms}, cost: ms, wantSent: 12, wantWait: 8 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(true)
			now := s.base
			clock := func() time.Time { return now }
			for _, at := range tt.give {
				b := &bot{sendAt: int64(at)}
				s.q.push(sendEntry{int64(at), b})
			}
			sent := 0
			step := func(b *bot, at time.Time) (time.Time, bool) {
				if due := s.base.Add(time.Duration(b.sendAt)); at.Before(due) {
					t.Fatalf("stepped a bot at %v, due at %v", at.Sub(s.base), due.Sub(s.base))
				}
				sent++
				now = now.Add(tt.cost)
				return now.Add(time.Hour), true // not again in this test
			}
			wait := s.sendDue(clock, step)
			if sent != tt.wantSent {
				t.Errorf("sent %d, want %d", sent, tt.wantSent)
			}
			if wait != tt.wantWait {
				t.Errorf("wait %v, want %v (from the clock after the batch)", wait, tt.wantWait)
			}
		})
	}
}

package bench

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// sendQuantum is how often at most a sender wakes: every input due since
// its last wake-up goes out at the next, at most this late. A game with a
// frame loop sends on the first frame after an input is due, later than
// that (a frame is 7–17 ms); the Pacer keeps a late input's slot, so that
// lateness is only a little of the link's delay. The sender uses the
// smaller of this and a 32nd of the tick period.
const sendQuantum = time.Millisecond

// sender sends the inputs of many bots from one goroutine, each when its
// Client's pacing says it is due (InputDue, as RunInputs does for one
// Client), or at the tick rate without pacing. One goroutine and one
// timer for all its bots, rather than a goroutine and a timer each, as the
// floor's load generator does: a wake-up per input per bot was most of
// the generator's cost that was not the sockets'. Bots are added while it
// runs; it drops a bot whose connection has ended.
//
// A bot whose pacing holds its inputs back (Client.InputHeld) is looked
// at again after its next snapshot (poke, from the bot's OnSnapshot), as
// RunInputs waits for one, or at InputDue's time if that comes first.
//
// Writes happen on the sender's goroutine: a socket whose send buffer is
// full (a server that stopped reading) would hold up every bot of the
// sender. The arena's inputs are some 20 bytes, 30 a second; a server
// that reads nothing for the minutes that takes is broken anyway.
type sender struct {
	paced   bool
	quantum time.Duration // wake-ups at least this far apart

	wake chan struct{} // a token when added or poked has something

	mu struct {
		sync.Mutex
		added []*bot
		poked []*bot
	}

	q    sendQueue // the sender goroutine's own
	base time.Time // the origin of the bots' sendAt
}

// ns returns t as nanoseconds since s.base.
func (s *sender) ns(t time.Time) int64 { return int64(t.Sub(s.base)) }

func newSender(paced bool) *sender {
	return &sender{paced: paced, wake: make(chan struct{}, 1), base: time.Now()}
}

// add hands b, connected, to the sender. b must not be handed to another.
func (s *sender) add(b *bot) {
	b.sender = s
	s.mu.Lock()
	s.mu.added = append(s.mu.added, b)
	s.mu.Unlock()
	s.signal()
}

// poke asks the sender to look at b again now: a snapshot came while its
// inputs were held back. It is called from b's reader, and must not block.
func (s *sender) poke(b *bot) {
	s.mu.Lock()
	s.mu.poked = append(s.mu.poked, b)
	s.mu.Unlock()
	s.signal()
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run sends until ctx ends.
func (s *sender) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var added, poked []*bot
	for {
		s.mu.Lock()
		added, s.mu.added = s.mu.added, added[:0]
		poked, s.mu.poked = s.mu.poked, poked[:0]
		s.mu.Unlock()
		now := time.Now()
		nowNs := s.ns(now)
		for _, b := range added {
			if s.quantum == 0 {
				s.quantum = min(sendQuantum, time.Second/time.Duration(32*b.c.Welcome().TickRate))
			}
			b.sendAt, b.sendIdx = nowNs, -1
			heap.Push(&s.q, b)
		}
		for _, b := range poked {
			if b.sendIdx >= 0 { // still playing
				b.sendAt = nowNs
				heap.Fix(&s.q, b.sendIdx)
			}
		}
		for len(s.q) > 0 && s.q[0].sendAt <= nowNs {
			b := s.q[0]
			if next, ok := s.step(b, now); ok {
				b.sendAt = s.ns(next)
				heap.Fix(&s.q, 0)
			} else {
				heap.Pop(&s.q)
			}
		}
		wait := time.Hour
		if len(s.q) > 0 {
			wait = max(time.Duration(s.q[0].sendAt-nowNs), s.quantum)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// step sends b's input if it is due at now, and returns when to look at
// b next; ok is false once b's connection has ended.
func (s *sender) step(b *bot, now time.Time) (next time.Time, ok bool) {
	select {
	case <-b.c.Done():
		return time.Time{}, false
	default:
	}
	c := b.c
	period := time.Second / time.Duration(c.Welcome().TickRate)
	if !s.paced {
		// A fixed ticker at the tick rate: what a client without pacing
		// does. Like a time.Ticker, it skips what it could not keep up.
		if _, err := c.SendInput(b.next()); err != nil {
			return time.Time{}, false
		}
		next = s.base.Add(time.Duration(b.sendAt) + period)
		if next.Before(now) {
			next = now.Add(period)
		}
		return next, true
	}
	// As RunInputs does: held, look again at the next snapshot (or at
	// InputDue's time); not due yet, at its time; due, send, and look
	// again at the next due time, at least half a period on.
	if c.InputHeld(now) {
		b.held.Store(true)
		return now.Add(max(c.InputDue(now), s.quantum)), true
	}
	b.held.Store(false)
	if d := c.InputDue(now); d > 0 {
		return now.Add(d), true
	}
	if _, err := c.SendInput(b.next()); err != nil {
		return time.Time{}, false
	}
	return now.Add(max(c.InputDue(now), period/2)), true
}

// sendQueue is a min-heap of bots by sendAt.
type sendQueue []*bot

func (q sendQueue) Len() int           { return len(q) }
func (q sendQueue) Less(i, j int) bool { return q[i].sendAt < q[j].sendAt }
func (q sendQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].sendIdx, q[j].sendIdx = i, j
}
func (q *sendQueue) Push(x any) {
	b := x.(*bot)
	b.sendIdx = len(*q)
	*q = append(*q, b)
}
func (q *sendQueue) Pop() any {
	old := *q
	b := old[len(old)-1]
	old[len(old)-1] = nil
	b.sendIdx = -1
	*q = old[:len(old)-1]
	return b
}

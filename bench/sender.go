package bench

import (
	"context"
	"sync"
	"time"
)

// sender sends the inputs of many bots from one goroutine, each when its
// Client's pacing says it is due (InputDue, as RunInputs does for one
// Client), or at the tick rate without pacing. One goroutine and one
// timer for all its bots, rather than a goroutine and a timer each, as the
// floor's load generator does: a goroutine's wake-up, timer and select per
// input per bot were most of the generator's cost that was not the
// sockets'. Bots are added while it runs; it drops a bot whose connection
// has ended.
//
// It sleeps until the earliest due time, not for a fixed quantum: inputs
// reach the server when each client's pacing sends them, as independent
// clients' would, not gathered into batches, whose bunched arrivals would
// share the server's per-arrival costs (wake-ups, netpoll, scheduling).
// (A 1 ms quantum showed no difference beyond the noise in either
// process's CPU at N = 1000.)
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
	paced bool

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
		nowNs := s.ns(time.Now())
		for _, b := range added {
			b.sendAt = nowNs
			s.q.push(sendEntry{nowNs, b})
		}
		for _, b := range poked {
			s.q.advance(b, nowNs) // unless it has left
		}
		timer.Reset(s.sendDue(time.Now, s.step))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// sendDue steps every bot that is due (step), and returns how long to
// wait for the next one. The clock is read again after every step: with
// a thousand bots a batch takes milliseconds, and a bot that came due
// meanwhile is sent in this batch, not after a wait computed from the
// batch's start (which put every input after a long batch that much
// late, and its tick a tick late now and then).
func (s *sender) sendDue(clock func() time.Time, step func(*bot, time.Time) (time.Time, bool)) time.Duration {
	for {
		now := clock()
		nowNs := s.ns(now)
		if len(s.q) == 0 {
			return time.Hour
		}
		if wait := s.q[0].at - nowNs; wait > 0 {
			return time.Duration(wait)
		}
		b := s.q[0].b
		if next, ok := step(b, now); ok {
			b.sendAt = s.ns(next)
			s.q[0].at = b.sendAt
			s.q.down(0)
		} else {
			s.q.pop()
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
	// late is how long after the time it asked for the sender got to
	// look at b: its goroutine's wake-up, or a long batch before b.
	late := time.Duration(s.ns(now) - b.sendAt)
	if !s.paced {
		// A fixed ticker at the tick rate: what a client without pacing
		// does. Like a time.Ticker, it skips what it could not keep up
		// (and counts it lost).
		b.countLate(late, period)
		if _, err := c.SendInput(b.next()); err != nil {
			return time.Time{}, false
		}
		next = s.base.Add(time.Duration(b.sendAt) + period)
		if next.Before(now) {
			next = now.Add(period)
		}
		return next, true
	}
	// As RunInputs does: not due yet, look again at its time, or, if the
	// pacing holds the input back, at the next snapshot if that comes
	// first; due, send, and look again at the next due time, at least
	// half a period on. (A held input is never due: InputDue says when
	// to look again.) The flag goes up before InputHeld looks, so that a
	// snapshot that comes in between still pokes the sender.
	d := c.InputDue(now)
	if d > 0 {
		b.held.Store(true)
		if !c.InputHeld(now) {
			b.held.Store(false)
		}
		return now.Add(d), true
	}
	if parts := b.rec.parts.Load(); parts != nil {
		parts.sendLate.Record(-d)
	}
	b.countLate(late, period)
	if _, err := c.SendInput(b.next()); err != nil {
		return time.Time{}, false
	}
	return now.Add(max(c.InputDue(now), period/2)), true
}

// sendEntry is a bot in a sendQueue: when the sender looks at it next
// (ns since the sender's base), kept beside the pointer so that ordering
// the queue touches no bot.
type sendEntry struct {
	at int64
	b  *bot
}

// sendQueue is a min-heap of bots by when the sender looks at them next.
type sendQueue []sendEntry

func (q *sendQueue) push(e sendEntry) {
	*q = append(*q, e)
	q.up(len(*q) - 1)
}

// pop removes the first entry.
func (q *sendQueue) pop() {
	old := *q
	n := len(old) - 1
	old[0] = old[n]
	old[n] = sendEntry{}
	*q = old[:n]
	q.down(0)
}

// advance moves b's entry to at if that is sooner; b may have left.
func (q sendQueue) advance(b *bot, at int64) {
	for i := range q {
		if q[i].b == b {
			if at < q[i].at {
				q[i].at = at
				q.up(i)
			}
			return
		}
	}
}

func (q sendQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if q[p].at <= q[i].at {
			return
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

func (q sendQueue) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q) {
			return
		}
		c := l
		if r := l + 1; r < len(q) && q[r].at < q[l].at {
			c = r
		}
		if q[i].at <= q[c].at {
			return
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
}

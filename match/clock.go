package match

import "time"

// Clock is the source of time for rooms. It is injected so that tests can
// drive thousands of ticks without waiting; SystemClock is the real one.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that delivers on its channel once d has
	// passed; d ≤ 0 delivers at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a resettable one-shot timer, like *time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer to fire after d. It must only be called
	// after the previous value was received from C or the timer stopped.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop()                 { s.t.Stop() }

// schedule decides when ticks run. Tick n (1-based) is due at start + n·period:
// deadlines come from the start time, never from the previous wake-up, so the
// loop does not drift however late each wake-up is. A loop that falls behind
// runs at most maxCatchUp ticks in a row and skips the rest.
type schedule struct {
	start      time.Time
	period     time.Duration
	maxCatchUp uint64
	next       uint64 // the next tick index to run

	overruns uint64 // wake-ups that found more than one tick due
	skipped  uint64 // ticks dropped by the catch-up cap
}

func newSchedule(start time.Time, period time.Duration, maxCatchUp int) *schedule {
	return &schedule{start: start, period: period, maxCatchUp: uint64(max(maxCatchUp, 1)), next: 1}
}

// deadline returns when tick n is due.
func (s *schedule) deadline(n uint64) time.Time {
	return s.start.Add(time.Duration(n) * s.period)
}

// due returns how many ticks to run now and advances past them (and past any
// skipped ones). The caller runs exactly that many.
func (s *schedule) due(now time.Time) int {
	if now.Before(s.deadline(s.next)) {
		return 0
	}
	last := uint64(now.Sub(s.start) / s.period) // the newest tick that is due
	n := last - s.next + 1
	if n > 1 {
		s.overruns++
	}
	if n > s.maxCatchUp {
		s.skipped += n - s.maxCatchUp
		n = s.maxCatchUp
	}
	s.next = last + 1
	return int(n)
}

// wait returns how long until the next tick is due.
func (s *schedule) wait(now time.Time) time.Duration {
	return s.deadline(s.next).Sub(now)
}

// alignUp returns the first instant at or after t that is a whole number of
// steps after the Unix epoch. It keeps t's monotonic clock reading.
func alignUp(t time.Time, step time.Duration) time.Time {
	if step <= 0 {
		return t
	}
	off := time.Duration(t.UnixNano() % int64(step))
	if off < 0 {
		off += step
	}
	if off == 0 {
		return t
	}
	return t.Add(step - off)
}

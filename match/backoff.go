package match

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff is the wait between attempts of something that keeps failing: it
// starts at Min, doubles after every attempt up to Max, and each wait is
// shortened by a random part (jitter) so that processes that failed
// together do not retry in lockstep. The zero value waits 100ms, 200ms, …
// up to 30s, without jitter.
//
// A Backoff belongs to the one goroutine that retries: it is not safe for
// concurrent use.
type Backoff struct {
	// Min is the first wait; default 100ms.
	Min time.Duration
	// Max caps the wait; default 30s, and never below Min.
	Max time.Duration
	// Jitter is the part of each wait drawn at random, from 0 (none: Min,
	// 2·Min, 4·Min, …) to 1 ("full jitter": anywhere in [0, wait]). At 0.5
	// ("equal jitter") every wait lies in [wait/2, wait]. Values outside
	// [0, 1] are clamped.
	Jitter float64
	// Rand returns a number in [0, 1); default math/rand/v2.Float64. Tests
	// pin it to make the waits exact.
	Rand func() float64

	next time.Duration // the unjittered wait Next returns next; 0: Min
}

// Default bounds of a zero Backoff.
const (
	defaultBackoffMin = 100 * time.Millisecond
	defaultBackoffMax = 30 * time.Second
)

// Next returns the wait before the next attempt and doubles the one after
// it, up to Max.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.bounds()
	if b.next < lo {
		b.next = lo
	}
	d := b.next
	if b.next > hi/2 {
		b.next = hi
	} else {
		b.next *= 2
	}
	if j := min(max(b.Jitter, 0), 1); j > 0 {
		r := b.Rand
		if r == nil {
			r = rand.Float64
		}
		d -= time.Duration(j * r() * float64(d))
	}
	return d
}

// Reset starts the waits again from Min, after a success.
func (b *Backoff) Reset() { b.next = 0 }

// bounds returns Min and Max with their defaults.
func (b *Backoff) bounds() (lo, hi time.Duration) {
	lo, hi = b.Min, b.Max
	if lo <= 0 {
		lo = defaultBackoffMin
	}
	if hi <= 0 {
		hi = defaultBackoffMax
	}
	return lo, max(hi, lo)
}

// RetrierConfig configures a Retrier. The zero value of every field means
// its default.
type RetrierConfig struct {
	// Backoff sets the waits between failed attempts.
	Backoff Backoff
	// Remind is the least time between two reminders that the loop is
	// still failing; default 1 minute.
	Remind time.Duration
	// Clock measures outages and runs Wait's timer; default SystemClock.
	Clock Clock
	// Logger receives the loop's state changes; default slog.Default().
	Logger *slog.Logger
}

// defaultRemind is how often a Retrier repeats that its loop still fails.
const defaultRemind = time.Minute

// Retrier is the retry policy and the failure log of one background loop
// (a store writer, an archiver, a sync with a shared queue). The loop
// reports every attempt's outcome, Failed or Succeeded; the Retrier tells
// it how long to wait before the next attempt (its Backoff) and logs the
// loop's state changes only: the first failure (WARN, with the error),
// a reminder at most every Remind while the failures go on (WARN, with how
// long, how many attempts and the latest error), and the recovery (INFO,
// with how long it failed and how many attempts). Every other failed
// attempt is logged at DEBUG. A store outage thus costs a few log lines
// per loop, however often the loop retries.
//
// A loop that waits by itself calls Wait; one that schedules its next step
// (the matchmaker's) adds Failed's wait to its clock's Now.
//
// A Retrier belongs to the loop's goroutine: it is not safe for concurrent
// use.
type Retrier struct {
	name    string
	backoff Backoff
	clock   Clock
	log     *slog.Logger
	remind  time.Duration

	failing  bool
	since    time.Time // the first failure of the current outage
	attempts int       // failed attempts in the current outage
	reminded time.Time // when the current outage was last logged
}

// NewRetrier returns a Retrier for the loop called name, which starts the
// messages it logs ("checkpoint writer: failing; will retry").
func NewRetrier(name string, cfg RetrierConfig) *Retrier {
	if cfg.Remind <= 0 {
		cfg.Remind = defaultRemind
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Retrier{name: name, backoff: cfg.Backoff, clock: cfg.Clock, log: cfg.Logger, remind: cfg.Remind}
}

// Failed records a failed attempt and returns how long to wait before the
// next one. A loop that is stopping (its context done) should not call it:
// the failure is the stop, not the service.
func (r *Retrier) Failed(err error) time.Duration {
	now := r.clock.Now()
	wait := r.backoff.Next()
	r.attempts++
	switch {
	case !r.failing:
		r.failing, r.since, r.reminded = true, now, now
		r.log.Warn(r.name+": failing; will retry", "retry_in", wait, "err", err)
	case now.Sub(r.reminded) >= r.remind:
		r.reminded = now
		r.log.Warn(r.name+": still failing", "for", now.Sub(r.since).Round(time.Millisecond), "attempts", r.attempts, "retry_in", wait, "err", err)
	default:
		r.log.Debug(r.name+": attempt failed", "attempts", r.attempts, "retry_in", wait, "err", err)
	}
	return wait
}

// Succeeded records a successful attempt: after failures it logs the
// recovery, and the waits start again from the Backoff's Min.
func (r *Retrier) Succeeded() {
	if !r.failing {
		return
	}
	r.log.Info(r.name+": recovered", "after", r.clock.Now().Sub(r.since).Round(time.Millisecond), "failed_attempts", r.attempts)
	r.failing, r.attempts = false, 0
	r.backoff.Reset()
}

// Failing reports whether the last attempt failed.
func (r *Retrier) Failing() bool { return r.failing }

// Wait waits d on the Retrier's clock. It returns false if ctx ended
// first.
func (r *Retrier) Wait(ctx context.Context, d time.Duration) bool {
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

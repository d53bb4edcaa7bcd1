package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// Defaults for the zero values of Backoff.
const (
	// DefaultBackoffInitial is the bound of the delay before the first
	// retry.
	DefaultBackoffInitial = 100 * time.Millisecond
	// DefaultBackoffMax caps the bound of the delay between attempts.
	DefaultBackoffMax = 5 * time.Second
	// DefaultBackoffMultiplier is how much the bound grows per failed
	// attempt.
	DefaultBackoffMultiplier = 2
	// DefaultAttemptTimeout bounds one attempt (connect, upgrade, Welcome),
	// so that a server that accepts but never answers costs one attempt,
	// not the whole of Resume's ctx.
	DefaultAttemptTimeout = 10 * time.Second
)

// Backoff is the retry schedule of Resume: capped exponential backoff with
// full jitter. The delay before retry n (n = 0 after the first failed
// attempt) is drawn uniformly from [0, Cap(n)], Cap(n) = min(Max,
// Initial·Multiplier^n), so that the players of a room dropped together by
// one network blip do not all come back in the same instant. The zero value
// is the default schedule: at most 100 ms, 200 ms, 400 ms, … 5 s, 5 s, …,
// attempts unbounded (until Resume's ctx ends), each at most 10 s.
//
// Its function fields are called from the goroutine that called Resume.
type Backoff struct {
	// Initial bounds the delay before the first retry; zero means
	// DefaultBackoffInitial.
	Initial time.Duration
	// Max caps the bound of every delay; zero means DefaultBackoffMax.
	Max time.Duration
	// Multiplier is the growth of the bound per retry; values below 1
	// mean DefaultBackoffMultiplier.
	Multiplier float64
	// MaxAttempts bounds the connection attempts; zero or negative means
	// no bound: Resume tries until it succeeds, meets an error that
	// retrying cannot fix, or its ctx ends.
	MaxAttempts int
	// AttemptTimeout bounds one attempt; zero means DefaultAttemptTimeout,
	// negative means no bound other than Resume's ctx.
	AttemptTimeout time.Duration

	// Jitter returns the delay to wait given its bound d: a duration in
	// [0, d]. Nil means uniformly random (full jitter). Tests inject a
	// deterministic one.
	Jitter func(d time.Duration) time.Duration
	// Sleep waits for d, or until ctx is done and then returns an error
	// (ctx's). Nil means a timer. Tests inject one that records d and
	// returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, if set, is called after each failed attempt that will be
	// retried, before the wait: attempt counts from 1, err is why the
	// attempt failed, delay is the wait chosen. For logs and "reconnecting…"
	// screens; it must not block.
	OnRetry func(attempt int, err error, delay time.Duration)
}

// Cap returns the upper bound of the delay before retry n (n = 0 after the
// first failed attempt): min(Max, Initial·Multiplier^n).
func (b Backoff) Cap(n int) time.Duration {
	initial, maxDelay, mult := b.Initial, b.Max, b.Multiplier
	if initial <= 0 {
		initial = DefaultBackoffInitial
	}
	if maxDelay <= 0 {
		maxDelay = DefaultBackoffMax
	}
	if mult < 1 {
		mult = DefaultBackoffMultiplier
	}
	// In floating point, so that a long outage cannot overflow; the cap
	// is applied before converting back.
	d := float64(initial) * math.Pow(mult, float64(max(n, 0)))
	if d >= float64(maxDelay) {
		return maxDelay
	}
	return time.Duration(d)
}

// Delay returns the delay before retry n: Cap(n), jittered.
func (b Backoff) Delay(n int) time.Duration {
	bound := b.Cap(n)
	if b.Jitter != nil {
		return min(max(b.Jitter(bound), 0), bound)
	}
	return rand.N(bound + 1)
}

func (b Backoff) attemptTimeout() time.Duration {
	if b.AttemptTimeout == 0 {
		return DefaultAttemptTimeout
	}
	return b.AttemptTimeout
}

func (b Backoff) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// resumeSeed is what a resumed Client carries over from the Client it
// replaces.
type resumeSeed struct {
	matchID string
	entity  sim.EntityID
	pos     sim.Vec // the last prediction
	stats   PredictionStats
	pacing  PacerStats

	// A game played with actions: the State kept, the highest action seq
	// answered, the actions still pending.
	state   *arbiterv1.State
	acked   uint32
	pending []PendingAction
}

// Resume reconnects a player to the match it was playing and returns the new
// Client, which controls the same entity. wsURL is the URL prev was dialled
// with (the join token stays valid until the match ends), or where
// opts.Locate says the match is now, asked before every retry; prev is the Client
// whose connection ended, or nil to dial with retries and nothing to carry
// over. opts configures the new Client as in Dial, and opts.Backoff the
// retries; pass the callbacks again.
//
// Before any attempt, Resume closes prev if it is still open (so that it can
// send nothing more) and refuses, with an error wrapping ErrNotResumable and
// prev's *CloseError, if the way prev ended says the player must not come
// back (see CloseError.Resumable): the match is over, another connection took
// the seat, the player forfeited, or the server kicked the player.
//
// It then dials until an attempt succeeds, waiting opts.Backoff's delay after
// each failure. It stops at once, returning the attempt's error, when
// retrying cannot help: the server refused the token (a *HandshakeError with
// 401: the match has ended or the token is invalid; any 4xx but 408 and 429),
// or the new connection was closed before its Welcome for a reason that is
// not resumable (say, a Kick match_over). It retries network errors,
// timeouts, 408, 429 and 5xx refusals, and connections that dropped before
// their Welcome. It gives up when ctx ends (the error wraps context.Cause and
// the last attempt's error) or after opts.Backoff.MaxAttempts attempts.
//
// What carries over from prev:
//   - The input or action seq: the new Client continues after
//     prev.LastSeq() (or opts.InitialSeq, or the new Welcome's
//     last_input_seq or last_action_seq, if greater), because the server
//     ignores seqs it has already seen.
//   - The prediction, provisionally: until the new connection's first
//     snapshot, Predicted starts from prev's last prediction, so that the
//     player's entity does not jump. The first snapshot rebases it on the
//     server's position. prev's unacknowledged inputs are dropped, not
//     replayed or resent: the server either processed them (the snapshot's
//     last_input_seq covers them, and the position includes them) or never
//     received them, and then never will, since it does not go back to a
//     seq below one it has processed. Inputs sent before that first snapshot
//     are not checked against it, so a resume does not count as a
//     correction; PredictionError continues prev's statistics.
//   - The counters of PacingStats. Nothing else: the interpolation history,
//     LastSnapshot, the server tick estimate and the input pacing start
//     afresh from the new Welcome.
//   - In a game played with actions, the State (see Client.State) until
//     the new connection's first State replaces it (the server sends one
//     right after the Welcome; a State of a lower version would be
//     ignored), and the pending actions the new Welcome's last_action_seq
//     says the server received: it answers them on the new connection.
//     Those it did not receive are dropped, not resent: they were made
//     against a state the game may have left, and whether to make them
//     again is the player's call (they vanish from PendingActions).
//
// If the new Welcome names another match or entity than prev's, Resume
// closes the new Client and returns ErrResumeMismatch.
//
// Resume blocks; it must not be called from an Options callback of prev
// (closing prev waits for those). The caller must Close the returned Client.
func Resume(ctx context.Context, wsURL string, prev *Client, opts Options) (*Client, error) {
	where := redact(wsURL)
	if _, _, err := parseURL(wsURL); err != nil {
		return nil, fmt.Errorf("client: resume %s: %w", where, err)
	}
	var seed *resumeSeed
	if prev != nil {
		select {
		case <-prev.Done():
		default:
			_ = prev.Close() // its close error does not matter: it is replaced
		}
		ce := prev.CloseError()
		if prev.MatchEnd() != nil || !ce.Resumable() {
			return nil, fmt.Errorf("client: resume %s: %w: %w", where, ErrNotResumable, ce)
		}
		w := prev.Welcome()
		seed = &resumeSeed{matchID: w.MatchID, entity: w.Entity, stats: prev.PredictionError(), pacing: prev.PacingStats()}
		prev.mu.Lock()
		seed.pos = prev.mu.pred.Position()
		seed.state, seed.acked, seed.pending = prev.mu.state, prev.mu.acked, slices.Clone(prev.mu.pending)
		prev.mu.Unlock()
		opts.InitialSeq = max(opts.InitialSeq, prev.LastSeq())
	}

	b := opts.Backoff
	for attempt := 1; ; attempt++ {
		c, err := dialAttempt(ctx, wsURL, opts, seed, b.attemptTimeout())
		if err == nil {
			w := c.Welcome()
			if seed != nil && (w.MatchID != seed.matchID || w.Entity != seed.entity) {
				_ = c.Close()
				return nil, fmt.Errorf("client: resume %s: welcomed to match %q as entity %d, was match %q entity %d: %w",
					where, w.MatchID, w.Entity, seed.matchID, seed.entity, ErrResumeMismatch)
			}
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: resume %s: %w; last attempt: %w", where, context.Cause(ctx), err)
		}
		if !retryable(err) {
			return nil, fmt.Errorf("client: resume %s (attempt %d): %w", where, attempt, err)
		}
		if b.MaxAttempts > 0 && attempt >= b.MaxAttempts {
			return nil, fmt.Errorf("client: resume %s: gave up after %d attempts: %w", where, attempt, err)
		}
		delay := b.Delay(attempt - 1)
		if b.OnRetry != nil {
			b.OnRetry(attempt, err, delay)
		}
		if serr := b.sleep(ctx, delay); serr != nil {
			return nil, fmt.Errorf("client: resume %s: %w; last attempt: %w", where, serr, err)
		}
		if opts.Locate != nil {
			if u, lerr := opts.Locate(ctx); lerr == nil && u != "" && u != wsURL {
				if _, _, perr := parseURL(u); perr == nil {
					wsURL, where = u, redact(u)
				}
			}
		}
	}
}

// dialAttempt is one attempt of Resume, bounded by timeout (if positive) as
// well as ctx.
func dialAttempt(ctx context.Context, wsURL string, opts Options, seed *resumeSeed, timeout time.Duration) (*Client, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return dialSeeded(ctx, wsURL, opts, seed)
}

// retryable reports whether a failed attempt of Resume is worth repeating.
// The caller has checked that Resume's own ctx is not done.
func retryable(err error) bool {
	var he *HandshakeError
	if errors.As(err, &he) {
		switch s := he.StatusCode; {
		case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
			return true
		default:
			// 401 above all: the match has ended or the token is
			// invalid, and no number of retries changes that.
			return false
		}
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Resumable()
	}
	// Network errors, timeouts of one attempt, TLS failures: the next
	// attempt may fare better, and the backoff keeps this cheap.
	return true
}

// Resumable reports whether the player may reconnect with the same join token
// after a connection ended this way, which is what Resume checks:
//
//   - yes when this side closed (Close, or the client's reply to a server
//     frame it could not accept), when the connection dropped without a close
//     frame (1006), and for server closes that describe the server or the
//     path rather than the player: 1001 (shutdown, idle), 1011 internal
//     error, 1012–1014 (restart, try again later, bad gateway), and 1008
//     slow_consumer — the server could not send fast enough, which a fresh
//     connection with an empty queue may well fix;
//   - no when the server sent a verdict: 1000 (match over), 4000 (replaced:
//     another connection holds the seat, docs/protocol.md forbids reconnecting), 4001
//     (forfeited: the player was away past the grace period and has lost the
//     seat), 1008 for cheat or input_flood (kicked), 1003, 1007, 1009 (this
//     client broke the protocol; reconnecting would not fix it), any other
//     code, or a Kick whose reason is not resumable
//     (arbiterv1.CloseReason.Resumable: forfeited, replaced, cheat, …, or a
//     word this library does not know), whatever code followed it.
//
// A nil *CloseError (the connection has not ended) is not resumable.
func (e *CloseError) Resumable() bool {
	if e == nil {
		return false
	}
	if e.KickReason != "" && !e.KickReason.Resumable() {
		return false
	}
	if e.Local {
		return true
	}
	switch e.Code {
	case arbiterv1.CloseNetwork.Code(), arbiterv1.CloseShutdown.Code(), arbiterv1.CloseInternalError.Code(),
		1012, 1013, 1014: // sent by proxies and other servers, not in Arbiter's vocabulary
		return true
	case arbiterv1.CloseSlowConsumer.Code(): // also cheat's and input_flood's
		return e.Reason == arbiterv1.CloseSlowConsumer || e.KickReason == arbiterv1.CloseSlowConsumer
	}
	return false
}

package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

func TestBackoffCap(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		give Backoff
		want []time.Duration // Cap(0), Cap(1), …
	}{
		{"default", Backoff{}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms, 5000 * ms}},
		{"custom", Backoff{Initial: time.Second, Max: 3 * time.Second, Multiplier: 1.5}, []time.Duration{1000 * ms, 1500 * ms, 2250 * ms, 3000 * ms, 3000 * ms}},
		{"multiplier below 1 is the default", Backoff{Multiplier: 0.5}, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []time.Duration
			for n := range tt.want {
				got = append(got, tt.give.Cap(n))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Cap(0…) mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := (Backoff{}).Cap(10_000); got != DefaultBackoffMax {
		t.Errorf("Cap(10000) = %v, want %v (no overflow)", got, DefaultBackoffMax)
	}
}

func TestBackoffDelayJitter(t *testing.T) {
	tests := []struct {
		name   string
		jitter func(time.Duration) time.Duration
		want   time.Duration // for Cap = 800 ms
	}{
		{"half", func(d time.Duration) time.Duration { return d / 2 }, 400 * time.Millisecond},
		{"negative is clamped to 0", func(time.Duration) time.Duration { return -1 }, 0},
		{"beyond the cap is clamped", func(d time.Duration) time.Duration { return 2 * d }, 800 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := (Backoff{Jitter: tt.jitter}).Delay(3); got != tt.want {
			t.Errorf("%s: Delay(3) = %v, want %v", tt.name, got, tt.want)
		}
	}

	// Full jitter by default: uniform in [0, Cap]. With 2000 draws, missing
	// either quarter has a probability of about 0.75^2000.
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for range 2000 {
		d := (Backoff{}).Delay(3)
		if d < 0 || d > 800*time.Millisecond {
			t.Fatalf("Delay(3) = %v, want within [0, 800ms]", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 200*time.Millisecond || hi < 600*time.Millisecond {
		t.Errorf("Delay(3) ranged over [%v, %v] in 2000 draws, want full jitter over [0, 800ms]", lo, hi)
	}
}

func TestCloseErrorResumable(t *testing.T) {
	tests := []struct {
		give CloseError
		want bool
	}{
		{CloseError{Code: 1006}, true},
		{CloseError{Code: 1000, Local: true}, true}, // Close
		{CloseError{Code: 1007, Local: true, Reason: "bad_frame"}, true},
		{CloseError{Code: 1001, Reason: "shutdown", KickReason: "shutdown"}, true},
		{CloseError{Code: 1001, Reason: "idle"}, true},
		{CloseError{Code: 1001, Reason: "idle", KickReason: "idle"}, true},
		{CloseError{Code: 1011, Reason: "internal_error", KickReason: "internal_error"}, true},
		{CloseError{Code: 1012}, true},
		{CloseError{Code: 1008, Reason: "slow_consumer", KickReason: "slow_consumer"}, true},
		{CloseError{Code: 1006, KickReason: "slow_consumer"}, true},
		{CloseError{Code: 1000, Reason: "match_over", KickReason: "match_over"}, false},
		{CloseError{Code: 1000}, false},
		{CloseError{Code: 4000, Reason: "replaced", KickReason: "replaced"}, false},
		{CloseError{Code: 4000}, false},
		{CloseError{Code: 1008, Reason: "cheat", KickReason: "cheat"}, false},
		{CloseError{Code: 1008, Reason: "input_flood"}, false},
		{CloseError{Code: 1008}, false},
		{CloseError{Code: 1003, Reason: "text_frame"}, false},
		{CloseError{Code: 1007, Reason: "bad_frame"}, false},
		{CloseError{Code: 4001}, false},
		{CloseError{Code: 4001, Reason: "forfeited", KickReason: "forfeited"}, false},
		{CloseError{Code: 1006, KickReason: "forfeited"}, false}, // the close frame was lost
		// A verdict announced by a Kick stands even if its close frame
		// was lost, or this side closed first.
		{CloseError{Code: 1006, KickReason: "match_over"}, false},
		{CloseError{Code: 1000, Local: true, KickReason: "cheat"}, false},
	}
	for _, tt := range tests {
		if got := tt.give.Resumable(); got != tt.want {
			t.Errorf("%+v.Resumable() = %v, want %v", tt.give, got, tt.want)
		}
	}
	if (*CloseError)(nil).Resumable() {
		t.Error("(*CloseError)(nil).Resumable() = true, want false")
	}
}

// retries records Resume's waits instead of waiting: Jitter is the identity,
// so each delay is the schedule's bound.
type retries struct {
	t        *testing.T
	delays   []time.Duration
	attempts []int
	// cancelAt, if positive, cancels cancel at that wait (counting from 1)
	// and reports the cancellation, as a real wait would.
	cancelAt int
	cancel   context.CancelFunc
}

func (r *retries) backoff() Backoff {
	return Backoff{
		Jitter: func(d time.Duration) time.Duration { return d },
		Sleep: func(ctx context.Context, d time.Duration) error {
			r.delays = append(r.delays, d)
			if len(r.delays) == r.cancelAt {
				r.cancel()
				return ctx.Err()
			}
			return nil
		},
		OnRetry: func(attempt int, err error, _ time.Duration) {
			if err == nil {
				r.t.Errorf("OnRetry(%d) with a nil error", attempt)
			}
			r.attempts = append(r.attempts, attempt)
		},
	}
}

// cutClient dials the fake server, lets the client see one snapshot, and
// cuts the connection; it returns the ended Client.
func cutClient(t *testing.T, fs *fakeServer) *Client {
	t.Helper()
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	waitForTick(t, c, fc.step())
	fc.cut()
	if ce := waitClosed(t, c); ce.Code != 1006 {
		t.Fatalf("cut connection ended with %v, want 1006", ce)
	}
	return c
}

// resume calls Resume with a generous deadline and closes the new Client
// when the test ends.
func resume(t *testing.T, ctx context.Context, url string, prev *Client, opts Options) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := Resume(ctx, url, prev, opts)
	if c != nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// TestResumeRetriesWithBackoff: failures that retrying may fix are retried
// on the backoff schedule until an attempt succeeds.
func TestResumeRetriesWithBackoff(t *testing.T) {
	ms := time.Millisecond
	statuses := []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusRequestTimeout}
	tests := []struct {
		name      string
		configure func(fs *fakeServer) // request 1 is the first Dial
		netDial   func(ctx context.Context, network, addr string) (net.Conn, error)
	}{
		{"refused 503 429 502 408", func(fs *fakeServer) {
			fs.refuse = func(n int) int {
				if n >= 2 && n <= 5 {
					return statuses[n-2]
				}
				return 0
			}
		}, nil},
		{"dropped before welcome", func(fs *fakeServer) {
			fs.reject = func(n int, fc *fakeConn) bool {
				if n >= 2 && n <= 5 {
					fc.cut()
					return true
				}
				return false
			}
		}, nil},
		{"shut down before welcome", func(fs *fakeServer) {
			fs.reject = func(n int, fc *fakeConn) bool {
				if n >= 2 && n <= 5 {
					fc.kick(1001, "shutdown", "restarting")
					return true
				}
				return false
			}
		}, nil},
		{"network errors", nil, failingDialer(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) {
				fs.resume = true
				if tt.configure != nil {
					tt.configure(fs)
				}
			})
			prev := cutClient(t, fs)
			r := &retries{t: t}
			c, err := resume(t, t.Context(), fs.url(fakeToken), prev, Options{Backoff: r.backoff(), NetDial: tt.netDial})
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if got := c.Welcome().Entity; got != fakeSelf {
				t.Errorf("resumed Welcome().Entity = %d, want %d", got, fakeSelf)
			}
			if diff := cmp.Diff([]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}, r.delays); diff != "" {
				t.Errorf("waits between attempts mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{1, 2, 3, 4}, r.attempts); diff != "" {
				t.Errorf("OnRetry attempts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// failingDialer fails its first n calls with a network error, then dials.
func failingDialer(n int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var calls atomic.Int32
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if calls.Add(1) <= int32(n) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// TestResumeRefusesAfterVerdict: a connection the server ended with a
// verdict (match over, replaced, kicked) is not resumed: no attempt at all.
func TestResumeRefusesAfterVerdict(t *testing.T) {
	tests := []struct {
		name     string
		end      func(t *testing.T, fs *fakeServer, fc *fakeConn)
		wantCode uint16
	}{
		{"match over", func(t *testing.T, fs *fakeServer, fc *fakeConn) {
			fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_MatchEnd{MatchEnd: &arbiterv1.MatchEnd{MatchId: fakeMatchID}}})
			fc.kick(1000, "match_over", "the match is over")
		}, 1000},
		{"replaced", func(t *testing.T, fs *fakeServer, fc *fakeConn) {
			dial(t, fs.url(fakeToken), Options{}) // the same token again
			fs.accept(t)
		}, 4000},
		{"forfeited", func(t *testing.T, fs *fakeServer, fc *fakeConn) {
			fc.kick(4001, "forfeited", "away past the grace period")
		}, 4001},
		{"cheat", func(t *testing.T, fs *fakeServer, fc *fakeConn) { fc.kick(1008, "cheat", "impossible move") }, 1008},
		{"input flood", func(t *testing.T, fs *fakeServer, fc *fakeConn) { fc.kick(1008, "input_flood", "too many inputs") }, 1008},
		{"bad frame from the client", func(t *testing.T, fs *fakeServer, fc *fakeConn) { fc.kick(1007, "bad_frame", "cannot decode") }, 1007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
			prev := dial(t, fs.url(fakeToken), Options{})
			tt.end(t, fs, fs.accept(t))
			waitClosed(t, prev)
			before := fs.requests()
			r := &retries{t: t}
			_, err := resume(t, t.Context(), fs.url(fakeToken), prev, Options{Backoff: r.backoff()})
			var ce *CloseError
			if !errors.Is(err, ErrNotResumable) || !errors.As(err, &ce) || ce.Code != tt.wantCode {
				t.Fatalf("Resume error = %v, want ErrNotResumable with close code %d", err, tt.wantCode)
			}
			if n := fs.requests() - before; n != 0 || len(r.delays) != 0 {
				t.Errorf("Resume made %d requests and %d waits, want none", n, len(r.delays))
			}
		})
	}
}

// TestResumeStopsOnFinalRefusal: an attempt refused for good (401: match
// over or bad token; other 4xx; a Kick match_over before the Welcome) ends
// Resume at once, without a retry loop.
func TestResumeStopsOnFinalRefusal(t *testing.T) {
	tests := []struct {
		name      string
		configure func(fs *fakeServer)
		check     func(err error) bool
	}{
		{"401", refuseAfterFirst(http.StatusUnauthorized), isStatus(http.StatusUnauthorized)},
		{"403", refuseAfterFirst(http.StatusForbidden), isStatus(http.StatusForbidden)},
		{"match over before welcome", func(fs *fakeServer) {
			fs.reject = func(n int, fc *fakeConn) bool {
				if n > 1 {
					fc.kick(1000, "match_over", "the match is over")
				}
				return n > 1
			}
		}, func(err error) bool {
			var ce *CloseError
			return errors.As(err, &ce) && ce.Code == 1000 && ce.KickReason == "match_over"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) {
				fs.resume = true
				tt.configure(fs)
			})
			prev := cutClient(t, fs)
			before := fs.requests()
			r := &retries{t: t}
			c, err := resume(t, t.Context(), fs.url(fakeToken), prev, Options{Backoff: r.backoff()})
			if err == nil || c != nil || !tt.check(err) {
				t.Fatalf("Resume = %v, %v; want a final refusal", c, err)
			}
			if n := fs.requests() - before; n != 1 || len(r.delays) != 0 {
				t.Errorf("Resume made %d requests and %d waits, want 1 and 0", n, len(r.delays))
			}
		})
	}
}

// refuseAfterFirst makes the fake server admit the first request and refuse
// every later one with status.
func refuseAfterFirst(status int) func(*fakeServer) {
	return func(fs *fakeServer) {
		fs.refuse = func(n int) int {
			if n == 1 {
				return 0
			}
			return status
		}
	}
}

func isStatus(code int) func(error) bool {
	return func(err error) bool {
		var he *HandshakeError
		return errors.As(err, &he) && he.StatusCode == code
	}
}

// TestResumeGivesUp: Resume ends when its ctx does (before or between
// attempts) or after MaxAttempts, reporting the last attempt's error.
func TestResumeGivesUp(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) {
		fs.refuse = func(int) int { return http.StatusServiceUnavailable }
	})
	url := fs.url(fakeToken)

	t.Run("ctx ends during a wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		before := fs.requests()
		r := &retries{t: t, cancelAt: 3, cancel: cancel}
		_, err := resume(t, ctx, url, nil, Options{Backoff: r.backoff()})
		if !errors.Is(err, context.Canceled) || !isStatus(http.StatusServiceUnavailable)(err) {
			t.Errorf("Resume error = %v, want context.Canceled and the last 503", err)
		}
		if n := fs.requests() - before; n != 3 {
			t.Errorf("Resume made %d requests, want 3", n)
		}
	})
	t.Run("ctx already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := &retries{t: t}
		if _, err := resume(t, ctx, url, nil, Options{Backoff: r.backoff()}); !errors.Is(err, context.Canceled) || len(r.delays) != 0 {
			t.Errorf("Resume = %v after %d waits, want context.Canceled at once", err, len(r.delays))
		}
	})
	t.Run("max attempts", func(t *testing.T) {
		before := fs.requests()
		r := &retries{t: t}
		b := r.backoff()
		b.MaxAttempts = 3
		_, err := resume(t, t.Context(), url, nil, Options{Backoff: b})
		if !isStatus(http.StatusServiceUnavailable)(err) {
			t.Errorf("Resume error = %v, want the last 503", err)
		}
		if n := fs.requests() - before; n != 3 || len(r.delays) != 2 {
			t.Errorf("Resume made %d requests and %d waits, want 3 and 2", n, len(r.delays))
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		r := &retries{t: t}
		if _, err := resume(t, t.Context(), "http://example.com/v1/play", nil, Options{Backoff: r.backoff()}); err == nil || len(r.delays) != 0 {
			t.Errorf("Resume(http://…) = %v after %d waits, want an error at once", err, len(r.delays))
		}
	})
}

// TestResumeAfterTransientEnd: connections that ended for reasons that are
// not the player's fault are resumed at the first attempt.
func TestResumeAfterTransientEnd(t *testing.T) {
	tests := []struct {
		name string
		end  func(c *Client, fc *fakeConn)
	}{
		{"network drop", func(_ *Client, fc *fakeConn) { fc.cut() }},
		{"shutdown", func(_ *Client, fc *fakeConn) { fc.kick(1001, "shutdown", "restarting") }},
		{"slow consumer", func(_ *Client, fc *fakeConn) { fc.kick(1008, "slow_consumer", "too slow") }},
		{"internal error", func(_ *Client, fc *fakeConn) { fc.kick(1011, "internal_error", "oops") }},
		{"closed by the client", func(c *Client, _ *fakeConn) { _ = c.Close() }},
		{"still open", func(*Client, *fakeConn) {}}, // Resume closes it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
			prev := dial(t, fs.url(fakeToken), Options{})
			tt.end(prev, fs.accept(t))
			r := &retries{t: t}
			c, err := resume(t, t.Context(), fs.url(fakeToken), prev, Options{Backoff: r.backoff()})
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if c.Welcome().Entity != fakeSelf || len(r.delays) != 0 {
				t.Errorf("Resume: entity %d after %d waits, want %d at once", c.Welcome().Entity, len(r.delays), fakeSelf)
			}
			select {
			case <-prev.Done():
			default:
				t.Error("the previous Client is still open after Resume")
			}
		})
	}
}

// TestResumeContinuesSeqAndPrediction: the resumed Client continues the seq
// numbering, predicts from where the old one left off until its first
// snapshot, then reconciles to the server exactly; inputs lost with the old
// connection are dropped, not resent.
func TestResumeContinuesSeqAndPrediction(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
	old := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	waitForTick(t, old, fc.step())

	right, up, left := sim.Input{MoveX: 1000}, sim.Input{MoveY: 1000}, sim.Input{MoveX: -1000}
	// Seqs 1–5 reach the server, which applies 1–3 before the path dies
	// and 6–7 are lost on the way.
	for range 5 {
		mustSend(t, old, right)
	}
	waitFor(t, "five inputs at the server", func() bool { return fc.received() == 5 })
	for range 3 {
		waitForTick(t, old, fc.step())
	}
	fc.deafen()
	mustSend(t, old, up)
	mustSend(t, old, up)
	fc.cut()
	waitClosed(t, old)
	oldPred, oldStats := old.Predicted(), old.PredictionError()
	if oldStats.Checked != 3 || oldStats.Corrections != 0 {
		t.Fatalf("old PredictionError() = %+v, want 3 exact checks", oldStats)
	}

	c, err := resume(t, t.Context(), fs.url(fakeToken), old, Options{Backoff: (&retries{t: t}).backoff()})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	nfc := fs.accept(t)
	if w := c.Welcome(); w.Entity != fakeSelf || w.Tick != 4 {
		t.Errorf("resumed Welcome() = %+v, want entity %d at tick 4", w, fakeSelf)
	}
	if got := c.Predicted(); got != oldPred {
		t.Errorf("Predicted() before the first snapshot = %v, want the old Client's %v", got, oldPred)
	}
	if seq := mustSend(t, c, left); seq != 8 {
		t.Errorf("first seq after Resume = %d, want 8 (after the old Client's 7)", seq)
	}
	if got, want := c.Predicted(), sim.Move(oldPred, left, fs.tickRate); got != want {
		t.Errorf("Predicted() after one input = %v, want %v", got, want)
	}
	waitFor(t, "the input at the server", func() bool { return nfc.received() == 1 })

	// The server still holds 4 and 5 from the old connection, applies
	// them, then 8; 6 and 7 never existed for it.
	for range 3 {
		waitForTick(t, c, nfc.step())
	}
	if got := ownAck(c); got != 8 {
		t.Fatalf("last_input_seq after three ticks = %d, want 8", got)
	}
	want := fakeStart
	for _, in := range []sim.Input{right, right, right, right, right, left} {
		want = sim.Move(want, in, fs.tickRate)
	}
	if got := nfc.position(); got != want {
		t.Errorf("server position = %v, want %v (seqs 1–5 and 8 applied)", got, want)
	}
	if got := c.Predicted(); got != want {
		t.Errorf("Predicted() = %v, want the server's %v", got, want)
	}
	stats := c.PredictionError()
	if stats.Checked != oldStats.Checked+1 || stats.Corrections != 0 || stats.Max != 0 {
		t.Errorf("PredictionError() = %+v, want the old %+v plus one exact check", stats, oldStats)
	}
	c.mu.Lock()
	pending := c.mu.pred.Pending()
	c.mu.Unlock()
	if p := pending; p != 0 {
		t.Errorf("%d inputs still pending, want 0 (the lost ones dropped)", p)
	}
}

// TestReloadContinuesAfterWelcomeSeq: a page reload is a fresh Client that
// knows nothing of the earlier page's inputs; the Welcome's last_input_seq
// tells it where to continue, for Dial as for Resume, so that its inputs are
// not ignored as stale.
func TestReloadContinuesAfterWelcomeSeq(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
	first := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	waitForTick(t, first, fc.step())
	for range 3 {
		mustSend(t, first, sim.Input{MoveX: 1000})
	}
	waitFor(t, "three inputs at the server", func() bool { return fc.received() == 3 })
	fc.cut()
	waitClosed(t, first)

	// The reload: a new page dials with the same token.
	reloaded := dial(t, fs.url(fakeToken), Options{})
	fc = fs.accept(t)
	if got := reloaded.Welcome().LastInputSeq; got != 3 {
		t.Errorf("Welcome().LastInputSeq after the reload = %d, want 3", got)
	}
	for want := uint32(4); want <= 6; want++ {
		if seq := mustSend(t, reloaded, sim.Input{MoveY: 1000}); seq != want {
			t.Errorf("seq after the reload = %d, want %d", seq, want)
		}
	}
	waitFor(t, "three more inputs at the server", func() bool { return fc.received() == 3 })
	fc.cut()
	waitClosed(t, reloaded)

	// The first page comes back: it had sent 3, the server has seen 6.
	c, err := resume(t, t.Context(), fs.url(fakeToken), first, Options{Backoff: (&retries{t: t}).backoff()})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	fc = fs.accept(t)
	if seq := mustSend(t, c, sim.Input{MoveX: -1000}); seq != 7 {
		t.Errorf("first seq after Resume = %d, want 7 (after the Welcome's 6, not the old Client's 3)", seq)
	}
	waitFor(t, "the input at the server", func() bool { return fc.received() == 1 })
	for ownAck(c) < 7 {
		waitForTick(t, c, fc.step())
	}
	want := fakeStart
	for _, in := range []sim.Input{{MoveX: 1000}, {MoveX: 1000}, {MoveX: 1000}, {MoveY: 1000}, {MoveY: 1000}, {MoveY: 1000}, {MoveX: -1000}} {
		want = sim.Move(want, in, fs.tickRate)
	}
	if got := fc.position(); got != want {
		t.Errorf("server position = %v, want %v (all seven inputs applied)", got, want)
	}
}

// TestResumeMismatch: a Welcome for another entity is not taken for a resume.
func TestResumeMismatch(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) {
		fs.reject = func(n int, fc *fakeConn) bool {
			if n == 1 {
				return false
			}
			fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
				MatchId: fakeMatchID, EntityId: fakeOther, TickRate: 60,
			}}})
			return true
		}
	})
	prev := cutClient(t, fs)
	if _, err := resume(t, t.Context(), fs.url(fakeToken), prev, Options{Backoff: (&retries{t: t}).backoff()}); !errors.Is(err, ErrResumeMismatch) {
		t.Errorf("Resume error = %v, want ErrResumeMismatch", err)
	}
}

func mustSend(t *testing.T, c *Client, in sim.Input) uint32 {
	t.Helper()
	seq, err := c.SendInput(in)
	if err != nil {
		t.Fatalf("SendInput: %v", err)
	}
	return seq
}

// TestResumeLocatesTheMatch: when the server that held the match is gone
// for good, Resume asks Options.Locate where the match is before each
// retry, and resumes there; a Locate that fails or has nothing new leaves
// the URL as it was.
func TestResumeLocatesTheMatch(t *testing.T) {
	checkNoLeaks(t)
	old := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
	prev := cutClient(t, old)
	old.close() // it died
	moved := newFakeServer(t, func(fs *fakeServer) { fs.resume = true })
	var calls []string
	locate := func(context.Context) (string, error) {
		calls = append(calls, "locate")
		switch len(calls) {
		case 1:
			return "", errors.New("the directory does not know yet")
		case 2:
			return old.url(fakeToken), nil // not moved yet
		default:
			return moved.url(fakeToken), nil
		}
	}
	r := &retries{t: t}
	c, err := resume(t, t.Context(), old.url(fakeToken), prev, Options{Backoff: r.backoff(), Locate: locate})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	if got := c.Welcome().Entity; got != fakeSelf {
		t.Errorf("resumed Welcome().Entity = %d, want %d", got, fakeSelf)
	}
	if len(calls) != 3 || len(r.attempts) != 3 {
		t.Errorf("Locate called %d times over %d failed attempts; want 3 and 3 (two more attempts at the dead server, then the move)", len(calls), len(r.attempts))
	}
}

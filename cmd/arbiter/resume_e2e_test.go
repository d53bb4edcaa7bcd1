package main

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// resumeProbe counts what a Resume did: connection attempts (through its
// dialer) and retries.
type resumeProbe struct {
	dials   atomic.Int32
	retries atomic.Int32
	sock    atomic.Pointer[net.Conn] // the newest socket, for the test to cut
}

// options returns client options for p (the same callbacks as connect) that
// dial through the probe.
func (pr *resumeProbe) options(p *player) client.Options {
	opts := p.options()
	opts.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		pr.dials.Add(1)
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			pr.sock.Store(&nc)
		}
		return nc, err
	}
	opts.Backoff = client.Backoff{
		OnRetry: func(int, error, time.Duration) { pr.retries.Add(1) },
	}
	return opts
}

func newTestPlayer(t *testing.T) *player {
	return &player{t: t, snaps: make(chan *arbiterv1.Snapshot, 1024), sent: map[uint32]sim.Input{}}
}

// resumePlayer connects (prev == nil) or resumes p's seat through Resume and
// fills in p.
func resumePlayer(t *testing.T, pr *resumeProbe, wsURL string, prev *client.Client, p *player) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Resume(ctx, wsURL, prev, pr.options(p))
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = c.Close() })
	p.c = c
	p.entity = uint32(c.Welcome().Entity)
	p.tick = c.Welcome().TickRate
	return nil
}

// pollFor polls cond until it holds or fails the test after timeout.
func pollFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond) // pacing the polls
	}
}

func ownAckOf(p *player) uint32 {
	return entityOf(p.c.LastSnapshot(), p.entity).GetLastInputSeq()
}

// TestResume drops one duel player's socket mid-match and resumes it with the
// same join token: it gets its entity back, keeps controlling it with
// continuing seqs, and predicts exactly from its first snapshot on, while the
// other player never stops receiving snapshots. Once the match is over the
// token is refused with 401, and Resume does not retry.
func TestResume(t *testing.T) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "8s")
	tickets := ts.queue(t, "duel", ts.guest(t, "alice"), ts.guest(t, "bob"))
	url := tickets[0].WSURL

	probe := &resumeProbe{}
	alice := newTestPlayer(t)
	if err := resumePlayer(t, probe, url, nil, alice); err != nil {
		t.Fatalf("connect alice: %v", err)
	}
	bob := connect(t, tickets[1].WSURL, 0)

	// Every player stops at the end of the test at the latest (before the
	// cleanups close the clients), and the test waits for them.
	stop, stopBack := make(chan struct{}), make(chan struct{})
	stopPlaying := sync.OnceFunc(func() { close(stopBack) })
	var wg sync.WaitGroup
	wg.Go(func() { alice.play(stop, 0) })
	wg.Go(func() { bob.play(stop, 3) })
	defer func() {
		close(stop)
		stopPlaying()
		wg.Wait()
	}()

	// Play a second, then cut alice's socket without a close frame.
	pollFor(t, 10*time.Second, "alice's inputs to be acknowledged", func() bool { return ownAckOf(alice) >= 30 })
	(*probe.sock.Load()).Close()
	select {
	case <-alice.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("alice's client did not notice the cut socket")
	}
	cutAt := time.Now()
	if ce := alice.c.CloseError(); ce.Code != 1006 || !ce.Resumable() {
		t.Fatalf("cut connection ended with %v, want a resumable 1006", ce)
	}
	bobAckAtCut := ownAckOf(bob)
	preAck := ownAckOf(alice)
	preSeq := alice.c.LastSeq()
	preTick := alice.c.LastSnapshot().GetTick()

	// Away for a while (well within the 15 s grace), then back.
	time.Sleep(time.Second) // time away, not synchronisation
	back := newTestPlayer(t)
	dialsBefore := probe.dials.Load()
	if err := resumePlayer(t, probe, url, alice.c, back); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	resumedAt := time.Now()
	bobAckAtResume := ownAckOf(bob)
	t.Logf("resumed after %v away in %d attempt(s)", resumedAt.Sub(cutAt).Round(time.Millisecond), probe.dials.Load()-dialsBefore)
	w := back.c.Welcome()
	if w.Entity != alice.c.Welcome().Entity || w.MatchID != tickets[0].MatchID {
		t.Fatalf("resumed Welcome = %+v, want entity %d of match %s", w, alice.entity, tickets[0].MatchID)
	}
	if uint32(w.Tick) <= preTick {
		t.Errorf("resumed Welcome at tick %d, want after the last tick seen before the cut (%d)", w.Tick, preTick)
	}
	if got := back.c.LastSeq(); got != preSeq {
		t.Errorf("resumed LastSeq() = %d, want the old Client's %d", got, preSeq)
	}

	// The first snapshot reconciles the prediction to the server; from then
	// on every acknowledgement must match exactly.
	pollFor(t, 5*time.Second, "the first snapshot after the resume", func() bool { return back.c.LastSnapshot() != nil })
	atFirst := back.c.PredictionError()
	for len(back.snaps) > 0 { // answer only snapshots from now on
		<-back.snaps
	}
	backStopped := make(chan struct{})
	wg.Go(func() {
		defer close(backStopped)
		back.play(stopBack, 1)
	})
	// Play for 1.5 s at least, and until 30 inputs have been checked even
	// if a loaded machine slows the server's ticks down.
	time.Sleep(1500 * time.Millisecond) // the length of play, not synchronisation
	pollFor(t, 10*time.Second, "30 checked acknowledgements after the resume", func() bool {
		return back.c.PredictionError().Checked-atFirst.Checked >= 30
	})
	// Stop back and wait until its goroutine has returned before reading
	// what it sent. The poll above ends just after a snapshot, which back
	// is then answering: past its select (or choosing the snapshot over the
	// closed stop, as select may), it sends one more input. Read before
	// that input is recorded, lastSent would be one short, and the input,
	// rightly unacknowledged, would be in Predicted() below (one move, 666
	// in Y, seen on a loaded machine).
	stopPlaying()
	select {
	case <-backStopped:
	case <-time.After(5 * time.Second):
		t.Fatal("back's player did not stop")
	}
	back.mu.Lock()
	lastSent := back.lastSeq
	sentSeqs := slices.Sorted(maps.Keys(back.sent))
	back.mu.Unlock()
	if len(sentSeqs) < 30 {
		t.Fatalf("sent %d inputs after the resume, want ≥ 30", len(sentSeqs))
	}
	firstSent := sentSeqs[0]
	pollFor(t, 5*time.Second, "the last input to be acknowledged", func() bool { return ownAckOf(back) >= lastSent })

	if firstSent != preSeq+1 {
		t.Errorf("first seq after the resume = %d, want %d (continuing the old Client's)", firstSent, preSeq+1)
	}
	if ack := ownAckOf(back); ack <= preAck || ack != lastSent {
		t.Errorf("last_input_seq after the resume = %d, want past the pre-cut %d and equal to the last sent %d", ack, preAck, lastSent)
	}
	after := back.c.PredictionError()
	if after.Corrections != atFirst.Corrections || after.Last != 0 || after.Checked-atFirst.Checked < 30 {
		t.Errorf("prediction after the first post-resume snapshot: %+v, at it: %+v; want ≥ 30 more checks, no correction", after, atFirst)
	}
	e := entityOf(back.c.LastSnapshot(), back.entity)
	if got, want := back.c.Predicted(), (sim.Vec{X: e.GetX(), Y: e.GetY()}); got != want {
		t.Errorf("Predicted() = %v, want the server's %v once everything is acknowledged (last sent %d, acknowledged %d, client's LastSeq %d)", got, want, lastSent, e.GetLastInputSeq(), back.c.LastSeq())
	}

	// Bob kept receiving snapshots and having his inputs applied while
	// alice was away. Counted in server ticks, not wall time, so that a
	// loaded machine slowing the tick loop down does not matter.
	bob.mu.Lock()
	ticks := slices.Clone(bob.ticks)
	bob.mu.Unlock()
	away := 0
	for k, tick := range ticks {
		if k > 0 && tick <= ticks[k-1] {
			t.Fatalf("bob: snapshot tick %d after %d", tick, ticks[k-1])
		}
		if k > 0 && tick-ticks[k-1] > 10 {
			t.Errorf("bob: no snapshot between ticks %d and %d", ticks[k-1], tick)
		}
		if tick > preTick && tick <= uint32(w.Tick) {
			away++
		}
	}
	if span := int(uint32(w.Tick) - preTick); away < span*8/10 {
		t.Errorf("bob received %d snapshots of the %d ticks alice was away, want ≥ 80%%", away, span)
	}
	if bobAckAtResume <= bobAckAtCut {
		t.Errorf("bob's last_input_seq stood at %d while alice was away, want rising", bobAckAtCut)
	}

	// The match ends by its duration; the resumed connection gets the end.
	select {
	case <-back.c.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the match did not end")
	}
	back.mu.Lock()
	end := back.end
	back.mu.Unlock()
	if ce := back.c.CloseError(); end == nil || ce.Code != 1000 || ce.Resumable() {
		t.Fatalf("resumed connection ended with %v (MatchEnd %v), want 1000 match_over, not resumable", ce, end)
	}

	// After the match: the ended connection is not resumed at all…
	dialsBefore, retriesBefore := probe.dials.Load(), probe.retries.Load()
	if err := resumePlayer(t, probe, url, back.c, newTestPlayer(t)); !errors.Is(err, client.ErrNotResumable) {
		t.Errorf("Resume after MatchEnd = %v, want ErrNotResumable", err)
	}
	// …and the token is refused with 401, without retrying, even from the
	// connection that was cut mid-match.
	start := time.Now()
	err := resumePlayer(t, probe, url, alice.c, newTestPlayer(t))
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Errorf("Resume after the match ended = %v, want a 401 handshake error", err)
	}
	if n, r := probe.dials.Load()-dialsBefore, probe.retries.Load()-retriesBefore; n != 1 || r != 0 {
		t.Errorf("Resume after the match ended: %d connection attempts and %d retries, want 1 and 0", n, r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Resume after the match ended took %v, want an immediate refusal", d)
	}
}

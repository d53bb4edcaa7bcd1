package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/clienttest"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// testServer runs the real server in-process on a loopback port.
type testServer struct {
	*server
	base string       // http://127.0.0.1:port
	stop func() error // shuts the server down (once) and returns run's error
}

// startServer runs the real server in-process on a loopback listener it
// opens first, so that the server knows its own address: it advertises it
// (--public-url) and takes its node name from it (--addr). args come after
// those defaults and override them.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	defaults := []string{"--token-secret", "test-secret", "--addr", ln.Addr().String(), "--public-url", base}
	cfg, err := parseConfig(append(defaults, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		_ = ln.Close()
		t.Fatalf("parseConfig: %v", err)
	}
	srv, err := newServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		_ = ln.Close()
		t.Fatalf("newServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx, ln) }()
	ts := &testServer{server: srv, base: base}
	ts.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("server run: %v", err)
		}
	})
	return ts
}

// api returns a REST client of ts that acts with the bearer token ("" for
// none).
func (ts *testServer) api(t *testing.T, token string) *rest.Client {
	t.Helper()
	c, err := rest.New(ts.base, rest.Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The REST API's answers, as the client library declares them.
type (
	guest  = rest.Guest
	ticket = rest.Ticket
)

func (ts *testServer) guest(t *testing.T, name string) guest {
	t.Helper()
	g, err := ts.api(t, "").CreateGuest(t.Context(), name)
	if err != nil {
		t.Fatalf("create guest: %v", err)
	}
	return g
}

// queue puts every guest in the mode's queue and long-polls until each is
// matched.
func (ts *testServer) queue(t *testing.T, mode string, guests ...guest) []ticket {
	t.Helper()
	ids := make([]string, len(guests))
	for i, g := range guests {
		tk, err := ts.api(t, g.Token).CreateTicket(t.Context(), mode)
		if err != nil {
			t.Fatalf("create ticket: %v", err)
		}
		ids[i] = tk.TicketID
	}
	out := make([]ticket, len(guests))
	for i, g := range guests {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		tk, err := ts.api(t, g.Token).AwaitTicket(ctx, ids[i])
		cancel()
		if err != nil || tk.Status != rest.TicketMatched {
			t.Fatalf("ticket %s not matched: %+v, %v", ids[i], tk, err)
		}
		out[i] = tk
	}
	return out
}

// player is one bot: it answers every snapshot with the next input, and
// checks the server's state against its own replay of what it sent.
type player struct {
	t       *testing.T
	c       *client.Client
	entity  uint32
	tick    int
	snaps   chan *arbiterv1.Snapshot
	mu      sync.Mutex
	sent    map[uint32]sim.Input // every input sent, by seq
	lastSeq uint32
	errs    []string
	times   []time.Time // arrival of each snapshot
	ticks   []uint32
	end     *arbiterv1.MatchEnd
}

func connect(t *testing.T, wsURL string, rcvBuf int) *player {
	t.Helper()
	return connectWith(t, wsURL, rcvBuf, false)
}

// connectWith is connect, asking for full snapshots rather than the
// client library's default, deltas, if full.
func connectWith(t *testing.T, wsURL string, rcvBuf int, full bool) *player {
	t.Helper()
	p := &player{t: t, snaps: make(chan *arbiterv1.Snapshot, 1024), sent: map[uint32]sim.Input{}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	opts := p.options()
	opts.ReadBufferSize = rcvBuf
	opts.FullSnapshots = full
	c, err := client.Dial(ctx, wsURL, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p.c = c
	p.entity = uint32(c.Welcome().Entity)
	p.tick = c.Welcome().TickRate
	return p
}

// options returns client options whose callbacks record into p: arrival
// times and ticks of snapshots, a nudge on p.snaps, and the MatchEnd.
func (p *player) options() client.Options {
	return client.Options{
		OnSnapshot: func(s *arbiterv1.Snapshot) {
			p.mu.Lock()
			p.times = append(p.times, time.Now())
			p.ticks = append(p.ticks, s.GetTick())
			p.mu.Unlock()
			select {
			case p.snaps <- s:
			default:
			}
		},
		OnMatchEnd: func(m *arbiterv1.MatchEnd) { p.mu.Lock(); p.end = m; p.mu.Unlock() },
	}
}

// play answers each snapshot with one input until stop is closed or the
// connection ends (a burst of snapshots with one). Inputs change every few ticks and sweep all directions,
// so that clamping at the arena's edge is exercised too.
func (p *player) play(stop <-chan struct{}, phase int) {
	n := 0
	for {
		select {
		case <-stop:
			return
		case <-p.c.Done():
			return
		case <-p.snaps:
		}
		// Snapshots that came in a burst (this goroutine was held up)
		// get one input, as a game answers a frame, not every snapshot.
	drain:
		for {
			select {
			case <-p.snaps:
			default:
				break drain
			}
		}
		n++
		dirs := [][2]int32{{1000, 0}, {0, 1000}, {-707, -707}, {600, -800}, {0, 0}, {-1000, 0}}
		d := dirs[(n/7+phase)%len(dirs)]
		in := sim.Input{MoveX: d[0], MoveY: d[1]}
		seq, err := p.c.SendInput(in)
		if err != nil {
			return
		}
		in.Seq = seq
		p.mu.Lock()
		p.sent[seq] = in
		p.lastSeq = seq
		p.mu.Unlock()
	}
}

// replay returns where the server must have put the entity after applying
// inputs 1..ack, starting from its spawn point.
func (p *player) replay(ack uint32, spawn sim.Vec) sim.Vec {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := spawn
	for seq := uint32(1); seq <= ack; seq++ {
		pos = sim.Move(pos, p.sent[seq], p.tick)
	}
	return pos
}

// TestEndToEnd plays a duel through the real REST API and WebSockets and
// checks the snapshot rate, tick order, input acknowledgement, server
// authority against an independent replay, zero prediction error, and token
// refusals: with delta snapshots, the client library's default, and with
// full ones.
func TestEndToEnd(t *testing.T) {
	for _, full := range []bool{false, true} {
		name := "snapshots=delta"
		if full {
			name = "snapshots=full"
		}
		t.Run(name, func(t *testing.T) { testEndToEnd(t, full) })
	}
}

func testEndToEnd(t *testing.T, full bool) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "5s")
	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", alice, bob)
	if tickets[0].MatchID == "" || tickets[0].MatchID != tickets[1].MatchID {
		t.Fatalf("tickets not in one match: %+v", tickets)
	}
	matchID := tickets[0].MatchID
	for _, tk := range tickets {
		if !strings.HasPrefix(tk.WSURL, "ws://") || !strings.Contains(tk.WSURL, "token=") {
			t.Fatalf("ws_url = %q, want an absolute ws:// URL with the token", tk.WSURL)
		}
	}

	players := []*player{connectWith(t, tickets[0].WSURL, 0, full), connectWith(t, tickets[1].WSURL, 0, full)}
	wantEncoding := arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	if full {
		wantEncoding = arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
	}
	for i, p := range players {
		if got := p.c.Welcome().Snapshots; got != wantEncoding {
			t.Fatalf("player %d: Welcome.snapshots = %v, want %v", i, got, wantEncoding)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Go(func() { p.play(stop, i*3) })
	}
	time.Sleep(3500 * time.Millisecond) // the length of play, not synchronisation
	close(stop)
	wg.Wait()

	// Refusals, while the match is running.
	wsBase := strings.Replace(ts.base, "http://", "ws://", 1) + "/v1/play?token="
	carol := ts.guest(t, "carol")
	otherMatch := ts.tokens.Join(alice.PlayerID, "some-other-match", time.Now().Add(time.Hour))
	notSeated := ts.tokens.Join(carol.PlayerID, matchID, time.Now().Add(time.Hour))
	expired := ts.tokens.Join(alice.PlayerID, matchID, time.Now().Add(-time.Second))
	forged := tickets[0].JoinToken[:len(tickets[0].JoinToken)-2] + "xx"
	for name, tok := range map[string]string{"forged": forged, "other match": otherMatch, "not seated": notSeated, "expired": expired, "bearer as join": alice.Token} {
		_, err := client.Dial(t.Context(), wsBase+url.QueryEscape(tok), client.Options{})
		var he *client.HandshakeError
		if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: Dial error = %v, want a 401 handshake error", name, err)
		}
	}

	// Every input sent was acknowledged; wait for the last acks to arrive.
	for _, p := range players {
		deadline := time.Now().Add(5 * time.Second)
		for {
			snap := p.c.LastSnapshot()
			if ack := entityOf(snap, p.entity).GetLastInputSeq(); ack == p.lastSeq {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("entity %d: last_input_seq %d never reached the last sent seq %d", p.entity, entityOf(p.c.LastSnapshot(), p.entity).GetLastInputSeq(), p.lastSeq)
			}
			time.Sleep(10 * time.Millisecond) // polling for the next snapshot
		}
	}

	// A snapshot for every tick the room ran: on a busy machine (CI runs
	// every package's tests at once on two cores) the room's goroutine
	// wakes late, runs at most MaxCatchUp ticks back to back and skips the
	// rest, counted, so the rates below are taken against the ticks the
	// room ran and skipped, not the nominal rate. This server's only room.
	skipped := int(ts.manager.Stats.Skipped.Load())
	for i, p := range players {
		p.mu.Lock()
		ticks, times := append([]uint32(nil), p.ticks...), append([]time.Time(nil), p.times...)
		p.mu.Unlock()
		if len(ticks)+skipped < 90 {
			t.Fatalf("player %d got %d snapshots (%d ticks skipped) in ≥ 3 s, want ≥ 90", i, len(ticks), skipped)
		}
		for k := 1; k < len(ticks); k++ {
			if ticks[k] <= ticks[k-1] {
				t.Fatalf("player %d: snapshot tick %d after %d", i, ticks[k], ticks[k-1])
			}
		}
		span := times[len(times)-1].Sub(times[0]).Seconds()
		if rate := float64(len(times)-1+skipped) / span; rate < 27 || rate > 33 {
			t.Errorf("player %d: %d snapshots and %d ticks skipped in %.2fs = %.1f ticks/s, want 30 ± 10%%", i, len(times)-1, skipped, span, rate)
		}
		if ps := p.c.PredictionError(); ps.Max != 0 || ps.Corrections != 0 || ps.Checked < 80 {
			t.Errorf("player %d: prediction %+v, want ≥ 80 checks, all exact", i, ps)
		}
		// Server authority: the server's position equals an independent
		// replay of the acknowledged inputs.
		snap := p.c.LastSnapshot()
		e := entityOf(snap, p.entity)
		if got, want := (sim.Vec{X: e.GetX(), Y: e.GetY()}), p.replay(e.GetLastInputSeq(), sim.SpawnPoint(int(p.entity)-1)); got != want {
			t.Errorf("player %d: server position %v, replay of %d acked inputs gives %v", i, got, e.GetLastInputSeq(), want)
		}
		if want := p.replay(e.GetLastInputSeq(), sim.SpawnPoint(int(p.entity)-1)); p.c.Predicted() != want {
			t.Errorf("player %d: client prediction %v, want %v", i, p.c.Predicted(), want)
		}
	}

	// The match ends by its duration: MatchEnd, then close 1000.
	for i, p := range players {
		select {
		case <-p.c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("player %d: match did not end", i)
		}
		p.mu.Lock()
		end := p.end
		p.mu.Unlock()
		if end.GetMatchId() != matchID || len(end.GetResults()) != 2 {
			t.Errorf("player %d: MatchEnd = %v", i, end)
		}
		if ce := p.c.CloseError(); ce == nil || ce.Code != 1000 || ce.KickReason != "match_over" {
			t.Errorf("player %d: close = %v, want 1000 after Kick match_over", i, ce)
		}
	}
	// The match's tokens no longer admit.
	_, err := client.Dial(t.Context(), tickets[0].WSURL, client.Options{})
	var he *client.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Errorf("token after match end: Dial error = %v, want 401", err)
	}
	// And the players may queue again.
	if _, err := ts.api(t, alice.Token).CreateTicket(t.Context(), "duel"); err != nil {
		t.Errorf("queue again after the match: %v, want 201", err)
	}
}

func entityOf(s *arbiterv1.Snapshot, id uint32) *arbiterv1.Entity {
	for _, e := range s.GetEntities() {
		if e.GetId() == id {
			return e
		}
	}
	return nil
}

// TestSlowReader: one of ten ffa clients stops reading. The other nine keep
// receiving every tick (the newest, when the machine is too loaded for
// every one), the stalled one is closed as a slow consumer, and the bytes
// queued for it stay bounded throughout.
func TestSlowReader(t *testing.T) {
	// The stalled client answers no ping either: an idle timeout longer
	// than the slow-consumer detection can take on a loaded machine, so
	// that it is closed as what it is. (Filling the small buffers with
	// ~60-byte deltas takes ~13 s unloaded, close to the default 15 s.)
	ts := startServer(t, "--tick-rate", "60", "--match-duration", "90s", "--send-buffer", "4096", "--write-timeout", "1s", "--idle-timeout", "75s")
	guests := make([]guest, 10)
	for i := range guests {
		guests[i] = ts.guest(t, fmt.Sprintf("bot%d", i))
	}
	tickets := ts.queue(t, "ffa", guests...)
	players := make([]*player, len(tickets))
	for i, tk := range tickets {
		rcv := 0
		if i == 0 {
			rcv = 4096 // the one that will stall: small kernel buffers fill in seconds
		}
		players[i] = connect(t, tk.WSURL, rcv)
	}
	// Let the room start (all ten joined) before stalling.
	for _, p := range players {
		<-p.snaps
	}
	stalled := players[0]
	clienttest.StallReads(stalled.c)
	start := time.Now()
	maxPending := 0
	for ts.net.Stats.Closes(arbiterv1.CloseSlowConsumer) == 0 {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("stalled client not closed as a slow consumer within 60 s (closes so far: %v)", closesSoFar(ts))
		}
		maxPending = max(maxPending, ts.net.PendingBytes())
		time.Sleep(20 * time.Millisecond) // polling the server's counters
	}
	t.Logf("slow consumer closed after %v; peak pending %d bytes", time.Since(start).Round(time.Millisecond), maxPending)
	// The stalled one, and only it: the nine others are still connected.
	if got := closesSoFar(ts); len(got) != 1 || got[0] != "slow_consumer=1" {
		t.Errorf("closes so far: %v, want [slow_consumer=1]", got)
	}
	for i, p := range players[1:] {
		if ce := p.c.CloseError(); ce != nil {
			t.Errorf("player %d disconnected: %v", i+1, ce)
		}
	}
	// One snapshot plus a small control queue per session, at most.
	if limit := 10 * (64 + 2) * 1024; maxPending > limit {
		t.Errorf("peak pending bytes %d, want ≤ %d", maxPending, limit)
	}
	// The nine others kept receiving the ticks in order, without losing
	// more than a few. Only the newest snapshot waits to be sent: on a
	// loaded machine, a room catching up (up to three ticks back to back)
	// or a writer scheduled late sends the newest and skips the rest, so a
	// healthy player may miss a tick or two, stalled peer or not (seen under
	// `go test -race ./...` in parallel, with no client stalled at all).
	// Held up by the stalled peer, they would miss a whole write timeout:
	// 60 ticks.
	const maxGap = 15 // ticks: a quarter of the write timeout
	for i, p := range players[1:] {
		p.mu.Lock()
		ticks := append([]uint32(nil), p.ticks...)
		p.mu.Unlock()
		for k := 1; k < len(ticks); k++ {
			if ticks[k] <= ticks[k-1] || ticks[k]-ticks[k-1]-1 > maxGap {
				t.Errorf("player %d: tick %d followed by %d, want a later tick at most %d ticks on", i+1, ticks[k-1], ticks[k], maxGap+1)
				break
			}
		}
		// A snapshot for every tick the room ran (its skipped ones
		// counted: this server's only room, as in TestEndToEnd).
		if skipped := int(ts.manager.Stats.Skipped.Load()); len(ticks)+skipped < int(time.Since(start).Seconds()*60*0.8) {
			t.Errorf("player %d received %d snapshots (%d ticks skipped) in %v", i+1, len(ticks), skipped, time.Since(start))
		}
	}
}

// closesSoFar lists the server's session closes by reason, as
// "reason=count", in the vocabulary's order.
func closesSoFar(ts *testServer) []string {
	var closes []string
	for _, r := range arbiterv1.CloseReasons() {
		if n := ts.net.Stats.Closes(r); n > 0 {
			closes = append(closes, fmt.Sprintf("%s=%d", r, n))
		}
	}
	return closes
}

// TestShutdownEndsMatches: stopping the server mid-match closes every player
// with 1001 (shutdown) after a Kick, and run returns cleanly.
func TestShutdownEndsMatches(t *testing.T) {
	ts := startServer(t)
	tickets := ts.queue(t, "duel", ts.guest(t, "a"), ts.guest(t, "b"))
	players := []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	for _, p := range players {
		<-p.snaps // the match is running
	}
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("run after shutdown: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15s of shutdown")
	}
	for i, p := range players {
		<-p.c.Done()
		if ce := p.c.CloseError(); ce == nil || ce.Code != 1001 || ce.KickReason != "shutdown" {
			t.Errorf("player %d: close = %v, want 1001 after Kick shutdown", i, ce)
		}
	}
	if n := ts.manager.Rooms(); n != 0 {
		t.Errorf("%d rooms still running after shutdown", n)
	}
}

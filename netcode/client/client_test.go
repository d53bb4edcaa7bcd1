package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lxzan/gws"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// dial connects to url and closes the Client when the test ends (before the
// fake server shuts down).
func dial(t *testing.T, url string, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// waitForTick waits until the client has handled the snapshot of tick.
func waitForTick(t *testing.T, c *Client, tick uint32) {
	t.Helper()
	waitFor(t, fmt.Sprintf("snapshot %d", tick), func() bool {
		return c.LastSnapshot().GetTick() >= tick
	})
}

// ownAck returns last_input_seq of the client's entity in its last snapshot.
func ownAck(c *Client) uint32 {
	for _, e := range c.LastSnapshot().GetEntities() {
		if e.GetId() == uint32(c.Welcome().Entity) {
			return e.GetLastInputSeq()
		}
	}
	return 0
}

func waitClosed(t *testing.T, c *Client) *CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection did not end")
	}
	ce := c.CloseError()
	if ce == nil {
		t.Fatal("CloseError() = nil after Done")
	}
	return ce
}

func TestClientPredictsAndReconciles(t *testing.T) {
	moves := []sim.Vec{
		vec(1000, 0), vec(0, 1000), vec(-707, 707), vec(0, 0), vec(600, -800),
		vec(2000, 0), // too long: SendInput clamps it to (1000, 0)
		vec(-1000, 0), vec(1, 1), vec(500, 500), vec(0, -1000), vec(707, 707), vec(-600, -800),
	}
	tests := []struct {
		name            string
		drop            uint32
		full            bool // Options.FullSnapshots
		wantCorrections uint64
	}{
		{"faithful server", 0, false, 0},
		{"server drops a valid input", 5, false, 1},
		{"full snapshots", 0, true, 0},
		{"full snapshots, server drops a valid input", 5, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.drop = tt.drop })
			clock := newFakeClock()
			pongs := make(chan *arbiterv1.Pong, 1)
			c := dial(t, fs.url(fakeToken), Options{
				Now:           clock.Now,
				OnPong:        func(p *arbiterv1.Pong) { pongs <- p },
				FullSnapshots: tt.full,
			})
			fc := fs.accept(t)

			wantWelcome := Welcome{MatchID: fakeMatchID, PlayerID: fakePlayerID, Mode: "duel", Entity: fakeSelf, TickRate: 60,
				Snapshots: arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA}
			if tt.full {
				wantWelcome.Snapshots = arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
			}
			if diff := cmp.Diff(wantWelcome, c.Welcome()); diff != "" {
				t.Fatalf("Welcome() mismatch (-want +got):\n%s", diff)
			}
			waitForTick(t, c, fc.step()) // tick 1: the client learns where it is
			if got := c.Predicted(); got != fakeStart {
				t.Fatalf("Predicted() after the first snapshot = %v, want %v", got, fakeStart)
			}

			// Send three inputs per two server ticks, so that a backlog
			// builds up and every snapshot makes the client replay.
			var wantViews []sim.Tick
			for sent := 0; sent < len(moves); {
				for i := 0; i < 3 && sent < len(moves); i++ {
					// The clock is frozen at snapshot arrival: the
					// client shows the newest tick less 6 (100 ms at 60 Hz).
					known := int64(c.LastSnapshot().GetTick())
					wantViews = append(wantViews, sim.Tick(max(known-6, 0)))
					seq, err := c.SendInput(sim.Input{MoveX: moves[sent].X, MoveY: moves[sent].Y})
					if err != nil {
						t.Fatalf("SendInput: %v", err)
					}
					sent++
					if seq != uint32(sent) {
						t.Fatalf("SendInput returned seq %d, want %d", seq, sent)
					}
				}
				waitFor(t, "inputs to reach the server", func() bool { return fc.received() == sent })
				waitForTick(t, c, fc.step())
				waitForTick(t, c, fc.step())
			}
			for ownAck(c) < uint32(len(moves)) {
				waitForTick(t, c, fc.step())
			}

			stats := c.PredictionError()
			if stats.Checked != uint64(len(moves)) || stats.Corrections != tt.wantCorrections || stats.Last != 0 ||
				(stats.Max != 0) != (tt.wantCorrections != 0) {
				t.Errorf("PredictionError() = %+v, want %d checked, %d corrections, converged to 0",
					stats, len(moves), tt.wantCorrections)
			}
			if got, want := c.Predicted(), fc.position(); got != want {
				t.Errorf("Predicted() = %v, want the server's %v", got, want)
			}
			fc.mu.Lock()
			gotViews := fc.mu.viewTicks
			fc.mu.Unlock()
			if diff := cmp.Diff(wantViews, gotViews); diff != "" {
				t.Errorf("view_tick of the inputs mismatch (-want +got):\n%s", diff)
			}

			// Interpolation of the other entity, 6 ticks behind.
			last := c.LastSnapshot().GetTick()
			interpTests := []struct {
				elapsed time.Duration // since the newest snapshot arrived
				want    float64       // render tick
			}{
				{0, float64(last) - 6},
				{25 * time.Millisecond, float64(last) - 4.5},
				{time.Second, float64(last) + 54}, // beyond the newest: clamped
			}
			arrived := clock.Now()
			for _, it := range interpTests {
				now := arrived.Add(it.elapsed)
				if got := c.RenderTick(now); got != it.want {
					t.Errorf("RenderTick(arrival+%v) = %v, want %v", it.elapsed, got, it.want)
				}
				shown := min(it.want, float64(last))
				want := []EntityView{{ID: fakeOther, Pos: sim.Vec{X: int32(30000 + shown*100), Y: 40000}, HP: 100, Score: 3}}
				if diff := cmp.Diff(want, c.Interpolated(now)); diff != "" {
					t.Errorf("Interpolated(arrival+%v) mismatch (-want +got):\n%s", it.elapsed, diff)
				}
			}

			if err := c.Ping(42); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			select {
			case p := <-pongs:
				if p.GetClientTime() != 42 || p.GetTick() != last {
					t.Errorf("Pong = {client_time %d, tick %d}, want {42, %d}", p.GetClientTime(), p.GetTick(), last)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no Pong")
			}

			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if diff := cmp.Diff(&CloseError{Code: 1000, Local: true}, c.CloseError()); diff != "" {
				t.Errorf("CloseError() mismatch (-want +got):\n%s", diff)
			}
			if got := fc.closeCode(t); got != 1000 {
				t.Errorf("server saw close code %d, want 1000", got)
			}
			if _, err := c.SendInput(sim.Input{}); !errors.Is(err, ErrClosed) {
				t.Errorf("SendInput after Close = %v, want ErrClosed", err)
			}
			if err := c.Ping(1); !errors.Is(err, ErrClosed) {
				t.Errorf("Ping after Close = %v, want ErrClosed", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close = %v, want nil", err)
			}
		})
	}
}

func TestClientConcurrentSendsKeepSeqOrder(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	const senders, each = 4, 50
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				if _, err := c.SendInput(sim.Input{MoveX: 100}); err != nil {
					t.Errorf("SendInput: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "inputs to reach the server", func() bool { return fc.received() == senders*each })
	fc.mu.Lock()
	queued, last := len(fc.mu.queue), fc.mu.queuedSeq
	fc.mu.Unlock()
	// The fake queues only seqs greater than every one before.
	if queued != senders*each || last != senders*each {
		t.Errorf("server queued %d inputs up to seq %d, want %d up to %d: seqs arrived out of order",
			queued, last, senders*each, senders*each)
	}
	if got := c.LastSeq(); got != senders*each {
		t.Errorf("LastSeq() = %d, want %d", got, senders*each)
	}
}

// TestClientInitialSeq: the first input continues after the greater of
// Options.InitialSeq and the Welcome's last_input_seq — a fresh page after a
// reload knows nothing of its inputs but what the server says — and the
// server applies it.
func TestClientInitialSeq(t *testing.T) {
	tests := []struct {
		name         string
		initial      uint32
		welcomeSeq   uint32
		wantFirstSeq uint32
	}{
		{"fresh", 0, 0, 1},
		{"InitialSeq", 41, 0, 42},
		{"reloaded page", 0, 41, 42},
		{"InitialSeq ahead", 50, 41, 51},
		{"Welcome ahead", 30, 41, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.lastInputSeq = tt.welcomeSeq })
			c := dial(t, fs.url(fakeToken), Options{InitialSeq: tt.initial})
			fc := fs.accept(t)
			if got := c.Welcome().LastInputSeq; got != tt.welcomeSeq {
				t.Errorf("Welcome().LastInputSeq = %d, want %d", got, tt.welcomeSeq)
			}
			if got := c.LastSeq(); got != tt.wantFirstSeq-1 {
				t.Errorf("LastSeq() before sending = %d, want %d", got, tt.wantFirstSeq-1)
			}
			if seq, err := c.SendInput(sim.Input{MoveX: 1000}); err != nil || seq != tt.wantFirstSeq {
				t.Fatalf("SendInput = %d, %v; want %d, nil", seq, err, tt.wantFirstSeq)
			}
			waitFor(t, "the input at the server", func() bool { return fc.received() == 1 })
			waitForTick(t, c, fc.step())
			if got := ownAck(c); got != tt.wantFirstSeq {
				t.Errorf("last_input_seq = %d, want %d (the input applied, not ignored as stale)", got, tt.wantFirstSeq)
			}
			if got, want := c.Predicted(), sim.Move(fakeStart, sim.Input{MoveX: 1000}, fs.tickRate); got != want || fc.position() != want {
				t.Errorf("Predicted() = %v, server at %v; want both at %v", got, fc.position(), want)
			}
		})
	}
}

// TestClientClampsMove: whatever move vector the game hands over, the client
// sends it clamped by the server's own rule, so an honest game never sends
// an invalid input, and predicts it exactly.
func TestClientClampsMove(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	waitForTick(t, c, fc.step())
	moves := []sim.Vec{
		vec(1000, 1000),      // a keyboard diagonal, unnormalised
		vec(600, 801),        // an analog stick, rounded: length 1000.6
		vec(-708, 708),       // length 1001.3
		vec(-3000, 0),        // far too long
		vec(1<<31-1, -1<<31), // the extremes
		vec(300, -400),       // short: unchanged
	}
	for _, m := range moves {
		mustSend(t, c, sim.Input{MoveX: m.X, MoveY: m.Y})
	}
	waitFor(t, "the inputs at the server", func() bool { return fc.received() == len(moves) })
	for range moves {
		waitForTick(t, c, fc.step())
	}
	fc.mu.Lock()
	got := fc.mu.inputs
	fc.mu.Unlock()
	for i, m := range moves {
		x, y := sim.ClampMove(m.X, m.Y)
		if got[i].MoveX != x || got[i].MoveY != y {
			t.Errorf("move %v sent as (%d, %d), want (%d, %d)", m, got[i].MoveX, got[i].MoveY, x, y)
		}
		if v := sim.Validate(got[i]); v != sim.ViolationNone {
			t.Errorf("move %v sent as (%d, %d): %v, want a valid input", m, got[i].MoveX, got[i].MoveY, v)
		}
	}
	if stats := c.PredictionError(); stats.Checked != uint64(len(moves)) || stats.Corrections != 0 {
		t.Errorf("PredictionError() = %+v, want %d exact checks", stats, len(moves))
	}
	if got, want := c.Predicted(), fc.position(); got != want {
		t.Errorf("Predicted() = %v, want the server's %v", got, want)
	}
}

func TestDialRefused(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	tests := []struct {
		name  string
		token string
	}{
		{"forged token", "forged-secret-token"},
		{"missing token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, fs.url(tt.token), Options{})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded with a bad token")
			}
			var he *HandshakeError
			if !errors.As(err, &he) || he.StatusCode != 401 {
				t.Fatalf("Dial error = %v, want a *HandshakeError with status 401", err)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Dial error %q reveals the token", err)
			}
		})
	}
}

func TestDialBadURL(t *testing.T) {
	tests := []string{"http://localhost/v1/play", "::", "ws://127.0.0.1:1/v1/play"}
	for _, give := range tests {
		c, err := Dial(context.Background(), give, Options{})
		if err == nil {
			c.Close()
			t.Errorf("Dial(%q) succeeded, want an error", give)
		}
	}
}

func TestDialWaitsForWelcomeWithinContext(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.silent = true })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c, err := Dial(ctx, fs.url(fakeToken), Options{})
	if !errors.Is(err, context.DeadlineExceeded) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Dial to a server that never welcomes = %v, want context.DeadlineExceeded", err)
	}
}

func TestDialFirstMessageNotWelcome(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) {
		fs.firstMessage = &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 3}}}
	})
	c, err := Dial(context.Background(), fs.url(fakeToken), Options{})
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded although the server did not welcome")
	}
	var ce *CloseError
	if !errors.Is(err, ErrProtocol) || !errors.As(err, &ce) || ce.Code != 1002 {
		t.Errorf("Dial error = %v, want ErrProtocol and close code 1002", err)
	}
	if got := fs.accept(t).closeCode(t); got != 1002 {
		t.Errorf("server saw close code %d, want 1002", got)
	}
}

// TestDialKickedBeforeWelcome: a server may refuse an upgraded connection
// with a Kick and a close (say, the match ended in between); Dial reports
// that close and its reason, not a protocol violation.
func TestDialKickedBeforeWelcome(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.silent = true })
	result := make(chan error, 1)
	go func() {
		c, err := Dial(context.Background(), fs.url(fakeToken), Options{})
		if err == nil {
			c.Close()
		}
		result <- err
	}()
	fs.accept(t).kick(1000, "match_over", "the match is over")
	err := <-result
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 1000 || ce.KickReason != "match_over" || errors.Is(err, ErrProtocol) {
		t.Errorf("Dial error = %v, want a 1000 close with kick reason match_over", err)
	}
}

func TestClientConnectionEnds(t *testing.T) {
	matchEnd := &arbiterv1.MatchEnd{MatchId: fakeMatchID, Results: []*arbiterv1.PlayerResult{
		{PlayerId: fakePlayerID, Score: 10, Placement: 1, RatingBefore: 1500, RatingAfter: 1520, EntityId: fakeSelf},
	}}
	welcome := &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{EntityId: 9}}}
	tests := []struct {
		name   string
		server func(fc *fakeConn)
		want   *CloseError
		// wantErr is the local cause; wantServerSees the code the client
		// sent, for closes the client initiated.
		wantErr        error
		wantServerSees uint16
		// wantResumable is whether the player may come back (Resume).
		wantResumable bool
	}{
		{
			name:          "kicked as slow consumer",
			server:        func(fc *fakeConn) { fc.kick(1008, "slow_consumer", "send queue full") },
			want:          &CloseError{Code: 1008, Reason: "slow_consumer", KickReason: "slow_consumer", KickMessage: "send queue full"},
			wantResumable: true,
		},
		{
			name:          "closed as idle",
			server:        func(fc *fakeConn) { fc.kick(1001, "idle", "no input for a while") },
			want:          &CloseError{Code: 1001, Reason: "idle", KickReason: "idle", KickMessage: "no input for a while"},
			wantResumable: true,
		},
		{
			name:   "forfeited",
			server: func(fc *fakeConn) { fc.kick(4001, "forfeited", "away past the grace period") },
			want:   &CloseError{Code: 4001, Reason: "forfeited", KickReason: "forfeited", KickMessage: "away past the grace period"},
		},
		{
			name:   "replaced by another connection",
			server: func(fc *fakeConn) { fc.kick(4000, "replaced", "") },
			want:   &CloseError{Code: 4000, Reason: "replaced", KickReason: "replaced"},
		},
		{
			name: "match over",
			server: func(fc *fakeConn) {
				fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_MatchEnd{MatchEnd: matchEnd}})
				_ = fc.ws.WriteClose(1000, []byte("match_over"))
			},
			want: &CloseError{Code: 1000, Reason: "match_over"},
		},
		{
			name:          "dropped without a close frame",
			server:        func(fc *fakeConn) { _ = fc.ws.NetConn().Close() },
			want:          &CloseError{Code: 1006},
			wantResumable: true,
		},
		{
			name:           "undecodable frame",
			server:         func(fc *fakeConn) { _ = fc.ws.WriteMessage(gws.OpcodeBinary, []byte{0xff, 0xff, 0xff}) },
			want:           &CloseError{Code: 1007, Reason: "bad_frame", Local: true},
			wantErr:        ErrBadFrame,
			wantServerSees: 1007,
			wantResumable:  true,
		},
		{
			name:           "text frame",
			server:         func(fc *fakeConn) { _ = fc.ws.WriteString("hello") },
			want:           &CloseError{Code: 1003, Reason: "text_frame", Local: true},
			wantErr:        ErrProtocol,
			wantServerSees: 1003,
			wantResumable:  true,
		},
		{
			name:           "second welcome",
			server:         func(fc *fakeConn) { fc.send(welcome) },
			want:           &CloseError{Code: 1002, Reason: "protocol", Local: true},
			wantErr:        ErrProtocol,
			wantServerSees: 1002,
			wantResumable:  true,
		},
		{
			name: "delta from another snapshot than the last",
			server: func(fc *fakeConn) {
				var enc arbiterv1.DeltaEncoder
				fc.sendRaw(arbiterv1.AppendDeltaMessage(nil, enc.AppendBody(nil, 50, 49, nil, nil), arbiterv1.Ack{}))
			},
			want:           &CloseError{Code: 1002, Reason: "protocol", Local: true},
			wantErr:        arbiterv1.ErrDeltaBase,
			wantServerSees: 1002,
			wantResumable:  true,
		},
		{
			name: "delta moving an entity that is not there",
			server: func(fc *fakeConn) {
				fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_SnapshotDelta{SnapshotDelta: &arbiterv1.SnapshotDelta{
					Tick: 2, BaseTick: 1, Moved: []int32{2, 100, 100},
				}}})
			},
			want:           &CloseError{Code: 1002, Reason: "protocol", Local: true},
			wantErr:        arbiterv1.ErrBadDelta,
			wantServerSees: 1002,
			wantResumable:  true,
		},
		{
			name:           "frame too big",
			server:         func(fc *fakeConn) { _ = fc.ws.WriteMessage(gws.OpcodeBinary, make([]byte, 4096)) },
			want:           &CloseError{Code: 1009, Reason: "too_big", Local: true},
			wantServerSees: 1009,
			wantResumable:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, nil)
			var (
				mu         sync.Mutex
				gotEnd     *arbiterv1.MatchEnd
				gotKick    *arbiterv1.Kick
				kickCalled int
			)
			c := dial(t, fs.url(fakeToken), Options{
				MaxFrameSize: 1024,
				OnMatchEnd: func(m *arbiterv1.MatchEnd) {
					mu.Lock()
					defer mu.Unlock()
					gotEnd = m
				},
				OnKick: func(k *arbiterv1.Kick) {
					mu.Lock()
					defer mu.Unlock()
					gotKick = k
					kickCalled++
				},
			})
			fc := fs.accept(t)
			waitForTick(t, c, fc.step())
			tt.server(fc)

			ce := waitClosed(t, c)
			if diff := cmp.Diff(tt.want, ce, cmpopts.IgnoreFields(CloseError{}, "Err")); diff != "" {
				t.Errorf("CloseError() mismatch (-want +got):\n%s", diff)
			}
			if got := ce.Resumable(); got != tt.wantResumable {
				t.Errorf("CloseError().Resumable() = %v, want %v", got, tt.wantResumable)
			}
			switch {
			case tt.wantErr != nil && !errors.Is(ce, tt.wantErr):
				t.Errorf("CloseError().Err = %v, want %v", ce.Err, tt.wantErr)
			case ce.Code == 1006 && ce.Err == nil:
				t.Error("CloseError().Err = nil for a dropped connection, want the network error")
			}
			if tt.wantServerSees != 0 {
				if got := fc.closeCode(t); got != tt.wantServerSees {
					t.Errorf("server saw close code %d, want %d", got, tt.wantServerSees)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.want.KickReason != "" && (kickCalled != 1 || arbiterv1.CloseReason(gotKick.GetReason()) != tt.want.KickReason) {
				t.Errorf("OnKick called %d times, last with %v; want once with %q", kickCalled, gotKick, tt.want.KickReason)
			}
			if tt.want.Reason == "match_over" {
				if !cmp.Equal(matchEnd, gotEnd, cmpopts.IgnoreUnexported(arbiterv1.MatchEnd{}, arbiterv1.PlayerResult{})) || c.MatchEnd() != gotEnd {
					t.Errorf("OnMatchEnd got %v and MatchEnd() = %v, want %v", gotEnd, c.MatchEnd(), matchEnd)
				}
			}
			if _, err := c.SendInput(sim.Input{}); !errors.Is(err, ErrClosed) {
				t.Errorf("SendInput after the connection ended = %v, want ErrClosed", err)
			}
		})
	}
}

func TestClientStallReads(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{ReadBufferSize: 4096})
	fc := fs.accept(t)
	waitForTick(t, c, fc.step())

	c.stallReads()
	fc.step()
	fc.step()
	// Whatever reached the socket, the reader handles nothing while stalled.
	if got := c.LastSnapshot().GetTick(); got != 1 {
		t.Errorf("LastSnapshot().Tick while stalled = %d, want 1", got)
	}
	c.resumeReads()
	waitForTick(t, c, 3)

	// Stalled for good, the client is a slow consumer: the server's writes
	// back up until they block.
	c.stallReads()
	if err := fc.ws.NetConn().SetWriteDeadline(time.Now().Add(500 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 64<<10)
	var err error
	for written := 0; written < 64<<20 && err == nil; written += len(frame) {
		err = fc.ws.WriteMessage(gws.OpcodeBinary, frame)
	}
	if err == nil {
		t.Fatal("server wrote 64 MiB to a stalled client without blocking")
	}

	// Close ends the stalled reader.
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done() not closed after Close returned")
	}
}

// TestClientInputPacing: the Client feeds its Pacer from SendInput and from
// its own entity in every snapshot, and says when the next input is due.
func TestClientInputPacing(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	clock := newFakeClock()
	c := dial(t, fs.url(fakeToken), Options{Now: clock.Now})
	fc := fs.accept(t)
	period := time.Second / time.Duration(fs.tickRate)

	if d := c.InputDue(clock.Now()); d > 0 {
		t.Errorf("InputDue() before the first input = %v, want ≤ 0 (due now)", d)
	}
	mustSend(t, c, sim.Input{})
	// Within a nanosecond: 1/60 s is not a whole number of them.
	if d := c.InputDue(clock.Now()); d < period-1 || d > period+1 {
		t.Errorf("InputDue() right after an input = %v, want a tick period, %v", d, period)
	}
	if d := c.InputDue(clock.Now().Add(period + 1)); d > 0 {
		t.Errorf("InputDue() a period later = %v, want ≤ 0", d)
	}

	// Three more inputs wait at the server after the next tick.
	for range 3 {
		mustSend(t, c, sim.Input{})
	}
	waitFor(t, "the inputs at the server", func() bool { return fc.received() == 4 })
	waitForTick(t, c, fc.step())
	if got := c.PacingStats(); got.Backlog != 3 || got.Starved != 0 || got.Dropped != 0 {
		t.Errorf("PacingStats() = %+v, want backlog 3, nothing starved or dropped", got)
	}
}

// TestClientHoldsInputsBack: once the round trip is known, the Client lets
// no more inputs be unacknowledged than the Pacer's in-flight limit: while
// the server is silent (a stall), InputDue says not yet, until a snapshot
// acknowledges one.
func TestClientHoldsInputsBack(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	clock := newFakeClock()
	c := dial(t, fs.url(fakeToken), Options{Now: clock.Now})
	fc := fs.accept(t)
	period := time.Second / time.Duration(fs.tickRate)

	// A second of a server on loopback: each input is applied at the
	// tick after it was sent.
	for i := range fs.tickRate {
		mustSend(t, c, sim.Input{})
		waitFor(t, "the input at the server", func() bool { return fc.received() == i+1 })
		clock.advance(period)
		waitForTick(t, c, fc.step())
	}
	limit := c.PacingStats().InFlightLimit
	if limit < 2 {
		t.Fatalf("PacingStats().InFlightLimit = %d after a second of snapshots, want at least 2", limit)
	}

	// The server goes silent: inputs go out, each when due, until limit
	// are unacknowledged; then none is due, however long it waits.
	sent := 0
	for ; sent < 50; sent++ {
		clock.advance(max(c.InputDue(clock.Now()), 0))
		if c.InputDue(clock.Now()) > 0 {
			break
		}
		mustSend(t, c, sim.Input{})
	}
	if s := c.PacingStats(); sent != limit || s.InFlight != limit {
		t.Errorf("%d inputs sent into the silence, PacingStats() = %+v; want %d (the limit)", sent, s, limit)
	}
	clock.advance(time.Second)
	if d := c.InputDue(clock.Now()); d < period/4 {
		t.Errorf("InputDue() while held, a second on = %v, want at least a quarter tick", d)
	}

	// A tick acknowledges one: the next input is due, and it was held back.
	waitFor(t, "the inputs at the server", func() bool { return fc.received() == fs.tickRate+sent })
	waitForTick(t, c, fc.step())
	if d := c.InputDue(clock.Now()); d > 0 {
		t.Errorf("InputDue() after an acknowledgement = %v, want ≤ 0", d)
	}
	if s := c.PacingStats(); s.HeldBack != 1 {
		t.Errorf("PacingStats().HeldBack = %d, want 1", s.HeldBack)
	}
}

// TestClientRunInputsHeld: while the Pacer holds inputs back, RunInputs
// waits, and the snapshot that acknowledges one sends the next.
func TestClientRunInputsHeld(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.RunInputs(ctx, func() sim.Input { return sim.Input{MoveX: 1000} }) }()

	// Every input is applied at once, until the Pacer knows the round trip.
	for n := 1; c.PacingStats().InFlightLimit == 0; n++ {
		waitFor(t, "an input at the server", func() bool { return fc.received() >= n })
		waitForTick(t, c, fc.step())
	}
	// The server goes silent: RunInputs stops at the limit.
	waitFor(t, "the in-flight limit", func() bool {
		s := c.PacingStats()
		return s.InFlight >= s.InFlightLimit
	})
	if s := c.PacingStats(); s.InFlight != s.InFlightLimit {
		t.Errorf("PacingStats() = %+v, want as many in flight as the limit", s)
	}
	// A tick acknowledges one: the next goes out.
	before := fc.received()
	waitForTick(t, c, fc.step())
	waitFor(t, "the input held back", func() bool { return fc.received() == before+1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunInputs after cancel = %v, want context.Canceled", err)
	}
	if s := c.PacingStats(); s.InFlight > s.InFlightLimit {
		t.Errorf("PacingStats() = %+v, want no more in flight than the limit", s)
	}
}

// TestClientRunInputs: RunInputs sends one sampled input whenever one is due
// — at the tick rate, not in bursts — until its ctx ends or the connection
// does.
func TestClientRunInputs(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	period := time.Second / time.Duration(fs.tickRate)

	ctx, cancel := context.WithCancel(t.Context())
	samples := 0
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- c.RunInputs(ctx, func() sim.Input {
			samples++
			return sim.Input{MoveX: 1000, Buttons: uint32(samples)}
		})
	}()
	waitFor(t, "ten inputs at the server", func() bool { return fc.received() >= 10 })
	elapsed := time.Since(start)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunInputs after cancel = %v, want context.Canceled", err)
	}
	// No burst: ten inputs take at least nine periods less the Pacer's
	// largest shortening (there are no snapshots yet: it keeps the
	// nominal pace).
	if least := 9 * period * 3 / 4; elapsed < least {
		t.Errorf("ten inputs went out in %v, want at least %v", elapsed, least)
	}
	fc.mu.Lock()
	inputs := fc.mu.inputs
	fc.mu.Unlock()
	if len(inputs) != samples {
		t.Errorf("the server received %d inputs, sample was called %d times", len(inputs), samples)
	}
	for i, in := range inputs {
		if in.Seq != uint32(i+1) || in.Buttons != uint32(i+1) {
			t.Errorf("input %d: seq %d with sample %d, want seq %d with sample %d", i, in.Seq, in.Buttons, i+1, i+1)
		}
	}

	// The connection ends: RunInputs says how.
	go func() { done <- c.RunInputs(t.Context(), func() sim.Input { return sim.Input{} }) }()
	fc.kick(1000, "match_over", "the match is over")
	var ce *CloseError
	if err := <-done; !errors.As(err, &ce) || ce.Code != 1000 || ce.KickReason != "match_over" {
		t.Errorf("RunInputs after the server closed = %v, want the *CloseError (1000, match_over)", err)
	}
}

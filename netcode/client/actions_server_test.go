package client

// A game played with actions, end to end against the real server: the
// match package's rooms behind the netcode transport, the way cmd/arbiter
// wires them. Tests may import what the package may not (deps_test.go).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/netcode"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// tallyGame is a tiny game played with actions: "+" scores a point for its
// player, anything else is refused ("bad"); the first to three points wins.
// Its seats are numbered from 0, which a game may do. Its state message is
// the scores, "a:b".
type tallyGame struct{}

func (tallyGame) NewWorld(cfg match.WorldConfig) (match.World, error) { return &tallyWorld{}, nil }

type tallyWorld struct {
	scores  []uint32
	over    bool
	version uint32
}

var _ match.EventWorld = (*tallyWorld)(nil)

func (w *tallyWorld) Join() match.EntityID {
	w.scores = append(w.scores, 0)
	return match.EntityID(len(w.scores) - 1)
}
func (w *tallyWorld) Start(time.Time) { w.version++ }
func (w *tallyWorld) Version() uint32 { return w.version }
func (w *tallyWorld) Act(e match.EntityID, payload []byte, _ time.Time) (bool, *match.Rejection) {
	switch {
	case w.over:
		return false, &match.Rejection{Reason: "game_over", Message: "the game is over"}
	case string(payload) != "+":
		return false, &match.Rejection{Reason: "bad", Message: fmt.Sprintf("%q is not a move", payload)}
	}
	w.scores[e]++
	w.version++
	w.over = w.scores[e] == 3
	return true, nil
}
func (w *tallyWorld) Deadline() time.Time    { return time.Time{} }
func (w *tallyWorld) Advance(time.Time) bool { return false }
func (w *tallyWorld) AppendState(dst []byte) []byte {
	return fmt.Appendf(dst, "%d:%d", w.scores[0], w.scores[1])
}
func (w *tallyWorld) Over() (string, bool)          { return "won", w.over }
func (w *tallyWorld) Score(e match.EntityID) uint32 { return w.scores[e] }
func (w *tallyWorld) Forfeit(match.EntityID, time.Time) {
	w.version++
	w.over = true
}

// admitter and seat adapt match.Manager to netcode.Admitter, as
// cmd/arbiter does.
type admitter struct{ m *match.Manager }

func (a admitter) Admit(token string) (netcode.Seat, error) {
	s, err := a.m.Admit(token)
	if err != nil {
		return nil, err
	}
	return seat{s}, nil
}

type seat struct{ *match.Seat }

func (s seat) Attach(sess *netcode.Session) error { return s.Seat.Attach(sess) }
func (s seat) Detach(sess *netcode.Session)       { s.Seat.Detach(sess) }

// startTally runs a manager and a transport with one tally match of alice
// and bob, and returns both players' play URLs. Everything stops when the
// test ends.
func startTally(t *testing.T) (alice, bob string) {
	t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens := match.NewTokens([]byte("test secret"))
	m, err := match.NewManager(match.Config{
		Modes:  map[string]match.Mode{"tally": {Name: "tally", Game: "tally", Players: 2}},
		Games:  map[string]match.Game{"tally": tallyGame{}},
		Room:   match.RoomConfig{TickRate: 30, JoinTimeout: 10 * time.Second, Grace: time.Minute},
		Tokens: tokens, Logger: discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { _ = m.Run(ctx) })
	srv := netcode.NewServer(netcode.Config{Logger: discard}, admitter{m})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
		cancel()
		run.Wait()
	})
	id, err := m.Create("tally", []string{"alice", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	base := "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/play?token="
	exp := time.Now().Add(time.Hour)
	return base + tokens.Join("alice", id, exp), base + tokens.Join("bob", id, exp)
}

// tallyPlayer is one player's Client and what its callbacks saw.
type tallyPlayer struct {
	c        *Client
	mu       sync.Mutex
	rejected []string
	sock     net.Conn // the newest socket, for the test to cut
}

func (p *tallyPlayer) options() Options {
	return Options{
		OnRejected: func(r *arbiterv1.Rejected) {
			p.mu.Lock()
			p.rejected = append(p.rejected, fmt.Sprintf("%d %s", r.GetSeq(), r.GetReason()))
			p.mu.Unlock()
		},
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			p.mu.Lock()
			p.sock = nc
			p.mu.Unlock()
			return nc, err
		},
	}
}

func (p *tallyPlayer) rejections() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

func (p *tallyPlayer) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.sock.Close()
}

// waitState waits until p's Client keeps a State with payload want and
// last_action_seq ack.
func (p *tallyPlayer) waitState(t *testing.T, want string, ack uint32) *arbiterv1.State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := p.c.State()
		if string(s.GetPayload()) == want && s.GetLastActionSeq() == ack {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for State %q ack %d; have %v", want, ack, s)
		}
		time.Sleep(2 * time.Millisecond) // pacing the polls
	}
}

func act(t *testing.T, p *tallyPlayer, payload string) uint32 {
	t.Helper()
	seq, err := p.c.SendAction([]byte(payload))
	if err != nil {
		t.Fatalf("SendAction(%q): %v", payload, err)
	}
	return seq
}

// TestActionsAgainstServer plays a tally match through the real server:
// the Welcome names the game, every change reaches both players as a new
// State version with each one's own last_action_seq, a refused action is
// answered with Rejected, a player whose connection drops resumes with its
// seqs and State, and the game's end ends the match.
func TestActionsAgainstServer(t *testing.T) {
	checkNoLeaks(t)
	aliceURL, bobURL := startTally(t)
	dial := func(url string) *tallyPlayer {
		p := &tallyPlayer{}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := Dial(ctx, url, p.options())
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		p.c = c
		t.Cleanup(func() { _ = p.c.Close() })
		return p
	}
	alice, bob := dial(aliceURL), dial(bobURL)
	for i, p := range []*tallyPlayer{alice, bob} {
		if w := p.c.Welcome(); w.Game != "tally" || !w.PlayedWithActions() || w.Entity != sim.EntityID(i) || w.LastActionSeq != 0 {
			t.Errorf("Welcome() = %+v, want game tally, entity %d, played with actions", w, i)
		}
	}
	first := alice.waitState(t, "0:0", 0)
	bob.waitState(t, "0:0", 0)

	if seq := act(t, alice, "+"); seq != 1 {
		t.Errorf("alice's first action seq = %d, want 1", seq)
	}
	s := alice.waitState(t, "1:0", 1)
	bob.waitState(t, "1:0", 0)
	if s.GetVersion() <= first.GetVersion() {
		t.Errorf("version after a change = %d, want above %d", s.GetVersion(), first.GetVersion())
	}
	if p := alice.c.PendingActions(); p != nil {
		t.Errorf("alice's PendingActions() = %v, want none", p)
	}

	act(t, bob, "x")
	waitFor(t, "bob's rejection", func() bool { return len(bob.rejections()) == 1 })
	if got := bob.rejections()[0]; got != "1 bad" {
		t.Errorf("bob's OnRejected saw %q, want 1 bad", got)
	}
	if p := bob.c.PendingActions(); p != nil {
		t.Errorf("bob's PendingActions() after the rejection = %v, want none", p)
	}

	// Alice's network drops; she resumes and plays on.
	alice.cut()
	<-alice.c.Done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resumed, err := Resume(ctx, aliceURL, alice.c, alice.options())
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	alice.c = resumed
	if got := resumed.Welcome().LastActionSeq; got != 1 {
		t.Errorf("resumed Welcome().LastActionSeq = %d, want 1", got)
	}
	if got := alice.waitState(t, "1:0", 1); got.GetVersion() != s.GetVersion() {
		t.Errorf("the State after Resume has version %d, want %d (nothing changed)", got.GetVersion(), s.GetVersion())
	}
	for want := uint32(2); want <= 3; want++ {
		if seq := act(t, alice, "+"); seq != want {
			t.Errorf("seq after Resume = %d, want %d", seq, want)
		}
	}
	alice.waitState(t, "3:0", 3)
	for _, p := range []*tallyPlayer{alice, bob} {
		select {
		case <-p.c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the match did not end")
		}
		if ce := p.c.CloseError(); ce.Reason != arbiterv1.CloseMatchOver {
			t.Errorf("CloseError() = %v, want match_over", ce)
		}
		places := map[string]uint32{}
		for _, r := range p.c.MatchEnd().GetResults() {
			places[r.GetPlayerId()] = r.GetPlacement()
		}
		if places["alice"] != 1 || places["bob"] != 2 {
			t.Errorf("MatchEnd placements = %v, want alice 1, bob 2", places)
		}
	}
	if got := bob.c.State(); string(got.GetPayload()) != "3:0" {
		t.Errorf("bob's State() = %v, want 3:0", got)
	}
}

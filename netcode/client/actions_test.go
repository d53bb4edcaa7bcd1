package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// fakeGame is the game the fake server names for a match played with
// actions.
const fakeGame = "race"

// recorder keeps what the action callbacks saw, as short strings.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf(format, args...))
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// options returns Options whose OnState and OnRejected record into r.
func (r *recorder) options() Options {
	return Options{
		OnState: func(s *arbiterv1.State) {
			r.add("state v%d ack %d %s", s.GetVersion(), s.GetLastActionSeq(), s.GetPayload())
		},
		OnRejected: func(rj *arbiterv1.Rejected) { r.add("rejected %d %s", rj.GetSeq(), rj.GetReason()) },
	}
}

// waitSeen waits until r has recorded n callbacks.
func (r *recorder) waitSeen(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d callbacks", n), func() bool { return len(r.seen()) >= n })
	return r.seen()
}

func mustAct(t *testing.T, c *Client, payload string) uint32 {
	t.Helper()
	seq, err := c.SendAction([]byte(payload))
	if err != nil {
		t.Fatalf("SendAction(%q): %v", payload, err)
	}
	return seq
}

// pendingSeqs returns the seqs of c's pending actions.
func pendingSeqs(c *Client) []uint32 {
	var seqs []uint32
	for _, p := range c.PendingActions() {
		seqs = append(seqs, p.Seq)
	}
	return seqs
}

// TestActionsNumberedFromWelcome: in a game played with actions the Client
// numbers its actions from the Welcome's last_action_seq + 1 (a page
// reload continues after what the server received), sends them as Action
// frames, keeps them pending until a State's last_action_seq covers them,
// and keeps the State.
func TestActionsNumberedFromWelcome(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.game, fs.lastActionSeq = fakeGame, 7 })
	var r recorder
	c := dial(t, fs.url(fakeToken), r.options())
	fc := fs.accept(t)
	w := c.Welcome()
	if w.Game != fakeGame || w.LastActionSeq != 7 || !w.PlayedWithActions() {
		t.Fatalf("Welcome() = %+v, want game %q, last_action_seq 7, played with actions", w, fakeGame)
	}
	if c.State() != nil || c.PendingActions() != nil {
		t.Errorf("before anything: State() = %v, PendingActions() = %v, want nil, nil", c.State(), c.PendingActions())
	}
	for i, move := range []string{"e2e4", "g1f3", "f1c4"} {
		if seq := mustAct(t, c, move); seq != uint32(8+i) {
			t.Errorf("SendAction(%q) = seq %d, want %d", move, seq, 8+i)
		}
	}
	waitFor(t, "three actions at the server", func() bool { return len(fc.actionsReceived()) == 3 })
	if diff := cmp.Diff([]string{"8:e2e4", "9:g1f3", "10:f1c4"}, fc.actionsReceived()); diff != "" {
		t.Errorf("the server received (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]PendingAction{{8, []byte("e2e4")}, {9, []byte("g1f3")}, {10, []byte("f1c4")}}, c.PendingActions()); diff != "" {
		t.Errorf("PendingActions() (-want +got):\n%s", diff)
	}

	fc.state(1, 9, "two moves")
	r.waitSeen(t, 1)
	if got := pendingSeqs(c); !cmp.Equal(got, []uint32{10}) {
		t.Errorf("pending after last_action_seq 9 = %v, want [10]", got)
	}
	if s := c.State(); s.GetVersion() != 1 || string(s.GetPayload()) != "two moves" {
		t.Errorf("State() = %v, want version 1", s)
	}
	if got := c.LastSeq(); got != 10 {
		t.Errorf("LastSeq() = %d, want 10", got)
	}

	// A proto.Message is encoded for the caller.
	seq, err := c.SendActionMessage(wrapperspb.String("resign"))
	if err != nil || seq != 11 {
		t.Fatalf("SendActionMessage = %d, %v; want 11", seq, err)
	}
	waitFor(t, "the fourth action", func() bool { return len(fc.actionsReceived()) == 4 })
	var got wrapperspb.StringValue
	if err := proto.Unmarshal([]byte(fc.actionsReceived()[3][len("11:"):]), &got); err != nil || got.GetValue() != "resign" {
		t.Errorf("the server received %q (%v), want the encoded message", fc.actionsReceived()[3], err)
	}
}

// TestStateVersionOrdering: the Client keeps the State with the highest
// version; a lower version is ignored (no callback), an equal one updates
// last_action_seq unless it would go back.
func TestStateVersionOrdering(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.game = fakeGame })
	var r recorder
	c := dial(t, fs.url(fakeToken), r.options())
	fc := fs.accept(t)
	for range 3 {
		mustAct(t, c, "+")
	}
	fc.state(2, 1, "b")
	fc.state(1, 3, "a") // late: ignored, its last_action_seq too
	fc.state(2, 2, "b") // same version, action 2 processed
	fc.state(2, 1, "b") // same version, going back: ignored
	fc.state(0, 3, "z") // ignored
	fc.state(5, 2, "e") // kept
	fc.state(5, 3, "e") // kept
	fc.state(4, 3, "d") // ignored
	fc.state(6, 3, "f") // kept: the marker that the rest has been read
	got := r.waitSeen(t, 5)
	want := []string{"state v2 ack 1 b", "state v2 ack 2 b", "state v5 ack 2 e", "state v5 ack 3 e", "state v6 ack 3 f"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OnState saw (-want +got):\n%s", diff)
	}
	if s := c.State(); s.GetVersion() != 6 || string(s.GetPayload()) != "f" {
		t.Errorf("State() = %v, want version 6", s)
	}
	if p := c.PendingActions(); p != nil {
		t.Errorf("PendingActions() = %v, want none", p)
	}
}

// TestRejected: a Rejected reaches OnRejected and answers its action (and
// every one before it: the server processes them in order), which is no
// longer pending; the State stays as it was.
func TestRejected(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.game = fakeGame })
	var r recorder
	c := dial(t, fs.url(fakeToken), r.options())
	fc := fs.accept(t)
	fc.state(1, 0, "start")
	r.waitSeen(t, 1)
	for _, m := range []string{"e2e5", "e2e4", "d2d4"} {
		mustAct(t, c, m)
	}
	fc.rejected(1, "illegal_move")
	got := r.waitSeen(t, 2)
	if got[1] != "rejected 1 illegal_move" {
		t.Errorf("OnRejected saw %q, want rejected 1 illegal_move", got[1])
	}
	if p := pendingSeqs(c); !cmp.Equal(p, []uint32{2, 3}) {
		t.Errorf("pending after Rejected 1 = %v, want [2 3]", p)
	}
	if s := c.State(); s.GetVersion() != 1 {
		t.Errorf("State() = %v, want the first still", s)
	}
	fc.rejected(3, "not_your_turn") // 2 was processed too
	r.waitSeen(t, 3)
	if p := c.PendingActions(); p != nil {
		t.Errorf("PendingActions() after Rejected 3 = %v, want none", p)
	}
	if seq := mustAct(t, c, "a2a3"); seq != 4 {
		t.Errorf("next seq = %d, want 4", seq)
	}
	// The game changed before refusing the action (a clock ran out first):
	// the State that answers it comes first, then the Rejected.
	fc.state(2, 4, "timeout")
	fc.rejected(4, "game_over")
	got = r.waitSeen(t, 5)
	if diff := cmp.Diff([]string{"state v2 ack 4 timeout", "rejected 4 game_over"}, got[3:]); diff != "" {
		t.Errorf("callbacks (-want +got):\n%s", diff)
	}
	if p := c.PendingActions(); p != nil {
		t.Errorf("PendingActions() = %v, want none", p)
	}
}

// TestWrongGame: actions in the arena, and inputs in a game played with
// actions, are refused by the Client (the server would ignore them), and
// the connection stays open.
func TestWrongGame(t *testing.T) {
	checkNoLeaks(t)
	for _, game := range []string{"", "arena"} {
		fs := newFakeServer(t, func(fs *fakeServer) { fs.game = game })
		c := dial(t, fs.url(fakeToken), Options{})
		if c.Welcome().PlayedWithActions() {
			t.Errorf("game %q: PlayedWithActions() = true", game)
		}
		if _, err := c.SendAction([]byte("+")); !errors.Is(err, ErrWrongGame) {
			t.Errorf("game %q: SendAction = %v, want ErrWrongGame", game, err)
		}
		if _, err := c.SendActionMessage(wrapperspb.String("+")); !errors.Is(err, ErrWrongGame) {
			t.Errorf("game %q: SendActionMessage = %v, want ErrWrongGame", game, err)
		}
		if seq := mustSend(t, c, sim.Input{MoveX: 1000}); seq != 1 {
			t.Errorf("game %q: first input seq = %d, want 1", game, seq)
		}
	}

	fs := newFakeServer(t, func(fs *fakeServer) { fs.game = fakeGame })
	c := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	if _, err := c.SendInput(sim.Input{MoveX: 1000}); !errors.Is(err, ErrWrongGame) {
		t.Errorf("SendInput in a game played with actions = %v, want ErrWrongGame", err)
	}
	if err := c.RunInputs(context.Background(), func() sim.Input { return sim.Input{} }); !errors.Is(err, ErrWrongGame) {
		t.Errorf("RunInputs in a game played with actions = %v, want ErrWrongGame", err)
	}
	if seq := mustAct(t, c, "+"); seq != 1 {
		t.Errorf("first action seq = %d, want 1 (the refused input took none)", seq)
	}
	waitFor(t, "the action at the server", func() bool { return len(fc.actionsReceived()) == 1 })
	if n := fc.received(); n != 0 {
		t.Errorf("the server received %d inputs, want 0", n)
	}
}

// TestWelcomeOfActionGame: a game played with actions has no ticks, and
// numbers its seats as it likes: a Welcome with tick rate 0 and entity 0
// is accepted there (and refused in the arena).
func TestWelcomeOfActionGame(t *testing.T) {
	tests := []struct {
		give    *arbiterv1.Welcome
		wantErr bool
	}{
		{&arbiterv1.Welcome{MatchId: "m", Game: "chess"}, false},
		{&arbiterv1.Welcome{MatchId: "m", Game: "arena"}, true},
		{&arbiterv1.Welcome{MatchId: "m"}, true},
		{&arbiterv1.Welcome{MatchId: "m", Game: "arena", TickRate: 30, EntityId: 1}, false},
	}
	for _, tt := range tests {
		c := offlineClient(Options{})
		v := c.handle(true, mustMarshal(t, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: tt.give}}))
		if (v != nil) != tt.wantErr {
			t.Errorf("handle(%v) = %v, want a violation: %v", tt.give, v, tt.wantErr)
		}
	}
}

// TestMismatchedMessages: a Snapshot in a game played with actions, and a
// State or Rejected in the arena, break the contract Welcome.game sets:
// the Client closes with 1002 (protocol).
func TestMismatchedMessages(t *testing.T) {
	tests := []struct {
		name string
		game string
		give *arbiterv1.ServerMessage
	}{
		{"snapshot with actions", fakeGame, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 1}}}},
		{"state in the arena", "arena", &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_State{State: &arbiterv1.State{Version: 1}}}},
		{"rejected in the arena", "", &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Rejected{Rejected: &arbiterv1.Rejected{Seq: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.game = tt.game })
			c := dial(t, fs.url(fakeToken), Options{})
			fc := fs.accept(t)
			fc.send(tt.give)
			ce := waitClosed(t, c)
			if ce.Code != 1002 || !ce.Local || !errors.Is(ce, ErrProtocol) {
				t.Errorf("CloseError() = %v, want a local 1002 for ErrProtocol", ce)
			}
			if got := fc.closeCode(t); got != 1002 {
				t.Errorf("server saw close code %d, want 1002", got)
			}
		})
	}
}

// TestResumeContinuesActions: a resumed Client continues the action seqs
// after the new Welcome's last_action_seq (and what it sent itself), keeps
// the State until the new connection sends one, and keeps pending only the
// actions the server received; a lost one is dropped, not resent.
func TestResumeContinuesActions(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.game, fs.resume = fakeGame, true })
	var r recorder
	old := dial(t, fs.url(fakeToken), r.options())
	fc := fs.accept(t)
	for range 3 {
		mustAct(t, old, "+")
	}
	waitFor(t, "three actions at the server", func() bool { return len(fc.actionsReceived()) == 3 })
	fc.state(4, 1, "v4")
	r.waitSeen(t, 1)
	fc.deafen()
	mustAct(t, old, "lost")
	fc.cut()
	waitClosed(t, old)

	var nr recorder
	c, err := resume(t, t.Context(), fs.url(fakeToken), old, Options{OnState: nr.options().OnState, Backoff: (&retries{t: t}).backoff()})
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	nfc := fs.accept(t)
	if got := c.Welcome().LastActionSeq; got != 3 {
		t.Errorf("resumed Welcome().LastActionSeq = %d, want 3", got)
	}
	if s := c.State(); s.GetVersion() != 4 || string(s.GetPayload()) != "v4" {
		t.Errorf("State() before the new connection's first = %v, want the old Client's version 4", s)
	}
	if p := pendingSeqs(c); !cmp.Equal(p, []uint32{2, 3}) {
		t.Errorf("pending after Resume = %v, want [2 3] (4 never reached the server)", p)
	}
	if seq := mustAct(t, c, "next"); seq != 5 {
		t.Errorf("first seq after Resume = %d, want 5 (after the old Client's 4)", seq)
	}
	waitFor(t, "the action at the new connection", func() bool { return len(nfc.actionsReceived()) == 1 })
	if got := nfc.actionsReceived(); got[0] != "5:next" {
		t.Errorf("the new connection received %v, want [5:next] (nothing resent)", got)
	}

	nfc.state(3, 3, "v3") // lower than the State carried over: ignored
	nfc.state(4, 3, "v4") // the same version: acknowledges 2 and 3
	nfc.state(5, 5, "v5")
	got := nr.waitSeen(t, 2)
	if diff := cmp.Diff([]string{"state v4 ack 3 v4", "state v5 ack 5 v5"}, got); diff != "" {
		t.Errorf("OnState after Resume saw (-want +got):\n%s", diff)
	}
	if p := c.PendingActions(); p != nil {
		t.Errorf("PendingActions() = %v, want none", p)
	}
}

// TestReloadContinuesActions: a fresh Client (a page reload, no Resume) knows
// nothing of the earlier page; the Welcome's last_action_seq tells it where
// to continue.
func TestReloadContinuesActions(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, func(fs *fakeServer) { fs.game, fs.resume = fakeGame, true })
	first := dial(t, fs.url(fakeToken), Options{})
	fc := fs.accept(t)
	for range 2 {
		mustAct(t, first, "+")
	}
	waitFor(t, "two actions at the server", func() bool { return len(fc.actionsReceived()) == 2 })

	reloaded := dial(t, fs.url(fakeToken), Options{}) // replaces the first (4000)
	fs.accept(t)
	waitClosed(t, first)
	if seq := mustAct(t, reloaded, "+"); seq != 3 {
		t.Errorf("first seq after the reload = %d, want 3", seq)
	}
}

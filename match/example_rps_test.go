package match_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// This file is docs/games.md's worked example, compiled and run: rock paper
// scissors as a match.EventWorld, played through a real room with the
// public API only, as a game's own package would be.

// rpsGame is rock paper scissors: two players, the first to win two
// rounds wins the match.
type rpsGame struct{}

func (rpsGame) NewWorld(cfg match.WorldConfig) (match.World, error) {
	if cfg.Players != 2 {
		return nil, fmt.Errorf("rps: %d players, want 2", cfg.Players)
	}
	return &rpsWorld{}, nil
}

// rpsWorld is one match. Each round both players throw once, "r", "p" or
// "s" (the payload of an Action; a real game puts a message of its own
// proto there); the round is decided when the second throw arrives.
type rpsWorld struct {
	joined  int
	version uint32
	throws  [2]byte // this round's; 0: not thrown yet
	wins    [2]uint32
	over    string // "" while playing, else the result's reason
}

var _ match.EventWorld = (*rpsWorld)(nil)

func (w *rpsWorld) Join() match.EntityID   { w.joined++; return match.EntityID(w.joined) }
func (w *rpsWorld) Start(time.Time)        { w.version++ }
func (w *rpsWorld) Version() uint32        { return w.version }
func (w *rpsWorld) Deadline() time.Time    { return time.Time{} } // no clock: nothing happens by itself
func (w *rpsWorld) Advance(time.Time) bool { return false }

func (w *rpsWorld) Act(e match.EntityID, payload []byte, _ time.Time) (bool, *match.Rejection) {
	me := int(e) - 1
	switch {
	case w.over != "":
		return false, &match.Rejection{Reason: "game_over", Message: "the game is over"}
	case len(payload) != 1 || !strings.Contains("rps", string(payload)):
		return false, &match.Rejection{Reason: "bad_throw", Message: "throw r, p or s"}
	case w.throws[me] != 0:
		return false, &match.Rejection{Reason: "already_thrown", Message: "wait for the other throw"}
	}
	w.throws[me] = payload[0]
	if other := w.throws[1-me]; other != 0 {
		beats := map[byte]byte{'r': 's', 's': 'p', 'p': 'r'}
		switch {
		case beats[payload[0]] == other:
			w.wins[me]++
		case beats[other] == payload[0]:
			w.wins[1-me]++
		}
		w.throws = [2]byte{}
		if w.wins[me] == 2 || w.wins[1-me] == 2 {
			w.over = "won"
		}
	}
	w.version++
	return true, nil
}

// AppendState is the same bytes for both players: it shows who has thrown,
// never what (a game with hidden information keeps it out of its State).
func (w *rpsWorld) AppendState(dst []byte) []byte {
	return fmt.Appendf(dst, "%d-%d thrown %t %t", w.wins[0], w.wins[1], w.throws[0] != 0, w.throws[1] != 0)
}

func (w *rpsWorld) Over() (string, bool)          { return w.over, w.over != "" }
func (w *rpsWorld) Score(e match.EntityID) uint32 { return w.wins[e-1] }
func (w *rpsWorld) Forfeit(match.EntityID, time.Time) {
	w.over, w.version = "forfeit", w.version+1 // the room places the absent player last
}

// rpsPeer is a connection as the room sees it: it keeps what it is sent.
type rpsPeer struct {
	mu     sync.Mutex
	got    []string
	closed arbiterv1.CloseReason
}

func (p *rpsPeer) Send(frame []byte) {
	var m arbiterv1.ServerMessage
	err := proto.Unmarshal(frame, &m)
	s := fmt.Sprint(m.GetKind()) // a message this summary does not know
	switch {
	case err != nil:
		s = "undecodable: " + err.Error()
	case m.GetState() != nil:
		s = fmt.Sprintf("state v%d ack %d %s", m.GetState().GetVersion(), m.GetState().GetLastActionSeq(), m.GetState().GetPayload())
	case m.GetRejected() != nil:
		s = fmt.Sprintf("rejected %d %s", m.GetRejected().GetSeq(), m.GetRejected().GetReason())
	case m.GetWelcome() != nil:
		s = "welcome " + m.GetWelcome().GetGame()
	case m.GetMatchEnd() != nil:
		s = "match_end"
		for _, r := range m.GetMatchEnd().GetResults() {
			s += fmt.Sprintf(" %s:%d", r.GetPlayerId(), r.GetPlacement())
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, s)
}
func (p *rpsPeer) SendSnapshot(s arbiterv1.TickSnapshot, _ arbiterv1.Ack) { p.Send(s.Full) }
func (p *rpsPeer) Close(reason arbiterv1.CloseReason, _ string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = reason
}

// TestRockPaperScissors plays docs/games.md's example through a room: every
// change reaches both players as a State, a refused throw only its thrower
// as Rejected, and the game's end ends the match with MatchEnd and
// match_over, placed by Score.
func TestRockPaperScissors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tokens := match.NewTokens([]byte("secret"))
		ended := make(chan match.Result, 1)
		m, err := match.NewManager(match.Config{
			Modes:  map[string]match.Mode{"rps": {Name: "rps", Game: "rps", Players: 2, MinPlayers: 2}},
			Games:  map[string]match.Game{"rps": rpsGame{}},
			Room:   match.RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 5 * time.Second},
			Tokens: tokens, Logger: slog.New(slog.DiscardHandler),
			OnEnd: func(r match.Result) { ended <- r },
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var run sync.WaitGroup
		run.Go(func() { _ = m.Run(ctx) })
		defer func() { cancel(); run.Wait() }()

		id, err := m.Create("rps", []string{"alice", "bob"})
		if err != nil {
			t.Fatal(err)
		}
		var seats [2]*match.Seat
		var peers [2]*rpsPeer
		for i, player := range []string{"alice", "bob"} {
			if seats[i], err = m.Admit(tokens.Join(player, id, time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			peers[i] = new(rpsPeer)
			if err := seats[i].Attach(peers[i]); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		for _, throw := range []struct {
			seat int
			seq  uint32
			what string
		}{{0, 1, "r"}, {1, 1, "s"}, {0, 2, "p"}, {1, 2, "x"}, {1, 3, "s"}, {0, 3, "r"}, {1, 4, "s"}} {
			seats[throw.seat].Action(throw.seq, []byte(throw.what))
			synctest.Wait() // processed at once: no tick
		}

		res := <-ended
		if res.Reason != "won" || res.Players[0].Placement != 1 || res.Players[1].Placement != 2 {
			t.Errorf("result: %q, placements %d %d; want won, alice 1, bob 2", res.Reason, res.Players[0].Placement, res.Players[1].Placement)
		}
		want := []string{"welcome rps", "state v1 ack 0 0-0 thrown false false",
			"state v2 ack 1 0-0 thrown true false", "state v3 ack 1 1-0 thrown false false",
			"state v4 ack 2 1-0 thrown true false", "state v5 ack 2 1-1 thrown false false",
			"state v6 ack 3 1-1 thrown true false", "state v7 ack 3 2-1 thrown false false",
			"match_end alice:1 bob:2"}
		if diff := cmp.Diff(want, peers[0].got); diff != "" {
			t.Errorf("alice got (-want +got):\n%s", diff)
		}
		if got := peers[1].got; !strings.Contains(strings.Join(got, "\n"), "rejected 2 bad_throw") {
			t.Errorf("bob got %q, want a Rejected for seq 2", got)
		}
		for i, p := range peers {
			if p.closed != arbiterv1.CloseMatchOver {
				t.Errorf("peer %d closed with %q, want match_over", i, p.closed)
			}
		}
	})
}

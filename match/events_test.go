package match

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/google/go-cmp/cmp"
)

// raceGame is a small event game: an action "+" scores a point for its
// player, "x" is refused ("bad"), "." changes nothing; the first to three
// points wins ("won"); if nobody has won after its limit, the game ends
// ("timeout"); a player who forfeits loses ("forfeit").
type raceGame struct{ limit time.Duration }

func (g raceGame) NewWorld(WorldConfig) (World, error) { return &raceWorld{limit: g.limit}, nil }

var (
	_ EventWorld = (*raceWorld)(nil)
	_ Recorder   = (*raceWorld)(nil)
)

type raceWorld struct {
	limit    time.Duration
	version  uint32 // one per change
	scores   []uint32
	deadline time.Time
	reason   string
}

func (w *raceWorld) Join() EntityID {
	w.scores = append(w.scores, 0)
	return EntityID(len(w.scores))
}
func (w *raceWorld) Start(now time.Time) { w.deadline = now.Add(w.limit); w.version++ }
func (w *raceWorld) Version() uint32     { return w.version }
func (w *raceWorld) Act(e EntityID, payload []byte, _ time.Time) (bool, *Rejection) {
	switch {
	case w.reason != "":
		return false, &Rejection{Reason: "game_over", Message: "the game is over"}
	case string(payload) == "+":
		w.version++
		w.scores[e-1]++
		if w.scores[e-1] == 3 {
			w.reason = "won"
		}
		return true, nil
	case string(payload) == ".":
		return false, nil
	}
	return false, &Rejection{Reason: "bad", Message: fmt.Sprintf("%q is not a move", payload)}
}
func (w *raceWorld) Deadline() time.Time {
	if w.reason != "" {
		return time.Time{}
	}
	return w.deadline
}
func (w *raceWorld) Advance(now time.Time) bool {
	if w.reason == "" && !now.Before(w.deadline) {
		w.version++
		w.reason = "timeout"
		return true
	}
	return false
}
func (w *raceWorld) AppendState(dst []byte) []byte {
	return fmt.Appendf(dst, "%d:%d", w.scores[0], w.scores[1])
}
func (w *raceWorld) Record() ([]byte, error) {
	return fmt.Appendf(nil, `{"scores":[%d,%d]}`, w.scores[0], w.scores[1]), nil
}
func (w *raceWorld) Over() (string, bool)    { return w.reason, w.reason != "" }
func (w *raceWorld) Score(e EntityID) uint32 { return w.scores[e-1] }
func (w *raceWorld) Forfeit(e EntityID, _ time.Time) {
	w.version++
	w.reason = "forfeit"
	for i := range w.scores {
		if EntityID(i+1) != e {
			w.scores[i] = 3
		}
	}
}

// startRace starts a manager with one race match of alice and bob on the
// bubble's clock, and returns both seats with their peers attached.
func startRace(t *testing.T, limit time.Duration) (m *Manager, ended chan Result, seats [2]*Seat, peers [2]*fakePeer) {
	t.Helper()
	ended = make(chan Result, 1)
	m, err := NewManager(Config{
		Modes:  map[string]Mode{"race": {Name: "race", Game: "race", Players: 2}},
		Games:  map[string]Game{"race": raceGame{limit: limit}},
		Room:   RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 5 * time.Second},
		Tokens: NewTokens([]byte("k")), Logger: discardLogger(),
		OnEnd: func(r Result) { ended <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go m.Run(ctx)
	id, err := m.Create("race", []string{"alice", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"alice", "bob"} {
		s, err := m.Admit(m.cfg.Tokens.Join(p, id, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		seats[i], peers[i] = s, newFakePeer()
		if err := s.Attach(peers[i]); err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
	return m, ended, seats, peers
}

// frames decodes what peer was sent since its first from frames.
func (p *fakePeer) messages(t *testing.T, from int) []*arbiterv1.ServerMessage {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*arbiterv1.ServerMessage
	for _, f := range p.frames[from:] {
		out = append(out, decode(t, f))
	}
	return out
}

// summary is a server message in a few words, for comparisons.
func summary(m *arbiterv1.ServerMessage) string {
	switch {
	case m.GetWelcome() != nil:
		w := m.GetWelcome()
		return fmt.Sprintf("welcome %s last_action_seq %d", w.GetGame(), w.GetLastActionSeq())
	case m.GetState() != nil:
		s := m.GetState()
		return fmt.Sprintf("state v%d ack %d %s", s.GetVersion(), s.GetLastActionSeq(), s.GetPayload())
	case m.GetRejected() != nil:
		r := m.GetRejected()
		return fmt.Sprintf("rejected %d %s", r.GetSeq(), r.GetReason())
	case m.GetMatchEnd() != nil:
		var s string
		for _, r := range m.GetMatchEnd().GetResults() {
			s += fmt.Sprintf(" %s:%d", r.GetPlayerId(), r.GetPlacement())
		}
		return "match_end" + s
	}
	return fmt.Sprint(m)
}

func summaries(t *testing.T, p *fakePeer, from int) []string {
	t.Helper()
	var out []string
	for _, m := range p.messages(t, from) {
		out = append(out, summary(m))
	}
	return out
}

// TestEventGame plays a race through the room: every change reaches both
// players as a new State version with each one's own last_action_seq; a
// refused action is answered to its sender only and changes nothing; an
// action that changes nothing is acknowledged with the same version; a
// replayed seq is ignored; the game's end ends the match with its reason
// and placements from the scores.
func TestEventGame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, ended, seats, peers := startRace(t, time.Hour)
		alice, bob := seats[0], seats[1]
		alice.Action(1, []byte("+"))
		synctest.Wait()
		bob.Action(1, []byte("x"))
		synctest.Wait()
		bob.Action(2, []byte("."))
		synctest.Wait()
		bob.Action(2, []byte("+")) // a replay: ignored
		synctest.Wait()
		alice.Action(2, []byte("+"))
		alice.Action(3, []byte("+"))
		synctest.Wait()
		res := <-ended
		synctest.Wait() // the room sends MatchEnd and closes after reporting the result

		wantAlice := []string{"welcome race last_action_seq 0", "state v1 ack 0 0:0", "state v2 ack 1 1:0",
			"state v3 ack 2 2:0", "state v4 ack 3 3:0", "match_end alice:1 bob:2"}
		wantBob := []string{"welcome race last_action_seq 0", "state v1 ack 0 0:0", "state v2 ack 0 1:0",
			"rejected 1 bad", "state v2 ack 2 1:0", "state v3 ack 2 2:0", "state v4 ack 2 3:0", "match_end alice:1 bob:2"}
		if diff := cmp.Diff(wantAlice, summaries(t, peers[0], 0)); diff != "" {
			t.Errorf("alice received (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantBob, summaries(t, peers[1], 0)); diff != "" {
			t.Errorf("bob received (-want +got):\n%s", diff)
		}
		if res.Reason != "won" || res.Aborted || res.Players[0].Placement != 1 || res.Players[1].Placement != 2 {
			t.Errorf("result = %+v, want alice first by the game's reason", res)
		}
		if got, want := string(res.Record), `{"scores":[3,0]}`; got != want {
			t.Errorf("result's Record = %s, want the world's %s", got, want)
		}
		for _, p := range peers {
			if p.reason != arbiterv1.CloseMatchOver {
				t.Errorf("closed with %q, want match_over", p.reason)
			}
		}
		if got := [3]uint64{m.Stats.InputsApplied.Load(), m.Stats.ActionsRejected.Load(), m.Stats.InputsStale.Load()}; got != [3]uint64{4, 1, 1} {
			t.Errorf("actions applied, rejected, stale = %v, want [4 1 1]", got)
		}
	})
}

// TestEventGameDeadline: a game whose own deadline passes with nobody
// acting ends by it, at that instant.
func TestEventGameDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ended, _, peers := startRace(t, 10*time.Second)
		start := time.Now()
		res := <-ended
		d := time.Since(start)
		synctest.Wait() // the room sends MatchEnd and closes after reporting the result
		if d != 10*time.Second || res.Reason != "timeout" {
			t.Errorf("ended after %v by %q, want 10s by timeout", d, res.Reason)
		}
		if got := summaries(t, peers[0], 2); len(got) != 2 || got[0] != "state v2 ack 0 0:0" {
			t.Errorf("after the start alice received %v, want the State of the timeout, then MatchEnd", got)
		}
	})
}

// TestEventGameReconnect: a player who reconnects within the grace period
// gets Welcome with the highest action seq received, then the current
// State, and plays on.
func TestEventGameReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, seats, peers := startRace(t, time.Hour)
		seats[1].Action(1, []byte("+"))
		synctest.Wait()
		seats[1].Detach(peers[1])
		time.Sleep(4 * time.Second)
		again := newFakePeer()
		if err := seats[1].Attach(again); err != nil {
			t.Fatalf("Attach within the grace period = %v", err)
		}
		synctest.Wait()
		want := []string{"welcome race last_action_seq 1", "state v2 ack 1 0:1"}
		if diff := cmp.Diff(want, summaries(t, again, 0)); diff != "" {
			t.Errorf("the reconnected peer received (-want +got):\n%s", diff)
		}
		seats[1].Action(2, []byte("+"))
		synctest.Wait()
		if got := summaries(t, again, 2); len(got) != 1 || got[0] != "state v3 ack 2 0:2" {
			t.Errorf("after its next action: %v, want state v3", got)
		}
	})
}

// TestEventGameForfeit: a player away past the grace period forfeits, the
// game decides the outcome, and the player may not come back.
func TestEventGameForfeit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ended, seats, peers := startRace(t, time.Hour)
		seats[1].Detach(peers[1])
		left := time.Now()
		res := <-ended
		d := time.Since(left)
		synctest.Wait() // the room sends MatchEnd and closes after reporting the result
		if d != 5*time.Second || res.Reason != "forfeit" || res.Players[0].Placement != 1 || !res.Players[1].Forfeit {
			t.Errorf("after %v: %+v; want bob's forfeit after the 5 s grace, alice first", d, res)
		}
		if err := seats[1].Attach(newFakePeer()); err == nil {
			t.Error("Attach after the forfeit succeeded")
		}
	})
}

// TestWrongKindOfMessage: an action sent to a game played with inputs, and
// an input sent to a game played with actions, are ignored and counted as
// stale — nothing an honest client of the other game sends is punished.
func TestWrongKindOfMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, seats, peers := startRace(t, time.Hour)
		seats[0].Input(&arbiterv1.Input{Seq: 1, MoveX: 1000})
		synctest.Wait()
		if got := summaries(t, peers[0], 2); len(got) != 0 || m.Stats.InputsStale.Load() != 1 {
			t.Errorf("an input to an event game: %v sent back, %d stale; want nothing, 1", got, m.Stats.InputsStale.Load())
		}
	})
	r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
	seat(r, 0).Action(1, []byte("+"))
	if r.Stats.InputsStale.Load() != 1 {
		t.Errorf("an action to a tick game: %d stale, want 1", r.Stats.InputsStale.Load())
	}
}

// savingRace is the race with a Saver world.
type savingRace struct{ raceGame }

func (g savingRace) NewWorld(cfg WorldConfig) (World, error) {
	w, _ := g.raceGame.NewWorld(cfg)
	return savingWorld{w.(*raceWorld)}, nil
}

type savingWorld struct{ *raceWorld }

func (w savingWorld) Save() ([]byte, error) { return w.AppendState(nil), nil }

// recordingStore records every save, and what the players had been sent
// when it came: a save must come before its State is sent.
type recordingStore struct {
	peers [2]*fakePeer
	fail  error
	saves []string // "v{version} {state}, peers had {n} frames"
}

func (s *recordingStore) SaveGame(_ context.Context, g LiveGame) error {
	frames := 0
	for _, p := range s.peers {
		p.mu.Lock()
		frames += len(p.frames)
		p.mu.Unlock()
	}
	s.saves = append(s.saves, fmt.Sprintf("v%d %s %v, peers had %d frames", g.Version, g.State, g.Players, frames))
	return s.fail
}

// TestEventGameSavedBeforeBroadcast: a Saver world is written to the
// GameStore after every change and before any player is sent the change;
// a store that fails costs durability, not the game.
func TestEventGameSavedBeforeBroadcast(t *testing.T) {
	for _, fail := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			store := &recordingStore{}
			if fail {
				store.fail = fmt.Errorf("store down")
			}
			m, err := NewManager(Config{
				Modes:     map[string]Mode{"race": {Name: "race", Game: "race", Players: 2}},
				Games:     map[string]Game{"race": savingRace{raceGame{limit: time.Hour}}},
				Room:      RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 5 * time.Second},
				Tokens:    NewTokens([]byte("k")),
				Logger:    discardLogger(),
				LiveGames: store,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go m.Run(ctx)
			id, _ := m.Create("race", []string{"alice", "bob"})
			var seats [2]*Seat
			for i, p := range []string{"alice", "bob"} {
				seats[i], _ = m.Admit(m.cfg.Tokens.Join(p, id, time.Now().Add(time.Hour)))
				store.peers[i] = newFakePeer()
				_ = seats[i].Attach(store.peers[i])
			}
			synctest.Wait()
			seats[0].Action(1, []byte("+"))
			synctest.Wait()
			// Each peer had its Welcome (2 frames) before the first save;
			// the first State (v1, 2 frames) before the second.
			want := []string{"v1 0:0 [alice bob], peers had 2 frames", "v2 1:0 [alice bob], peers had 4 frames"}
			if diff := cmp.Diff(want, store.saves); diff != "" {
				t.Errorf("saves (fail %v) (-want +got):\n%s", fail, diff)
			}
			if got := summaries(t, store.peers[1], 0); len(got) != 3 || got[2] != "state v2 ack 0 1:0" {
				t.Errorf("bob received %v, want the change whether or not the save failed", got)
			}
			if n := m.Stats.SaveErrors.Load(); (n == 2) != fail {
				t.Errorf("save errors %d with a failing store %v", n, fail)
			}
		})
	}
}

// TestEventGameAbandoned: when every player has been away past the grace
// period, nobody is left to win: the match is aborted, unrated, instead of
// the seats forfeiting one after the other.
func TestEventGameAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ended, seats, peers := startRace(t, time.Hour)
		seats[0].Detach(peers[0])
		seats[1].Detach(peers[1])
		left := time.Now()
		res := <-ended
		d := time.Since(left)
		synctest.Wait() // the room sends MatchEnd and closes after reporting the result
		if d != 5*time.Second || !res.Aborted || res.Reason != "abandoned" {
			t.Errorf("after %v: %+v; want aborted as abandoned after the 5 s grace", d, res)
		}
		for _, p := range res.Players {
			if p.Forfeit {
				t.Errorf("%s counted as forfeited in an abandoned match", p.PlayerID)
			}
		}
	})
}

// TestEventGameTimesActionsAtArrival: actions that arrived before the
// world's deadline are applied, timed at their arrival, before the
// deadline is — even when the room gets to them after it (a busy server).
func TestEventGameTimesActionsAtArrival(t *testing.T) {
	clock := newFakeClock()
	world, _ := raceGame{limit: 10 * time.Second}.NewWorld(WorldConfig{})
	r := newRoom("m1", Mode{Name: "race", Players: 2}, RoomConfig{TickRate: 30, Grace: time.Hour}, world,
		[]string{"alice", "bob"}, clock, discardLogger(), nil)
	for i := range 2 {
		_ = seat(r, i).Attach(newFakePeer())
	}
	r.ew.Start(clock.Now())
	clock.Advance(10*time.Second - time.Millisecond)
	for seq := uint32(1); seq <= 3; seq++ {
		seat(r, 0).Action(seq, []byte("+"))
	}
	clock.Advance(2 * time.Millisecond) // the room runs after the deadline
	r.serveEvents(clock.Now())
	if reason, over := r.ew.Over(); reason != "won" || !over {
		t.Errorf("game ended by %q (over %v), want won: the actions arrived before the deadline", reason, over)
	}
}

// recorder is a Recorder whose Record answers as told.
type recorder struct {
	raceWorld
	record func() ([]byte, error)
}

func (r *recorder) Record() ([]byte, error) { return r.record() }

// TestResultRecord: a world whose record fails, is not JSON or panics
// gives a result without a record; one that is no Recorder, none.
func TestResultRecord(t *testing.T) {
	tests := []struct {
		name string
		give EventWorld
		want string
	}{
		{"json", &recorder{record: func() ([]byte, error) { return []byte(`{"a":1}`), nil }}, `{"a":1}`},
		{"error", &recorder{record: func() ([]byte, error) { return nil, errors.New("boom") }}, ""},
		{"not json", &recorder{record: func() ([]byte, error) { return []byte("{"), nil }}, ""},
		{"panic", &recorder{record: func() ([]byte, error) { panic("boom") }}, ""},
		{"no recorder", struct{ EventWorld }{&raceWorld{}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Room{ew: tt.give, log: discardLogger()}
			if got := string(r.record()); got != tt.want {
				t.Errorf("record() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSaveCtx: a save's context is done at its deadline, saveTimeout
// after it was armed, with DeadlineExceeded; one whose save returned in
// time is re-armed for the next save, a later deadline and not done; one
// whose deadline passed stays done and is not used again.
func TestSaveCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := (*saveCtx)(nil).arm(saveTimeout)
		if d, ok := c.Deadline(); !ok || !d.Equal(start.Add(saveTimeout)) || c.Err() != nil {
			t.Fatalf("armed: deadline %v, %v, err %v; want %v, nil", d, ok, c.Err(), start.Add(saveTimeout))
		}
		time.Sleep(time.Second) // a save that takes a second (synctest's clock)
		again := c.disarm()
		if again != c {
			t.Fatal("disarm before the deadline = a new context, want the same to re-arm")
		}
		again = again.arm(saveTimeout)
		time.Sleep(1500 * time.Millisecond) // past the first deadline, not the second
		if again.Err() != nil {
			t.Fatalf("re-armed: done %v after 1.5 s of 2", again.Err())
		}
		select {
		case <-again.Done():
			t.Fatal("re-armed: Done closed before its deadline")
		default:
		}
		time.Sleep(time.Second) // past the second deadline
		<-again.Done()
		if !errors.Is(again.Err(), context.DeadlineExceeded) {
			t.Errorf("past the deadline: Err = %v, want DeadlineExceeded", again.Err())
		}
		if next := again.disarm(); next != nil {
			t.Error("disarm after the deadline kept the context; want nil, a new one for the next save")
		}
		fresh := (*saveCtx)(nil).arm(saveTimeout)
		if fresh == again || fresh.Err() != nil {
			t.Error("the next save's context is the expired one, or done")
		}
		fresh.disarm()
	})
}

// blockingStore's SaveGame waits for its context: a store that never
// answers.
type blockingStore struct{ saves int }

func (s *blockingStore) SaveGame(ctx context.Context, _ LiveGame) error {
	s.saves++
	<-ctx.Done()
	return ctx.Err()
}

// TestEventGameSaveTimeout: a store that does not answer holds each change
// saveTimeout, no longer; the change is then sent and the failure counted,
// and the next save has a deadline of its own.
func TestEventGameSaveTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &blockingStore{}
		m, err := NewManager(Config{
			Modes:     map[string]Mode{"race": {Name: "race", Game: "race", Players: 2}},
			Games:     map[string]Game{"race": savingRace{raceGame{limit: time.Hour}}},
			Room:      RoomConfig{TickRate: 30, JoinTimeout: time.Minute, Grace: 5 * time.Minute},
			Tokens:    NewTokens([]byte("k")),
			Logger:    discardLogger(),
			LiveGames: store,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		ran := make(chan struct{})
		go func() { m.Run(ctx); close(ran) }()
		id, _ := m.Create("race", []string{"alice", "bob"})
		var seats [2]*Seat
		var peers [2]*fakePeer
		for i, p := range []string{"alice", "bob"} {
			s, err := m.Admit(m.cfg.Tokens.Join(p, id, time.Now().Add(time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			seats[i], peers[i] = s, newFakePeer()
			if err := s.Attach(peers[i]); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait() // the start's save is waiting
		start := time.Now()
		time.Sleep(saveTimeout) // the start's State goes out
		synctest.Wait()
		for seq := range uint32(2) {
			seats[0].Action(seq+1, []byte("+"))
			time.Sleep(saveTimeout)
			synctest.Wait()
		}
		if got := m.Stats.SaveErrors.Load(); got != 3 {
			t.Errorf("SaveErrors = %d after %v, want 3 (the start's and two moves')", got, time.Since(start))
		}
		if got := summaries(t, peers[1], 0); len(got) != 4 || got[3] != "state v3 ack 0 2:0" {
			t.Errorf("bob received %q, want the welcome and three states, sent despite the store", got)
		}
		if store.saves != 3 {
			t.Errorf("%d saves, want 3", store.saves)
		}
		cancel()
		<-ran
	})
}

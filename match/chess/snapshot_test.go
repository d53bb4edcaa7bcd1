package chess

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	chesslib "github.com/corentings/chess/v2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

// roundTrip stores s as the live store would (JSON) and restores it at
// resume.
func roundTrip(t *testing.T, s Snapshot, resume time.Time) *Game {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back Snapshot
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	g, err := Restore(back, resume)
	if err != nil {
		t.Fatalf("Restore: %v (snapshot %s)", err, data)
	}
	return g
}

func TestSnapshotRestore(t *testing.T) {
	g := started(t, blitz)
	at := play(t, g, t0, "e2e4", "c7c5", "g1f3", "d7d6", "d2d4", "c5d4", "f3d4", "g8f6")
	apply(t, g, bob, offerCmd(), at, true, 0) // bob offers; White to move
	crash := at.Add(7 * time.Second)          // White thinks 7 s, then the server dies
	snap := g.Snapshot()
	resume := crash.Add(40 * time.Second) // another server resumes 40 s later

	r := roundTrip(t, snap, resume)
	// The running clock restarts at resume with the time it had at the last
	// move: neither the outage nor the 7 s before it are charged.
	if diff := cmp.Diff(g.Board(at), r.Board(resume), protocmp.Transform()); diff != "" {
		t.Errorf("restored Board(resume) differs from Board(last move) (-want +got):\n%s", diff)
	}
	if d, _ := r.Deadline(); !d.Equal(resume.Add(g.left[white])) {
		t.Errorf("Deadline() = %v, want %v", d, resume.Add(g.left[white]))
	}
	if r.Version() != g.Version() || r.FEN() != g.FEN() || r.PGN() != g.PGN() {
		t.Errorf("restored version %d, FEN %s; want %d, %s; or the PGNs differ", r.Version(), r.FEN(), g.Version(), g.FEN())
	}
	if diff := cmp.Diff(snap, r.Snapshot(), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); !strings.Contains(diff, "TurnSince") || strings.Count(diff, "\n-") > 1 {
		t.Errorf("Snapshot of the restored game differs beyond TurnSince:\n%s", diff)
	}

	// Both play on from the restored game as from the original.
	next := resume.Add(3 * time.Second)
	apply(t, r, alice, offerCmd(), next, true, 0) // accepts bob's offer
	if res, _ := r.Over(); res.Status != DrawAgreed {
		t.Errorf("Over() = %+v, want draw_agreed", res)
	}
	if w, _ := r.Left(next); w != g.left[white]-3*time.Second {
		t.Errorf("White's clock %v, want %v", w, g.left[white]-3*time.Second)
	}

	// The repetition history comes back with the moves.
	g = started(t, blitz)
	cycle := []string{"g1f3", "g8f6", "f3g1", "f6g8"}
	at = play(t, g, t0, append(cycle, cycle[:3]...)...)
	r = roundTrip(t, g.Snapshot(), at)
	play(t, r, at, "f6g8")
	if r.Status() != ThreefoldRepetition {
		t.Errorf("restored game: status %s after the third occurrence, want threefold_repetition", r.Status())
	}
}

func TestRestoreEnded(t *testing.T) {
	tests := []struct {
		name  string
		moves []string
		end   func(g *Game, at time.Time)
		want  Status
	}{
		{"checkmate", []string{"f2f3", "e7e5", "g2g4", "d8h4"}, func(*Game, time.Time) {}, Checkmate},
		{"resigned", []string{"e2e4"}, func(g *Game, at time.Time) { g.Apply(bob, resignCmd(), at) }, Resigned},
		{"timeout", []string{"e2e4"}, func(g *Game, at time.Time) { g.Flag(at.Add(time.Hour)) }, Timeout},
		{"draw_agreed", nil, func(g *Game, at time.Time) { g.Apply(alice, offerCmd(), at); g.Apply(bob, offerCmd(), at) }, DrawAgreed},
		{"aborted", nil, func(g *Game, at time.Time) { g.Abort(at) }, Aborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, blitz)
			at := play(t, g, t0, tt.moves...)
			tt.end(g, at.Add(time.Second))
			r := roundTrip(t, g.Snapshot(), at.Add(time.Hour))
			if r.Status() != tt.want {
				t.Fatalf("status %s, want %s", r.Status(), tt.want)
			}
			later := at.Add(2 * time.Hour)
			if diff := cmp.Diff(g.Board(later), r.Board(later), protocmp.Transform()); diff != "" {
				t.Errorf("Board() (-original +restored):\n%s", diff)
			}
			a, _ := g.Over()
			b, _ := r.Over()
			if a != b {
				t.Errorf("Over() = %+v, want %+v", b, a)
			}
		})
	}
}

func TestRestoreWaiting(t *testing.T) {
	g, err := New(alice, bob, blitz)
	if err != nil {
		t.Fatal(err)
	}
	r := roundTrip(t, g.Snapshot(), t0)
	if r.Status() != Waiting || !r.Start(t0) {
		t.Errorf("restored a waiting game as %s", r.Status())
	}
}

// TestRestoreRefuses: a snapshot that is not a game's is an error, not a
// different game.
func TestRestoreRefuses(t *testing.T) {
	g := started(t, blitz)
	at := play(t, g, t0, "e2e4", "e7e5")
	good := g.Snapshot()
	mate := started(t, blitz)
	play(t, mate, t0, "f2f3", "e7e5", "g2g4", "d8h4")
	tests := []struct {
		name string
		edit func(s *Snapshot)
	}{
		{"illegal move", func(s *Snapshot) { s.Moves[1] = "e7e4" }},
		{"garbage move", func(s *Snapshot) { s.Moves[1] = "zz" }},
		{"unknown status", func(s *Snapshot) { s.Status = "won" }},
		{"wrong turn", func(s *Snapshot) { s.Turn = "black" }},
		{"no players", func(s *Snapshot) { s.White = "" }},
		{"stranger wins", func(s *Snapshot) { s.Status, s.Winner = "resigned", "mallory" }},
		{"a checkmate the moves do not show", func(s *Snapshot) { s.Status, s.Winner = "checkmate", alice }},
		{"a draw with a winner", func(s *Snapshot) { s.Status, s.Winner = "draw_agreed", alice }},
		{"resigned without a winner", func(s *Snapshot) { s.Status = "resigned" }},
		{"offer by a stranger", func(s *Snapshot) { s.DrawOffer = "mallory" }},
		{"negative clock", func(s *Snapshot) { s.BlackLeft = -time.Second }},
		{"no clock", func(s *Snapshot) { s.Clock = Clock{} }},
		{"waiting with moves", func(s *Snapshot) { s.Status = "waiting" }},
		{"playing after mate", func(s *Snapshot) { *s = mate.Snapshot(); s.Status, s.Winner = "playing", "" }},
		{"moves after mate", func(s *Snapshot) { *s = mate.Snapshot(); s.Moves = append(s.Moves, "e1f2"); s.Turn = "black" }},
		{"mate won by the loser", func(s *Snapshot) { *s = mate.Snapshot(); s.Winner = alice }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			s.Moves = append([]string(nil), good.Moves...)
			tt.edit(&s)
			if _, err := Restore(s, at); err == nil {
				t.Errorf("Restore(%+v) = nil error, want one", s)
			}
		})
	}
}

// TestRestoreRandomGames takes snapshots along random games (every
// seventh ply, and the last) and checks that each restores the same game.
func TestRestoreRandomGames(t *testing.T) {
	for seed := range uint64(3) {
		g := started(t, blitz)
		rng := rand.New(rand.NewPCG(seed, 1))
		at := t0
		for g.Status() == Playing && g.moves.Len() < 200 {
			valid := g.lib.ValidMoves()
			m := valid[rng.IntN(len(valid))]
			at = at.Add(time.Duration(rng.IntN(1500)) * time.Millisecond)
			apply(t, g, toMove(g), moveCmd(chesslib.UCINotation{}.Encode(nil, &m)), at, true, 0)
			if g.moves.Len()%7 != 0 && g.Status() == Playing {
				continue
			}
			checkInvariants(t, g, at)
			r := roundTrip(t, g.Snapshot(), at)
			if diff := cmp.Diff(g.Board(at), r.Board(at), protocmp.Transform()); diff != "" {
				t.Fatalf("seed %d, ply %d: Board() (-original +restored):\n%s", seed, g.moves.Len(), diff)
			}
		}
		t.Logf("seed %d: %d plies, %s", seed, g.moves.Len(), g.Status())
	}
}

// TestAppendSnapshot: the world's Save writes what json.Marshal writes of
// the game's Snapshot, byte for byte — the stored form games saved by
// earlier builds have, which Restore reads — whatever the players' IDs,
// the instants and the state of the game, and Restore reads it back.
func TestAppendSnapshot(t *testing.T) {
	line := randomLine(t, 60)
	zone := time.FixedZone("odd", -(3*3600 + 25*60 + 7)) // an offset with seconds
	tests := []struct {
		name         string
		white, black string
		moves        int
		start        time.Time // zero: not started
		cmd          func(g *Game, at time.Time)
	}{
		{name: "waiting", white: alice, black: bob},
		{name: "started", white: alice, black: bob, start: t0},
		{name: "60 plies", white: alice, black: bob, moves: 60, start: t0},
		{name: "draw offer", white: alice, black: bob, moves: 7, start: t0, cmd: func(g *Game, at time.Time) {
			g.Apply(toMove(g), offerCmd(), at)
		}},
		{name: "resigned", white: alice, black: bob, moves: 8, start: t0, cmd: func(g *Game, at time.Time) {
			g.Apply(toMove(g), resignCmd(), at)
		}},
		{name: "escaped IDs", white: `<a&"b">\`, black: "é\u2028\x00\xff", moves: 3, start: t0, cmd: func(g *Game, at time.Time) {
			g.Apply(toMove(g), resignCmd(), at)
		}},
		{name: "zone", white: alice, black: bob, moves: 5, start: t0.In(zone).Add(123456789)},
		{name: "local", white: alice, black: bob, moves: 5, start: time.Now()},
		{name: "year 10000", white: alice, black: bob, moves: 1, start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.white, tt.black, blitz)
			if err != nil {
				t.Fatal(err)
			}
			at := tt.start
			if !tt.start.IsZero() {
				g.Start(tt.start)
				at = play(t, g, tt.start, line[:tt.moves]...)
			}
			if tt.cmd != nil {
				tt.cmd(g, at.Add(time.Second))
			}
			want, wantErr := json.Marshal(g.Snapshot())
			got, err := (&world{game: g}).Save()
			if (err != nil) != (wantErr != nil) || string(got) != string(want) {
				t.Fatalf("Save() = %s, %v\nwant json.Marshal's %s, %v", got, err, want, wantErr)
			}
			if err != nil {
				return
			}
			w, err := Games{Clock: blitz}.Restore(match.WorldConfig{MatchID: "m", PlayerIDs: []string{tt.white, tt.black}}, got, t0)
			if err != nil {
				t.Fatalf("Restore(Save()) = %v", err)
			}
			if r := w.(*world).game; r.FEN() != g.FEN() || r.Version() != g.Version() || r.Status() != g.Status() {
				t.Errorf("Restore(Save()) = %s, version %d, %s; want %s, %d, %s", r.FEN(), r.Version(), r.Status(), g.FEN(), g.Version(), g.Status())
			}
		})
	}
}

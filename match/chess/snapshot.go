package chess

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/arbiter-gg/arbiter/match/jsonappend"
	chesslib "github.com/corentings/chess/v2"
)

// Snapshot is a game in a few hundred bytes, for the live store: the moves
// and what the moves cannot tell (clocks, offers, endings by the players or
// by time). Restore rebuilds the exact game from it by replaying the moves
// through the library. Its JSON form (the field tags) is the stored one;
// durations are integer nanoseconds.
//
// The clocks are as of TurnSince, the instant of the last move (or of
// Start): a Snapshot taken at any later moment is the same, so the room may
// write one after each change without a clock reading.
type Snapshot struct {
	White string `json:"white"` // player ID
	Black string `json:"black"` // player ID
	Clock Clock  `json:"clock"`
	// Moves are every move from the standard starting position, in UCI.
	Moves []string `json:"moves"`
	// Status is the status word (Status.String).
	Status string `json:"status"`
	// Winner is the winning player's ID, or empty.
	Winner string `json:"winner,omitempty"`
	// DrawOffer is the player ID of a standing draw offer, or empty.
	DrawOffer string `json:"draw_offer,omitempty"`
	// WhiteLeft and BlackLeft are the times left as of TurnSince.
	WhiteLeft time.Duration `json:"white_left"`
	BlackLeft time.Duration `json:"black_left"`
	// Turn is the side to move, "white" or "black"; the moves tell it too,
	// and Restore checks that they agree.
	Turn string `json:"turn"`
	// TurnSince is when the side to move's clock started running (for an
	// ended game: when it stopped). Restore does not charge from it; see
	// Restore.
	TurnSince time.Time `json:"turn_since"`
	// Started is the instant of Start (zero while waiting).
	Started time.Time `json:"started"`
	// Version is Game.Version.
	Version uint32 `json:"version"`
}

// Snapshot returns the game's snapshot. It shares nothing with the game.
func (g *Game) Snapshot() Snapshot {
	return Snapshot{
		White:     g.players[white],
		Black:     g.players[black],
		Clock:     g.clock,
		Moves:     g.moves.Strings(),
		Status:    g.status.String(),
		Winner:    g.winner,
		DrawOffer: g.drawOffer,
		WhiteLeft: g.left[white],
		BlackLeft: g.left[black],
		Turn:      g.turn().String(),
		TurnSince: g.turnStart,
		Started:   g.started,
		Version:   g.version,
	}
}

// Restore rebuilds the game s was taken of, to resume it at resume: the
// moves are replayed through the rules (so the position, repetitions and
// the fifty-move count are the rules' own again), and the clocks, the
// offer and the ending are taken from s.
//
// Time while no server held the game is not charged: the running clock
// restarts at resume with the time it had at s.TurnSince. The side to move
// thus also gets back what it had thought between its opponent's move and
// the loss of the server, which nothing recorded. Restore checks that s is
// consistent (legal moves, an ending that matches them, known players) and
// returns an error otherwise.
func Restore(s Snapshot, resume time.Time) (*Game, error) {
	g, err := New(s.White, s.Black, s.Clock)
	if err != nil {
		return nil, fmt.Errorf("chess: restore: %w", err)
	}
	st, ok := parseStatus(s.Status)
	if !ok {
		return nil, fmt.Errorf("chess: restore: unknown status %q", s.Status)
	}
	if st == Waiting && len(s.Moves) > 0 {
		return nil, errors.New("chess: restore: moves in a waiting game")
	}
	for i, uci := range s.Moves {
		if g.lib.Outcome() != chesslib.NoOutcome {
			return nil, fmt.Errorf("chess: restore: move %d (%q) after the end", i+1, uci)
		}
		m, ok := g.legal(uci)
		if !ok {
			return nil, fmt.Errorf("chess: restore: move %d (%q) is illegal", i+1, uci)
		}
		g.push(m, uci)
		if ruleSt, winner, over := g.ruleEnding(); over {
			if st != ruleSt || s.Winner != winner || i != len(s.Moves)-1 {
				return nil, fmt.Errorf("chess: restore: the moves end in %s, the snapshot says %s after %d moves", ruleSt, st, len(s.Moves))
			}
		}
	}
	if g.lib.Outcome() == chesslib.NoOutcome && st.Over() && !playerEnding(st) {
		return nil, fmt.Errorf("chess: restore: status %s, but the moves do not end the game", st)
	}
	if s.Turn != g.turn().String() {
		return nil, fmt.Errorf("chess: restore: turn %q, but the moves leave %s to move", s.Turn, g.turn())
	}
	if err := checkOutcome(st, s); err != nil {
		return nil, fmt.Errorf("chess: restore: %w", err)
	}
	if s.WhiteLeft < 0 || s.BlackLeft < 0 {
		return nil, errors.New("chess: restore: negative time left")
	}
	g.status = st
	g.winner = s.Winner
	g.drawOffer = s.DrawOffer
	g.left = [2]time.Duration{s.WhiteLeft, s.BlackLeft}
	g.turnStart = s.TurnSince
	if st == Playing {
		g.turnStart = resume
	}
	g.started = s.Started
	g.version = s.Version
	return g, nil
}

// playerEnding reports whether st is an ending the moves do not show: by a
// player, by the clock or by the room.
func playerEnding(st Status) bool {
	switch st {
	case Resigned, Timeout, DrawAgreed, Aborted:
		return true
	}
	return false
}

// checkOutcome checks the winner and the offer of s against its status.
func checkOutcome(st Status, s Snapshot) error {
	if s.Winner != "" && s.Winner != s.White && s.Winner != s.Black {
		return fmt.Errorf("winner %q does not play in the game", s.Winner)
	}
	switch st {
	case Waiting, Playing, Stalemate, DrawAgreed, ThreefoldRepetition, FiftyMoveRule, InsufficientMaterial, Aborted:
		if s.Winner != "" {
			return fmt.Errorf("a winner in a game that is %s", st)
		}
	case Checkmate, Resigned:
		if s.Winner == "" {
			return fmt.Errorf("no winner in a game that is %s", st)
		}
	}
	if s.DrawOffer != "" && (st != Playing || (s.DrawOffer != s.White && s.DrawOffer != s.Black)) {
		return fmt.Errorf("draw offer by %q in a game that is %s", s.DrawOffer, st)
	}
	return nil
}

// appendSnapshot appends the game's Snapshot as JSON to dst, byte for byte
// what json.Marshal(g.Snapshot()) writes (TestAppendSnapshot), without the
// snapshot's copy of the moves and without reflection: the room saves the
// game after every move, and the moves grow with the game. A string or an
// instant the fast path does not cover (one that JSON escapes, a year
// outside 0–9999) is left to encoding/json, so the form never differs.
func (g *Game) appendSnapshot(dst []byte) ([]byte, error) {
	start := len(dst)
	b := append(dst, `{"white":`...)
	var ok bool
	if b, ok = jsonappend.String(b, g.players[white]); !ok {
		return g.marshalSnapshot(dst[:start])
	}
	b = append(b, `,"black":`...)
	if b, ok = jsonappend.String(b, g.players[black]); !ok {
		return g.marshalSnapshot(dst[:start])
	}
	b = append(b, `,"clock":{"Base":`...)
	b = strconv.AppendInt(b, int64(g.clock.Base), 10)
	b = append(b, `,"Increment":`...)
	b = strconv.AppendInt(b, int64(g.clock.Increment), 10)
	b = append(b, `},"moves":`...)
	if g.moves.Len() == 0 {
		b = append(b, "null"...)
	} else {
		// A move is strict UCI (legal checked it): letters and digits,
		// which JSON writes as they are.
		b = append(b, '[')
		for i := range g.moves.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, g.moves.At(i)...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `,"status":`...)
	b, _ = jsonappend.String(b, g.status.String()) // a status word is plain
	if g.winner != "" {
		b = append(b, `,"winner":`...)
		if b, ok = jsonappend.String(b, g.winner); !ok {
			return g.marshalSnapshot(dst[:start])
		}
	}
	if g.drawOffer != "" {
		b = append(b, `,"draw_offer":`...)
		if b, ok = jsonappend.String(b, g.drawOffer); !ok {
			return g.marshalSnapshot(dst[:start])
		}
	}
	b = append(b, `,"white_left":`...)
	b = strconv.AppendInt(b, int64(g.left[white]), 10)
	b = append(b, `,"black_left":`...)
	b = strconv.AppendInt(b, int64(g.left[black]), 10)
	b = append(b, `,"turn":"`...)
	b = append(b, g.turn().String()...)
	b = append(b, `","turn_since":`...)
	if b, ok = jsonappend.Time(b, g.turnStart); !ok {
		return g.marshalSnapshot(dst[:start])
	}
	b = append(b, `,"started":`...)
	if b, ok = jsonappend.Time(b, g.started); !ok {
		return g.marshalSnapshot(dst[:start])
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendUint(b, uint64(g.version), 10)
	return append(b, '}'), nil
}

// marshalSnapshot is appendSnapshot's slow path: encoding/json's.
func (g *Game) marshalSnapshot(dst []byte) ([]byte, error) {
	j, err := json.Marshal(g.Snapshot())
	if err != nil {
		return dst, err
	}
	return append(dst, j...), nil
}

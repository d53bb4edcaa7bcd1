package chess

import (
	"errors"
	"math"
	"strconv"
	"time"

	chesslib "github.com/corentings/chess/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

// side is a colour, and the index of a game's per-side arrays.
type side uint8

const (
	white side = iota
	black
)

func (s side) other() side { return 1 - s }

func (s side) String() string {
	if s == white {
		return "white"
	}
	return "black"
}

func sideOf(c chesslib.Color) side {
	if c == chesslib.Black {
		return black
	}
	return white
}

func (s side) color() chesslib.Color {
	if s == black {
		return chesslib.Black
	}
	return chesslib.White
}

// Game is one game of chess with a Fischer clock. It is not safe for
// concurrent use: its owner (the room goroutine) calls every method.
type Game struct {
	players [2]string // player IDs by side
	clock   Clock

	lib   *libGame // the rules: the position and what the positions played decide (lib.go)
	moves moveList // every move from the start, in UCI, as played (moves.go)

	status    Status
	winner    string // player ID; empty while playing and for a draw
	drawOffer string // player ID of the standing offer, or empty

	// left is each side's time left as of turnStart. Only the side to
	// move's clock runs: its time left at t is left[turn] - (t - turnStart).
	left      [2]time.Duration
	turnStart time.Time // when the side to move's clock started running
	started   time.Time // Start's instant, for the PGN's date
	version   uint32    // counts changes; see Version
}

// New returns a game between white and black (player IDs) under clock,
// Waiting: no clock runs and every command is refused until Start.
func New(white, black string, clock Clock) (*Game, error) {
	if err := checkPlayers(white, black); err != nil {
		return nil, err
	}
	if err := clock.validate(); err != nil {
		return nil, errors.New("chess: clock: " + err.Error())
	}
	return &Game{
		players: [2]string{white, black},
		clock:   clock,
		lib:     mustLibGame(),
		status:  Waiting,
		left:    [2]time.Duration{clock.Base, clock.Base},
	}, nil
}

func checkPlayers(white, black string) error {
	switch {
	case white == "" || black == "":
		return errors.New("chess: a player ID is empty")
	case white == black:
		return errors.New("chess: white and black are the same player")
	}
	return nil
}

// Start starts the game at now: White's clock runs from now. It reports
// whether the game changed: Start on a game that is not Waiting does
// nothing.
func (g *Game) Start(now time.Time) bool {
	if g.status != Waiting {
		return false
	}
	g.status = Playing
	g.turnStart = now
	g.started = now
	g.version++
	return true
}

// Apply carries out cmd from player, received at now. changed reports
// whether the game changed, and so whether a new Board is due; reject, when
// not nil, says why cmd itself was refused, and the refused cmd changed
// nothing. Both may be set: a command that arrives after the side to move's
// time ran out first ends the game on time (changed) and is then refused
// with GameOver.
//
//   - A move is allowed only on the player's turn. It is timed at now, the
//     increment is added after it, and it declines the opponent's standing
//     draw offer. The game ends when the move mates, stalemates, repeats a
//     position for the third time, completes fifty moves without a capture
//     or a pawn move, or leaves no mating material on the board.
//   - Resign, on either turn, ends the game: the opponent wins.
//   - OfferDraw, on either turn, accepts the opponent's standing offer (the
//     game is drawn by agreement) or else makes an offer. Offering again
//     while one's own offer stands is accepted but changes nothing (changed
//     and reject both zero): the offer the player wants stands. The room
//     may still answer it, to acknowledge the action's seq.
func (g *Game) Apply(player string, cmd *chessv1.Command, now time.Time) (changed bool, reject *Rejection) {
	if g.status == Waiting {
		return false, refuse(NotYourTurn, "the game has not started")
	}
	changed = g.Flag(now)
	if g.status.Over() {
		return changed, refuse(GameOver, "the game is over: "+g.status.String())
	}
	s, ok := g.sideOf(player)
	if !ok {
		return changed, refuse(NotYourTurn, "not a player of this game")
	}
	switch c := cmd.GetKind().(type) {
	case *chessv1.Command_Move:
		return g.move(s, c.Move.GetUci(), now)
	case *chessv1.Command_Resign:
		g.end(Resigned, g.players[s.other()], now)
		return true, nil
	case *chessv1.Command_OfferDraw:
		switch g.drawOffer {
		case g.players[s.other()]:
			g.end(DrawAgreed, "", now)
			return true, nil
		case player:
			return false, nil
		}
		g.drawOffer = player
		g.version++
		return true, nil
	}
	return false, refuse(IllegalMove, "empty command")
}

// move plays uci for s at now; Apply has flagged and checked the status.
// The clock can be settled without a check: Flag did not fall, so the time
// since turnStart is less than the time left.
func (g *Game) move(s side, uci string, now time.Time) (bool, *Rejection) {
	if s != g.turn() {
		return false, refuse(NotYourTurn, "it is "+g.turn().String()+"'s turn")
	}
	m, ok := g.legal(uci)
	if !ok {
		return false, refuse(IllegalMove, "not a legal move in UCI notation: "+quote(uci))
	}
	g.push(m, uci)
	g.left[s] -= g.elapsed(now)
	g.left[s] += g.clock.Increment
	g.turnStart = now
	if g.drawOffer == g.players[s.other()] {
		g.drawOffer = "" // a move declines the opponent's offer
	}
	g.version++
	if st, winner, over := g.ruleEnding(); over {
		g.end(st, winner, now)
	}
	return true, nil
}

// quote bounds what a client's string adds to a message, and keeps the
// message ASCII (Rejected.message is a proto string: it must be UTF-8).
func quote(s string) string {
	const maxLen = 16
	if len(s) > maxLen {
		return strconv.QuoteToASCII(s[:maxLen]) + "…"
	}
	return strconv.QuoteToASCII(s)
}

// legal returns the legal move uci names in the current position. uci must
// be strict UCI: two squares in lowercase and, for a promotion, q, r, b or
// n. The string is parsed here rather than with the library's UCINotation,
// whose Decode checks only the first square and plays the move on a copy
// of the position before anyone knows it is legal.
func (g *Game) legal(uci string) (*chesslib.Move, bool) {
	if len(uci) != 4 && len(uci) != 5 {
		return nil, false
	}
	from, ok1 := square(uci[0], uci[1])
	to, ok2 := square(uci[2], uci[3])
	if !ok1 || !ok2 {
		return nil, false
	}
	promo := chesslib.NoPieceType
	if len(uci) == 5 {
		switch uci[4] {
		case 'q':
			promo = chesslib.Queen
		case 'r':
			promo = chesslib.Rook
		case 'b':
			promo = chesslib.Bishop
		case 'n':
			promo = chesslib.Knight
		default:
			return nil, false
		}
	}
	// ValidMoves is the library's legal move generation (made once per
	// position, which keeps it; this is a copy). A promotion appears once
	// per piece, so a promotion without its piece matches nothing.
	// By index: a loop variable whose address is taken would be a new
	// allocation at every iteration.
	moves := g.lib.ValidMoves()
	for i := range moves {
		if m := &moves[i]; m.S1() == from && m.S2() == to && m.Promo() == promo {
			return m, true
		}
	}
	return nil, false
}

// push plays m, the legal move uci names, in the rules' state and records
// it: the moves from the start stay in g.moves, which PGN and Snapshot
// replay.
func (g *Game) push(m *chesslib.Move, uci string) {
	g.lib.play(m)
	g.moves = g.moves.append(uci)
}

func square(file, rank byte) (chesslib.Square, bool) {
	if file < 'a' || file > 'h' || rank < '1' || rank > '8' {
		return 0, false
	}
	return chesslib.NewSquare(chesslib.File(file-'a'), chesslib.Rank(rank-'1')), true
}

// ruleEnding reports whether the position after the last move ends the game
// by the rules, and how. The rules' state ends the game itself on
// checkmate, stalemate and insufficient material (and on fivefold
// repetition and the seventy-five-move rule, which the claims below always
// come first), and reports it through Outcome and Method, as the library's
// Game does. Threefold repetition and the fifty-move rule are only
// claimable there (claimDraw, the library's EligibleDraws and Draw);
// docs/chess.md makes them endings, so they are claimed here for the
// players as soon as they are eligible.
func (g *Game) ruleEnding() (Status, string, bool) {
	if g.lib.Outcome() == chesslib.NoOutcome {
		// A third occurrence needs at least eight plies without a capture
		// or a pawn move, and the fifty-move rule a hundred: the cheap
		// test spares most moves the count of earlier positions.
		if g.lib.Position().HalfMoveClock() < 8 || !g.lib.claimDraw() {
			return 0, "", false
		}
	}
	var st Status
	switch g.lib.Method() {
	case chesslib.Checkmate:
		st = Checkmate
	case chesslib.Stalemate:
		st = Stalemate
	case chesslib.ThreefoldRepetition, chesslib.FivefoldRepetition:
		st = ThreefoldRepetition
	case chesslib.FiftyMoveRule, chesslib.SeventyFiveMoveRule:
		st = FiftyMoveRule
	case chesslib.InsufficientMaterial:
		st = InsufficientMaterial
	default:
		// Resignation and DrawOffer: this package never tells the library
		// of them. Unreachable; end the game rather than play on silently.
		st = Aborted
	}
	switch g.lib.Outcome() {
	case chesslib.WhiteWon:
		return st, g.players[white], true
	case chesslib.BlackWon:
		return st, g.players[black], true
	}
	return st, "", true
}

// end ends the game at now with status st and winner (empty for none): the
// running clock is charged up to now and stops, and a standing draw offer
// lapses.
func (g *Game) end(st Status, winner string, now time.Time) {
	if g.status == Playing {
		g.left[g.turn()] = max(g.left[g.turn()]-g.elapsed(now), 0)
		g.turnStart = now
	}
	g.status = st
	g.winner = winner
	g.drawOffer = ""
	g.version++
}

// Flag ends the game on time if the side to move's time is up at now (at
// Deadline or later), and reports whether it did. The side out of time
// loses, unless its opponent cannot checkmate it by material (see
// canMate), when the game is drawn; either way the status is Timeout.
// The room calls Flag when the timer it armed for Deadline fires; Apply
// calls it first, so a command that arrives late meets the ended game.
func (g *Game) Flag(now time.Time) bool {
	if g.status != Playing || g.elapsed(now) < g.left[g.turn()] {
		return false
	}
	loser := g.turn()
	winner := g.players[loser.other()]
	if !canMate(g.lib.Position().Board(), loser.other().color()) {
		winner = ""
	}
	g.end(Timeout, winner, now) // charges the loser's clock down to zero
	return true
}

// Deadline returns when the side to move runs out of time if it does not
// move, and false when no clock runs (the game is waiting or over). It
// changes with every move; the room re-arms its timer after every change.
func (g *Game) Deadline() (time.Time, bool) {
	if g.status != Playing {
		return time.Time{}, false
	}
	return g.turnStart.Add(g.left[g.turn()]), true
}

// elapsed is the running clock's time since turnStart, never negative (an
// instant before turnStart, from a clock that stepped back, charges
// nothing).
func (g *Game) elapsed(now time.Time) time.Duration {
	return max(now.Sub(g.turnStart), 0)
}

func (g *Game) turn() side { return sideOf(g.lib.Position().Turn()) }

func (g *Game) sideOf(player string) (side, bool) {
	switch player {
	case g.players[white]:
		return white, true
	case g.players[black]:
		return black, true
	}
	return 0, false
}

// Left returns each side's time left at now: the side to move's clock
// counts down while the game is played; otherwise both are still.
func (g *Game) Left(now time.Time) (white, black time.Duration) {
	left := g.left
	if g.status == Playing {
		t := g.turn()
		left[t] = max(left[t]-g.elapsed(now), 0)
	}
	return left[0], left[1]
}

// Board returns the state message for now: the position, the moves, and the
// clocks as of now (docs/chess.md: time left when this state was made). Board
// does not flag: a clock at zero shows zero until Flag ends the game. The
// message shares nothing with the game.
func (g *Game) Board(now time.Time) *chessv1.Board {
	return g.board(now, g.moves.Strings())
}

// board is Board with moves for its moves: the game's, or nil for a
// message whose moves appendBoard writes itself.
func (g *Game) board(now time.Time, moves []string) *chessv1.Board {
	w, b := g.Left(now)
	return &chessv1.Board{
		Fen:           g.lib.FEN(),
		Moves:         moves,
		WhitePlayerId: g.players[white],
		BlackPlayerId: g.players[black],
		WhiteMs:       millis(w),
		BlackMs:       millis(b),
		Turn:          g.turn().String(),
		Status:        g.status.String(),
		Winner:        g.winner,
		DrawOffer:     g.drawOffer,
	}
}

// appendBoard appends the Board for now, encoded, to dst: the state
// message the room sends after every change, without a string per move.
// Fields 1 (fen) and 2 (moves) are written here, the rest by proto after
// them: the library writes a message's fields in the order of their
// numbers, so the bytes are proto.Marshal(g.Board(now))'s
// (TestAppendBoard).
func (g *Game) appendBoard(dst []byte, now time.Time) []byte {
	b := dst
	if fen := g.lib.FEN(); fen != "" {
		b = protowire.AppendTag(b, boardFenField, protowire.BytesType)
		b = protowire.AppendString(b, fen)
	}
	for i := range g.moves.Len() {
		b = protowire.AppendTag(b, boardMovesField, protowire.BytesType)
		b = protowire.AppendBytes(b, g.moves.At(i))
	}
	rest := g.board(now, nil)
	rest.Fen = ""
	b, err := proto.MarshalOptions{}.MarshalAppend(b, rest)
	if err != nil {
		panic(errors.New("chess: marshal board: " + err.Error())) // a Board built here always encodes
	}
	return b
}

// The field numbers of Board's fen and moves (arbiter/chess/v1), which
// appendBoard writes itself.
const (
	boardFenField   protowire.Number = 1
	boardMovesField protowire.Number = 2
)

// millis is d in whole milliseconds (rounded down: a clock never shows more
// than is left), within uint32.
func millis(d time.Duration) uint32 {
	return uint32(min(max(d.Milliseconds(), 0), math.MaxUint32))
}

// Status returns where the game stands.
func (g *Game) Status() Status { return g.status }

// Over returns the result once the game has ended, and false while it is
// waiting or played.
func (g *Game) Over() (Result, bool) {
	if !g.status.Over() {
		return Result{}, false
	}
	return Result{Status: g.status, Winner: g.winner, White: g.players[white], Black: g.players[black]}, true
}

// Abort ends a waiting or running game as Aborted at now (no winner, not
// rated): for a game that cannot go on, such as one a player never joined.
// It reports whether the game changed.
func (g *Game) Abort(now time.Time) bool {
	if g.status.Over() {
		return false
	}
	g.end(Aborted, "", now)
	return true
}

// Version counts the game's changes: Start, every accepted command, and
// the end. It never goes back, and Restore keeps it, so a room may number
// its State messages with it across a resume.
func (g *Game) Version() uint32 { return g.version }

// Moves returns the moves played, in UCI, from the starting position.
func (g *Game) Moves() []string { return g.moves.Strings() }

// FEN returns the current position in Forsyth–Edwards Notation.
func (g *Game) FEN() string { return g.lib.FEN() }

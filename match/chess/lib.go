package chess

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"sync"

	chesslib "github.com/corentings/chess/v2"
)

// fenMu serialises the chess library's FEN decoding. v2.3.2 decodes every
// FEN — the starting position of every new game included — through one
// package-level buffer (fen.go's rankBuffer; fixed upstream in
// CorentinGS/chess#87, in no release the module proxy serves yet), so two
// rooms decoding at once could each get a board made partly of the
// other's position. Every call that may decode a FEN goes through it:
// startingPosition and newLibGame.
var fenMu sync.Mutex

// startingPosition returns a new library position at the start of a game.
func startingPosition() *chesslib.Position {
	fenMu.Lock()
	defer fenMu.Unlock()
	return chesslib.StartingPosition()
}

// libGame is the rules' state of one game: the library's position, and
// what the library's Game (chesslib.Game) would derive from the positions
// played — the repetitions, the automatic endings — kept at a cost that
// does not grow with the game.
//
// Why not the library's Game: it looks for a repetition after every move
// by rendering every earlier position of the game as a board string and
// comparing it with the new one's (about 0.3 ms a move at ply 80, and
// still 20 µs with the game restarted from its FEN after every capture or
// pawn move, which cost a FEN encoding and two decodings of its own); it
// generates the legal moves of each new position twice (the first to see
// whether there is one, then all of them at the next move); and it keeps
// every position since the start, each with its list of legal moves, in
// memory. libGame keeps the positions since the last capture or pawn move
// — the only ones that can occur again — as FENs without their clocks,
// copied from the FEN the players get anyway.
//
// What it reports is the library's Game's, position for position: Outcome
// and Method as its evaluatePositionStatus sets them after every move
// (checkmate, stalemate, fivefold repetition, the seventy-five-move rule,
// insufficient material, in that order of precedence), and the claims of
// threefold repetition and the fifty-move rule as its EligibleDraws and
// Draw allow them. TestLibGameMatchesLibrary plays random games through
// both.
type libGame struct {
	pos *chesslib.Position
	fen string // pos's FEN
	// seen are the positions since the last capture or pawn move (or the
	// start), the current one last, each as its FEN without the clocks:
	// equal keys are the same position by the library's rule (board, side
	// to move, castling rights, en passant square). They are packed one
	// after another into one pointer-free buffer, each after its length
	// in two bytes, and last is where the current one starts: the game
	// keeps them for as long as its player thinks, and a []string would
	// be a pointer per position for every GC cycle to scan and an earlier
	// FEN per position kept alive for it to mark (TestHeapPerGame).
	seen    []byte
	last    int
	outcome chesslib.Outcome
	method  chesslib.Method
}

// newLibGame returns the rules' state at the starting position, or at fen
// when it is not empty; ok is false for a FEN the library cannot read.
func newLibGame(fen string) (l *libGame, ok bool) {
	if fen == "" {
		return newLibGameAt(startingPosition()), true
	}
	fenMu.Lock()
	opt, err := chesslib.FEN(fen)
	var g *chesslib.Game
	if err == nil {
		g = chesslib.NewGame(opt)
	}
	fenMu.Unlock()
	if err != nil {
		return nil, false
	}
	return newLibGameAt(g.Position()), true
}

// mustLibGame is the rules' state at the starting position.
func mustLibGame() *libGame { return newLibGameAt(startingPosition()) }

// newLibGameAt returns the rules' state at pos, as the library's Game
// evaluates a game that starts there.
func newLibGameAt(pos *chesslib.Position) *libGame {
	l := &libGame{pos: pos, outcome: chesslib.NoOutcome, method: chesslib.NoMethod}
	l.enter()
	return l
}

// Position returns the current position. The caller must not change it.
func (l *libGame) Position() *chesslib.Position { return l.pos }

// ValidMoves returns the legal moves of the current position, a copy; the
// position keeps its own until the next move replaces it.
func (l *libGame) ValidMoves() []chesslib.Move { return l.pos.ValidMoves() }

// Outcome returns the game's outcome: NoOutcome while it goes on.
func (l *libGame) Outcome() chesslib.Outcome { return l.outcome }

// Method returns how the outcome came about.
func (l *libGame) Method() chesslib.Method { return l.method }

// FEN returns the current position in Forsyth–Edwards Notation.
func (l *libGame) FEN() string { return l.fen }

// play plays m, one of ValidMoves (so tagged as the library tags its
// moves: capture, check, castling…), and evaluates the new position.
func (l *libGame) play(m *chesslib.Move) {
	l.pos = l.pos.Update(m)
	if l.pos.HalfMoveClock() == 0 {
		// A capture or a pawn move: no earlier position can occur again.
		l.seen = l.seen[:0]
	}
	l.enter()
}

// enter records the current position and evaluates it as the library's
// Game.evaluatePositionStatus does: checkmate and stalemate end the game
// and nothing else is looked at; otherwise a fifth occurrence, then a
// half-move clock of 150, then insufficient material end it as a draw,
// each overriding the one before.
//
// Status here looks for one legal move only; the whole list is made when
// a move arrives (legal, ValidMoves). Asking for the list here instead
// (Position.ValidMoves caches it, so Status would use it) saves that
// first-move search, 100 bytes, but keeps two lists of ~35 moves, 3–4 KB
// of pointer-holding memory each (the position's cache and the copy
// ValidMoves returns), alive in every game for as long as its player
// thinks: at 5,000 games, ~35 MB more live heap for every GC to mark.
func (l *libGame) enter() {
	l.fen = l.pos.String()
	key := repetitionKey(l.fen)
	l.last = len(l.seen)
	l.seen = binary.BigEndian.AppendUint16(l.seen, uint16(min(len(key), math.MaxUint16)))
	l.seen = append(l.seen, key[:min(len(key), math.MaxUint16)]...)
	switch l.pos.Status() {
	case chesslib.Stalemate:
		l.method, l.outcome = chesslib.Stalemate, chesslib.Draw
	case chesslib.Checkmate:
		l.method, l.outcome = chesslib.Checkmate, chesslib.WhiteWon
		if l.pos.Turn() == chesslib.White {
			l.outcome = chesslib.BlackWon
		}
	}
	if l.outcome != chesslib.NoOutcome {
		return
	}
	if l.repetitions() >= 5 {
		l.outcome, l.method = chesslib.Draw, chesslib.FivefoldRepetition
	}
	if l.pos.HalfMoveClock() >= 150 && l.method != chesslib.Checkmate {
		l.outcome, l.method = chesslib.Draw, chesslib.SeventyFiveMoveRule
	}
	if !sufficientMaterial(l.pos.Board(), l.fen) {
		l.outcome, l.method = chesslib.Draw, chesslib.InsufficientMaterial
	}
}

// repetitionKey is fen without its two clocks (the half-move clock and the
// move number): the placement, the side to move, the castling rights and
// the en passant square, which the library's samePosition compares.
func repetitionKey(fen string) string {
	end := len(fen)
	for range 2 {
		end = strings.LastIndexByte(fen[:end], ' ')
		if end < 0 {
			return fen // not a FEN this package made; compare it whole
		}
	}
	return fen[:end]
}

// repetitions counts the occurrences of the current position (itself
// included), as the library's numOfRepetitions.
func (l *libGame) repetitions() int {
	cur := l.key(l.last)
	n := 0
	for off := 0; off < len(l.seen); off += 2 + len(l.key(off)) {
		if bytes.Equal(l.key(off), cur) {
			n++
		}
	}
	return n
}

// key returns the key in seen at off, where its length is.
func (l *libGame) key(off int) []byte {
	n := int(binary.BigEndian.Uint16(l.seen[off:]))
	return l.seen[off+2 : off+2+n]
}

// claimDraw ends the game as drawn by threefold repetition, or else by the
// fifty-move rule, if the position allows the claim (the library's
// EligibleDraws, in its order, then Draw), and reports whether it did.
func (l *libGame) claimDraw() bool {
	switch {
	case l.repetitions() >= 3:
		l.outcome, l.method = chesslib.Draw, chesslib.ThreefoldRepetition
	case l.pos.HalfMoveClock() >= 100:
		l.outcome, l.method = chesslib.Draw, chesslib.FiftyMoveRule
	default:
		return false
	}
	return true
}

// sufficientMaterial is the library's Board.hasSufficientMaterial (not
// exported): false when neither side can mate, the automatic
// InsufficientMaterial draw. fen is b's FEN, whose placement tells the
// common case — a queen, a rook or a pawn on the board — without a look at
// the squares.
func sufficientMaterial(b *chesslib.Board, fen string) bool {
	placement, _, _ := strings.Cut(fen, " ")
	if strings.ContainsAny(placement, "QRPqrp") {
		return true
	}
	var kings [2]int
	var bishops, knights, lightB, darkB int
	for sq := chesslib.A1; sq <= chesslib.H8; sq++ {
		p := b.Piece(sq)
		switch p.Type() {
		case chesslib.Queen, chesslib.Rook, chesslib.Pawn:
			return true // unreachable: the placement has none
		case chesslib.King:
			kings[sideOf(p.Color())]++
		case chesslib.Knight:
			knights++
		case chesslib.Bishop:
			bishops++
			if (int(sq.File())+int(sq.Rank()))%2 == 0 {
				darkB++
			} else {
				lightB++
			}
		}
	}
	switch {
	case kings[white] == 0 || kings[black] == 0:
		return true // the library's rule: a board without a king is a test's
	case bishops == 0 && knights == 0, // king against king
		bishops == 1 && knights == 0, // king and bishop against king
		bishops == 0 && knights == 1: // king and knight against king
		return false
	case knights == 0 && (lightB == 0 || darkB == 0):
		return false // bishops only, all on squares of one colour
	}
	return true
}

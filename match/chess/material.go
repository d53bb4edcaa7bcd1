package chess

import chesslib "github.com/corentings/chess/v2"

// canMate reports whether side c could checkmate its opponent by some
// series of legal moves, judged by the material on b alone. It decides a
// flag fall (FIDE 6.9: the side out of time loses unless its opponent
// "cannot checkmate the player's king by any possible series of legal
// moves", when the game is drawn).
//
// The library's insufficient-material test is for the whole board (the
// automatic InsufficientMaterial ending) and unexported, so this per-side
// rule is ours. It counts what mates with the opponent's help, since any
// legal series counts:
//   - a queen, a rook or a pawn mates;
//   - a king alone never mates;
//   - two minor pieces mate, unless they are bishops all on squares of one
//     colour;
//   - a single knight mates if the opponent has any piece besides its king
//     (to block its own king in);
//   - bishops all on one colour of squares mate if the opponent has any
//     piece besides its king and bishops on that same colour.
//
// The approximation: material is all it looks at. A position where the
// material could mate but the pieces never can (pawns locked against each
// other, a bishop walled in) counts as able to mate, so a flag fall there
// is a loss where an arbiter applying FIDE 6.9 to the position might call
// it a draw.
func canMate(b *chesslib.Board, c chesslib.Color) bool {
	var own, opp material
	for sq := chesslib.A1; sq <= chesslib.H8; sq++ {
		p := b.Piece(sq)
		switch p.Color() {
		case c:
			own.add(p.Type(), sq)
		case c.Other():
			opp.add(p.Type(), sq)
		}
	}
	switch {
	case own.major > 0:
		return true
	case own.knights+own.bishops() == 0:
		return false
	case own.knights >= 2, own.knights == 1 && own.bishops() > 0, own.lightB > 0 && own.darkB > 0:
		return true
	case own.knights == 1:
		return opp.major+opp.knights+opp.bishops() > 0
	case own.lightB > 0: // light-squared bishops only
		return opp.major+opp.knights+opp.darkB > 0
	default: // dark-squared bishops only
		return opp.major+opp.knights+opp.lightB > 0
	}
}

// material counts one side's pieces besides its king.
type material struct {
	major   int // queens, rooks and pawns: each can mate, or become a piece that can
	knights int
	lightB  int // bishops on light squares
	darkB   int // bishops on dark squares
}

func (m *material) add(t chesslib.PieceType, sq chesslib.Square) {
	switch t {
	case chesslib.Queen, chesslib.Rook, chesslib.Pawn:
		m.major++
	case chesslib.Knight:
		m.knights++
	case chesslib.Bishop:
		// a1 is dark: a square is dark when its file and rank are both
		// even or both odd.
		if (int(sq.File())+int(sq.Rank()))%2 == 0 {
			m.darkB++
		} else {
			m.lightB++
		}
	}
}

func (m *material) bishops() int { return m.lightB + m.darkB }

package chess

import (
	"strconv"
	"strings"

	chesslib "github.com/corentings/chess/v2"
)

// PGN returns the game in Portable Game Notation, export format: the seven
// tag roster (the players by ID, the date of Start in UTC), TimeControl and
// Termination, then the moves in SAN and the result ("*" while the game
// runs and for an aborted game). The SAN of each move is the library's
// (AlgebraicNotation); the tags and the result are written here, since the
// library's own PGN writer knows no ending by time or by a room.
func (g *Game) PGN() string {
	var b strings.Builder
	date := "????.??.??"
	if !g.started.IsZero() {
		date = g.started.UTC().Format("2006.01.02")
	}
	result := g.pgnResult()
	tags := [...][2]string{
		{"Event", "Arbiter chess"},
		{"Site", "Arbiter"},
		{"Date", date},
		{"Round", "-"},
		{"White", g.players[white]},
		{"Black", g.players[black]},
		{"Result", result},
		{"TimeControl", g.clock.pgnTimeControl()},
		{"Termination", g.pgnTermination()},
	}
	for _, t := range tags {
		b.WriteString("[" + t[0] + " " + pgnString(t[1]) + "]\n")
	}
	b.WriteByte('\n')

	// Movetext, wrapped before 80 columns as the export format asks.
	const width = 79
	line := 0
	word := func(w string) {
		switch {
		case line == 0:
		case line+1+len(w) > width:
			b.WriteByte('\n')
			line = 0
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	// g.lib holds only the current position (see lib.go): the SAN comes
	// from a replay of every move, position by position (a library Game
	// would look for repetitions at every move). Every move in g.moves was
	// legal when played.
	pos := startingPosition()
	for i := range g.moves.Len() {
		m, err := chesslib.UCINotation{}.Decode(pos, string(g.moves.At(i))) // tags the move: check, capture, castling
		if err != nil {
			break // unreachable
		}
		san := chesslib.AlgebraicNotation{}.Encode(pos, m)
		pos = pos.Update(m)
		if i%2 == 0 {
			word(strconv.Itoa(i/2+1) + ". " + san)
		} else {
			word(san)
		}
	}
	word(result)
	b.WriteByte('\n')
	return b.String()
}

func (g *Game) pgnResult() string {
	switch {
	case !g.status.Over() || g.status == Aborted:
		return "*"
	case g.winner == g.players[white]:
		return "1-0"
	case g.winner == g.players[black]:
		return "0-1"
	}
	return "1/2-1/2"
}

// pgnTermination is the Termination tag's value: how the game ended, in the
// words of the PGN standard's supplement.
func (g *Game) pgnTermination() string {
	switch g.status {
	case Waiting, Playing:
		return "unterminated"
	case Timeout:
		return "time forfeit"
	case Aborted:
		return "abandoned"
	}
	return "normal"
}

// pgnString quotes s as a PGN string token: backslash and quote escaped.
func pgnString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

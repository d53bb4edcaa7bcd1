package chess

import (
	"sync"

	chesslib "github.com/corentings/chess/v2"
)

// fenMu serialises the chess library's FEN decoding. v2.3.2 decodes every
// FEN — the starting position of every new game included — through one
// package-level buffer (fen.go's rankBuffer; fixed upstream in
// CorentinGS/chess#87, in no release the module proxy serves yet), so two
// rooms decoding at once could each get a board made partly of the
// other's position. Every call that may decode a FEN goes through it.
var fenMu sync.Mutex

// newLibGame returns a library game at the starting position, or at fen
// when it is not empty; ok is false for a FEN the library cannot read.
func newLibGame(fen string) (g *chesslib.Game, ok bool) {
	fenMu.Lock()
	defer fenMu.Unlock()
	if fen == "" {
		return chesslib.NewGame(), true
	}
	opt, err := chesslib.FEN(fen)
	if err != nil {
		return nil, false
	}
	return chesslib.NewGame(opt), true
}

// mustLibGame is a library game at the starting position, which always
// decodes.
func mustLibGame() *chesslib.Game {
	g, _ := newLibGame("")
	return g
}

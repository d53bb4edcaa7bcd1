// Package chess is the rules engine of Arbiter's chess game (docs/chess.md): a
// Game holds one game of chess between two players with a Fischer clock,
// takes their Commands (arbiter.chess.v1), and produces the Board the room
// sends them, the Result it rates, the PGN it archives and the Snapshot it
// keeps in the live store.
//
// The rules (legal moves, check, mate, stalemate, promotion) come from
// github.com/corentings/chess/v2; this package writes no move generation.
// It plays on the library's positions rather than its Game, whose cost per
// move grows with the game: what that Game derives from the positions
// played — repetitions, the fifty- and seventy-five-move counts,
// insufficient material — is derived here by the same rules (lib.go), and
// a test plays random games through both. What it adds is what a server needs around them: whose command it is,
// clocks, resignation, draw offers, the endings the library leaves to a
// claim (threefold repetition and the fifty-move rule end the game here at
// once), and a snapshot that replays through the library.
//
// A Game is pure and deterministic: it starts no goroutine, reads no clock
// and does no I/O. Time comes in as arguments (now), so the same commands at
// the same instants always give the same game. The room that owns a Game
// arms a timer for Deadline and calls Flag when it fires. A Game is not safe
// for concurrent use: one goroutine (the room's) owns it.
//
// The clock (Fischer): the side to move's clock runs from the moment the
// previous move was processed (for White's first move, from Start); a move
// is timed at the instant it is applied; the increment is added after the
// move. A side whose time is up loses, unless its opponent cannot checkmate
// (see Timeout), when the game is drawn.
package chess

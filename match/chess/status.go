package chess

// Status is where a game stands: waiting for Start, being played, or how it
// ended. Its String is the status word of Board.status (docs/chess.md).
type Status uint8

// The statuses of a game, in the words of docs/chess.md.
const (
	Waiting              Status = iota // created, the clocks not started yet
	Playing                            // the clock of the side to move runs
	Checkmate                          // the side to move is mated; the other wins
	Stalemate                          // the side to move has no legal move and is not in check; a draw
	Resigned                           // a player resigned; the opponent wins
	Timeout                            // the side to move ran out of time; the other wins, or a draw if it cannot mate
	DrawAgreed                         // both players offered a draw
	ThreefoldRepetition                // the same position occurred for the third time; a draw
	FiftyMoveRule                      // fifty moves by each side without a capture or a pawn move; a draw
	InsufficientMaterial               // neither side can mate; a draw
	Aborted                            // stopped before a result; no winner, not rated
)

var statusWords = [...]string{
	Waiting:              "waiting",
	Playing:              "playing",
	Checkmate:            "checkmate",
	Stalemate:            "stalemate",
	Resigned:             "resigned",
	Timeout:              "timeout",
	DrawAgreed:           "draw_agreed",
	ThreefoldRepetition:  "threefold_repetition",
	FiftyMoveRule:        "fifty_move_rule",
	InsufficientMaterial: "insufficient_material",
	Aborted:              "aborted",
}

// String returns the status word of docs/chess.md, such as "draw_agreed".
func (s Status) String() string {
	if int(s) < len(statusWords) {
		return statusWords[s]
	}
	return "unknown"
}

// Over reports whether s is an ending: neither Waiting nor Playing.
func (s Status) Over() bool { return s > Playing && int(s) < len(statusWords) }

// parseStatus is the inverse of Status.String.
func parseStatus(word string) (Status, bool) {
	for s, w := range statusWords {
		if w == word {
			return Status(s), true
		}
	}
	return 0, false
}

// Reason says why a command was refused. Its String is the reason word of
// the Rejected message (docs/chess.md). A refusal is an answer, never a
// violation: honest clients send moves that cross the opponent's.
type Reason uint8

// The reasons a command is refused.
const (
	// IllegalMove: the UCI string does not parse, or names no legal move in
	// the position (a promotion without its piece, or to a king, included),
	// or the command is empty.
	IllegalMove Reason = iota + 1
	// NotYourTurn: a move while the opponent is to move, any command before
	// Start, or a command from someone who does not play in the game.
	NotYourTurn
	// GameOver: any command after the game ended.
	GameOver
)

// String returns the reason word: "illegal_move", "not_your_turn" or
// "game_over".
func (r Reason) String() string {
	switch r {
	case IllegalMove:
		return "illegal_move"
	case NotYourTurn:
		return "not_your_turn"
	case GameOver:
		return "game_over"
	}
	return "unknown"
}

// Rejection is a refused command: the reason word for Rejected.reason and a
// message for humans. A rejected command changed nothing.
type Rejection struct {
	Reason  Reason
	Message string
}

// Error makes a Rejection an error, for callers that treat it as one.
func (r *Rejection) Error() string { return "chess: " + r.Reason.String() + ": " + r.Message }

func refuse(reason Reason, msg string) *Rejection { return &Rejection{Reason: reason, Message: msg} }

// Result is how a finished game ended.
type Result struct {
	Status Status
	// Winner is the winning player's ID; empty for a draw or an aborted game.
	Winner string
	// White and Black are the players' IDs.
	White, Black string
}

// Placement returns player's place for MatchEnd: 1 for the winner, 2 for the
// loser, 1 for both players of a draw; 0 for an aborted game (nothing to
// rate) and for someone who did not play.
func (r Result) Placement(player string) int {
	if r.Status == Aborted || (player != r.White && player != r.Black) {
		return 0
	}
	if r.Winner == "" || r.Winner == player {
		return 1
	}
	return 2
}

// Draw reports whether the game ended in a draw.
func (r Result) Draw() bool { return r.Status.Over() && r.Status != Aborted && r.Winner == "" }

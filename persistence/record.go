package persistence

import (
	"errors"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Player is a player as the stores keep it.
type Player struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Settlement is one settled match as the archive receives it: the result,
// with every player's RatingBefore and RatingAfter, and each player's whole
// rating in the mode after the match (absent for an aborted match, which
// changes no rating). Players names everyone in the result, so that the
// archive can record a player whose own creation it has not seen yet.
type Settlement struct {
	Result  match.Result
	Ratings map[string]match.Rating // by player ID
	Players []Player
}

// Batch is what the archiver hands the archive at once: everything in it is
// written in one transaction or not at all. Writing the same batch, or any
// part of it, again changes nothing.
type Batch struct {
	Players     []Player
	Settlements []Settlement
	Events      []match.AntiCheatEvent
}

// Len is the number of records in b.
func (b Batch) Len() int { return len(b.Players) + len(b.Settlements) + len(b.Events) }

// ErrRejected marks an archive's refusal of a batch for what it holds (a
// constraint the data breaks), as opposed to the archive being unreachable:
// writing the same records again would fail again. The archiver then
// writes the batch's records one by one and sets aside those refused.
var ErrRejected = errors.New("persistence: records rejected by the archive")

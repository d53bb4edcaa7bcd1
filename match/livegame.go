package match

import (
	"context"
	"sync/atomic"
	"time"
)

// Saver is an optional EventWorld capability: a world that can be saved,
// after every change, to a GameStore, so that the game outlives its
// server (chess: the moves, the clocks, the draw offer).
type Saver interface {
	// Save returns the world's state, encoded, as of its last change.
	Save() ([]byte, error)
}

// Recorder is an optional EventWorld capability: a game that keeps a
// record of its own worth archiving with the result (chess: the moves and
// the PGN). The room calls Record once, from its goroutine, when the match
// ends, and puts what it returns in Result.Record; on an error, or bytes
// that are not JSON, it logs and the result goes without a record.
type Recorder interface {
	// Record returns the game's record as of now, a JSON object.
	Record() ([]byte, error)
}

// StateAt is an optional EventWorld capability: a world whose state
// message changes with time alone between changes (a chess clock runs), so
// that a player who connects mid-turn gets it as of now rather than as of
// the last change: the same version, its time-dependent fields brought up
// to date.
type StateAt interface {
	AppendStateAt(dst []byte, now time.Time) []byte
}

// Restorer is an optional Game capability: a game whose worlds can be
// rebuilt from what a Saver saved, so that a game outlives its server
// (Manager.Resume). Restore returns the world as it was saved, resumed at
// now: time while no server held the game is not charged.
type Restorer interface {
	Restore(cfg WorldConfig, state []byte, now time.Time) (World, error)
}

// GameStore keeps the live state of the running event games (docs/chess.md:
// Redis, expiring some time after the last change). An event room whose
// world is a Saver writes the game after every change and before it
// broadcasts the change, so that no player ever sees a state the store
// does not hold. Implementations must be safe for concurrent use.
type GameStore interface {
	SaveGame(ctx context.Context, g LiveGame) error
}

// LiveGame is one event game's state as its room saves it.
type LiveGame struct {
	MatchID string
	Mode    string
	Players []string // in seat order
	Version uint32   // the world's Version after the change
	State   []byte   // the world's Save
	SavedAt time.Time
}

// warnEvery limits a log line that many rooms may want to write at once
// (a store outage) to one per period, for all of them.
type warnEvery struct {
	period time.Duration
	next   atomic.Int64 // UnixNano before which nothing is logged
}

// allow reports whether a line may be logged at now, and if so, that the
// next one may not be before now + period. Safe for concurrent use.
func (w *warnEvery) allow(now time.Time) bool {
	next := w.next.Load()
	if now.UnixNano() < next {
		return false
	}
	return w.next.CompareAndSwap(next, now.Add(w.period).UnixNano())
}

// saveTimeout bounds a save on the room goroutine: past it the change is
// broadcast anyway (the game goes on; the save failure is logged).
const saveTimeout = 2 * time.Second

package match

import (
	"context"
	"sync"
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
// does not hold. Implementations must be safe for concurrent use, and
// must not use a save's ctx once SaveGame has returned, unless ctx is done
// by then: the room reuses a context whose deadline has not passed for
// its next save (saveCtx).
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

// saveCtx is the context of a room's saves: done saveTimeout after the
// save began. context.WithTimeout would cost three allocations a save (the
// context, its timer, its Done channel) — at thousands of moves a second,
// a good part of a chess server's garbage. Instead the room arms one
// context for a save and, if the save returned before its deadline (the
// common case: the timer stopped, Done never closed), re-arms the same
// one for the next; once a deadline has passed, that context stays done
// for good, and the next save gets a new one. GameStore's contract lets a
// store keep only a context that is done.
type saveCtx struct {
	timer *time.Timer   // closes done at the deadline; owned by the room goroutine
	done  chan struct{} // closed once, when the deadline passes
	mu    struct {
		sync.Mutex
		deadline time.Time
		err      error // context.DeadlineExceeded once done is closed
	}
}

var _ context.Context = (*saveCtx)(nil)

// arm returns a context done d from now: c re-armed, if c is not nil and
// its last deadline did not pass (disarm said so), or else a new one.
// Room goroutine only.
func (c *saveCtx) arm(d time.Duration) *saveCtx {
	if c == nil {
		c = &saveCtx{done: make(chan struct{})}
		c.mu.deadline = time.Now().Add(d)
		c.timer = time.AfterFunc(d, c.expire)
		return c
	}
	c.mu.Lock()
	c.mu.deadline = time.Now().Add(d)
	c.mu.Unlock()
	c.timer.Reset(d)
	return c
}

// disarm stops c's timer after a save returned, and returns c if it can
// be armed again (its deadline did not pass), or nil. Room goroutine only.
func (c *saveCtx) disarm() *saveCtx {
	if c.timer.Stop() {
		return c
	}
	return nil // the deadline passed (or is passing): c is done for good
}

func (c *saveCtx) expire() {
	c.mu.Lock()
	c.mu.err = context.DeadlineExceeded
	c.mu.Unlock()
	close(c.done)
}

// Deadline returns the deadline of the save in progress.
func (c *saveCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.deadline, true
}

// Done is closed when a save's deadline passes.
func (c *saveCtx) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded once Done is closed, nil before.
func (c *saveCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.err
}

// Value returns nil: a save's context carries no values.
func (*saveCtx) Value(any) any { return nil }

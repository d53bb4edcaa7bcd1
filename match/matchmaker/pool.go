package matchmaker

import (
	"context"
	"time"
)

// Pool is the matchmaking queue of one or more servers: MemoryPool for a
// server alone (the embedded default), persistence/redis's Pool for the
// servers sharing one Redis. It holds every searching
// ticket of every server, each player's one live ticket or match, and a
// log of its changes, from which each server keeps a copy of the queue
// (its mirror) to pair from.
//
// Every method is atomic with respect to every other, on every server: a
// ticket is claimed for at most one match, a withdrawn (cancelled or
// expired) ticket is never claimed, and a claimed one is never withdrawn
// while its claimer is alive. Implementations must be safe for concurrent
// use. They return ErrConflict, ErrMatched and ErrNotFound where
// documented; any other error is a failure of the store, which the caller
// may retry. match/matchmaker/pooltest checks an implementation against
// this contract.
type Pool interface {
	// Publish adds a searching ticket to the queue and makes it its
	// player's one live ticket, for ttl at most; it returns the ticket's
	// place in the queue's arrival order. It fails with ErrConflict if the
	// player already has a searching ticket or is in a match that has not
	// been freed. A ticket or claim of a server that is no longer alive
	// (see Alive) does not count: Publish expires it.
	Publish(ctx context.Context, t PoolTicket, ttl time.Duration) (seq uint64, err error)
	// Changes returns the changes made after cursor, oldest first, and the
	// cursor to pass next. An empty cursor, or one whose changes are no
	// longer all known, gets a Reset: every searching ticket, then the
	// changes made after them.
	Changes(ctx context.Context, cursor string) (PoolChanges, error)
	// Claim takes the searching tickets ids out of the queue for a match
	// that claimer will start, all of them or none: if any is no longer
	// searching (or its server is no longer alive, when Claim expires it),
	// nothing is claimed and lost lists those tickets.
	Claim(ctx context.Context, claimer string, ids []string) (lost []string, err error)
	// Release puts back in the queue, searching, the tickets of ids that
	// claimer claimed (their match did not start).
	Release(ctx context.Context, claimer string, ids []string) error
	// Seat records the matches of tickets claimer claimed: each becomes
	// matched, its player in the match until until, and the ticket is
	// kept for keep. It returns the tickets claimer no longer held.
	Seat(ctx context.Context, claimer string, seats []PoolSeat, until time.Time, keep time.Duration) (unseated []string, err error)
	// Withdraw ends ticket id, if it is searching, as s (StatusCancelled
	// or StatusExpired) and keeps it for keep; it returns the ticket's
	// final status, which is another one if it had already ended so. A
	// non-empty playerID must be the ticket's. It fails with ErrMatched if
	// the ticket is matched or claimed (by a server that is alive), and
	// with ErrNotFound if there is no such ticket of playerID's.
	Withdraw(ctx context.Context, id, playerID string, s Status, keep time.Duration) (Status, error)
	// Lookup returns what the pool knows of ticket id, or ErrNotFound.
	Lookup(ctx context.Context, id string) (PoolState, error)
	// Free releases the players of an ended match, so that they may queue
	// again; a player already released (or in another match, or
	// searching again) is left alone, so freeing a match twice is
	// harmless: the Matchmaker relies on it.
	Free(ctx context.Context, matchID string, players []string) error
	// Alive marks instance alive for ttl; ttl 0 marks it gone at once.
	Alive(ctx context.Context, instance string, ttl time.Duration) error
}

// PoolTicket is a searching ticket as the pool holds it: what every server
// needs to pair it.
type PoolTicket struct {
	ID        string
	PlayerID  string
	Mode      string
	Rating    float64
	CreatedAt time.Time
	Home      string // the instance of the Matchmaker the player queued with
	Seq       uint64 // the place in the pool's arrival order, from Publish
}

// PoolSeat is a claimed ticket's place in the match its claimer started.
type PoolSeat struct {
	TicketID  string
	MatchID   string
	JoinToken string
	Host      string // the claimer's instance, which runs the match
	Server    string // the host's advertised base URL (Config.Server)
}

// PoolState is what the pool knows of a ticket.
type PoolState struct {
	PoolTicket
	Status  Status   // searching (claimed ones too), matched, cancelled or expired
	Claimed bool     // searching, and claimed for a match being started
	Seat    PoolSeat // when matched
}

// PoolChange is one change of the pool. Exactly one of Added, Removed and
// Seated is set.
type PoolChange struct {
	// Added is a ticket that joined the queue: published, or released.
	Added *PoolTicket
	// Removed are tickets that left the queue, for Reason: StatusMatched
	// when Claimer claimed them, or StatusCancelled or StatusExpired.
	Removed []string
	Reason  Status
	Claimer string
	// Seated is the match of a claimed ticket.
	Seated *PoolSeat
}

// PoolChanges is what Pool.Changes returns.
type PoolChanges struct {
	Cursor string // for the next call
	// Reset: the caller's view is stale. Snapshot holds every searching
	// ticket, and Changes what changed after it was taken.
	Reset    bool
	Snapshot []PoolTicket
	Changes  []PoolChange
	More     bool // more changes wait: call again at once
}

// A Notifier is a Pool that tells its readers when it has changed, so that
// Run reads the changes at once instead of every Config.PoolPoll. A pool
// shared through the network need not implement it.
type Notifier interface {
	// Changed returns a channel that is closed at the pool's next change
	// after the call.
	Changed() <-chan struct{}
}

package matchmaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Pool is the matchmaking queue that the servers sharing one store share
// (persistence/redis implements it on Redis). It holds every searching
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
// may retry.
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
	// again; a player already released (or in another match) is left
	// alone.
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

// poolGrace is how long after a ticket's TicketTTL the other servers wait
// before they expire it, so that its own server, which has its waiters,
// normally does it.
const poolGrace = 10 * time.Second

// awaitCheck is how long a ticket of this server's that another server
// claimed may wait for its seat in the changes before Run asks the pool.
const awaitCheck = 2 * time.Second

// maxAwaitChecks bounds the lookups of one cycle.
const maxAwaitChecks = 64

// maxFrees bounds the ended matches whose players wait to be freed; past
// it they are left to the pool's own expiry.
const maxFrees = 10_000

// maxBackoff bounds Run's rest after the pool failed.
const maxBackoff = 5 * time.Second

// maxSyncBatches bounds the Changes calls of one cycle; Run comes back at
// once for the rest.
const maxSyncBatches = 8

// poolState is the Matchmaker's pool state guarded by mu.
type poolState struct {
	// mirror holds the queue entries of the shared queue this server
	// knows, queued or held, by ticket ID.
	mirror map[string]*ticket
	// deferred are the groups left to another server for StealAfter.
	deferred []*deferral
	// awaiting are this server's tickets that another server claimed,
	// with when their seat was last looked for.
	awaiting map[string]time.Time
	// orphans are tickets the pool holds for this server that it does
	// not know (a Publish that timed out but was made): Run expires them.
	orphans []string
	// frees are ended matches whose players the pool must free.
	frees   []freeing
	aliveAt time.Time // last heartbeat
}

// poolRun is the pool state owned by the Run goroutine.
type poolRun struct {
	cursor     string
	backoff    time.Duration
	retryAt    time.Time
	down       bool
	unreleased []string  // claimed here, their match did not start, and Release failed
	unseated   []seating // matches started here whose Seat failed
}

type freeing struct {
	matchID string
	players []string
}

type seating struct {
	seats []PoolSeat
	until time.Time
}

// poolEntry is the part of a ticket that only queue entries of the shared
// queue use. An entry is created when the ticket joins the queue and is
// never queued again once it has left (a released ticket gets a new one),
// so that a queue never holds a ticket twice.
type poolEntry struct {
	owner *ticket   // the ticket of this server's it stands for; nil: another server's
	gone  bool      // left the shared queue while held (pending)
	hold  *deferral // the deferred group holding it
	// published is set on this server's tickets once the pool has them.
	published bool
}

// deferral is a group formed here whose newest ticket another server
// holds: that server normally claims it at once; past at, this one does.
type deferral struct {
	mode    string
	tickets []*ticket
	at      time.Time
}

func (d *deferral) broken() bool {
	return slices.ContainsFunc(d.tickets, func(t *ticket) bool { return t.gone })
}

// poolContext bounds one call to the pool. It outlives ctx's cancellation,
// so that what a shutdown interrupts is not left half done.
func (m *Matchmaker) poolContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.cfg.PoolTimeout)
}

// publish is EnqueueContext with a Pool, after the rating lookup.
func (m *Matchmaker) publish(ctx context.Context, playerID, mode string, rating float64) (Ticket, error) {
	now := m.clock.Now()
	t := &ticket{
		Ticket:  Ticket{ID: match.NewID(), PlayerID: playerID, Mode: mode, Status: StatusSearching, Rating: rating, CreatedAt: now},
		changed: make(chan struct{}),
	}
	// The ticket is known here before the pool has it, so that its
	// arrival in the changes finds it. Its ID is known to nobody yet.
	m.mu.Lock()
	if err := m.admitLocked(playerID, now); err != nil {
		m.mu.Unlock()
		return Ticket{}, err
	}
	m.mu.tickets[t.ID] = t
	m.mu.search[playerID] = t
	tk := t.Ticket // as created: Run may match it before Publish returns
	beat := m.aliveDueLocked(now)
	m.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, m.cfg.PoolTimeout)
	defer cancel()
	var err error
	if beat {
		err = m.beat(pctx, now)
	}
	if err == nil {
		pt := PoolTicket{ID: t.ID, PlayerID: playerID, Mode: mode, Rating: rating, CreatedAt: now, Home: m.instance}
		_, err = m.pool.Publish(pctx, pt, m.cfg.TicketTTL+poolGrace+time.Minute)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		t.published = true
	}
	if err != nil && !errors.Is(err, ErrConflict) {
		// A call that failed late may have been made: if the changes
		// brought the ticket back, it was.
		if _, ok := m.mu.mirror[t.ID]; ok || t.Status != StatusSearching || !m.mu.awaiting[t.ID].IsZero() {
			err = nil
		}
	}
	if err != nil {
		delete(m.mu.tickets, t.ID)
		if m.mu.search[playerID] == t {
			delete(m.mu.search, playerID)
		}
		if errors.Is(err, ErrConflict) {
			return Ticket{}, fmt.Errorf("enqueue %s: %w", playerID, err)
		}
		return Ticket{}, fmt.Errorf("enqueue %s: %w: shared queue: %w", playerID, ErrUnavailable, err)
	}
	select {
	case m.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return tk, nil
}

// aliveDueLocked reports whether the heartbeat is due at now.
func (m *Matchmaker) aliveDueLocked(now time.Time) bool {
	return m.mu.aliveAt.IsZero() || !now.Before(m.mu.aliveAt.Add(m.cfg.PoolAlive/3))
}

// beat tells the pool this Matchmaker is alive.
func (m *Matchmaker) beat(ctx context.Context, now time.Time) error {
	if err := m.pool.Alive(ctx, m.instance, m.cfg.PoolAlive); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	m.mu.Lock()
	m.mu.aliveAt = now
	m.mu.Unlock()
	return nil
}

// leave tells the pool, as Run returns, that this Matchmaker is gone: the
// other servers expire its searching tickets instead of pairing them. It
// frees the players of the matches that ended last.
func (m *Matchmaker) leave(frees []freeing) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.PoolTimeout)
	defer cancel()
	for _, f := range frees {
		if err := m.pool.Free(ctx, f.matchID, f.players); err != nil {
			m.log.Warn("matchmaker: could not free the players of ended matches; the pool frees them when their time is up", "matches", len(frees), "err", err)
			break
		}
	}
	if err := m.pool.Alive(ctx, m.instance, 0); err != nil {
		m.log.Warn("matchmaker: could not leave the shared queue; other servers expire this one's tickets once its heartbeat lapses", "err", err)
	}
}

// fromState is the Ticket a pool's state describes.
func (m *Matchmaker) fromState(st PoolState) Ticket {
	t := Ticket{ID: st.ID, PlayerID: st.PlayerID, Mode: st.Mode, Status: st.Status, Rating: st.Rating, CreatedAt: st.CreatedAt}
	if st.Status == StatusMatched {
		t.MatchID, t.JoinToken = st.Seat.MatchID, st.Seat.JoinToken
		if st.Seat.Host != m.instance {
			t.Server = st.Seat.Server
		}
	}
	return t
}

// remoteTicket is Ticket for a ticket queued on another server.
func (m *Matchmaker) remoteTicket(ctx context.Context, id, playerID string) (Ticket, error) {
	pctx, cancel := m.poolContext(ctx)
	defer cancel()
	st, err := m.pool.Lookup(pctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && st.PlayerID != playerID:
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	case err != nil:
		return Ticket{}, fmt.Errorf("ticket %s: %w: shared queue: %w", id, ErrUnavailable, err)
	}
	return m.fromState(st), nil
}

// remoteWait is Wait for a ticket queued on another server: it asks the
// pool every PoolPoll.
func (m *Matchmaker) remoteWait(ctx context.Context, id, playerID string) (Ticket, error) {
	timer := m.clock.NewTimer(m.cfg.PoolPoll)
	defer timer.Stop()
	for {
		t, err := m.remoteTicket(ctx, id, playerID)
		if err != nil || t.Status != StatusSearching {
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-m.done:
			return t, ErrClosed
		case <-timer.C():
			timer.Reset(m.cfg.PoolPoll)
		}
	}
}

// poolCancel is Cancel with a Pool: the pool decides, atomically with
// every claim, and this server's copy follows.
func (m *Matchmaker) poolCancel(id, playerID string) error {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	if err == nil {
		switch t.Status {
		case StatusMatched:
			m.mu.Unlock()
			return fmt.Errorf("cancel ticket %s: %w", id, ErrMatched)
		case StatusCancelled, StatusExpired:
			m.mu.Unlock()
			return nil
		}
	}
	m.mu.Unlock()

	ctx, cancel := m.poolContext(context.Background())
	defer cancel()
	s, err := m.pool.Withdraw(ctx, id, playerID, StatusCancelled, m.cfg.Retention)
	switch {
	case errors.Is(err, ErrMatched):
		return fmt.Errorf("cancel ticket %s: %w", id, ErrMatched)
	case errors.Is(err, ErrNotFound):
		if t == nil {
			return fmt.Errorf("cancel ticket %s: %w", id, ErrNotFound)
		}
		s = StatusExpired // the pool forgot it: it outlived its TTL
	case err != nil:
		return fmt.Errorf("cancel ticket %s: %w: shared queue: %w", id, ErrUnavailable, err)
	}
	if t == nil {
		return nil // another server's ticket: that server learns it from the changes
	}
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropLocked(id)
	if t.Status == StatusSearching {
		m.finishLocked(t, s, now)
	}
	return nil
}

// poolMatchEnded is MatchEnded with a Pool.
func (m *Matchmaker) poolMatchEnded(res match.Result) {
	now := m.clock.Now()
	m.mu.Lock()
	f, queued := m.poolMatchEndedLocked(res, now)
	m.mu.Unlock()
	if queued || len(f.players) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.PoolTimeout)
	defer cancel()
	if err := m.pool.Free(ctx, f.matchID, f.players); err != nil {
		m.log.Warn("matchmaker: could not free the players of an ended match; the pool frees them when its time is up", "match", f.matchID, "err", err)
	}
}

// poolMatchEndedLocked forgets an ended match and, while Run runs, queues
// the freeing of its players for Run; otherwise it returns it, for the
// caller to do.
func (m *Matchmaker) poolMatchEndedLocked(res match.Result, now time.Time) (f freeing, queued bool) {
	var players []string
	if e, ok := m.mu.matches[res.MatchID]; ok {
		players = e.players
		delete(m.mu.matches, res.MatchID)
	} else {
		m.mu.ended[res.MatchID] = now
		for _, p := range res.Players {
			players = append(players, p.PlayerID)
		}
	}
	f = freeing{matchID: res.MatchID, players: players}
	switch {
	case m.mu.closed:
		return f, false
	case len(m.mu.frees) >= maxFrees:
		m.log.Warn("matchmaker: too many ended matches waiting to free their players; the pool frees them when their time is up", "match", res.MatchID)
		return f, true
	}
	m.mu.frees = append(m.mu.frees, f)
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return f, true
}

// poolStep is step with a Pool. A failing pool is logged once, and Run
// rests with a growing back-off until it answers again.
func (m *Matchmaker) poolStep(ctx context.Context, now time.Time) time.Time {
	if now.Before(m.run.retryAt) {
		return m.run.retryAt
	}
	next, err := m.poolCycle(ctx, now)
	if err != nil {
		if ctx.Err() != nil {
			return now.Add(m.cfg.PoolPoll) // shutting down: Run returns
		}
		m.run.backoff = min(max(2*m.run.backoff, m.cfg.PoolPoll), maxBackoff)
		if !m.run.down {
			m.log.Warn("matchmaker: shared queue unavailable; retrying", "err", err)
			m.run.down = true
		} else {
			m.log.Debug("matchmaker: shared queue still unavailable", "retry_in", m.run.backoff, "err", err)
		}
		m.run.retryAt = m.clock.Now().Add(m.run.backoff)
		return m.run.retryAt
	}
	if m.run.down {
		m.log.Info("matchmaker: shared queue available again")
		m.run.down = false
	}
	m.run.backoff = 0
	return next
}

// poolCycle does what is due: heartbeat, the retries of earlier failures,
// reading the changes, expiry, pairing, claiming and starting the groups.
// It returns when it next has something to do.
func (m *Matchmaker) poolCycle(ctx context.Context, now time.Time) (time.Time, error) {
	m.mu.Lock()
	beat := m.aliveDueLocked(now)
	m.mu.Unlock()
	if beat {
		bctx, cancel := m.poolContext(ctx)
		err := m.beat(bctx, now)
		cancel()
		if err != nil {
			return now, err
		}
	}
	if err := m.retry(ctx); err != nil {
		return now, err
	}
	for {
		more, err := m.sync(ctx, now)
		if err != nil {
			return now, err
		}
		if err := m.checkAwaiting(ctx, now); err != nil {
			return now, err
		}
		claims, expired, next := m.poolPlan(now)
		if err := m.withdrawExpired(ctx, expired, now); err != nil {
			m.mu.Lock()
			m.unholdLocked(claims)
			m.mu.Unlock()
			return now, err
		}
		for i, g := range claims {
			if err := m.claimAndStart(ctx, g); err != nil {
				m.mu.Lock()
				m.unholdLocked(claims[i+1:])
				m.mu.Unlock()
				return now, err
			}
		}
		if len(claims) == 0 && !more {
			return earliest(next, now.Add(m.cfg.PoolPoll)), nil
		}
		// Claims took time, may have failed, and other servers moved
		// meanwhile: read and plan again.
		now = m.clock.Now()
	}
}

// retry does again what failed earlier: releases, seats, freeing the
// players of ended matches, expiring orphans. What fails again waits for
// the next cycle.
func (m *Matchmaker) retry(ctx context.Context) error {
	if len(m.run.unreleased) > 0 {
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Release(pctx, m.instance, m.run.unreleased)
		cancel()
		if err != nil {
			return fmt.Errorf("release %d tickets: %w", len(m.run.unreleased), err)
		}
		m.run.unreleased = nil
	}
	for len(m.run.unseated) > 0 {
		s := m.run.unseated[0]
		pctx, cancel := m.poolContext(ctx)
		_, err := m.pool.Seat(pctx, m.instance, s.seats, s.until, m.cfg.Retention)
		cancel()
		if err != nil {
			return fmt.Errorf("seat match %s: %w", s.seats[0].MatchID, err)
		}
		m.run.unseated[0] = seating{}
		m.run.unseated = m.run.unseated[1:]
	}

	m.mu.Lock()
	frees := m.mu.frees
	m.mu.frees = nil
	m.mu.Unlock()
	for i, f := range frees {
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Free(pctx, f.matchID, f.players)
		cancel()
		if err != nil {
			m.mu.Lock()
			m.mu.frees = append(frees[i:], m.mu.frees...)
			m.mu.Unlock()
			return fmt.Errorf("free the players of match %s: %w", f.matchID, err)
		}
	}

	m.mu.Lock()
	orphans := m.mu.orphans
	m.mu.orphans = nil
	m.mu.Unlock()
	for i, id := range orphans {
		pctx, cancel := m.poolContext(ctx)
		_, err := m.pool.Withdraw(pctx, id, "", StatusExpired, m.cfg.Retention)
		cancel()
		if err != nil && !errors.Is(err, ErrMatched) && !errors.Is(err, ErrNotFound) {
			m.mu.Lock()
			m.mu.orphans = append(orphans[i:], m.mu.orphans...)
			m.mu.Unlock()
			return fmt.Errorf("expire unknown ticket %s: %w", id, err)
		}
	}
	return nil
}

// sync reads the pool's changes into the mirror. It reports whether more
// are waiting.
func (m *Matchmaker) sync(ctx context.Context, now time.Time) (bool, error) {
	for range maxSyncBatches {
		pctx, cancel := m.poolContext(ctx)
		ch, err := m.pool.Changes(pctx, m.run.cursor)
		cancel()
		if err != nil {
			return false, fmt.Errorf("read the shared queue: %w", err)
		}
		m.mu.Lock()
		if ch.Reset {
			m.resetLocked(ch.Snapshot, now)
		}
		for _, c := range ch.Changes {
			m.applyLocked(c, now)
		}
		m.mu.Unlock()
		m.run.cursor = ch.Cursor
		if !ch.More {
			return false, nil
		}
	}
	return true, nil
}

// resetLocked replaces the mirror's view with a snapshot of the queue.
func (m *Matchmaker) resetLocked(snap []PoolTicket, now time.Time) {
	in := make(map[string]bool, len(snap))
	for _, pt := range snap {
		in[pt.ID] = true
	}
	for id := range m.mu.mirror {
		if !in[id] {
			m.dropLocked(id)
		}
	}
	// This server's searching tickets the queue no longer holds: claimed,
	// or gone in changes that were missed. Ask.
	for _, t := range m.mu.search {
		if _, ok := m.mu.mirror[t.ID]; !ok && !in[t.ID] && t.published {
			m.mu.awaiting[t.ID] = now.Add(-awaitCheck)
		}
	}
	slices.SortFunc(snap, func(a, b PoolTicket) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, pt := range snap {
		m.addLocked(pt)
	}
}

// applyLocked applies one change to the mirror and to this server's
// tickets.
func (m *Matchmaker) applyLocked(c PoolChange, now time.Time) {
	switch {
	case c.Added != nil:
		m.addLocked(*c.Added)
	case c.Seated != nil:
		s := *c.Seated
		m.dropLocked(s.TicketID)
		if t := m.mu.tickets[s.TicketID]; t != nil && t.Status == StatusSearching {
			m.seatLocked(t, s, now)
		}
	default:
		for _, id := range c.Removed {
			m.dropLocked(id)
			t := m.mu.tickets[id]
			if t == nil || t.Status != StatusSearching {
				continue
			}
			switch c.Reason {
			case StatusCancelled, StatusExpired:
				m.finishLocked(t, c.Reason, now)
			case StatusMatched:
				if c.Claimer != m.instance {
					m.mu.awaiting[id] = now
				}
			}
		}
	}
}

// seatLocked finishes t, this server's, as matched in s.
func (m *Matchmaker) seatLocked(t *ticket, s PoolSeat, now time.Time) {
	t.MatchID, t.JoinToken = s.MatchID, s.JoinToken
	if s.Host != m.instance {
		t.Server = s.Server
	}
	m.finishLocked(t, StatusMatched, now)
	if m.cfg.ObserveWait != nil {
		m.cfg.ObserveWait(t.Mode, now.Sub(t.CreatedAt))
	}
}

// addLocked puts a searching ticket of the pool into the mirror, unless
// it is there already.
func (m *Matchmaker) addLocked(pt PoolTicket) {
	if _, ok := m.mu.mirror[pt.ID]; ok {
		return
	}
	q := m.mu.queues[pt.Mode]
	if q == nil {
		return // a mode another server offers and this one does not
	}
	var owner *ticket
	if pt.Home == m.instance {
		owner = m.mu.tickets[pt.ID]
		if owner == nil || owner.Status != StatusSearching {
			m.mu.orphans = append(m.mu.orphans, pt.ID)
			return
		}
		owner.published = true
		delete(m.mu.awaiting, pt.ID)
	}
	e := &ticket{
		Ticket:    Ticket{ID: pt.ID, PlayerID: pt.PlayerID, Mode: pt.Mode, Status: StatusSearching, Rating: pt.Rating, CreatedAt: pt.CreatedAt},
		seq:       pt.Seq,
		poolEntry: poolEntry{owner: owner},
	}
	m.mu.mirror[pt.ID] = e
	q.put(e)
}

// dropLocked takes ticket id out of the mirror: out of its queue, or, if
// it is held for a group, marked gone.
func (m *Matchmaker) dropLocked(id string) {
	e, ok := m.mu.mirror[id]
	if !ok {
		return
	}
	delete(m.mu.mirror, id)
	switch {
	case e.queued:
		m.mu.queues[e.Mode].remove(e)
	case e.pending:
		e.gone = true
	}
}

// unholdLocked puts the entries of groups that were not claimed back in
// their queues, unless they left the mirror meanwhile.
func (m *Matchmaker) unholdLocked(groups []group) {
	for _, g := range groups {
		m.unholdTicketsLocked(g.tickets)
	}
}

func (m *Matchmaker) unholdTicketsLocked(ts []*ticket) {
	for _, e := range ts {
		e.pending, e.hold = false, nil
		if !e.gone && m.mu.mirror[e.ID] == e {
			m.mu.queues[e.Mode].readd(e)
		}
	}
}

// checkAwaiting asks the pool about this server's tickets that another
// server claimed and whose seat has not come (or whose fate was missed).
func (m *Matchmaker) checkAwaiting(ctx context.Context, now time.Time) error {
	m.mu.Lock()
	var ids []string
	for id, at := range m.mu.awaiting {
		if !now.Before(at.Add(awaitCheck)) {
			ids = append(ids, id)
			if len(ids) == maxAwaitChecks {
				break
			}
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		pctx, cancel := m.poolContext(ctx)
		st, err := m.pool.Lookup(pctx, id)
		cancel()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("look up ticket %s: %w", id, err)
		}
		m.mu.Lock()
		t := m.mu.tickets[id]
		if t == nil || t.Status != StatusSearching {
			delete(m.mu.awaiting, id)
			m.mu.Unlock()
			continue
		}
		expire := false
		switch {
		case err != nil: // not found: it outlived the pool's TTL
			m.finishLocked(t, StatusExpired, now)
		case st.Status == StatusMatched:
			m.seatLocked(t, st.Seat, now)
		case st.Status != StatusSearching:
			m.finishLocked(t, st.Status, now)
		case st.Claimed:
			m.mu.awaiting[id] = now
			// A claim that outlives the ticket's TTL is one whose claimer
			// died: Withdraw expires it then.
			expire = !now.Before(t.CreatedAt.Add(m.cfg.TicketTTL))
		default: // searching again: it comes back through the changes
			delete(m.mu.awaiting, id)
			m.addLocked(st.PoolTicket)
		}
		m.mu.Unlock()
		if expire {
			pctx, cancel := m.poolContext(ctx)
			s, err := m.pool.Withdraw(pctx, id, "", StatusExpired, m.cfg.Retention)
			cancel()
			if err == nil {
				m.mu.Lock()
				if t.Status == StatusSearching {
					m.finishLocked(t, s, now)
				}
				m.mu.Unlock()
			}
		}
	}
	return nil
}

// poolPlan is plan with a Pool. Under the lock it settles the deferred
// groups, takes the expired entries out of the queues, and pairs. It
// returns the groups to claim, the expired entries to withdraw (held), and
// when the queues next need a look.
func (m *Matchmaker) poolPlan(now time.Time) (claims []group, expired []*ticket, next time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next = now.Add(maxIdle)
	kept := m.mu.deferred[:0]
	for _, d := range m.mu.deferred {
		switch {
		case d.broken():
			m.unholdTicketsLocked(d.tickets)
		case !now.Before(d.at):
			for _, e := range d.tickets {
				e.hold = nil
			}
			m.Takeovers.Add(1)
			claims = append(claims, group{mode: m.cfg.Modes[d.mode], tickets: d.tickets})
		default:
			kept = append(kept, d)
			next = earliest(next, d.at)
		}
	}
	clear(m.mu.deferred[len(kept):])
	m.mu.deferred = kept

	for name, q := range m.mu.queues {
		out, due := q.poolExpire(now, m.cfg.TicketTTL, poolGrace)
		for _, e := range out {
			e.pending = true
		}
		expired = append(expired, out...)
		if !due.IsZero() {
			next = earliest(next, due)
		}
		if q.live == 0 {
			continue
		}
		var formed [][]*ticket
		formed, next = m.formLocked(name, q, now, next)
		for _, ts := range formed {
			// The server of the newest ticket, whose arrival most likely
			// completed the group, claims it: the others, which see the
			// same queue, leave it to that server rather than race it.
			if ts[len(ts)-1].owner != nil {
				claims = append(claims, group{mode: q.mode, tickets: ts})
				continue
			}
			d := &deferral{mode: name, tickets: ts, at: now.Add(m.cfg.StealAfter)}
			for _, e := range ts {
				e.hold = d
			}
			m.mu.deferred = append(m.mu.deferred, d)
			next = earliest(next, d.at)
		}
	}
	if sweepEvery := min(m.cfg.Retention, maxIdle); !now.Before(m.mu.swept.Add(sweepEvery)) {
		m.sweepLocked(now)
	}
	return claims, expired, next
}

// withdrawExpired expires in the pool the entries poolPlan took out for
// it, and this server's tickets among them.
func (m *Matchmaker) withdrawExpired(ctx context.Context, expired []*ticket, now time.Time) error {
	for i, e := range expired {
		pctx, cancel := m.poolContext(ctx)
		s, err := m.pool.Withdraw(pctx, e.ID, "", StatusExpired, m.cfg.Retention)
		cancel()
		if err != nil && !errors.Is(err, ErrMatched) && !errors.Is(err, ErrNotFound) {
			m.mu.Lock()
			m.unholdTicketsLocked(expired[i:])
			m.mu.Unlock()
			return fmt.Errorf("expire ticket %s: %w", e.ID, err)
		}
		m.mu.Lock()
		e.pending = false
		if m.mu.mirror[e.ID] == e {
			delete(m.mu.mirror, e.ID)
		}
		if o := e.owner; o != nil && o.Status == StatusSearching {
			switch {
			case errors.Is(err, ErrMatched): // claimed first: its seat follows
				m.mu.awaiting[o.ID] = now
			case errors.Is(err, ErrNotFound):
				m.finishLocked(o, StatusExpired, now)
			default:
				m.finishLocked(o, s, now)
			}
		}
		m.mu.Unlock()
	}
	return nil
}

// claimAndStart claims g's tickets in the pool and, if they were all
// still searching, starts their match and seats them. A claim that lost
// tickets puts the others back in the queue; a match that does not start
// releases its tickets and rests the queue for CreateRetry. It returns an
// error only when the pool failed.
func (m *Matchmaker) claimAndStart(ctx context.Context, g group) error {
	ids := make([]string, len(g.tickets))
	players := make([]string, len(g.tickets))
	for i, e := range g.tickets {
		ids[i], players[i] = e.ID, e.PlayerID
	}
	pctx, cancel := m.poolContext(ctx)
	lost, err := m.pool.Claim(pctx, m.instance, ids)
	cancel()
	if err != nil {
		m.mu.Lock()
		m.unholdTicketsLocked(g.tickets)
		m.mu.Unlock()
		return fmt.Errorf("claim %d tickets: %w", len(ids), err)
	}
	now := m.clock.Now()
	if len(lost) > 0 {
		m.ClaimsLost.Add(1)
	} else {
		m.ClaimsWon.Add(1)
	}
	m.mu.Lock()
	if len(lost) > 0 {
		for _, e := range g.tickets {
			if !slices.Contains(lost, e.ID) {
				m.unholdTicketsLocked([]*ticket{e})
				continue
			}
			e.pending = false
			if m.mu.mirror[e.ID] == e {
				delete(m.mu.mirror, e.ID)
			}
			// Its fate (claimed elsewhere, cancelled, expired) comes in
			// the changes; ask if it does not.
			if o := e.owner; o != nil && o.Status == StatusSearching {
				m.mu.awaiting[o.ID] = now
			}
		}
		m.mu.Unlock()
		return nil
	}
	for _, e := range g.tickets {
		if m.mu.mirror[e.ID] == e {
			delete(m.mu.mirror, e.ID)
		}
	}
	m.mu.Unlock()

	matchID, err := m.starter.Create(g.mode.Name, players)
	now = m.clock.Now()
	if err != nil {
		m.log.Error("matchmaker: start match; tickets released", "mode", g.mode.Name, "players", len(players),
			"retry_in", m.cfg.CreateRetry, "err", err)
		m.mu.Lock()
		m.mu.retryAt[g.mode.Name] = now.Add(m.cfg.CreateRetry)
		for _, e := range g.tickets {
			e.pending = false // they come back, as new entries, through the changes
		}
		m.mu.Unlock()
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Release(pctx, m.instance, ids)
		cancel()
		if err != nil {
			m.run.unreleased = append(m.run.unreleased, ids...)
			return fmt.Errorf("release %d tickets: %w", len(ids), err)
		}
		return nil
	}

	until := now.Add(m.cfg.JoinTTL(g.mode))
	seats := make([]PoolSeat, len(g.tickets))
	for i, e := range g.tickets {
		seats[i] = PoolSeat{TicketID: e.ID, MatchID: matchID, JoinToken: m.tokens.Join(e.PlayerID, matchID, until),
			Host: m.instance, Server: m.cfg.Server}
	}
	pctx, cancel = m.poolContext(ctx)
	unseated, serr := m.pool.Seat(pctx, m.instance, seats, until, m.cfg.Retention)
	cancel()

	m.mu.Lock()
	_, endedAlready := m.mu.ended[matchID]
	delete(m.mu.ended, matchID)
	if !endedAlready {
		m.mu.matches[matchID] = matchEntry{players: players, until: until}
	} else if len(m.mu.frees) < maxFrees {
		// Its end came before its seats: free the players now seated.
		m.mu.frees = append(m.mu.frees, freeing{matchID: matchID, players: players})
	}
	for i, e := range g.tickets {
		e.pending = false
		o := e.owner
		if o == nil || o.Status != StatusSearching {
			continue
		}
		if slices.Contains(unseated, e.ID) {
			// The pool expired it (this server looked dead): the
			// player queues again; the seat stays empty.
			m.finishLocked(o, StatusExpired, now)
			continue
		}
		m.seatLocked(o, seats[i], now)
	}
	m.mu.Unlock()
	if serr != nil {
		// The match runs; this server's players have their seats. The
		// others learn theirs when the pool answers again.
		m.run.unseated = append(m.run.unseated, seating{seats: seats, until: until})
		return fmt.Errorf("seat match %s: %w", matchID, serr)
	}
	if len(unseated) > 0 {
		m.log.Warn("matchmaker: tickets left the pool before their match started", "match", matchID, "tickets", len(unseated))
	}
	m.log.Info("matchmaker: match started", "match", matchID, "mode", g.mode.Name, "players", len(players))
	return nil
}

// put adds e, a new queue entry, to q in arrival order.
func (q *queue) put(e *ticket) {
	if n := len(q.order); n > 0 && q.order[n-1].seq > e.seq {
		q.readd(e)
		return
	}
	q.add(e)
}

// poolExpire takes out of q, oldest first, the entries that have searched
// for ttl — those of other servers for ttl + grace, so that their own
// server, which has their waiters, normally expires them — and returns
// them with when the next one is due (zero: none is queued).
func (q *queue) poolExpire(now time.Time, ttl, grace time.Duration) (out []*ticket, next time.Time) {
	for _, e := range q.order {
		if !e.queued {
			continue
		}
		due := e.CreatedAt.Add(ttl)
		if now.Before(due) {
			next = earliestSet(next, due)
			break
		}
		if e.owner == nil {
			if due = due.Add(grace); now.Before(due) {
				next = earliestSet(next, due)
				continue
			}
		}
		// As remove, without compacting order under the loop.
		e.queued = false
		q.live--
		q.dead++
		out = append(out, e)
	}
	q.compact()
	if q.live == 0 {
		q.reset()
	}
	return out, next
}

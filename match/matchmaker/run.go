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

// poolGrace is how long after a ticket's TicketTTL the other servers wait
// before they expire it, so that its own server, which has its waiters,
// normally does it.
const poolGrace = 10 * time.Second

// awaitCheck is how long a ticket of this server's that another server
// claimed may wait for its seat in the changes before Run asks the pool.
const awaitCheck = 2 * time.Second

// maxAwaitChecks bounds the lookups of one cycle.
const maxAwaitChecks = 64

// maxBackoff bounds Run's rest after the pool failed.
const maxBackoff = 5 * time.Second

// maxSyncBatches bounds the Changes calls of one cycle; Run comes back at
// once for the rest.
const maxSyncBatches = 8

// mirror is Run's copy of the queue, fed by the pool's changes, and what
// Run still owes the pool. Only the Run goroutine touches it.
type mirror struct {
	cursor  string
	members map[string]*member // the queue's searching tickets Run knows, queued or held, by ID
	queues  map[string]*queue  // by mode; one per configured mode
	// deferred are the groups left to another server for StealAfter.
	deferred []*deferral
	// awaiting are this server's tickets that another server claimed,
	// with when their seat was last looked for.
	awaiting map[string]time.Time
	// orphans are tickets the pool holds for this server that it does
	// not know (a Publish that timed out but was made): Run expires them.
	orphans []string
	retryAt map[string]time.Time // a mode's queue rests until then after a failed Create

	retry      *match.Retrier // the pool's failures: back-off and their log
	restUntil  time.Time      // after the pool failed
	unreleased []string       // claimed here (or maybe: the Claim failed), no match started for them, not yet released
	unseated   []seating      // matches started here whose Seat failed
}

// member is a searching ticket of the queue, as Run pairs it: one of this
// server's tickets (owner) or another server's. A member is created when
// the ticket joins the queue and is never queued again once it has left (a
// released ticket comes back as a new member), so that a queue never holds
// a ticket twice.
type member struct {
	PoolTicket
	// queued: in its mode's queue (not held).
	queued bool
	// pending: held for a group being claimed, started or expired; out of
	// its queue.
	pending bool
	// pos is the member's index in its queue's rating index; valid only
	// during queue.pair.
	pos   int32
	owner *ticket   // the ticket of this server's it stands for; nil: another server's
	gone  bool      // left the queue while held
	hold  *deferral // the deferred group holding it
}

type seating struct {
	seats []PoolSeat
	until time.Time
}

// deferral is a group formed here whose newest ticket another server
// holds: that server normally claims it at once; past at, this one does.
type deferral struct {
	mode    string
	members []*member
	at      time.Time
}

func (d *deferral) broken() bool {
	return slices.ContainsFunc(d.members, func(e *member) bool { return e.gone })
}

// group is a set of members picked for one match, in seat order.
type group struct {
	mode    match.Mode
	members []*member
}

func newMirror(cfg Config) *mirror {
	r := &mirror{
		retry: match.NewRetrier("matchmaker: queue", match.RetrierConfig{
			Backoff: match.Backoff{Min: cfg.PoolPoll, Max: maxBackoff, Jitter: 0.5},
			Clock:   cfg.Clock,
			Logger:  cfg.Logger,
		}),
		members:  make(map[string]*member),
		queues:   make(map[string]*queue, len(cfg.Modes)),
		awaiting: make(map[string]time.Time),
		retryAt:  make(map[string]time.Time),
	}
	for name, md := range cfg.Modes {
		w, ok := cfg.Windows[name]
		if !ok {
			w = DefaultWindow()
		}
		r.queues[name] = newQueue(md, w)
	}
	return r
}

// Run pairs tickets until ctx ends, then releases every Wait, refuses new
// tickets, tells the pool this Matchmaker is gone, and returns nil. It
// must be called once; a second call returns an error at once.
func (m *Matchmaker) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.mu.running {
		m.mu.Unlock()
		return errors.New("matchmaker: Run called twice")
	}
	m.mu.running = true
	m.mu.swept = m.clock.Now()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.mu.closed = true
		frees := m.mu.frees
		m.mu.frees = nil
		m.mu.Unlock()
		close(m.done)
		m.leave(frees)
	}()

	timer := m.clock.NewTimer(maxIdle)
	defer timer.Stop()
	for {
		var changed <-chan struct{}
		if m.notify != nil {
			changed = m.notify.Changed() // before reading: no change is missed
		}
		now := m.clock.Now()
		next := m.step(ctx, now)
		timer.Stop()
		timer.Reset(min(next.Sub(now), maxIdle))
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-changed:
		case <-timer.C():
		}
	}
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
		m.log.Warn("matchmaker: could not leave the queue; other servers expire this one's tickets once its heartbeat lapses", "err", err)
	}
}

// step does what is due at now and returns when it next has something to
// do absent news. While the pool fails, Run rests with a growing,
// jittered back-off (up to maxBackoff), and the outage is logged when it
// starts, every minute it lasts, and when it ends.
func (m *Matchmaker) step(ctx context.Context, now time.Time) time.Time {
	r := m.mirror
	if now.Before(r.restUntil) {
		return r.restUntil
	}
	next, err := m.cycle(ctx, now)
	m.publishSizes()
	if err != nil {
		if ctx.Err() != nil {
			return now.Add(m.cfg.PoolPoll) // shutting down: Run returns
		}
		r.restUntil = m.clock.Now().Add(r.retry.Failed(err))
		return r.restUntil
	}
	r.retry.Succeeded()
	return next
}

// publishSizes makes the queues' sizes readable by QueueSizes.
func (m *Matchmaker) publishSizes() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, q := range m.mirror.queues {
		m.mu.sizes[name] = q.live
	}
}

// cycle does what is due: heartbeat, the retries of earlier failures,
// reading the changes, expiry, pairing, claiming and starting the groups.
// It returns when it next has something to do.
func (m *Matchmaker) cycle(ctx context.Context, now time.Time) (time.Time, error) {
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
		claims, expired, next := m.plan(now)
		if err := m.withdrawExpired(ctx, expired, now); err != nil {
			m.unholdGroups(claims)
			return now, err
		}
		for i, g := range claims {
			if err := m.claimAndStart(ctx, g); err != nil {
				m.unholdGroups(claims[i+1:])
				return now, err
			}
		}
		if len(claims) == 0 && !more {
			if m.notify == nil {
				next = earliest(next, now.Add(m.cfg.PoolPoll))
			}
			m.mu.Lock()
			beatAt := m.mu.aliveAt.Add(m.cfg.PoolAlive / 3)
			m.mu.Unlock()
			return earliest(next, beatAt), nil
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
	r := m.mirror
	if len(r.unreleased) > 0 {
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Release(pctx, m.instance, r.unreleased)
		cancel()
		if err != nil {
			return fmt.Errorf("release %d tickets: %w", len(r.unreleased), err)
		}
		r.unreleased = nil
	}
	for len(r.unseated) > 0 {
		s := r.unseated[0]
		pctx, cancel := m.poolContext(ctx)
		_, err := m.pool.Seat(pctx, m.instance, s.seats, s.until, m.seatKeep(s.until))
		cancel()
		if err != nil {
			return fmt.Errorf("seat match %s: %w", s.seats[0].MatchID, err)
		}
		r.unseated[0] = seating{}
		r.unseated = r.unseated[1:]
	}

	if err := m.freeEnded(ctx); err != nil {
		return err
	}

	for len(r.orphans) > 0 {
		id := r.orphans[0]
		pctx, cancel := m.poolContext(ctx)
		_, err := m.pool.Withdraw(pctx, id, "", StatusExpired, m.cfg.Retention)
		cancel()
		if err != nil && !errors.Is(err, ErrMatched) && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("expire unknown ticket %s: %w", id, err)
		}
		r.orphans = r.orphans[1:]
	}
	return nil
}

// freeEnded frees in the pool the players of the matches that ended. While
// it does, the freeings stay visible to Enqueue (m.mu.freeing), which
// frees a player queueing again itself instead of racing this call to the
// pool. What fails goes back in the queue for the next cycle.
func (m *Matchmaker) freeEnded(ctx context.Context) error {
	m.mu.Lock()
	frees := m.mu.frees
	m.mu.frees = nil
	m.mu.freeing = frees
	m.mu.Unlock()
	for i, f := range frees {
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Free(pctx, f.matchID, f.players)
		cancel()
		m.mu.Lock()
		if err != nil {
			m.mu.frees = append(slices.Clone(frees[i:]), m.mu.frees...)
			m.mu.freeing = nil
			m.mu.Unlock()
			return fmt.Errorf("free the players of match %s: %w", f.matchID, err)
		}
		m.mu.freeing = frees[i+1:]
		m.mu.Unlock()
	}
	return nil
}

// seatKeep is how long the pool keeps a matched ticket: as long as its
// join token is valid, as this server keeps its own.
func (m *Matchmaker) seatKeep(until time.Time) time.Duration {
	return max(until.Sub(m.clock.Now()), m.cfg.Retention)
}

// sync reads the pool's changes into the mirror. It reports whether more
// are waiting.
func (m *Matchmaker) sync(ctx context.Context, now time.Time) (bool, error) {
	for range maxSyncBatches {
		pctx, cancel := m.poolContext(ctx)
		ch, err := m.pool.Changes(pctx, m.mirror.cursor)
		cancel()
		if err != nil {
			return false, fmt.Errorf("read the queue: %w", err)
		}
		m.mu.Lock()
		if ch.Reset {
			m.resetLocked(ch.Snapshot, now)
		}
		for _, c := range ch.Changes {
			m.applyLocked(c, now)
		}
		m.mu.Unlock()
		m.mirror.cursor = ch.Cursor
		if !ch.More {
			return false, nil
		}
	}
	return true, nil
}

// resetLocked replaces the mirror's view with a snapshot of the queue.
func (m *Matchmaker) resetLocked(snap []PoolTicket, now time.Time) {
	r := m.mirror
	in := make(map[string]bool, len(snap))
	for _, pt := range snap {
		in[pt.ID] = true
	}
	for id := range r.members {
		if !in[id] {
			m.drop(id)
		}
	}
	// This server's searching tickets the queue no longer holds: claimed,
	// or gone in changes that were missed. Ask.
	for _, t := range m.mu.search {
		if _, ok := r.members[t.ID]; !ok && !in[t.ID] && t.published {
			r.awaiting[t.ID] = now.Add(-awaitCheck)
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
		m.drop(s.TicketID)
		if t := m.mu.tickets[s.TicketID]; t != nil && t.Status == StatusSearching {
			t.published = true
			// The until of another server's match is unknown here: keep
			// the ticket as long as one of this server's modes would.
			m.seatLocked(t, s, now.Add(m.cfg.JoinTTL(m.cfg.Modes[t.Mode])), now)
		}
	default:
		for _, id := range c.Removed {
			m.drop(id)
			t := m.mu.tickets[id]
			if t == nil || t.Status != StatusSearching {
				continue
			}
			t.published = true
			switch c.Reason {
			case StatusCancelled, StatusExpired:
				m.finishLocked(t, c.Reason, now)
			case StatusMatched:
				if c.Claimer != m.instance {
					m.mirror.awaiting[id] = now
				}
			}
		}
	}
}

// addLocked puts a searching ticket of the pool into the mirror, unless
// it is there already.
func (m *Matchmaker) addLocked(pt PoolTicket) {
	r := m.mirror
	if _, ok := r.members[pt.ID]; ok {
		return
	}
	q := r.queues[pt.Mode]
	if q == nil {
		return // a mode another server offers and this one does not
	}
	var owner *ticket
	if pt.Home == m.instance {
		owner = m.mu.tickets[pt.ID]
		if owner == nil || owner.Status != StatusSearching {
			r.orphans = append(r.orphans, pt.ID)
			return
		}
		owner.published = true
		delete(r.awaiting, pt.ID)
	}
	e := &member{PoolTicket: pt, owner: owner}
	r.members[pt.ID] = e
	q.put(e)
}

// drop takes ticket id out of the mirror: out of its queue, or, if it is
// held for a group, marked gone.
func (m *Matchmaker) drop(id string) {
	r := m.mirror
	e, ok := r.members[id]
	if !ok {
		return
	}
	delete(r.members, id)
	switch {
	case e.queued:
		r.queues[e.Mode].remove(e)
	case e.pending:
		e.gone = true
	}
}

// forget takes e, which left the queue while held, out of the mirror.
func (m *Matchmaker) forget(e *member) {
	e.pending = false
	if m.mirror.members[e.ID] == e {
		delete(m.mirror.members, e.ID)
	}
}

// unholdGroups puts the members of groups that were not claimed back in
// their queues, unless they left the mirror meanwhile.
func (m *Matchmaker) unholdGroups(groups []group) {
	for _, g := range groups {
		m.unhold(g.members)
	}
}

func (m *Matchmaker) unhold(es []*member) {
	for _, e := range es {
		e.pending, e.hold = false, nil
		if !e.gone && m.mirror.members[e.ID] == e {
			m.mirror.queues[e.Mode].readd(e)
		}
	}
}

// checkAwaiting asks the pool about this server's tickets that another
// server claimed and whose seat has not come (or whose fate was missed).
func (m *Matchmaker) checkAwaiting(ctx context.Context, now time.Time) error {
	r := m.mirror
	var ids []string
	for id, at := range r.awaiting {
		if !now.Before(at.Add(awaitCheck)) {
			ids = append(ids, id)
			if len(ids) == maxAwaitChecks {
				break
			}
		}
	}
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
			delete(r.awaiting, id)
			m.mu.Unlock()
			continue
		}
		expire := false
		switch {
		case err != nil: // not found: it outlived the pool's TTL
			delete(r.awaiting, id)
			m.finishLocked(t, StatusExpired, now)
		case st.Status == StatusMatched:
			delete(r.awaiting, id)
			m.seatLocked(t, st.Seat, now.Add(m.cfg.JoinTTL(m.cfg.Modes[t.Mode])), now)
		case st.Status != StatusSearching:
			delete(r.awaiting, id)
			m.finishLocked(t, st.Status, now)
		case st.Claimed:
			r.awaiting[id] = now
			// A claim that outlives the ticket's TTL is one whose claimer
			// died: Withdraw expires it then.
			expire = !now.Before(t.CreatedAt.Add(m.cfg.TicketTTL))
		default: // searching again: it comes back through the changes
			delete(r.awaiting, id)
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
					delete(r.awaiting, id)
					m.finishLocked(t, s, now)
				}
				m.mu.Unlock()
			}
		}
	}
	return nil
}

// plan settles the deferred groups, takes the expired members out of the
// queues, pairs, and sweeps what is stale. It returns the groups to claim,
// the expired members to withdraw (held), and when the queues next need a
// look: the next expiry, the next instant a rating window widens enough to
// matter, a short-handed group becoming due, a deferral's end, or the end
// of a queue's rest after a failed Create.
func (m *Matchmaker) plan(now time.Time) (claims []group, expired []*member, next time.Time) {
	r := m.mirror
	next = now.Add(maxIdle)
	kept := r.deferred[:0]
	for _, d := range r.deferred {
		switch {
		case d.broken():
			m.unhold(d.members)
		case !now.Before(d.at):
			for _, e := range d.members {
				e.hold = nil
			}
			m.Takeovers.Add(1)
			claims = append(claims, group{mode: m.cfg.Modes[d.mode], members: d.members})
		default:
			kept = append(kept, d)
			next = earliest(next, d.at)
		}
	}
	clear(r.deferred[len(kept):])
	r.deferred = kept

	for name, q := range r.queues {
		out, due := q.expire(now, m.cfg.TicketTTL, poolGrace)
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
		var formed [][]*member
		formed, next = m.form(name, q, now, next)
		for _, es := range formed {
			// The server of the newest ticket, whose arrival most likely
			// completed the group, claims it: the others, which see the
			// same queue, leave it to that server rather than race it.
			if es[len(es)-1].owner != nil {
				claims = append(claims, group{mode: q.mode, members: es})
				continue
			}
			d := &deferral{mode: name, members: es, at: now.Add(m.cfg.StealAfter)}
			for _, e := range es {
				e.hold = d
			}
			r.deferred = append(r.deferred, d)
			next = earliest(next, d.at)
		}
	}
	m.mu.Lock()
	if sweepEvery := min(m.cfg.Retention, maxIdle); !now.Before(m.mu.swept.Add(sweepEvery)) {
		m.sweepLocked(now)
	}
	m.mu.Unlock()
	return claims, expired, next
}

// form forms the groups of mode name's queue q at now, unless the mode
// rests after a failed Create, and marks their members pending. It returns
// them, and next brought forward to when q next needs a look.
func (m *Matchmaker) form(name string, q *queue, now, next time.Time) ([][]*member, time.Time) {
	if at, ok := m.mirror.retryAt[name]; ok {
		if now.Before(at) {
			return nil, earliest(next, at)
		}
		delete(m.mirror.retryAt, name)
	}
	var formed [][]*member
	// Pairing again finds nothing new unless tickets came or a window
	// widened past a gap (or a short-handed group became due).
	if q.dirty || (!q.wakeAt.IsZero() && !now.Before(q.wakeAt)) {
		formed, q.wakeAt = q.pair(now)
		for _, es := range formed {
			for _, e := range es {
				e.pending = true
			}
		}
	}
	if !q.wakeAt.IsZero() {
		next = earliest(next, q.wakeAt)
	}
	return formed, next
}

// withdrawExpired expires in the pool the members plan took out for it,
// and this server's tickets among them.
func (m *Matchmaker) withdrawExpired(ctx context.Context, expired []*member, now time.Time) error {
	for i, e := range expired {
		pctx, cancel := m.poolContext(ctx)
		s, err := m.pool.Withdraw(pctx, e.ID, "", StatusExpired, m.cfg.Retention)
		cancel()
		if err != nil && !errors.Is(err, ErrMatched) && !errors.Is(err, ErrNotFound) {
			m.unhold(expired[i:])
			return fmt.Errorf("expire ticket %s: %w", e.ID, err)
		}
		m.forget(e)
		o := e.owner
		if o == nil {
			continue
		}
		m.mu.Lock()
		if o.Status == StatusSearching {
			switch {
			case errors.Is(err, ErrMatched): // claimed first: its seat follows
				m.mirror.awaiting[o.ID] = now
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
	r := m.mirror
	ids := make([]string, len(g.members))
	players := make([]string, len(g.members))
	for i, e := range g.members {
		ids[i], players[i] = e.ID, e.PlayerID
	}
	pctx, cancel := m.poolContext(ctx)
	lost, err := m.pool.Claim(pctx, m.instance, ids)
	cancel()
	if err != nil {
		// The claim may have been made all the same, its answer lost (a
		// timeout): the tickets would stay claimed by this server, which
		// starts no match for them, until their TTL. Release them first
		// thing next cycle; a Release of tickets this server does not
		// hold changes nothing.
		r.unreleased = append(r.unreleased, ids...)
		m.unhold(g.members)
		return fmt.Errorf("claim %d tickets: %w", len(ids), err)
	}
	now := m.clock.Now()
	if len(lost) > 0 {
		m.ClaimsLost.Add(1)
		for _, e := range g.members {
			if !slices.Contains(lost, e.ID) {
				m.unhold([]*member{e})
				continue
			}
			m.forget(e)
			// Its fate (claimed elsewhere, cancelled, expired) comes in
			// the changes; ask if it does not.
			if e.owner != nil {
				r.awaiting[e.ID] = now
			}
		}
		return nil
	}
	m.ClaimsWon.Add(1)
	for _, e := range g.members {
		if r.members[e.ID] == e {
			delete(r.members, e.ID)
		}
	}

	matchID, err := m.starter.Create(g.mode.Name, players)
	now = m.clock.Now()
	if err != nil {
		m.log.Error("matchmaker: start match; tickets released", "mode", g.mode.Name, "players", len(players),
			"retry_in", m.cfg.CreateRetry, "err", err)
		r.retryAt[g.mode.Name] = now.Add(m.cfg.CreateRetry)
		for _, e := range g.members {
			e.pending = false // they come back, as new members, through the changes
		}
		pctx, cancel := m.poolContext(ctx)
		err := m.pool.Release(pctx, m.instance, ids)
		cancel()
		if err != nil {
			r.unreleased = append(r.unreleased, ids...)
			return fmt.Errorf("release %d tickets: %w", len(ids), err)
		}
		return nil
	}

	until := now.Add(m.cfg.JoinTTL(g.mode))
	seats := make([]PoolSeat, len(g.members))
	for i, e := range g.members {
		seats[i] = PoolSeat{TicketID: e.ID, MatchID: matchID, JoinToken: m.tokens.Join(e.PlayerID, matchID, until),
			Host: m.instance, Server: m.cfg.Server}
	}
	pctx, cancel = m.poolContext(ctx)
	unseated, serr := m.pool.Seat(pctx, m.instance, seats, until, m.seatKeep(until))
	cancel()

	m.mu.Lock()
	_, endedAlready := m.mu.ended[matchID]
	delete(m.mu.ended, matchID)
	if !endedAlready {
		m.mu.matches[matchID] = matchEntry{players: players, until: until}
	} else {
		// Its end came before its seats: free the players now seated.
		m.queueFreeLocked(freeing{matchID: matchID, players: players})
	}
	for i, e := range g.members {
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
		m.seatLocked(o, seats[i], until, now)
	}
	m.mu.Unlock()
	if serr != nil {
		// The match runs; this server's players have their seats. The
		// others learn theirs when the pool answers again.
		r.unseated = append(r.unseated, seating{seats: seats, until: until})
		return fmt.Errorf("seat match %s: %w", matchID, serr)
	}
	if len(unseated) > 0 {
		m.log.Warn("matchmaker: tickets left the pool before their match started", "match", matchID, "tickets", len(unseated))
	}
	m.log.Info("matchmaker: match started", "match", matchID, "mode", g.mode.Name, "players", len(players))
	return nil
}

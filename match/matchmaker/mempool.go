package matchmaker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// memLogMax bounds the change log a MemoryPool keeps. A reader further
// behind than that gets a Reset, as with a trimmed Redis stream.
const memLogMax = 4096

// memKeepPerPlayer bounds the finished tickets a MemoryPool keeps per
// player (as Config.KeepPerPlayer does the Matchmaker's): the oldest are
// forgotten first, so that a client churning tickets cannot grow memory.
const memKeepPerPlayer = 4

// memSweepEvery is how often a MemoryPool forgets what outlived its time.
const memSweepEvery = time.Second

// MemoryPool is the Pool of a server that shares its queues with nobody:
// the embedded default, which New uses when Config.Pool is nil. Several
// Matchmakers of one process may share one. It keeps the Redis pool's
// semantics (the contract suite in match/matchmaker/pooltest runs against
// both), forgets tickets and locks when their time is up, keeps a bounded
// change log, and tells Run of every change (Notifier), so pairing is
// immediate. The zero value is not usable: call NewMemoryPool.
type MemoryPool struct {
	clock  match.Clock
	logMax int

	mu      sync.Mutex
	seq     uint64
	tickets map[string]*memTicket
	locks   map[string]memLock   // by player
	done    map[string][]string  // a player's finished tickets, oldest first
	alive   map[string]time.Time // instance → until
	log     []PoolChange         // the change of version base+i+1 is log[i]
	base    int                  // changes up to this version are forgotten
	changed chan struct{}        // closed at the next change
	swept   time.Time
}

type memTicket struct {
	PoolState
	claimer string
	expires time.Time // forgotten then
}

// memLock is a player's one live ticket ("t:" + ticket ID) or match ("m:"
// + match ID), until a time.
type memLock struct {
	ref   string
	until time.Time
}

// NewMemoryPool returns an empty pool on clock (nil: match.SystemClock).
func NewMemoryPool(clock match.Clock) *MemoryPool {
	if clock == nil {
		clock = match.SystemClock{}
	}
	return &MemoryPool{
		clock:   clock,
		logMax:  memLogMax,
		tickets: make(map[string]*memTicket),
		locks:   make(map[string]memLock),
		done:    make(map[string][]string),
		alive:   make(map[string]time.Time),
		changed: make(chan struct{}),
	}
}

// begin locks p and forgets what is due. The caller unlocks.
func (p *MemoryPool) begin() time.Time {
	p.mu.Lock()
	now := p.clock.Now()
	if !now.Before(p.swept.Add(memSweepEvery)) {
		p.sweepLocked(now)
	}
	return now
}

func (p *MemoryPool) sweepLocked(now time.Time) {
	p.swept = now
	for id, t := range p.tickets {
		if !now.Before(t.expires) {
			delete(p.tickets, id)
		}
	}
	for player, done := range p.done {
		done = slices.DeleteFunc(done, func(id string) bool { return p.tickets[id] == nil })
		if len(done) == 0 {
			delete(p.done, player)
		} else {
			p.done[player] = done
		}
	}
	for player, l := range p.locks {
		if !now.Before(l.until) {
			delete(p.locks, player)
		}
	}
	for inst, until := range p.alive {
		if !now.Before(until) {
			delete(p.alive, inst)
		}
	}
}

// ticketLocked returns ticket id unless it is unknown or forgotten.
func (p *MemoryPool) ticketLocked(id string, now time.Time) *memTicket {
	t := p.tickets[id]
	if t == nil || !now.Before(t.expires) {
		return nil
	}
	return t
}

func (p *MemoryPool) isAliveLocked(inst string, now time.Time) bool {
	return now.Before(p.alive[inst])
}

// appendLocked logs c and wakes the readers.
func (p *MemoryPool) appendLocked(c PoolChange) {
	if len(p.log) >= p.logMax {
		p.forgetLocked(len(p.log) / 2)
	}
	p.log = append(p.log, c)
	close(p.changed)
	p.changed = make(chan struct{})
}

// forgetLocked drops the n oldest changes of the log.
func (p *MemoryPool) forgetLocked(n int) {
	clear(p.log[:n])
	p.log = p.log[n:]
	p.base += n
}

func (p *MemoryPool) withdrawLocked(t *memTicket, s Status, until time.Time) {
	t.Status, t.Claimed, t.claimer, t.expires = s, false, "", until
	if l := p.locks[t.PlayerID]; l.ref == "t:"+t.ID {
		delete(p.locks, t.PlayerID)
	}
	p.finishedLocked(t)
	p.appendLocked(PoolChange{Removed: []string{t.ID}, Reason: s})
}

// finishedLocked records that t left searching, and forgets its player's
// oldest finished tickets beyond memKeepPerPlayer.
func (p *MemoryPool) finishedLocked(t *memTicket) {
	done := append(p.done[t.PlayerID], t.ID)
	if n := len(done) - memKeepPerPlayer; n > 0 {
		for _, id := range done[:n] {
			delete(p.tickets, id)
		}
		done = slices.Delete(done, 0, n)
	}
	p.done[t.PlayerID] = done
}

// Changed implements Notifier.
func (p *MemoryPool) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// Publish implements Pool.
func (p *MemoryPool) Publish(_ context.Context, pt PoolTicket, ttl time.Duration) (uint64, error) {
	now := p.begin()
	defer p.mu.Unlock()
	if l, ok := p.locks[pt.PlayerID]; ok && now.Before(l.until) {
		id, isTicket := strings.CutPrefix(l.ref, "t:")
		if !isTicket {
			return 0, fmt.Errorf("player %s in match %s: %w", pt.PlayerID, l.ref[2:], ErrConflict)
		}
		old := p.ticketLocked(id, now)
		switch {
		case old != nil && old.Status == StatusSearching && !old.Claimed && p.isAliveLocked(old.Home, now),
			old != nil && old.Claimed && p.isAliveLocked(old.claimer, now):
			return 0, fmt.Errorf("player %s has ticket %s: %w", pt.PlayerID, id, ErrConflict)
		case old != nil && old.Status == StatusSearching:
			// Its server stopped: the ticket expires, the player queues again.
			p.withdrawLocked(old, StatusExpired, old.expires)
		}
	}
	p.seq++
	pt.Seq = p.seq
	p.tickets[pt.ID] = &memTicket{PoolState: PoolState{PoolTicket: pt, Status: StatusSearching}, expires: now.Add(ttl)}
	p.locks[pt.PlayerID] = memLock{ref: "t:" + pt.ID, until: now.Add(ttl)}
	p.appendLocked(PoolChange{Added: &pt})
	return pt.Seq, nil
}

// Changes implements Pool.
func (p *MemoryPool) Changes(_ context.Context, cursor string) (PoolChanges, error) {
	now := p.begin()
	defer p.mu.Unlock()
	head := p.base + len(p.log)
	v, err := strconv.Atoi(cursor)
	if err != nil || v < p.base || v > head {
		out := PoolChanges{Reset: true, Cursor: strconv.Itoa(head)}
		for _, t := range p.tickets {
			if t.Status == StatusSearching && !t.Claimed && now.Before(t.expires) {
				out.Snapshot = append(out.Snapshot, t.PoolTicket)
			}
		}
		slices.SortFunc(out.Snapshot, func(a, b PoolTicket) int { return cmp.Compare(a.Seq, b.Seq) })
		return out, nil
	}
	out := PoolChanges{Cursor: strconv.Itoa(head)}
	if v < head {
		out.Changes = slices.Clone(p.log[v-p.base:])
	}
	return out, nil
}

// Claim implements Pool.
func (p *MemoryPool) Claim(_ context.Context, claimer string, ids []string) ([]string, error) {
	now := p.begin()
	defer p.mu.Unlock()
	var lost []string
	for _, id := range ids {
		t := p.ticketLocked(id, now)
		switch {
		case t == nil || t.Status != StatusSearching || t.Claimed:
			lost = append(lost, id)
		case !p.isAliveLocked(t.Home, now):
			lost = append(lost, id)
			p.withdrawLocked(t, StatusExpired, t.expires)
		}
	}
	if len(lost) > 0 {
		return lost, nil
	}
	for _, id := range ids {
		p.tickets[id].Claimed, p.tickets[id].claimer = true, claimer
	}
	p.appendLocked(PoolChange{Removed: slices.Clone(ids), Reason: StatusMatched, Claimer: claimer})
	return nil, nil
}

// Release implements Pool.
func (p *MemoryPool) Release(_ context.Context, claimer string, ids []string) error {
	now := p.begin()
	defer p.mu.Unlock()
	for _, id := range ids {
		if t := p.ticketLocked(id, now); t != nil && t.Claimed && t.claimer == claimer {
			t.Claimed, t.claimer = false, ""
			pt := t.PoolTicket
			p.appendLocked(PoolChange{Added: &pt})
		}
	}
	return nil
}

// Seat implements Pool.
func (p *MemoryPool) Seat(_ context.Context, claimer string, seats []PoolSeat, until time.Time, keep time.Duration) ([]string, error) {
	now := p.begin()
	defer p.mu.Unlock()
	var unseated []string
	for _, s := range seats {
		t := p.ticketLocked(s.TicketID, now)
		if t == nil || !t.Claimed || t.claimer != claimer {
			unseated = append(unseated, s.TicketID)
			continue
		}
		t.Status, t.Claimed, t.claimer, t.Seat, t.expires = StatusMatched, false, "", s, now.Add(keep)
		p.finishedLocked(t)
		if l, ok := p.locks[t.PlayerID]; !ok || l.ref == "t:"+t.ID {
			p.locks[t.PlayerID] = memLock{ref: "m:" + s.MatchID, until: until}
		}
		p.appendLocked(PoolChange{Seated: &s})
	}
	return unseated, nil
}

// Withdraw implements Pool.
func (p *MemoryPool) Withdraw(_ context.Context, id, playerID string, s Status, keep time.Duration) (Status, error) {
	now := p.begin()
	defer p.mu.Unlock()
	t := p.ticketLocked(id, now)
	switch {
	case t == nil || playerID != "" && t.PlayerID != playerID:
		return "", fmt.Errorf("withdraw ticket %s: %w", id, ErrNotFound)
	case t.Status == StatusMatched || t.Claimed && p.isAliveLocked(t.claimer, now):
		return "", fmt.Errorf("withdraw ticket %s: %w", id, ErrMatched)
	case t.Status == StatusSearching:
		p.withdrawLocked(t, s, now.Add(keep))
		return s, nil
	}
	return t.Status, nil
}

// Lookup implements Pool.
func (p *MemoryPool) Lookup(_ context.Context, id string) (PoolState, error) {
	now := p.begin()
	defer p.mu.Unlock()
	t := p.ticketLocked(id, now)
	if t == nil {
		return PoolState{}, fmt.Errorf("look up ticket %s: %w", id, ErrNotFound)
	}
	return t.PoolState, nil
}

// Free implements Pool.
func (p *MemoryPool) Free(_ context.Context, matchID string, players []string) error {
	p.begin()
	defer p.mu.Unlock()
	for _, pl := range players {
		if p.locks[pl].ref == "m:"+matchID {
			delete(p.locks, pl)
		}
	}
	return nil
}

// Alive implements Pool.
func (p *MemoryPool) Alive(_ context.Context, instance string, ttl time.Duration) error {
	now := p.begin()
	defer p.mu.Unlock()
	p.alive[instance] = now.Add(ttl)
	return nil
}

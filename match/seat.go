package match

import (
	"cmp"
	"slices"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// Seat is one player's place in a room, as handed to the transport after a
// join token has been checked. Its methods are safe for concurrent use and
// never block on the room goroutine.
type Seat struct {
	room *Room
	p    *player
}

// MatchID returns the match the seat belongs to.
func (s *Seat) MatchID() string { return s.room.id }

// PlayerID returns the player holding the seat.
func (s *Seat) PlayerID() string { return s.p.id }

// Entity returns the entity the seat controls.
func (s *Seat) Entity() EntityID { return s.p.entity }

// Tick returns the room's current tick.
func (s *Seat) Tick() uint32 { return s.room.tick.Load() }

// EventDriven reports whether the seat's room processes actions as they
// arrive (a game played with actions, EventWorld) rather than applying
// inputs at its ticks, where it reads its peers itself (Poller): the
// transport then reads the connection as its frames come.
func (s *Seat) EventDriven() bool { return s.room.ew != nil }

// Attach makes peer the seat's connection: it queues Welcome on peer, then
// replaces any previous peer, which is closed with 4000 (replaced).
//
// A seat that cannot take a connection closes peer itself, with the reason,
// and returns why: ErrMatchOver once the match has ended (1000 match_over),
// ErrKicked for a player removed for cheating (1008 cheat), ErrForfeited for
// a player who stayed away past the grace period (4001 forfeited).
func (s *Seat) Attach(peer Peer) error {
	r, p := s.room, s.p
	p.mu.Lock()
	var refuse error
	switch {
	case r.state.Load() == stateEnded:
		refuse = ErrMatchOver
	case p.kicked.Load():
		refuse = ErrKicked
	case p.forfeited.Load():
		refuse = ErrForfeited
	}
	if refuse != nil {
		p.mu.Unlock()
		closeRefused(peer, refuse)
		return refuse
	}
	w := &arbiterv1.Welcome{
		MatchId: r.id, EntityId: uint32(p.entity), TickRate: uint32(r.cfg.TickRate),
		Tick: r.tick.Load(), PlayerId: p.id, Mode: r.mode.Name, Game: r.mode.Game,
	}
	if r.ew != nil {
		w.LastActionSeq = p.mu.received
		p.mu.needState = true // sent by the room goroutine, after this Welcome
	} else {
		w.LastInputSeq = p.mu.received
		w.Snapshots = encodingOf(peer)
	}
	welcome := mustMarshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: w}})
	// Queued under p.mu: the room reads the peer under the same lock, so no
	// snapshot can reach the new peer before its Welcome, and the room's
	// forfeit decision (also under p.mu) cannot slip in between the check
	// above and the peer taking the seat.
	peer.Send(welcome)
	old := p.mu.peer
	p.mu.peer = peer
	p.mu.delta = w.Snapshots == arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	first := !p.mu.joined
	p.mu.joined = true
	p.mu.Unlock()

	if old != nil && old != peer {
		old.Close(arbiterv1.CloseReplaced, "another connection took this seat")
	}
	if r.ew != nil {
		r.wakeEvents()
	}
	if first {
		select {
		case r.joined <- struct{}{}:
		default:
		}
	}
	return nil
}

// closeRefused closes a peer Attach turned away, with the reason.
func closeRefused(peer Peer, err error) {
	switch err {
	case ErrKicked:
		peer.Close(arbiterv1.CloseCheat, "you were removed from this match for cheating")
	case ErrForfeited:
		peer.Close(arbiterv1.CloseForfeited, "you were away longer than the grace period and forfeited this match")
	default:
		peer.Close(arbiterv1.CloseMatchOver, "the match is over")
	}
}

// Detach forgets peer if it is still the seat's connection; the player is
// then away and forfeits if not back within the grace period.
func (s *Seat) Detach(peer Peer) {
	s.p.mu.Lock()
	if s.p.mu.peer == peer {
		s.p.mu.peer = nil
	}
	s.p.mu.Unlock()
	if s.room.ew != nil {
		s.room.wakeEvents() // the grace period starts now
	}
}

// Action queues a decoded action of a game played with actions
// (EventWorld) for the room goroutine, which processes it at once; payload
// is copied. A seq not above the highest one received is ignored (a
// replay); so is an action for a game played with inputs. Neither is a
// violation.
func (s *Seat) Action(seq uint32, payload []byte) {
	r, p := s.room, s.p
	if r.ew == nil {
		r.countStale()
		return
	}
	p.mu.Lock()
	switch {
	case seq <= p.mu.received:
		p.mu.Unlock()
		r.countStale()
		return
	case len(p.mu.actions) >= maxPendingActions:
		p.mu.Unlock()
		r.countSurplus(1)
		return
	}
	p.mu.received = seq
	p.mu.actions = append(p.mu.actions, action{seq: seq, payload: append([]byte(nil), payload...), received: r.clock.Now()})
	p.mu.Unlock()
	r.wakeEvents()
}

// Input queues a decoded wire input for the ticks to come; in is not
// retained. Nothing an honest client sends is punished here:
//
//   - a seq not above the highest one processed, or already waiting, is
//     ignored (a replay, or a reloaded page numbering from 1 again);
//   - before the match's first tick only the newest input is kept (the
//     opponent is still connecting);
//   - a player whose inputs outrun the buffer (a burst after a network
//     stall) loses the oldest ones, which count as processed.
//
// All of these are counted in Stats; none is a violation.
func (s *Seat) Input(in *arbiterv1.Input) {
	r, p := s.room, s.p
	if p.kicked.Load() {
		return
	}
	if r.tw == nil { // a game played with actions
		r.countStale()
		return
	}
	seq := in.GetSeq()
	if seq <= p.lastSeq.Load() { // the common replay, turned away without the lock
		r.countStale()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i, dup := slices.BinarySearchFunc(p.mu.inbox, seq, func(in Input, seq uint32) int { return cmp.Compare(in.Seq, seq) })
	if dup || seq <= p.mu.dropped {
		r.countStale()
		return
	}
	p.mu.received = max(p.mu.received, seq)
	p.mu.inbox = slices.Insert(p.mu.inbox, i, Input{
		Seq: seq, MoveX: in.GetMoveX(), MoveY: in.GetMoveY(), Buttons: in.GetButtons(),
		AimX: in.GetAimX(), AimY: in.GetAimY(), ViewTick: in.GetViewTick(),
	})
	limit := r.cfg.InboxSize
	if r.state.Load() == stateWaiting {
		limit = 1
	}
	if n := len(p.mu.inbox) - limit; n > 0 {
		p.mu.dropped = max(p.mu.dropped, p.mu.inbox[n-1].Seq)
		p.mu.inbox = slices.Delete(p.mu.inbox, 0, n)
		r.countSurplus(uint64(n))
	}
}

// Violation records a frame the transport refused from this player, by
// the reason it closed the connection for (arbiterv1.CloseBadFrame,
// CloseTooBig, CloseTextFrame, CloseInputFlood), whose word is the rule's
// name: it counts in the player's violation score like an invalid input,
// for a game that keeps one (AntiCheat), so that a client cannot break the
// protocol again and again by reconnecting.
func (s *Seat) Violation(reason arbiterv1.CloseReason) {
	p := s.p
	p.mu.Lock()
	if p.mu.faults == nil {
		p.mu.faults = make(map[string]int)
	}
	p.mu.faults[reason.String()]++
	p.mu.Unlock()
	p.faulted.Store(true)
}

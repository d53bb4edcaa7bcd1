package match

import (
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

// Attach makes peer the seat's connection: it queues Welcome on peer, then
// replaces any previous peer, which is closed with 4000 (replaced). It
// returns ErrMatchOver once the match has ended.
func (s *Seat) Attach(peer Peer) error {
	r, p := s.room, s.p
	p.mu.Lock()
	if r.state.Load() == stateEnded {
		p.mu.Unlock()
		return ErrMatchOver
	}
	if p.kicked.Load() {
		p.mu.Unlock()
		return ErrKicked
	}
	welcome := mustMarshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
		MatchId: r.id, EntityId: uint32(p.entity), TickRate: uint32(r.cfg.TickRate),
		Tick: r.tick.Load(), PlayerId: p.id, Mode: r.mode.Name,
	}}})
	// Queued under p.mu: the room reads the peer under the same lock, so no
	// snapshot can reach the new peer before its Welcome.
	peer.Send(welcome)
	old := p.mu.peer
	p.mu.peer = peer
	first := !p.mu.joined
	p.mu.joined = true
	p.mu.Unlock()

	if old != nil && old != peer {
		old.Close(CloseReplaced, "replaced", "another connection took this seat")
	}
	if first {
		select {
		case r.joined <- struct{}{}:
		default:
		}
	}
	return nil
}

// Detach forgets peer if it is still the seat's connection; the player is
// then away and forfeits if not back within the grace period.
func (s *Seat) Detach(peer Peer) {
	s.p.mu.Lock()
	if s.p.mu.peer == peer {
		s.p.mu.peer = nil
	}
	s.p.mu.Unlock()
}

// Input queues a decoded wire input for the next ticks. An input whose seq
// is not above the last processed one is dropped, and so is one arriving
// while the player's buffer is full; both are counted. in is not retained.
func (s *Seat) Input(in *arbiterv1.Input) {
	r, p := s.room, s.p
	if p.kicked.Load() {
		return
	}
	if in.GetSeq() <= p.lastSeq.Load() {
		r.Stats.InputsStale.Add(1)
		r.total.InputsStale.Add(1)
		p.stale.Add(1)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mu.inbox) == cap(p.mu.inbox) {
		r.Stats.InputsOverflow.Add(1)
		r.total.InputsOverflow.Add(1)
		p.overflow.Add(1)
		return
	}
	p.mu.inbox = append(p.mu.inbox, Input{
		Seq: in.GetSeq(), MoveX: in.GetMoveX(), MoveY: in.GetMoveY(), Buttons: in.GetButtons(),
		AimX: in.GetAimX(), AimY: in.GetAimY(), ViewTick: in.GetViewTick(),
	})
}

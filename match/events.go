package match

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// maxPendingActions bounds the actions a player may have waiting for the
// room goroutine. The room takes them as soon as they arrive, so an honest
// client never has more than a few; beyond it (a flood the transport has
// not closed yet) they are dropped and counted as surplus.
const maxPendingActions = 16

// idleWait bounds how long an event room sleeps with nothing due, so that
// a missed wake-up costs at most this much.
const idleWait = time.Minute

// action is one Action a player sent, waiting for the room goroutine.
type action struct {
	seq      uint32
	payload  []byte    // a copy: the transport's frame is reused
	received time.Time // when Seat.Action took it
}

// eventState is what an event room keeps beside its world. Owned by the
// room goroutine, except wake.
type eventState struct {
	// wake tells the room goroutine that an action arrived or a peer
	// attached or left. Size one: a pending wake-up covers any number.
	wake      chan struct{}
	version   uint32      // of the last State sent: the world's Version then
	awaySince []time.Time // per seat: when its peer was last seen gone; zero while connected
	payload   []byte      // the world's state message, reused
	abandoned bool        // every player stayed away past the grace period
	// saveCtx is the saves' context, re-armed for each while its deadlines
	// do not pass (saveCtx); nil before the first save and after one whose
	// deadline passed.
	saveCtx *saveCtx
	// playerIDs are the players' IDs in seat order, every save's
	// LiveGame.Players: made once, never changed (a store may keep it).
	playerIDs []string
	// stateMsg is the State frame's message, reused for every frame (its
	// State's fields set, encoded, the payload let go); peers is the
	// peers a broadcast sends to, reused.
	stateMsg *arbiterv1.ServerMessage
	state    *arbiterv1.State
	peers    []statePeer
}

// statePeer is a connected player a broadcast sends the State to.
type statePeer struct {
	p    *player
	peer Peer
}

func newEventState(players []*player) *eventState {
	ids := make([]string, len(players))
	for i, p := range players {
		ids[i] = p.id
	}
	state := new(arbiterv1.State)
	return &eventState{
		wake:      make(chan struct{}, 1),
		awaySince: make([]time.Time, len(players)),
		playerIDs: ids,
		stateMsg:  &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_State{State: state}},
		state:     state,
	}
}

// wakeEvents tells an event room's goroutine it has something to look at.
// Safe for concurrent use.
func (r *Room) wakeEvents() {
	select {
	case r.events.wake <- struct{}{}:
	default:
	}
}

// runEvents runs a match whose world changes by actions and deadlines
// (EventWorld), from its start to its end: every player gets the State
// after every change, each action is answered (a State, or Rejected), a
// player away past the grace period forfeits. It returns like Run.
func (r *Room) runEvents(ctx context.Context) error {
	now := r.clock.Now()
	r.ew.Start(now)
	for _, p := range r.players {
		p.mu.Lock()
		p.mu.needState = false // the first State goes to everyone below
		p.mu.Unlock()
	}
	r.broadcastState()
	r.serveEvents(now) // a seat nobody took is away from the start; actions sent before it are due
	timer := r.clock.NewTimer(idleWait)
	defer timer.Stop()
	for {
		if r.events.abandoned {
			r.log.Info("every player stayed away past the grace period; match aborted", "match", r.id)
			r.finish("abandoned", arbiterv1.CloseMatchOver, "the match was abandoned", true)
			return nil
		}
		if reason, over := r.ew.Over(); over {
			r.finish(reason, arbiterv1.CloseMatchOver, "the match is over", false)
			return nil
		}
		timer.Stop()
		timer.Reset(r.nextEventDue(now).Sub(now))
		select {
		case <-ctx.Done():
			r.finish("shutdown", arbiterv1.CloseShutdown, "the server is shutting down", true)
			return ctx.Err()
		case <-r.events.wake:
		case <-timer.C():
		}
		now = r.clock.Now()
		r.serveEvents(now)
	}
}

// nextEventDue returns when the room next has something to do absent
// news: the world's deadline, a grace period running out, or idleWait.
func (r *Room) nextEventDue(now time.Time) time.Time {
	next := now.Add(idleWait)
	if d := r.ew.Deadline(); !d.IsZero() && d.Before(next) {
		next = d
	}
	for i, p := range r.players {
		if since := r.events.awaySince[i]; !since.IsZero() && !p.forfeited.Load() {
			if at := since.Add(r.cfg.Grace); at.Before(next) {
				next = at
			}
		}
	}
	return next
}

// serveEvents does what is due at now: every waiting action, in arrival
// order, each timed at its arrival; the world's deadline; forfeits; and the
// State owed to peers that just attached. Actions that arrived before the
// world's deadline are applied before it is applied (a move that came in
// time counts, even if the room gets to it late).
func (r *Room) serveEvents(now time.Time) {
	type pending struct {
		p    *player
		peer Peer
		a    action
	}
	var todo []pending
	var forfeits []*player
	for i, p := range r.players {
		p.mu.Lock()
		actions := p.mu.actions
		p.mu.actions = nil
		peer, needState := p.mu.peer, p.mu.needState
		p.mu.needState = false
		switch {
		case peer != nil:
			r.events.awaySince[i] = time.Time{}
		case r.events.awaySince[i].IsZero():
			r.events.awaySince[i] = now
		case !p.forfeited.Load() && !now.Before(r.events.awaySince[i].Add(r.cfg.Grace)):
			forfeits = append(forfeits, p)
		}
		p.mu.Unlock()
		if needState && peer != nil {
			r.sendStateNow(p, peer, now)
		}
		for _, a := range actions {
			todo = append(todo, pending{p, peer, a})
		}
	}
	slices.SortStableFunc(todo, func(x, y pending) int { return x.a.received.Compare(y.a.received) })

	for _, t := range todo {
		r.advance(t.a.received) // what fell due before this action arrived
		r.act(t.p, t.peer, t.a, now)
	}
	r.advance(now)
	if len(forfeits) == len(r.players) && !r.overNow() {
		// Every player has been away past the grace period: nobody is
		// left to win, so runEvents aborts the match, unrated, rather
		// than let the seats forfeit one after the other.
		r.events.abandoned = true
		return
	}
	for _, p := range forfeits {
		if r.overNow() {
			break // an earlier forfeit ended the game: nobody else loses it
		}
		p.mu.Lock()
		if p.mu.peer != nil { // back meanwhile
			p.mu.Unlock()
			continue
		}
		// Under p.mu, as the tick rooms do: Attach either admitted the
		// player first or now refuses it.
		p.forfeited.Store(true)
		p.mu.Unlock()
		r.log.Info("player forfeited after the grace period", "match", r.id, "player", p.id)
		r.ew.Forfeit(p.entity, now)
		r.broadcastState()
	}
}

// advance applies the world's deadline if it has passed at t.
func (r *Room) advance(t time.Time) {
	if r.overNow() {
		return
	}
	if d := r.ew.Deadline(); !d.IsZero() && !t.Before(d) && r.ew.Advance(t) {
		r.broadcastState()
	}
}

// overNow reports whether the world has ended (a forfeit earlier in this
// round ended it: no one else forfeits after the game is over).
func (r *Room) overNow() bool {
	_, over := r.ew.Over()
	return over
}

// act applies one action of p's and answers it: every player gets the new
// State if the game changed, the actor a Rejected if the game refused it
// (both, when the game changed before refusing: a clock ran out first),
// or the State again (its last_action_seq moved) if neither.
func (r *Room) act(p *player, peer Peer, a action, now time.Time) {
	if r.overNow() {
		return // the room is ending; MatchEnd follows
	}
	// Timed at its arrival (docs/chess.md: a move is timed when the server
	// receives it), not when the room got to it.
	at := a.received
	if at.After(now) {
		at = now
	}
	changed, rej := r.ew.Act(p.entity, a.payload, at)
	p.lastSeq.Store(a.seq)
	if rej == nil {
		r.Stats.InputsApplied.Add(1)
		r.total.InputsApplied.Add(1)
	}
	switch {
	case changed:
		r.broadcastState()
	case rej == nil && peer != nil:
		r.sendState(p, peer)
	}
	if rej != nil {
		r.Stats.ActionsRejected.Add(1)
		r.total.ActionsRejected.Add(1)
		if peer != nil {
			peer.Send(mustMarshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Rejected{Rejected: &arbiterv1.Rejected{
				Seq: a.seq, Reason: rej.Reason, Message: rej.Message,
			}}}))
		}
	}
	if obs, ok := r.cfg.Observer.(ActionObserver); ok {
		obs.ObserveAction(r.clock.Now().Sub(a.received))
	}
}

// broadcastState saves the game (GameStore) and then sends every connected
// player its state as a new version. Room goroutine only.
//
// The players' frames differ only in their last_action_seq; they are
// encoded one after the other into one buffer, sized for all of them at
// once, and each peer gets its own part of it, capped: no frame changes
// once sent (Peer.Send), and one allocation serves the whole broadcast.
func (r *Room) broadcastState() {
	r.save()
	r.events.version = r.ew.Version()
	r.events.payload = r.ew.AppendState(r.events.payload[:0])
	peers := r.events.peers[:0]
	for _, p := range r.players {
		p.mu.Lock()
		peer := p.mu.peer
		p.mu.Unlock()
		if peer != nil {
			peers = append(peers, statePeer{p, peer})
		}
	}
	if len(peers) > 0 {
		// The largest frame: last_action_seq at its widest.
		most := r.stateFrameSize(math.MaxUint32, r.events.payload)
		buf := make([]byte, 0, len(peers)*most)
		for _, sp := range peers {
			start := len(buf)
			buf = r.appendStateFrame(buf, sp.p.lastSeq.Load(), r.events.payload)
			r.sendFrame(sp.peer, buf[start:len(buf):len(buf)])
		}
	}
	clear(peers) // keep no peer alive until the next broadcast
	r.events.peers = peers
}

// save writes the world to the GameStore, if there is one and the world is
// a Saver, waiting at most saveTimeout: a store that fails costs the game
// its durability, not its progress (the failure is logged and counted).
func (r *Room) save() {
	saver, ok := r.ew.(Saver)
	if r.games == nil || !ok {
		return
	}
	state, err := saver.Save()
	if err == nil {
		ctx := r.events.saveCtx.arm(saveTimeout)
		err = r.games.SaveGame(ctx, LiveGame{MatchID: r.id, Mode: r.mode.Name, Players: r.events.playerIDs,
			Version: r.ew.Version(), State: state, SavedAt: r.clock.Now()})
		r.events.saveCtx = ctx.disarm()
	}
	if err != nil {
		r.Stats.SaveErrors.Add(1)
		r.total.SaveErrors.Add(1)
		if r.saveWarn == nil || r.saveWarn.allow(r.clock.Now()) {
			r.log.Warn("game state not saved; the change is sent anyway (further failures in the next 10 s are only counted)",
				"match", r.id, "version", r.ew.Version(), "failures", r.total.SaveErrors.Load(), "err", err)
		}
	}
}

// sendState sends p's peer the state of the last change, with p's
// last_action_seq. Room goroutine only.
func (r *Room) sendState(p *player, peer Peer) {
	r.sendPayload(p, peer, r.events.payload)
}

// sendStateNow sends a peer that just attached the state of the last
// change as of now, if the world can say it (StateAt: a chess clock has
// run since), else as made.
func (r *Room) sendStateNow(p *player, peer Peer, now time.Time) {
	at, ok := r.ew.(StateAt)
	if !ok {
		r.sendState(p, peer)
		return
	}
	r.sendPayload(p, peer, at.AppendStateAt(nil, now))
}

func (r *Room) sendPayload(p *player, peer Peer, payload []byte) {
	seq := p.lastSeq.Load()
	r.sendFrame(peer, r.appendStateFrame(make([]byte, 0, r.stateFrameSize(seq, payload)), seq, payload))
}

// stateFrameSize is the size of the State frame appendStateFrame encodes.
// Room goroutine only.
func (r *Room) stateFrameSize(lastSeq uint32, payload []byte) int {
	s := r.events.state
	s.Version, s.LastActionSeq, s.Payload = r.events.version, lastSeq, payload
	n := proto.Size(r.events.stateMsg)
	s.Payload = nil
	return n
}

// appendStateFrame appends the State frame of the last change, with
// lastSeq and payload, to dst. Room goroutine only: the message encoded is
// the room's, reused.
func (r *Room) appendStateFrame(dst []byte, lastSeq uint32, payload []byte) []byte {
	s := r.events.state
	s.Version, s.LastActionSeq, s.Payload = r.events.version, lastSeq, payload
	b, err := proto.MarshalOptions{}.MarshalAppend(dst, r.events.stateMsg)
	s.Payload = nil // the room's payload buffer is reused; the message must not hold it
	if err != nil {
		panic(fmt.Sprintf("match: marshal State: %v", err))
	}
	return b
}

// sendFrame sends peer a State frame and counts it.
func (r *Room) sendFrame(peer Peer, frame []byte) {
	peer.Send(frame)
	r.Stats.SnapshotFrames.Add(1)
	r.total.SnapshotFrames.Add(1)
	r.Stats.SnapshotBytes.Add(uint64(len(frame)))
	r.total.SnapshotBytes.Add(uint64(len(frame)))
}

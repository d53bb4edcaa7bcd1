package client

import (
	"fmt"
	"slices"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// maxPendingActions bounds the actions a Client remembers as pending. The
// server answers every action as soon as it arrives, so an honest one
// leaves a handful unanswered at most; past this many the oldest are
// forgotten, so that a server that never answers cannot grow the list
// without bound.
const maxPendingActions = 256

// PendingAction is an action sent and not answered yet: no State's
// last_action_seq and no Rejected has covered its seq.
type PendingAction struct {
	Seq     uint32
	Payload []byte // as sent (a copy of SendAction's); shared: must not be modified
}

// SendAction sends payload, the game's command message encoded (chess: an
// arbiter.chess.v1.Command), as the next action of a game played with
// actions, and returns its seq: one more than the last sent or answered, or
// than the Welcome's last_action_seq (after a page reload) or what Resume
// carried over, so that the server does not ignore it as a replay. The
// action is pending (PendingActions) until the server answers it: with a
// State whose last_action_seq covers it (Options.OnState), or with a
// Rejected (Options.OnRejected). payload is copied.
//
// In the arena it sends nothing and returns ErrWrongGame. Actions go out in
// seq order even when SendAction is called concurrently; the write blocks
// while the socket's send buffer is full. After the connection ends it
// returns ErrClosed.
func (c *Client) SendAction(payload []byte) (uint32, error) {
	if !c.welcome.PlayedWithActions() {
		return 0, ErrWrongGame
	}
	c.send.Lock()
	defer c.send.Unlock()
	select {
	case <-c.done:
		return 0, ErrClosed
	default:
	}

	payload = slices.Clone(payload)
	c.mu.Lock()
	seq := max(c.mu.seq, c.mu.acked) + 1
	c.mu.seq = seq
	if len(c.mu.pending) == maxPendingActions {
		c.mu.pending = slices.Delete(c.mu.pending, 0, 1)
	}
	c.mu.pending = append(c.mu.pending, PendingAction{Seq: seq, Payload: payload})
	c.mu.Unlock()

	s := &c.send
	s.action = arbiterv1.Action{Seq: seq, Payload: payload}
	s.actionKind.Action = &s.action
	s.msg.Kind = &s.actionKind
	b, err := proto.MarshalOptions{}.MarshalAppend(s.buf[:0], &s.msg)
	s.action.Payload = nil // not retained here: it is the pending action's
	if err != nil {
		return seq, fmt.Errorf("client: encode action %d: %w", seq, err)
	}
	s.buf = b
	if err := c.write(gws.OpcodeBinary, b); err != nil {
		return seq, fmt.Errorf("client: send action %d: %w", seq, err)
	}
	return seq, nil
}

// SendActionMessage encodes m, the game's command message, and sends it as
// SendAction does.
func (c *Client) SendActionMessage(m proto.Message) (uint32, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("client: encode action: %w", err)
	}
	return c.SendAction(b)
}

// State returns, in a game played with actions, the State with the highest
// version received — the game's state (its payload, in the game's own
// message) as the server last described it — or nil before the first. A
// State with a lower version than the one kept is ignored (it is late); one
// with the same version replaces it if its last_action_seq is not lower. A
// Client made by Resume keeps the State of the Client it replaced until the
// new connection sends one. It is shared: callers must not modify it.
func (c *Client) State() *arbiterv1.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.state
}

// PendingActions returns the actions sent and not answered yet, in seq
// order (see PendingAction); nil if there are none. A UI may show them as
// in flight. After a Resume, those the server never received are dropped,
// not resent: they were made against a state the game may have left, and
// sending them again (as new actions) is the player's call. The slice is
// the caller's; the payloads are shared.
func (c *Client) PendingActions() []PendingAction {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.mu.pending) == 0 {
		return nil
	}
	return slices.Clone(c.mu.pending)
}

// onActionsWelcome sets the Client up for a game played with actions: the
// seqs continue after the Welcome's last_action_seq, and a resumed Client
// takes over the State and the actions still pending of the one it
// replaces. Called by the reader before it closes welcomed.
func (c *Client) onActionsWelcome() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Continue after every seq the server has seen: the actions of an
	// earlier page (a reload) or connection are not ours to repeat.
	c.mu.seq = max(c.mu.seq, c.welcome.LastActionSeq)
	sd := c.seed
	if sd == nil || sd.entity != c.welcome.Entity {
		return
	}
	c.mu.state, c.mu.acked = sd.state, sd.acked
	for _, p := range sd.pending {
		// The server received those up to last_action_seq and answers
		// them on this connection; the others were lost with the old one.
		if p.Seq > c.mu.acked && p.Seq <= c.welcome.LastActionSeq {
			c.mu.pending = append(c.mu.pending, p)
		}
	}
}

func (c *Client) onState(s *arbiterv1.State) *violation {
	if !c.welcome.PlayedWithActions() {
		return protocolViolation("state in a match of the arena")
	}
	c.mu.Lock()
	if k := c.mu.state; k != nil && (s.GetVersion() < k.GetVersion() ||
		s.GetVersion() == k.GetVersion() && s.GetLastActionSeq() < k.GetLastActionSeq()) {
		c.mu.Unlock()
		return nil // older than the State kept
	}
	c.mu.state = s
	c.ackLocked(s.GetLastActionSeq())
	c.mu.Unlock()
	if f := c.opts.OnState; f != nil {
		f(s)
	}
	return nil
}

func (c *Client) onRejected(r *arbiterv1.Rejected) *violation {
	if !c.welcome.PlayedWithActions() {
		return protocolViolation("rejected in a match of the arena")
	}
	c.mu.Lock()
	c.ackLocked(r.GetSeq())
	c.mu.Unlock()
	if f := c.opts.OnRejected; f != nil {
		f(r)
	}
	return nil
}

// ackLocked records that the server has processed every action up to seq
// (it processes them in seq order): they are no longer pending, and the
// next action's seq is above it. c.mu must be held.
func (c *Client) ackLocked(seq uint32) {
	if seq <= c.mu.acked {
		return
	}
	c.mu.acked = seq
	i := 0
	for i < len(c.mu.pending) && c.mu.pending[i].Seq <= seq {
		i++
	}
	c.mu.pending = slices.Delete(c.mu.pending, 0, i)
}

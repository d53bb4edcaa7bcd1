package match

import (
	"context"
	"errors"
	"maps"
	"time"
)

// ErrKicked: the player was removed from the match for cheating; its join
// token no longer admits.
var ErrKicked = errors.New("match: player was kicked")

// CloseCheat is the close code of a player kicked for cheating (policy).
const CloseCheat = 1008

// AntiCheatEvent records a player the server acted against.
type AntiCheatEvent struct {
	MatchID    string
	PlayerID   string
	Mode       string
	Tick       uint32
	At         time.Time
	Action     string         // "kick"
	Violations map[string]int // rejected inputs by violation name, over the match so far
}

// EventSink stores anti-cheat events. persistence implements it.
type EventSink interface {
	RecordAntiCheat(ctx context.Context, ev AntiCheatEvent) error
}

// eventQueue bounds the anti-cheat events waiting for the store: a room
// never waits for it, and events beyond it are dropped and counted.
const eventQueue = 256

// violationName is the counting key of a rejection: the game's own name for
// it when the error carries one.
func violationName(err error) string {
	var named interface{ Violation() string }
	if errors.As(err, &named) {
		return named.Violation()
	}
	return err.Error()
}

// police reports p's dropped inputs to the world and kicks p if the world
// finds it suspicious. It reports whether p was kicked. Room goroutine only.
func (r *Room) police(p *player) bool {
	ac := r.anticheat
	if p.kicked.Load() {
		return false
	}
	dropped := p.overflow.Swap(0)
	stale := p.stale.Swap(0)
	if dropped > 0 {
		p.violations["input_overflow"] += int(dropped)
	}
	if stale > 0 {
		p.violations["stale_seq"] += int(stale)
	}
	if n := dropped + stale; n > 0 {
		ac.Flood(p.entity, int(n))
	}
	if !ac.Suspicious(p.entity) {
		return false
	}
	r.kick(p)
	return true
}

// kick removes p from the match for cheating: it forfeits, its connection is
// closed with Kick "cheat" and 1008, its token stops admitting, and an event
// is reported. Room goroutine only.
func (r *Room) kick(p *player) {
	p.kicked.Store(true)
	p.forfeit = true
	p.mu.Lock()
	peer := p.mu.peer
	p.mu.peer = nil
	p.mu.inbox = p.mu.inbox[:0]
	p.mu.Unlock()
	if peer != nil {
		peer.Close(CloseCheat, "cheat", "removed from the match for breaking the rules")
	}
	r.Stats.Kicks.Add(1)
	r.total.Kicks.Add(1)
	r.log.Warn("player kicked for cheating", "match", r.id, "player", p.id, "violations", p.violations)
	if r.report != nil {
		r.report(AntiCheatEvent{
			MatchID: r.id, PlayerID: p.id, Mode: r.mode.Name, Tick: r.tick.Load(), At: r.clock.Now(),
			Action: "kick", Violations: maps.Clone(p.violations),
		})
	}
}

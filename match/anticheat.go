package match

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// Errors Seat.Attach returns for a player who may not come back.
var (
	// ErrKicked: the player was removed from the match for cheating; its
	// join token no longer admits.
	ErrKicked = errors.New("match: player was kicked")
	// ErrForfeited: the player stayed away past the grace period and
	// forfeited; a connection it opens is closed with 4001 (forfeited).
	ErrForfeited = errors.New("match: player forfeited")
)

// AntiCheatEvent records a player the server acted against.
type AntiCheatEvent struct {
	MatchID    string
	PlayerID   string
	Mode       string
	Tick       uint32
	At         time.Time
	Action     string         // "kick"
	Violations map[string]int // violations by rule, over the match so far
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

// police hands the frames the transport refused from p to the world's
// score, and kicks p if the world finds it suspicious. It reports whether
// p was kicked. Room goroutine only.
func (r *Room) police(p *player) bool {
	ac := r.anticheat
	if p.kicked.Load() {
		return false
	}
	if p.faulted.Swap(false) {
		p.mu.Lock()
		faults := p.mu.faults
		p.mu.faults = nil
		p.mu.Unlock()
		for rule, n := range faults {
			p.violations[rule] += n
			for range n {
				ac.Report(p.entity, rule)
			}
		}
	}
	if !ac.Suspicious(p.entity) {
		return false
	}
	r.kick(p)
	return true
}

// kick removes p from the match for cheating: it forfeits, its connection is
// closed for arbiterv1.CloseCheat (Kick cheat, 1008) — the message names the
// rules broken and how often —, its token stops admitting, and an event is
// reported. Room goroutine only.
func (r *Room) kick(p *player) {
	p.kicked.Store(true)
	p.forfeited.Store(true)
	p.mu.Lock()
	peer := p.mu.peer
	p.mu.peer = nil
	p.mu.inbox = p.mu.inbox[:0]
	p.mu.Unlock()
	if peer != nil {
		peer.Close(arbiterv1.CloseCheat, KickMessage(p.violations))
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

// KickMessage is the human-readable text of a cheat kick: the rules broken
// and how often, the most frequent first, e.g. "removed for cheating:
// move_length ×7, view_tick ×2".
func KickMessage(violations map[string]int) string {
	rules := slices.SortedFunc(maps.Keys(violations), func(a, b string) int {
		return cmp.Or(cmp.Compare(violations[b], violations[a]), cmp.Compare(a, b))
	})
	var b strings.Builder
	b.WriteString("removed for cheating:")
	for i, rule := range rules {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s ×%d", rule, violations[rule])
	}
	return b.String()
}

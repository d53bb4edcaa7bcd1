package persistence

import (
	"context"
	"fmt"

	"github.com/arbiter-gg/arbiter/match"
)

// MaxAntiCheatEvents bounds the anti-cheat events Memory keeps; the oldest
// go first.
const MaxAntiCheatEvents = 10_000

// RecordAntiCheat implements match.EventSink.
func (m *Memory) RecordAntiCheat(ctx context.Context, ev match.AntiCheatEvent) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("record anti-cheat event for %s: %w", ev.PlayerID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.events = append(m.mu.events, ev)
	if n := len(m.mu.events); n > MaxAntiCheatEvents {
		m.mu.events = append(m.mu.events[:0], m.mu.events[n-MaxAntiCheatEvents:]...)
	}
	return nil
}

// AntiCheatEvents returns the stored events about playerID, oldest first.
func (m *Memory) AntiCheatEvents(ctx context.Context, playerID string) ([]match.AntiCheatEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load anti-cheat events of %s: %w", playerID, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []match.AntiCheatEvent
	for _, ev := range m.mu.events {
		if ev.PlayerID == playerID {
			out = append(out, ev)
		}
	}
	return out, nil
}

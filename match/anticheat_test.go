package match

import (
	"context"
	"sync"
	"testing"
)

type sinkFunc func(AntiCheatEvent)

func (f sinkFunc) RecordAntiCheat(_ context.Context, ev AntiCheatEvent) error { f(ev); return nil }

// TestManagerWritesEvents: events reach the store through Run's writer, the
// ones still queued at shutdown included, and a full queue drops and counts
// instead of blocking the room.
func TestManagerWritesEvents(t *testing.T) {
	var mu sync.Mutex
	var got []string
	block := make(chan struct{})
	m, err := NewManager(Config{Tokens: NewTokens([]byte("k")), Logger: discardLogger(),
		Events: sinkFunc(func(ev AntiCheatEvent) {
			<-block
			mu.Lock()
			got = append(got, ev.PlayerID)
			mu.Unlock()
		})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for i := range eventQueue + 10 { // the writer holds one, the queue the rest
		m.report(AntiCheatEvent{PlayerID: string(rune('a' + i%26))})
	}
	if d := m.EventsDropped.Load(); d < 9 || d > 10 {
		t.Errorf("EventsDropped = %d, want 9 or 10 (queue %d, one in the writer)", d, eventQueue)
	}
	close(block)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if want := eventQueue + 10 - int(m.EventsDropped.Load()); len(got) != want {
		t.Errorf("stored %d events, want %d", len(got), want)
	}
}

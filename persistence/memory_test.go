package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestMemoryPlayers(t *testing.T) {
	ctx := t.Context()
	m := NewMemory()
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := m.CreatePlayer(ctx, "p1", "Ada", created); err != nil {
		t.Fatalf("CreatePlayer(p1) = %v", err)
	}
	if err := m.CreatePlayer(ctx, "p1", "Mallory", created); !errors.Is(err, ErrExists) {
		t.Errorf("CreatePlayer(p1) again = %v, want ErrExists", err)
	}

	tests := []struct {
		give      string
		wantName  string
		wantFound bool
	}{
		{give: "p1", wantName: "Ada", wantFound: true},
		{give: "p2"},
		{give: ""},
	}
	for _, tt := range tests {
		name, found, err := m.PlayerName(ctx, tt.give)
		if err != nil || name != tt.wantName || found != tt.wantFound {
			t.Errorf("PlayerName(%q) = %q, %v, %v; want %q, %v, nil", tt.give, name, found, err, tt.wantName, tt.wantFound)
		}
	}
}

func TestMemoryHonoursContext(t *testing.T) {
	m := NewMemory()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.CreatePlayer(ctx, "p1", "Ada", time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("CreatePlayer(cancelled ctx) = %v, want context.Canceled", err)
	}
	if _, _, err := m.PlayerName(ctx, "p1"); !errors.Is(err, context.Canceled) {
		t.Errorf("PlayerName(cancelled ctx) = %v, want context.Canceled", err)
	}
	if err := m.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping(cancelled ctx) = %v, want context.Canceled", err)
	}
	if err := m.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v, want nil", err)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	ctx := t.Context()
	m := NewMemory()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := m.CreatePlayer(ctx, id, id, time.Time{}); err != nil {
					t.Errorf("CreatePlayer(%s) = %v", id, err)
				}
				if name, found, _ := m.PlayerName(ctx, id); !found || name != id {
					t.Errorf("PlayerName(%s) = %q, %v; want itself, true", id, name, found)
				}
			}
		})
	}
	wg.Wait()
}

package persistence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// ErrExists is returned by CreatePlayer when a player with that ID exists.
var ErrExists = errors.New("persistence: player exists")

// Memory is the in-memory store of the embedded default. It keeps every
// player it is given for the life of the process: nothing is durable and
// nothing is evicted. Safe for concurrent use; no method blocks beyond a
// short lock.
type Memory struct {
	mu struct {
		sync.RWMutex
		players map[string]memPlayer
		ratings map[string]map[string]match.Rating // mode → player → rating
		boards  map[string][]boardEntry            // mode → best first
		results map[string]match.Result            // settled, by match ID
		order   []string                           // settled match IDs, oldest first
		events  []match.AntiCheatEvent             // oldest first, at most MaxAntiCheatEvents
	}
}

type memPlayer struct {
	name    string
	created time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	m := &Memory{}
	m.mu.players = make(map[string]memPlayer)
	m.mu.ratings = make(map[string]map[string]match.Rating)
	m.mu.boards = make(map[string][]boardEntry)
	m.mu.results = make(map[string]match.Result)
	return m
}

// CreatePlayer stores a new player. It fails with ErrExists if the ID is
// taken (the existing player is left alone), or with ctx's error if ctx has
// ended.
func (m *Memory) CreatePlayer(ctx context.Context, id, name string, createdAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create player %s: %w", id, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.mu.players[id]; ok {
		return fmt.Errorf("create player %s: %w", id, ErrExists)
	}
	m.mu.players[id] = memPlayer{name: name, created: createdAt}
	return nil
}

// PlayerName returns a player's name; found is false when there is no such
// player. err is only ever ctx's error.
func (m *Memory) PlayerName(ctx context.Context, id string) (name string, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("load player %s: %w", id, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.mu.players[id]
	return p.name, ok, nil
}

// Ping reports whether the store is reachable, which memory always is. It
// is the readiness check of the embedded default.
func (m *Memory) Ping(ctx context.Context) error {
	return ctx.Err()
}

package persistence

import (
	"context"
	"fmt"
	"sort"

	"github.com/arbiter-gg/arbiter/match"
)

// MaxResults bounds how many settled results Memory keeps for GET
// /v1/matches/{id}; the oldest are forgotten first (their rating changes
// stay). Idempotency of a settlement is guaranteed within that window.
const MaxResults = 100_000

// boardEntry is one line of a mode's leaderboard.
type boardEntry struct {
	rating float64
	player string
}

// before reports whether a ranks above b: higher rating, then lower ID.
func (a boardEntry) before(b boardEntry) bool {
	if a.rating != b.rating {
		return a.rating > b.rating
	}
	return a.player < b.player
}

// SettleMatch implements match.LedgerStore: under one lock it checks that
// the match was not settled, applies the rating changes and stores the
// result.
func (m *Memory) SettleMatch(ctx context.Context, res match.Result, apply func(map[string]match.Rating) (match.Result, map[string]match.Rating)) (match.Result, bool, error) {
	if err := ctx.Err(); err != nil {
		return res, false, fmt.Errorf("settle match %s: %w", res.MatchID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if stored, ok := m.mu.results[res.MatchID]; ok {
		return stored, false, nil
	}
	modeRatings := m.mu.ratings[res.Mode]
	if modeRatings == nil {
		modeRatings = make(map[string]match.Rating)
		m.mu.ratings[res.Mode] = modeRatings
	}
	current := make(map[string]match.Rating, len(res.Players))
	for _, p := range res.Players {
		if r, ok := modeRatings[p.PlayerID]; ok {
			current[p.PlayerID] = r
		}
	}
	settled, updated := apply(current)
	for player, r := range updated {
		if old, ok := modeRatings[player]; ok {
			m.unboardLocked(res.Mode, boardEntry{old.Rating, player})
		}
		modeRatings[player] = r
		m.boardLocked(res.Mode, boardEntry{r.Rating, player})
	}
	m.mu.results[res.MatchID] = settled
	m.mu.order = append(m.mu.order, res.MatchID)
	if len(m.mu.order) > MaxResults {
		delete(m.mu.results, m.mu.order[0])
		m.mu.order = m.mu.order[1:]
	}
	return settled, true, nil
}

func (m *Memory) boardLocked(mode string, e boardEntry) {
	b := m.mu.boards[mode]
	i := sort.Search(len(b), func(i int) bool { return !b[i].before(e) })
	b = append(b, boardEntry{})
	copy(b[i+1:], b[i:])
	b[i] = e
	m.mu.boards[mode] = b
}

func (m *Memory) unboardLocked(mode string, e boardEntry) {
	b := m.mu.boards[mode]
	i := sort.Search(len(b), func(i int) bool { return !b[i].before(e) })
	if i < len(b) && b[i] == e {
		m.mu.boards[mode] = append(b[:i], b[i+1:]...)
	}
}

// Rating returns a player's rating in mode; found is false for a player who
// has not finished a rated match in it.
func (m *Memory) Rating(ctx context.Context, playerID, mode string) (r match.Rating, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return r, false, fmt.Errorf("load rating of %s: %w", playerID, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, found = m.mu.ratings[mode][playerID]
	return r, found, nil
}

// PlayerRatings returns a player's ratings by mode (empty when none).
func (m *Memory) PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load ratings of %s: %w", playerID, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]match.Rating)
	for mode, rs := range m.mu.ratings {
		if r, ok := rs[playerID]; ok {
			out[mode] = r
		}
	}
	return out, nil
}

// Leaderboard returns the top limit players of mode, best first.
func (m *Memory) Leaderboard(ctx context.Context, mode string, limit int) ([]match.LeaderboardEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b := m.mu.boards[mode]
	out := make([]match.LeaderboardEntry, 0, min(limit, len(b)))
	for i, e := range b[:min(limit, len(b))] {
		out = append(out, match.LeaderboardEntry{
			Rank: i + 1, PlayerID: e.player, Name: m.mu.players[e.player].name, Rating: m.mu.ratings[mode][e.player],
		})
	}
	return out, nil
}

// MatchResult returns a settled match's result.
func (m *Memory) MatchResult(ctx context.Context, matchID string) (match.Result, bool, error) {
	if err := ctx.Err(); err != nil {
		return match.Result{}, false, fmt.Errorf("load match %s: %w", matchID, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.mu.results[matchID]
	return r, ok, nil
}

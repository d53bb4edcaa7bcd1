package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
)

// querier is what the readers need of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PlayerName returns a player's name; found is false when there is no such
// player.
func (a *Archive) PlayerName(ctx context.Context, id string) (name string, found bool, err error) {
	err = a.pool.QueryRow(ctx, `SELECT name FROM players WHERE id = $1`, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("load player %s: %w", id, err)
	}
	return name, true, nil
}

// CreatePlayer stores a new player. It fails with an error wrapping
// persistence.ErrExists if the ID is taken, leaving the existing player
// alone, and with a constraint violation if name is empty or longer than
// 32 characters.
func (a *Archive) CreatePlayer(ctx context.Context, id, name string, createdAt time.Time) error {
	tag, err := a.pool.Exec(ctx, `INSERT INTO players (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		id, name, createdAt)
	if err != nil {
		return fmt.Errorf("create player %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("create player %s: %w", id, persistence.ErrExists)
	}
	return nil
}

// ratingColumns are the columns scanned by scanRating, in order.
const ratingColumns = `rating, rd, volatility, games, wins, losses, draws`

func ratingDest(r *match.Rating) []any {
	return []any{&r.Rating, &r.RD, &r.Volatility, &r.Games, &r.Wins, &r.Losses, &r.Draws}
}

// Rating returns a player's rating in mode; found is false for a player who
// has not finished a rated match in it.
func (a *Archive) Rating(ctx context.Context, playerID, mode string) (r match.Rating, found bool, err error) {
	err = a.pool.QueryRow(ctx, `SELECT `+ratingColumns+` FROM ratings WHERE player_id = $1 AND mode = $2`,
		playerID, mode).Scan(ratingDest(&r)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return match.Rating{}, false, nil
	}
	if err != nil {
		return match.Rating{}, false, fmt.Errorf("load rating of %s: %w", playerID, err)
	}
	return r, true, nil
}

// PlayerRatings returns a player's ratings by mode: an empty map when there
// are none.
func (a *Archive) PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error) {
	rows, err := a.pool.Query(ctx, `SELECT mode, `+ratingColumns+` FROM ratings WHERE player_id = $1`, playerID)
	if err != nil {
		return nil, fmt.Errorf("load ratings of %s: %w", playerID, err)
	}
	out := make(map[string]match.Rating)
	var (
		mode string
		r    match.Rating
	)
	_, err = pgx.ForEachRow(rows, append([]any{&mode}, ratingDest(&r)...), func() error {
		out[mode] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load ratings of %s: %w", playerID, err)
	}
	return out, nil
}

// Leaderboard returns the top limit players of mode, best first: higher
// rating first, ties by lower player ID. It is empty, never nil, when the
// mode has no ratings or limit is not positive.
func (a *Archive) Leaderboard(ctx context.Context, mode string, limit int) ([]match.LeaderboardEntry, error) {
	if limit <= 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
		}
		return []match.LeaderboardEntry{}, nil
	}
	rows, err := a.pool.Query(ctx, `SELECT r.player_id, p.name, r.`+ratingColumns+`
FROM ratings r JOIN players p ON p.id = r.player_id
WHERE r.mode = $1
ORDER BY r.rating DESC, r.player_id
LIMIT $2`, mode, limit)
	if err != nil {
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
	}
	out := make([]match.LeaderboardEntry, 0, min(limit, 128))
	var e match.LeaderboardEntry
	_, err = pgx.ForEachRow(rows, append([]any{&e.PlayerID, &e.Name}, ratingDest(&e.Rating)...), func() error {
		e.Rank = len(out) + 1
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s leaderboard: %w", mode, err)
	}
	return out, nil
}

// MatchResult returns a stored match's result, its players in seat order.
func (a *Archive) MatchResult(ctx context.Context, matchID string) (match.Result, bool, error) {
	res, found, err := loadResult(ctx, a.pool, matchID)
	if err != nil {
		return match.Result{}, false, fmt.Errorf("load match %s: %w", matchID, err)
	}
	return res, found, nil
}

// loadResult reads a match and its players in one query.
func loadResult(ctx context.Context, q querier, matchID string) (match.Result, bool, error) {
	rows, err := q.Query(ctx, `SELECT m.mode, m.aborted, m.reason, m.created_at, m.started_at, m.ended_at, m.ticks, m.record::text,
	p.player_id, p.entity, p.score, p.placement, p.forfeit, p.rating_before, p.rating_after
FROM matches m LEFT JOIN match_players p ON p.match_id = m.id
WHERE m.id = $1
ORDER BY p.seat`, matchID)
	if err != nil {
		return match.Result{}, false, err
	}
	res := match.Result{MatchID: matchID}
	var (
		found                bool
		started              pgtype.Timestamptz
		ticks                int64
		player               pgtype.Text
		entity, score        pgtype.Int8
		placement            pgtype.Int4
		forfeit              pgtype.Bool
		ratingBefore, rating pgtype.Float8
		record               pgtype.Text
	)
	_, err = pgx.ForEachRow(rows, []any{&res.Mode, &res.Aborted, &res.Reason, &res.CreatedAt, &started, &res.EndedAt, &ticks, &record,
		&player, &entity, &score, &placement, &forfeit, &ratingBefore, &rating}, func() error {
		found = true
		if !player.Valid {
			return nil // a match without players
		}
		res.Players = append(res.Players, match.PlayerResult{
			PlayerID: player.String, Entity: match.EntityID(entity.Int64), Score: uint32(score.Int64),
			Placement: int(placement.Int32), Forfeit: forfeit.Bool,
			RatingBefore: ratingBefore.Float64, RatingAfter: rating.Float64,
		})
		return nil
	})
	if err != nil {
		return match.Result{}, false, err
	}
	if !found {
		return match.Result{}, false, nil
	}
	if started.Valid {
		res.StartedAt = started.Time
	}
	res.Ticks = uint32(ticks) // the column's check keeps it in range
	if record.Valid {
		res.Record = []byte(record.String)
	}
	return res, true, nil
}

// RecordAntiCheat implements match.EventSink: it stores ev (once: an event
// with the same match, player, tick and action is a duplicate), and a
// placeholder for its player if the archive does not know it yet.
func (a *Archive) RecordAntiCheat(ctx context.Context, ev match.AntiCheatEvent) error {
	if err := a.Write(ctx, persistence.Batch{Events: []match.AntiCheatEvent{ev}}); err != nil {
		return fmt.Errorf("record anti-cheat event for %s: %w", ev.PlayerID, err)
	}
	return nil
}

// AntiCheatEvents returns the stored events about playerID, oldest first;
// nil when there are none.
func (a *Archive) AntiCheatEvents(ctx context.Context, playerID string) ([]match.AntiCheatEvent, error) {
	rows, err := a.pool.Query(ctx, `SELECT match_id, mode, tick, at, action, violations
FROM anticheat_events WHERE player_id = $1 ORDER BY at, id`, playerID)
	if err != nil {
		return nil, fmt.Errorf("load anti-cheat events of %s: %w", playerID, err)
	}
	var (
		out        []match.AntiCheatEvent
		ev         = match.AntiCheatEvent{PlayerID: playerID}
		tick       int64
		violations []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&ev.MatchID, &ev.Mode, &tick, &ev.At, &ev.Action, &violations}, func() error {
		e := ev
		e.Tick = uint32(tick) // the column's check keeps it in range
		if violations != nil {
			if err := json.Unmarshal(violations, &e.Violations); err != nil {
				return fmt.Errorf("decode violations: %w", err)
			}
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load anti-cheat events of %s: %w", playerID, err)
	}
	return out, nil
}

// EachRating calls fn with every stored rating, by mode and then player,
// to warm a cold cache. It holds one connection while it runs; an error
// from fn stops it and is returned.
func (a *Archive) EachRating(ctx context.Context, fn func(playerID, mode string, r match.Rating) error) error {
	rows, err := a.pool.Query(ctx, `SELECT player_id, mode, `+ratingColumns+` FROM ratings ORDER BY mode, player_id`)
	if err != nil {
		return fmt.Errorf("load ratings: %w", err)
	}
	var (
		player, mode string
		r            match.Rating
	)
	_, err = pgx.ForEachRow(rows, append([]any{&player, &mode}, ratingDest(&r)...), func() error {
		return fn(player, mode, r)
	})
	if err != nil {
		return fmt.Errorf("load ratings: %w", err)
	}
	return nil
}

// Counts is how many rows each table of the archive holds.
type Counts struct {
	Players         int64
	Ratings         int64
	Matches         int64
	MatchPlayers    int64
	RatingHistory   int64
	AntiCheatEvents int64
}

// Counts counts the rows of every table, for tests and operators. It reads
// each table whole: slow on a large archive.
func (a *Archive) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := a.pool.QueryRow(ctx, `SELECT
	(SELECT count(*) FROM players),
	(SELECT count(*) FROM ratings),
	(SELECT count(*) FROM matches),
	(SELECT count(*) FROM match_players),
	(SELECT count(*) FROM rating_history),
	(SELECT count(*) FROM anticheat_events)`).Scan(&c.Players, &c.Ratings, &c.Matches, &c.MatchPlayers, &c.RatingHistory, &c.AntiCheatEvents)
	if err != nil {
		return Counts{}, fmt.Errorf("count rows: %w", err)
	}
	return c, nil
}

package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
)

// claimSQL inserts a match's row before anything else of its settlement:
// the primary key makes a concurrent settlement of the same match (or an
// archiver writing it) wait for this transaction, and then find the match
// taken.
const claimSQL = `INSERT INTO matches (id, mode, aborted, reason, created_at, started_at, ended_at, ticks, record)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)
ON CONFLICT (id) DO NOTHING`

// updateMatchSQL rewrites the claimed row when apply changed the result's
// match-level fields.
const updateMatchSQL = `UPDATE matches SET mode = $2, aborted = $3, reason = $4, created_at = $5, started_at = $6, ended_at = $7, ticks = $8, record = $9::text::jsonb
WHERE id = $1`

// lockRatingsSQL takes one transaction advisory lock per (mode, player), in
// the order of its array, which lockKeys sorts. Row locks alone would not
// do: a player's first rating in a mode has no row to lock yet.
const lockRatingsSQL = `SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k`

// currentRatingsSQL reads (and, for writers that take no advisory lock,
// locks) the players' ratings, in player order like every other writer.
const currentRatingsSQL = `SELECT player_id, rating, rd, volatility, games, wins, losses, draws
FROM ratings WHERE mode = $1 AND player_id = ANY($2::text[])
ORDER BY player_id FOR UPDATE`

// SettleMatch implements match.LedgerStore in Postgres, for a server that
// runs without Redis. In one transaction it claims res.MatchID; if the match
// was stored before (settled, or archived by Write) it returns the stored
// result with applied false and does not call apply. Otherwise it locks the
// ratings of res's players in res.Mode (so that settlements sharing a player
// take turns and each sees the one before), calls apply with those that
// exist, and stores what apply returns as Write would, players it has never
// seen getting their ID as their name. The transaction is retried on a
// serialization failure or deadlock, so apply may be called more than once.
func (a *Archive) SettleMatch(ctx context.Context, res match.Result, apply func(map[string]match.Rating) (match.Result, map[string]match.Rating)) (match.Result, bool, error) {
	if err := ctx.Err(); err != nil {
		return res, false, fmt.Errorf("settle match %s: %w", res.MatchID, err)
	}
	var (
		stored  match.Result
		applied bool
	)
	err := a.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, claimSQL, matchArgs(res)...)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if tag.RowsAffected() == 0 {
			r, found, err := loadResult(ctx, tx, res.MatchID)
			if err != nil {
				return err
			}
			if !found {
				return errors.New("claimed by another transaction but not found")
			}
			stored, applied = r, false
			return nil
		}

		current, err := lockRatings(ctx, tx, res)
		if err != nil {
			return err
		}
		settled, updated := apply(current)
		if settled.MatchID != res.MatchID {
			return fmt.Errorf("apply changed the match ID to %q", settled.MatchID)
		}
		rows, err := buildRows(persistence.Batch{Settlements: []persistence.Settlement{{Result: settled, Ratings: updated}}})
		if err != nil {
			return err
		}
		if !sameHeader(res, settled) {
			if _, err := tx.Exec(ctx, updateMatchSQL, matchArgs(settled)...); err != nil {
				return fmt.Errorf("update match: %w", err)
			}
		}
		if err := rows.send(ctx, tx, true); err != nil {
			return err
		}
		stored, applied = settled, true
		return nil
	})
	if err != nil {
		return res, false, fmt.Errorf("settle match %s: %w", res.MatchID, err)
	}
	return stored, applied, nil
}

// lockRatings locks the ratings of res's players in res.Mode and returns
// those that exist.
func lockRatings(ctx context.Context, tx pgx.Tx, res match.Result) (map[string]match.Rating, error) {
	ids := make([]string, 0, len(res.Players))
	for _, p := range res.Players {
		ids = append(ids, p.PlayerID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	var b pgx.Batch
	b.Queue(lockRatingsSQL, lockKeys(res.Mode, ids))
	b.Queue(currentRatingsSQL, res.Mode, ids)
	br := tx.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("lock ratings: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("load ratings: %w", err)
	}
	current := make(map[string]match.Rating, len(ids))
	var (
		id string
		r  match.Rating
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &r.Rating, &r.RD, &r.Volatility, &r.Games, &r.Wins, &r.Losses, &r.Draws}, func() error {
		current[id] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load ratings: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("load ratings: %w", err)
	}
	return current, nil
}

// lockKeys returns the advisory lock keys of players' ratings in mode,
// sorted and without duplicates, so that every settlement takes its locks
// in one global order and none waits on another in a cycle. Two keys that
// collide only make unrelated settlements take turns.
func lockKeys(mode string, players []string) []int64 {
	keys := make([]int64, 0, len(players))
	for _, p := range players {
		h := fnv.New64a()
		h.Write([]byte("arbiter.rating\x00"))
		h.Write([]byte(mode))
		h.Write([]byte{0})
		h.Write([]byte(p))
		keys = append(keys, int64(h.Sum64()))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// matchArgs are the parameters of claimSQL and updateMatchSQL.
func matchArgs(r match.Result) []any {
	return []any{r.MatchID, r.Mode, r.Aborted, r.Reason, r.CreatedAt,
		pgtype.Timestamptz{Time: r.StartedAt, Valid: !r.StartedAt.IsZero()}, r.EndedAt, int64(r.Ticks), recordText(r.Record)}
}

// recordText is a Result.Record as the record column's parameter: text
// that Postgres casts to jsonb (refusing what is not JSON: the settlement
// is then rejected), nil for NULL.
func recordText(rec []byte) *string {
	if rec == nil {
		return nil
	}
	s := string(rec)
	return &s
}

// sameHeader reports whether a and b agree on every field of the matches
// row.
func sameHeader(a, b match.Result) bool {
	return a.MatchID == b.MatchID && a.Mode == b.Mode && a.Aborted == b.Aborted && a.Reason == b.Reason &&
		a.CreatedAt.Equal(b.CreatedAt) && a.StartedAt.Equal(b.StartedAt) && a.EndedAt.Equal(b.EndedAt) &&
		a.Ticks == b.Ticks && bytes.Equal(a.Record, b.Record)
}

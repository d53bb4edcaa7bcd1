package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
)

// Write stores b in one transaction: all of it or, on error, none of it.
// It is idempotent: players are inserted (a name, once stored, is kept; the
// earliest creation time wins), matches, their players, rating history and
// anti-cheat events are inserted unless present, and a rating is replaced
// only by one with more games, so writing b again, or batches that overlap,
// changes nothing. An aborted result stores the match and its players, no
// rating. A player the batch refers to without naming it (an event's, or
// one missing from Settlement.Players) is stored with its ID as its name
// unless it exists. Every table gets one multi-row statement, and all of
// them travel in one round trip: the cost is the database's, about linear
// in the rows written, and a batch of hundreds of settlements amortizes the
// round trips and the commit.
//
// Write may be called concurrently (an archiver may keep several batches in
// flight, in any order); concurrent writers wait for each other only on the
// ratings they share, and the transaction is retried a few times on a
// serialization failure or deadlock.
func (a *Archive) Write(ctx context.Context, b persistence.Batch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write batch: %w", err)
	}
	rows, err := buildRows(b)
	if err != nil {
		return fmt.Errorf("write batch: %w: %w", persistence.ErrRejected, err)
	}
	if rows.empty() {
		return nil
	}
	if err := a.inTx(ctx, func(tx pgx.Tx) error { return rows.send(ctx, tx, false) }); err != nil {
		if rejected(err) {
			return fmt.Errorf("write batch of %d records: %w: %w", b.Len(), persistence.ErrRejected, err)
		}
		return fmt.Errorf("write batch of %d records: %w", b.Len(), err)
	}
	return nil
}

// rejected reports whether err is Postgres refusing the data itself (SQLSTATE
// class 22, data exception, or 23, integrity constraint violation), which
// no retry can mend.
func rejected(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "22") || strings.HasPrefix(pe.Code, "23"))
}

// The statements of a write, one per table, each inserting every row of
// its unnested array parameters. Sorting the rows by key in Go (batchRows)
// makes concurrent writers lock rows in the same order.
const (
	// Named players. The NOT EXISTS filter leaves alone the rows already
	// created no later: the common case, which ON CONFLICT DO UPDATE
	// would still lock (and log) even when its WHERE is false.
	insertPlayersSQL = `INSERT INTO players AS p (id, name, created_at)
SELECT u.id, u.name, u.created_at
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS u (id, name, created_at)
WHERE NOT EXISTS (SELECT 1 FROM players o WHERE o.id = u.id AND o.created_at <= u.created_at)
ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at
WHERE p.created_at > excluded.created_at`

	// Players referred to but not named: a placeholder, only if absent.
	insertStubsSQL = `INSERT INTO players (id, name, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT (id) DO NOTHING`

	// Matches, with their players and rating history: the seats and history
	// of a match go in only if this statement inserted the match, so they
	// need no conflict handling (cheaper than ON CONFLICT's speculative
	// insertion) and a match stored before is left exactly as it was.
	insertMatchesSQL = `WITH new AS (
	INSERT INTO matches (id, mode, aborted, reason, created_at, started_at, ended_at, ticks, record)
	SELECT u.id, u.mode, u.aborted, u.reason, u.created_at, u.started_at, u.ended_at, u.ticks, u.record::jsonb
	FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::int8[], $27::text[])
		AS u (id, mode, aborted, reason, created_at, started_at, ended_at, ticks, record)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
), seats AS (
	INSERT INTO match_players (match_id, seat, player_id, entity, score, placement, forfeit, rating_before, rating_after)
	SELECT * FROM unnest($9::text[], $10::int2[], $11::text[], $12::int8[], $13::int8[], $14::int4[], $15::bool[], $16::float8[], $17::float8[])
		AS u (match_id, seat, player_id, entity, score, placement, forfeit, rating_before, rating_after)
	WHERE u.match_id IN (SELECT id FROM new)
)
INSERT INTO rating_history (match_id, player_id, mode, rating_before, rating_after, rd, volatility, games, recorded_at)
SELECT * FROM unnest($18::text[], $19::text[], $20::text[], $21::float8[], $22::float8[], $23::float8[], $24::float8[], $25::int4[], $26::timestamptz[])
	AS u (match_id, player_id, mode, rating_before, rating_after, rd, volatility, games, recorded_at)
WHERE u.match_id IN (SELECT id FROM new)`

	// The players and rating history of a match SettleMatch has claimed:
	// new for certain.
	insertSeatsSQL = `INSERT INTO match_players (match_id, seat, player_id, entity, score, placement, forfeit, rating_before, rating_after)
SELECT * FROM unnest($1::text[], $2::int2[], $3::text[], $4::int8[], $5::int8[], $6::int4[], $7::bool[], $8::float8[], $9::float8[])`
	insertHistorySQL = `INSERT INTO rating_history (match_id, player_id, mode, rating_before, rating_after, rd, volatility, games, recorded_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::int4[], $9::timestamptz[])`

	// The guard keeps the newest rating: a settlement replayed late, or
	// out of order, has fewer games than the row and changes nothing.
	upsertRatingsSQL = `INSERT INTO ratings AS r (player_id, mode, rating, rd, volatility, games, wins, losses, draws, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int4[], $7::int4[], $8::int4[], $9::int4[], $10::timestamptz[])
ON CONFLICT (player_id, mode) DO UPDATE SET
	rating = excluded.rating, rd = excluded.rd, volatility = excluded.volatility,
	games = excluded.games, wins = excluded.wins, losses = excluded.losses, draws = excluded.draws,
	updated_at = excluded.updated_at
WHERE r.games < excluded.games`

	insertEventsSQL = `INSERT INTO anticheat_events (match_id, player_id, mode, tick, at, action, violations)
SELECT u.match_id, u.player_id, u.mode, u.tick, u.at, u.action, u.violations::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::timestamptz[], $6::text[], $7::text[])
	AS u (match_id, player_id, mode, tick, at, action, violations)
ON CONFLICT (match_id, player_id, tick, action) DO NOTHING`
)

// batchRows is a batch turned into columns, one set per statement: deduped
// where one statement could otherwise touch a row twice, and sorted by key.
type batchRows struct {
	players playerRows // named
	stubs   playerRows // referred to, not named
	matches matchRows
	seats   seatRows
	ratings ratingRows
	history historyRows
	events  eventRows
}

type playerRows struct {
	id, name []string
	created  []time.Time
}

type matchRows struct {
	id, mode, reason []string
	aborted          []bool
	created, ended   []time.Time
	started          []pgtype.Timestamptz // NULL for a match that never started
	ticks            []int64
	record           []*string // the game's record, JSON; nil for NULL
}

type seatRows struct {
	match, player []string
	seat          []int16
	entity, score []int64
	placement     []int32
	forfeit       []bool
	before, after []float64
}

type ratingRows struct {
	player, mode               []string
	rating, rd, volatility     []float64
	games, wins, losses, draws []int32
	updated                    []time.Time
}

type historyRows struct {
	match, player, mode    []string
	before, after, rd, vol []float64
	games                  []int32
	recorded               []time.Time
}

type eventRows struct {
	match, player, mode, action []string
	tick                        []int64
	at                          []time.Time
	violations                  []*string // JSON object; nil for NULL
}

// maxNameLen is the longest name players accept, in characters.
const maxNameLen = 32

// stubName is the name of a player stored before its own record arrives:
// its ID, cut to what the name column accepts.
func stubName(id string) string {
	n := 0
	for i := range id {
		if n == maxNameLen {
			return id[:i]
		}
		n++
	}
	return id
}

// buildRows turns b into statement columns. It fails on what no constraint
// could report clearly: a player twice in one result, or a number that does
// not fit its column.
func buildRows(b persistence.Batch) (*batchRows, error) {
	named := make(map[string]persistence.Player, len(b.Players))
	name := func(p persistence.Player) {
		if old, ok := named[p.ID]; ok && !p.CreatedAt.Before(old.CreatedAt) {
			return
		}
		named[p.ID] = p
	}
	for _, p := range b.Players {
		name(p)
	}
	for _, s := range b.Settlements {
		for _, p := range s.Players {
			name(p)
		}
	}
	referred := make(map[string]time.Time)
	refer := func(id string, at time.Time) {
		if _, ok := named[id]; ok {
			return
		}
		if old, ok := referred[id]; !ok || at.Before(old) {
			referred[id] = at
		}
	}

	r := &batchRows{}
	// Sorted by match, and one settlement per match (the first): a second
	// would be a duplicate of the first, or a conflicting version that the
	// archive ignores like it ignores one arriving in a later batch.
	settlements := slices.Clone(b.Settlements)
	slices.SortStableFunc(settlements, func(x, y persistence.Settlement) int {
		return cmp.Compare(x.Result.MatchID, y.Result.MatchID)
	})
	settlements = slices.CompactFunc(settlements, func(x, y persistence.Settlement) bool {
		return x.Result.MatchID == y.Result.MatchID
	})
	type ratingKey struct{ player, mode string }
	type ratingAt struct {
		r  match.Rating
		at time.Time
	}
	newest := make(map[ratingKey]ratingAt)
	for _, s := range settlements {
		res := s.Result
		if len(res.Players) > math.MaxInt16+1 {
			return nil, fmt.Errorf("match %s: %d players", res.MatchID, len(res.Players))
		}
		r.matches.add(res)
		seated := make(map[string]int, len(res.Players))
		for i, p := range res.Players {
			if _, dup := seated[p.PlayerID]; dup {
				return nil, fmt.Errorf("match %s: player %s is in two seats", res.MatchID, p.PlayerID)
			}
			seated[p.PlayerID] = i
			placement, err := int32Of(p.Placement, "placement")
			if err != nil {
				return nil, fmt.Errorf("match %s: player %s: %w", res.MatchID, p.PlayerID, err)
			}
			r.seats.add(res.MatchID, int16(i), p, placement)
			refer(p.PlayerID, res.CreatedAt)
		}
		if res.Aborted {
			continue // no rating changes, whatever s.Ratings says
		}
		for _, id := range sortedKeys(s.Ratings) {
			rt := s.Ratings[id]
			refer(id, res.CreatedAt)
			k := ratingKey{id, res.Mode}
			if old, ok := newest[k]; !ok || rt.Games > old.r.Games {
				newest[k] = ratingAt{rt, res.EndedAt}
			}
			i, ok := seated[id]
			if !ok {
				continue // rated, but not in the match: no history line to hang it on
			}
			games, err := int32Of(rt.Games, "games")
			if err != nil {
				return nil, fmt.Errorf("match %s: player %s: %w", res.MatchID, id, err)
			}
			p := res.Players[i]
			h := &r.history
			h.match = append(h.match, res.MatchID)
			h.player = append(h.player, id)
			h.mode = append(h.mode, res.Mode)
			h.before = append(h.before, p.RatingBefore)
			h.after = append(h.after, p.RatingAfter)
			h.rd = append(h.rd, rt.RD)
			h.vol = append(h.vol, rt.Volatility)
			h.games = append(h.games, games)
			h.recorded = append(h.recorded, res.EndedAt)
		}
	}

	keys := make([]ratingKey, 0, len(newest))
	for k := range newest {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y ratingKey) int {
		return cmp.Or(cmp.Compare(x.player, y.player), cmp.Compare(x.mode, y.mode))
	})
	for _, k := range keys {
		n := newest[k]
		if err := r.ratings.add(k.player, k.mode, n.r, n.at); err != nil {
			return nil, fmt.Errorf("rating of %s in %s: %w", k.player, k.mode, err)
		}
	}

	events := slices.Clone(b.Events)
	slices.SortStableFunc(events, func(x, y match.AntiCheatEvent) int {
		return cmp.Or(cmp.Compare(x.MatchID, y.MatchID), cmp.Compare(x.PlayerID, y.PlayerID),
			cmp.Compare(x.Tick, y.Tick), cmp.Compare(x.Action, y.Action))
	})
	for _, ev := range events {
		if err := r.events.add(ev); err != nil {
			return nil, fmt.Errorf("anti-cheat event of %s in match %s: %w", ev.PlayerID, ev.MatchID, err)
		}
		refer(ev.PlayerID, ev.At)
	}

	for _, id := range sortedKeys(named) {
		p := named[id]
		r.players.add(p.ID, p.Name, p.CreatedAt)
	}
	for _, id := range sortedKeys(referred) {
		r.stubs.add(id, stubName(id), referred[id])
	}
	return r, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// int32Of converts v for an integer column, refusing what would wrap.
func int32Of(v int, what string) (int32, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%s %d out of range", what, v)
	}
	return int32(v), nil
}

func (p *playerRows) add(id, name string, created time.Time) {
	p.id = append(p.id, id)
	p.name = append(p.name, name)
	p.created = append(p.created, created)
}

func (m *matchRows) add(res match.Result) {
	m.id = append(m.id, res.MatchID)
	m.mode = append(m.mode, res.Mode)
	m.aborted = append(m.aborted, res.Aborted)
	m.reason = append(m.reason, res.Reason)
	m.created = append(m.created, res.CreatedAt)
	m.started = append(m.started, pgtype.Timestamptz{Time: res.StartedAt, Valid: !res.StartedAt.IsZero()})
	m.ended = append(m.ended, res.EndedAt)
	m.ticks = append(m.ticks, int64(res.Ticks))
	m.record = append(m.record, recordText(res.Record))
}

func (s *seatRows) add(matchID string, seat int16, p match.PlayerResult, placement int32) {
	s.match = append(s.match, matchID)
	s.seat = append(s.seat, seat)
	s.player = append(s.player, p.PlayerID)
	s.entity = append(s.entity, int64(p.Entity))
	s.score = append(s.score, int64(p.Score))
	s.placement = append(s.placement, placement)
	s.forfeit = append(s.forfeit, p.Forfeit)
	s.before = append(s.before, p.RatingBefore)
	s.after = append(s.after, p.RatingAfter)
}

func (r *ratingRows) add(player, mode string, rt match.Rating, at time.Time) error {
	var counts [4]int32
	for i, v := range [4]int{rt.Games, rt.Wins, rt.Losses, rt.Draws} {
		n, err := int32Of(v, "count")
		if err != nil {
			return err
		}
		counts[i] = n
	}
	r.player = append(r.player, player)
	r.mode = append(r.mode, mode)
	r.rating = append(r.rating, rt.Rating)
	r.rd = append(r.rd, rt.RD)
	r.volatility = append(r.volatility, rt.Volatility)
	r.games = append(r.games, counts[0])
	r.wins = append(r.wins, counts[1])
	r.losses = append(r.losses, counts[2])
	r.draws = append(r.draws, counts[3])
	r.updated = append(r.updated, at)
	return nil
}

func (e *eventRows) add(ev match.AntiCheatEvent) error {
	var v *string
	if ev.Violations != nil {
		j, err := json.Marshal(ev.Violations)
		if err != nil {
			return fmt.Errorf("encode violations: %w", err)
		}
		s := string(j)
		v = &s
	}
	e.match = append(e.match, ev.MatchID)
	e.player = append(e.player, ev.PlayerID)
	e.mode = append(e.mode, ev.Mode)
	e.tick = append(e.tick, int64(ev.Tick))
	e.at = append(e.at, ev.At)
	e.action = append(e.action, ev.Action)
	e.violations = append(e.violations, v)
	return nil
}

func (r *batchRows) empty() bool {
	return len(r.players.id)+len(r.stubs.id)+len(r.matches.id)+len(r.events.match) == 0
}

// send queues one statement per non-empty table, in foreign-key order, and
// sends them in one round trip on tx. claimed says that the batch is one
// settlement whose match row SettleMatch has inserted in tx: its players and
// history are then inserted unconditionally.
func (r *batchRows) send(ctx context.Context, tx pgx.Tx, claimed bool) error {
	var b pgx.Batch
	var names []string
	queue := func(n int, what, sql string, args ...any) {
		if n > 0 {
			b.Queue(sql, args...)
			names = append(names, what)
		}
	}
	p, st, m, s, rt, h, e := &r.players, &r.stubs, &r.matches, &r.seats, &r.ratings, &r.history, &r.events
	queue(len(p.id), "insert players", insertPlayersSQL, p.id, p.name, p.created)
	queue(len(st.id), "insert placeholder players", insertStubsSQL, st.id, st.name, st.created)
	if claimed {
		queue(len(s.match), "insert match players", insertSeatsSQL, s.match, s.seat, s.player, s.entity, s.score, s.placement, s.forfeit, s.before, s.after)
		queue(len(h.match), "insert rating history", insertHistorySQL, h.match, h.player, h.mode, h.before, h.after, h.rd, h.vol, h.games, h.recorded)
	} else {
		queue(len(m.id), "insert matches", insertMatchesSQL, m.id, m.mode, m.aborted, m.reason, m.created, m.started, m.ended, m.ticks,
			s.match, s.seat, s.player, s.entity, s.score, s.placement, s.forfeit, s.before, s.after,
			h.match, h.player, h.mode, h.before, h.after, h.rd, h.vol, h.games, h.recorded, m.record)
	}
	queue(len(e.match), "insert anti-cheat events", insertEventsSQL, e.match, e.player, e.mode, e.tick, e.at, e.action, e.violations)
	// Ratings last: their row locks are the only ones concurrent writers
	// contend for, so they are held for as short a time as possible.
	queue(len(rt.player), "upsert ratings", upsertRatingsSQL, rt.player, rt.mode, rt.rating, rt.rd, rt.volatility, rt.games, rt.wins, rt.losses, rt.draws, rt.updated)
	if len(names) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &b)
	for _, what := range names {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the statement's error is the one to report
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return br.Close()
}

// maxAttempts bounds how often inTx runs a transaction that keeps failing
// with a serialization failure or deadlock.
const maxAttempts = 5

// inTx runs fn in a transaction and commits it, retrying the whole
// transaction when Postgres reports a serialization failure or deadlock,
// which a retry resolves. fn may run more than once.
func (a *Archive) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, a.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		// Jittered, growing backoff so that the transactions that collided
		// do not collide again in lock step.
		wait := time.Duration(attempt) * (2*time.Millisecond + rand.N(8*time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// retryable reports whether err is a serialization failure or deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

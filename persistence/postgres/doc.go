// Package postgres is Arbiter's durable archive on PostgreSQL (README.md, "State"):
// players, ratings, rating history, matches, match players and anti-cheat
// events.
//
// Open connects a pool, creates the configured schema if it is missing and
// applies the migrations embedded in the binary (migrations/*.sql, run by
// tern, which serializes concurrent migrators with an advisory lock). An
// Archive is safe for concurrent use by multiple goroutines and starts no
// goroutines of its own beyond the pool's; Close releases the pool.
//
// Two ways in:
//
//   - Write stores a persistence.Batch from the write-behind archiver in one
//     transaction, idempotently: writing a batch again, or batches that
//     overlap, changes nothing, and an older settlement never overwrites a
//     newer rating (the row with more games wins).
//   - SettleMatch implements match.LedgerStore directly in Postgres, for a
//     server that runs without Redis: it records each match exactly once,
//     serializing the settlements that share a player.
//
// The readers (PlayerName, Rating, Leaderboard, MatchResult, …) behave like
// persistence.Memory's, so the two can be swapped. The archive must not be
// on any tick's path: callers reach it from the archiver or the REST API,
// never from a room goroutine.
//
// Postgres keeps times to the microsecond; finer parts of a time.Time are
// truncated on the way in. A match's Record (the game's own, JSON) is kept
// as jsonb: it reads back as an equal JSON value, not the same bytes, and
// a record that is not JSON is refused with the rest of its settlement.
package postgres

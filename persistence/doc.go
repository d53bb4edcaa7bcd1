// Package persistence holds Arbiter's stores: where players, ratings, match
// results, anti-cheat events and live state are kept (README.md, "State").
//
// Memory, in this package, is the embedded default: everything in one
// process, nothing durable, no external service. The Redis live store
// (persistence/redis) and the Postgres archive (persistence/postgres)
// satisfy the same small interfaces that their consumers (match, match/api)
// declare; persistence never imports its consumers, and its method
// signatures use only plain values so that it need not.
package persistence

// Package persistence holds Arbiter's stores: where players, ratings, match
// results, anti-cheat events and live state are kept (README.md, "State").
//
// Memory, in this package, is the embedded default: everything in one
// process, nothing durable, no external service. The Redis live store
// (persistence/redis) and the Postgres archive (persistence/postgres)
// satisfy the same small interfaces, which their consumers (match,
// match/api, match/matchmaker) declare; the contract suite
// persistence/storetest runs against each implementation. The stores speak
// in the value types they keep, which match declares (match.Result,
// match.Rating, …), so persistence imports match for those; it never
// imports the transport, the REST API or cmd, and only cmd wires a store to
// its consumers.
package persistence

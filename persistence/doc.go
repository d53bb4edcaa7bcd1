// Package persistence holds Arbiter's stores: where players (and, later,
// ratings, match results and live state) are kept.
//
// Memory is the embedded default: everything in one process, nothing
// durable, no external service. The Redis live store and the Postgres
// archive of SPEC §6 come later and will satisfy the same small interfaces
// that their consumers (match/api and friends) declare; persistence never
// imports its consumers, and its method signatures use only plain values so
// that it need not.
package persistence

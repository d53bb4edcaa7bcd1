// Package rating is the skill-rating math of Arbiter: Elo as docs/rest.md describes
// it (the rating the matchmaker pairs by and the leaderboard shows) and
// Glickman's Glicko-2.
//
// rating is pure. It turns finished-match standings into rating changes and
// does nothing else: it imports only the standard library, starts no
// goroutines, reads no clock, performs no I/O and does not log. It does not
// know about players, modes, stores or protobuf; match decides which numbers to
// feed in and where the results go, and applies each match's update exactly
// once.
//
// Every function is deterministic and safe for concurrent use: the Elo and
// Glicko2 values are read-only configuration, and inputs are never modified.
//
// Placements follow the match result: 1 is best, and equal placements are a
// draw between those players. A match of n players counts as one game between
// every pair of players.
package rating

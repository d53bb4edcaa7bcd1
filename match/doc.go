// Package match runs matches: a Room owns one game world and one goroutine
// that ticks it at a fixed rate, validates and applies player inputs, and
// hands every connected player the same encoded snapshot each tick. A Manager
// is the directory of running rooms: it creates them, admits players holding
// a join token, and reports results when a room ends.
//
// Games plug in through the Game and World interfaces declared here, and
// each declares its modes (Mode: seats, time and score limits, rating
// system) in the GameSpec that cmd registers; match names no game or mode.
// The arena of docs/arena.md lives in match/arena. Transport comes in through the Peer
// interface, which netcode's sessions satisfy: a room never blocks on a
// socket, it only queues frames to peers. match never imports netcode or a
// store; cmd wires them together.
//
// The lifecycle of a room is waiting (players connecting) → running (ticking)
// → ended (results computed, MatchEnd sent, connections closed with 1000).
package match

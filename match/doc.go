// Package match runs matches: a Room owns one game world and one goroutine
// that drives it. A TickWorld (the arena) is ticked at a fixed rate: the
// room validates and applies player inputs and hands every connected player
// the same encoded snapshot each tick — the full message, and for players
// who asked for deltas the shared part of a delta from the previous tick,
// encoded once per room, each player's own acknowledgements passed beside
// it. An EventWorld (chess) changes only
// when a player acts or one of its own deadlines passes: the room applies
// each action as soon as it arrives and sends every player the new State,
// or the actor a Rejected. A Manager
// is the directory of running rooms: it creates them, admits players holding
// a join token (Tokens), settles each result once when a room ends
// (ratings, through its Settler), and records the matches a dead process
// left running (EndOrphans).
//
// Games plug in through the Game, World, TickWorld and EventWorld
// interfaces declared here, and
// each declares its modes (Mode: seats, time and score limits, rating
// system) in the GameSpec that cmd registers; match names no game or mode.
// The arena of docs/arena.md lives in match/arena. Transport comes in through the Peer
// interface, which netcode's sessions satisfy: a room never blocks on a
// socket. Peers take frames without blocking; a snapshot may be written at
// once by one non-blocking write on the room goroutine (so a tick's
// duration includes the fan-out), and anything the socket does not take
// waits in the peer. A tick room also reads its peers that are Pollers
// (netcode's sessions) at the start of every tick, on its goroutine, and
// without blocking: an input is applied only at a tick, so nothing need
// wake for its arrival. Storage comes in through interfaces declared here too
// (Settler and LedgerStore, EventSink, Checkpointer). match never imports
// netcode or a store; cmd wires them together.
//
// The lifecycle of a room is waiting (players connecting, at most
// JoinTimeout) → running → ended. A match that ends by its rules (time
// limit, score limit, every opponent forfeited; an event game's own end)
// has its result
// settled, sends MatchEnd and closes its connections with 1000. One stopped
// by shutdown, or whose game panicked, is recorded as aborted (no rating
// change, no MatchEnd) and closes them with 1001 or 1011; a panic ends only
// its own match.
package match

// Package sim is the arena: the reference game's world state, its rules and
// its fixed-step simulation.
//
// sim is pure and deterministic. It uses integer arithmetic only, so that the
// Go server, the Go client and other clients agree bit for bit; it starts no
// goroutines, reads no clock, performs no I/O and does not log. Time inside
// sim is counted in ticks (Tick); the conversion to wall-clock time happens at
// the edges, in match and netcode. sim imports only the standard library: it
// knows nothing of protobuf, sockets or stores.
//
// # Rules
//
// Movement, combat and lag compensation follow docs/arena.md; durations given there
// in milliseconds become ticks by CooldownTicks (rounded up), RewindTicks
// (rounded down) and RespawnTicks. World.Step documents the order of one
// tick.
//
// # Anti-cheat
//
// Only what no honest client can produce is a violation: a move vector
// longer than MoveTolerance, an aim beyond MaxAim, a view tick the client
// cannot have seen. Everything an honest client on a real network does —
// holding fire through the cooldown, rounding an analog stick, sending
// faster than the tick rate — is absorbed by the rules themselves. Inputs
// reach the world in three steps, all from the room goroutine:
//
//   - Validate(in) checks the stateless rules (move length, aim); the client
//     uses it too, to predict which inputs the server drops.
//   - World.Validate(id, in) adds the view tick. It changes nothing.
//   - World.Accept(id, in) is World.Validate plus accounting: a rejected
//     input adds its weight to the entity's suspicion score, which decays
//     every tick and which the room compares with SuspicionLimit
//     (World.Suspicious) to kick cheaters.
//
// Step then applies at most one command per entity and re-checks every game
// rule itself, so no sequence of commands can move an entity faster or fire
// more often than the rules allow.
//
// A World is not safe for concurrent use; its owner (one match room goroutine)
// is the only caller.
package sim

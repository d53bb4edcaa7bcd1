// Package bench is Arbiter's load generator: the arena benchmark described in
// bench/README.md as a library, driven by cmd/arbiter-bench and by this
// package's tests, the population scenario (RunPopulation): honest
// clients on real networks, and cheaters, and the chess benchmark
// (RunChess): N games at once, 2N bots replaying recorded games with a
// think time before every move, measuring the server's answer to a move,
// a move's way from one bot to the other, and the server's CPU and Redis
// commands per move.
//
// Run plays N bot clients against a running server, through its public
// interfaces only: the REST API (package netcode/client/rest) to create
// guests and queue them in ffa, and the WebSocket protocol (package
// netcode/client) to play. Every request and
// connection goes to Config.BaseURL; the ws_url the matchmaker advertises is
// re-pointed there, so a --public-url behind a proxy does not send the bots
// elsewhere. Run starts nothing that outlives it: it closes every client and
// waits for its goroutines before returning.
//
// A run has three phases:
//
//   - join: each client signs up as a guest, queues an ffa ticket, long-polls
//     it until it is matched (rooms of 10 fill at once when 10 tickets queue
//     together) and connects. A client starts playing as soon as it has
//     connected.
//   - warmup: everyone plays; nothing is recorded.
//   - measure: Duration of play, bracketed by two scrapes of the server's
//     /metrics. The Report describes this window only.
//
// Playing is the workload of bench/README.md: one Input per tick, sent when
// the client library's pacing says it is due (or on a fixed ticker, with
// Config.Unpaced), with an increasing seq and a move vector that turns
// every few ticks, over an emulated link if Config.Link says so. Each bot
// is a whole client.Client (its own socket and reader, prediction,
// pacing, delta snapshots); what the bots share is the sending loop: one
// goroutine per P sends every bot's inputs when they are due (see sender),
// instead of a goroutine and a timer per bot (RunInputs), whose wake-ups
// cost the generator more than the rest of a client's work.
//
// The server must let the generator in. It limits guest sign-ups per IP
// (default 60 a minute, bursts of 20): start it with --guest-rate and
// --guest-burst at least the client count, or Run joins slowly, honouring
// every 429's Retry-After (and waiting out a new ticket's 503, matchmaking
// temporarily unavailable, counted as Unavailable). Its --match-duration
// must outlast the whole run (join, warmup and window): a match that ends
// closes its clients, which the Report counts as Dropped.
//
// Measurement costs the hot path (per snapshot, per input) no allocation:
// send times live in a fixed ring per client indexed by seq, latencies go
// into a fixed-size log-linear histogram with atomic counters, and bytes are
// counted by a wrapper around each socket.
//
// bench must not import server internals (match, netcode, persistence): it
// measures what a client and a Prometheus scraper can see.
package bench

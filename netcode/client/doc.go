// Package client is Arbiter's Go client library: it connects to a match over
// the WebSocket protocol of SPEC §3, sends inputs, and keeps the three views a
// game client needs of a running match. It is used by bots, by tests, and by Go
// game clients.
//
// A session looks like this:
//
//	c, err := client.Dial(ctx, wsURL, client.Options{OnSnapshot: draw})
//	if err != nil { … }         // *HandshakeError for a refused upgrade (e.g. 401)
//	defer c.Close()
//	w := c.Welcome()            // entity, tick rate, match
//	for each frame {
//		c.SendInput(sim.Input{MoveX: 1000})  // assigns seq, predicts, sends
//		me := c.Predicted()                  // own entity, predicted
//		others := c.Interpolated(time.Now()) // everyone else, ~100 ms behind
//	}
//	<-c.Done(); c.CloseError()  // close code, reason and Kick, if any
//
// A player whose connection dropped may come back with the same join token
// until the match ends, and gets its entity back. Resume does that with
// capped exponential backoff and full jitter (Options.Backoff), continuing
// the input seqs and the prediction of the ended Client; it gives up at once
// when coming back is not allowed (match over, replaced by another
// connection, kicked, token refused with 401):
//
//	<-c.Done()
//	if c.CloseError().Resumable() {
//		c, err = client.Resume(ctx, wsURL, c, opts) // the new Client; same entity
//	}
//
// The views:
//
//   - Prediction (Predictor): the client's own entity moves at once, by the
//     same integer rule as the server (sim.Move). Each snapshot carries the
//     highest input seq the server processed; the client rebases on the
//     server's position and replays the inputs the server has not processed
//     yet (rewind and replay), and measures how far its prediction was off.
//   - Interpolation (Interpolator): other entities are shown between two
//     recent snapshots, a fixed delay behind the estimated server tick, so
//     that they move smoothly despite jitter.
//   - The raw last snapshot, for whoever wants the authoritative state.
//
// Predictor and Interpolator are pure (no goroutines, clocks or I/O) and can be
// used on their own. A Client owns exactly one goroutine, the reader, which
// decodes server frames, reconciles, and runs the Options callbacks; Close
// stops it and waits for it. All Client methods are safe for concurrent use.
//
// The package must not import server internals: it speaks only the wire
// protocol (package arbiterv1) and the shared rules (package sim).
package client

// Package client is Arbiter's Go client library: it connects to a match over
// the WebSocket protocol of docs/protocol.md; in the arena it sends inputs at
// the right pace and keeps the three views a game client needs of a running
// match, and in the other games (chess) it sends actions and keeps the
// game's newest state. It is used by bots, by tests, and by Go game clients. The match's ws_url comes from the
// REST API, which package netcode/client/rest calls; tests that need a
// misbehaving client (raw frames, stalled reads) use package
// netcode/client/clienttest.
//
// A session looks like this:
//
//	c, err := client.Dial(ctx, wsURL, client.Options{OnSnapshot: draw})
//	if err != nil { … }         // *HandshakeError for a refused upgrade (e.g. 401)
//	defer c.Close()
//	w := c.Welcome()            // entity, tick rate, match
//	go c.RunInputs(ctx, func() sim.Input {
//		return sim.Input{MoveX: stickX, MoveY: stickY} // the controls, now
//	})                          // one input whenever one is due
//	for each frame {
//		me := c.Predicted()                  // own entity, predicted
//		others := c.Interpolated(time.Now()) // everyone else, ~100 ms behind
//	}
//	<-c.Done(); c.CloseError()  // close code, reason and Kick, if any
//
// A game with its own frame loop checks InputDue every frame instead, and
// sends one input when it is due:
//
//	if c.InputDue(time.Now()) <= 0 {
//		c.SendInput(sim.Input{MoveX: stickX, MoveY: stickY}) // assigns seq, predicts, sends
//	}
//
// A player whose connection dropped may come back with the same join token
// until the match ends, and gets its entity back. Resume does that with
// capped exponential backoff and full jitter (Options.Backoff), continuing
// the input seqs and the prediction of the ended Client; it gives up at once
// when coming back is not allowed (match over, replaced by another
// connection, forfeited, kicked, token refused with 401):
//
//	<-c.Done()
//	if c.CloseError().Resumable() {
//		c, err = client.Resume(ctx, wsURL, c, opts) // the new Client; same entity
//	}
//
// # Games played with actions
//
// The arena is played with inputs and snapshots at the tick rate; every other
// game (Welcome.Game names it; Welcome.PlayedWithActions) with the
// game-neutral envelope of docs/protocol.md, in the game's own messages. The
// Client sends actions, each carrying the game's command (chess: an
// arbiter.chess.v1.Command), and keeps the game's state as the server
// describes it in States (chess: an arbiter.chess.v1.Board):
//
//	c, err := client.Dial(ctx, wsURL, client.Options{
//		OnState:    func(s *arbiterv1.State) { redraw(s.GetPayload()) },
//		OnRejected: func(r *arbiterv1.Rejected) { explain(r.GetReason()) },
//	})
//	…
//	seq, err := c.SendActionMessage(&chessv1.Command{…}) // or SendAction(payload)
//	board := c.State()                                  // the newest State, any time
//	inFlight := c.PendingActions()                      // sent, not yet answered
//
// The server processes each action as soon as it arrives and answers it: a
// State to every player if the game changed, a Rejected to the sender if the
// game refused it (never punished), or the State again. A State's version
// increases with every change; the Client keeps the State with the highest
// version and ignores a late one, so State is always the newest word. An
// action is pending until a State's last_action_seq or a Rejected covers it.
// Nothing is predicted: the game's rules are the server's.
//
// A match accepts only its own kind of message: SendAction in the arena, and
// SendInput or RunInputs in a game played with actions, return ErrWrongGame
// and send nothing (the server would ignore them). The other way round, a
// Snapshot in a game played with actions, or a State or Rejected in the
// arena, is a server breaking the protocol: the Client closes with 1002
// (ErrProtocol). Resume works the same for both kinds of game; in a game
// played with actions it carries over the State and the pending actions the
// server received.
//
// # What clients may and must do
//
// The server never punishes what an honest client on a real network does,
// and the library sees to it that a client using it stays honest:
//
//   - Input seqs start at 1 and strictly increase within a match, across
//     connections too. A fresh Client (a page reload, without Resume)
//     continues after the Welcome's last_input_seq (Welcome.LastInputSeq):
//     the server ignores seqs it has already seen. Action seqs do the same,
//     after last_action_seq (Welcome.LastActionSeq).
//   - Move vectors may be anything: SendInput clamps them to length 1000
//     with sim.ClampMove, the server's own rule, so a game may hand over
//     (1000, 1000) for a diagonal or a rounded analog stick.
//   - The view tick of an input (for lag compensation) is never ahead of
//     the newest snapshot received: a client cannot display the future, and
//     the server counts a view tick ahead of it as cheating.
//   - Inputs go out at the pace the library sets (InputDue, RunInputs): one
//     per server tick, each timed to arrive just before the tick that
//     applies it, with the send period stretched or shrunk by at most
//     MaxDilation to get there — never in bursts; and while too many are
//     unacknowledged (the server or the way there stalled) none goes out
//     until a snapshot acknowledges some, so that a stall does not end in a
//     burst the server drops (see Pacer.Held). Sending at the frame rate
//     instead is not punished, but the server applies one input per tick and
//     drops the surplus (each drop costs a prediction correction), and a
//     flood beyond the transport's frame-rate limit is closed (1008
//     input_flood).
//   - A client that was replaced by another connection (4000), forfeited
//     (away past the grace period, 4001) or kicked (1008 cheat, input_flood)
//     must not reconnect; CloseError.Resumable says so, and Resume refuses.
//     After a shutdown (1001), an idle close (1001), a slow-consumer close or
//     a dropped connection it may. A connection that dropped as its match
//     ended (a link stalled past the server's one-second linger can lose
//     the MatchEnd) resumes into a 401: the match is over, and its result
//     is at GET /v1/matches/{id}.
//
// # The views and the pacing
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
//     The Client asks for delta snapshots (snapshots=delta in the URL;
//     Options.FullSnapshots asks for full ones): the server sends each
//     snapshot as the difference from the last one it wrote to the
//     connection, with this player's acknowledgements only, and the
//     Client rebuilds the whole snapshot (arbiterv1.ApplyDelta) before
//     anything else sees it. OnSnapshot, LastSnapshot and the views get
//     whole snapshots either way; with deltas, other entities'
//     last_input_seq and input_backlog are 0. A delta from anything but
//     the last snapshot is the server breaking the protocol (1002).
//   - Pacing (Pacer): from the own entity's last_input_seq and
//     input_backlog in every snapshot, and the times inputs were sent, the
//     Pacer works out when the next input is due, and holds it back while
//     too many are unacknowledged; PacingStats reports starved ticks,
//     drops, the backlog, the lead (how long before its tick's snapshot
//     arrives an input goes out), the current dilation, and the inputs in
//     flight, the limit and how many were held back.
//
// In a game played with actions there are no such views: no snapshots, no
// prediction, no pacing (Predicted and Interpolated stay empty).
//
// Predictor, Interpolator and Pacer are pure (no goroutines, clocks or I/O)
// and can be used on their own. A Client owns exactly one goroutine, the
// reader, which decodes server frames, reconciles, feeds the Pacer, and runs
// the Options callbacks; Close stops it and waits for it. RunInputs runs on
// its caller's goroutine. All Client methods are safe for concurrent use.
//
// The package must not import server internals: it speaks only the wire
// protocol (package arbiterv1) and the shared rules (package sim).
package client

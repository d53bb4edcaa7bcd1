// Package matchmaker turns players' requests to play into matches.
//
// A player asks for a mode with Enqueue and gets a Ticket; the ticket stays
// searching until the matchmaker forms a group for it, when it becomes
// matched and carries the match ID and the join token for the WebSocket, or
// until the player cancels it or it expires. Clients follow a ticket with
// Ticket (a snapshot) or Wait (a long-poll).
//
// Pairing is by rating (docs/rest.md). Each mode has its own queue, and each
// ticket carries the player's rating in that mode, looked up once by Enqueue
// through Config.Rating. A ticket accepts a rating gap — its Window — that
// starts narrow and widens the longer it searches; two tickets are
// compatible when the gap between them is within both windows. The oldest
// ticket is served first and gets the compatible tickets closest in rating
// (ties: the older). A group of a mode with more seats (ffa) is compatible
// pair by pair; it starts when full, or, once its oldest ticket has searched
// for the mode's FillWait, with at least its MinPlayers. A queue is kept
// both in arrival order and sorted by rating, so that a pairing cycle costs
// O(n log n) at worst, and far less when few tickets are new.
//
// One goroutine, Run, does all the pairing: it is woken by enqueues, by
// the pool's changes and by a timer (the next instant a window widens
// enough to matter, ffa's wait for a fuller group, ticket expiry,
// housekeeping), asks a Starter (the match manager) to start each group,
// and hands out the join tokens. Everything else — the REST handlers of
// match/api — only enqueues, cancels and reads, so the pairing policy never
// races with itself.
//
// The matchmaker remembers which players are in a match that has not ended
// and refuses them a second ticket; cmd must route every match result to
// MatchEnded.
//
// # The pool
//
// Tickets live in a Pool (the contract is in pool.go; pooltest checks an
// implementation against it). The embedded default is a MemoryPool of the
// Matchmaker's own, which tells Run of every change, so pairing is
// immediate; with persistence/redis's Pool, every server on the same Redis
// shares the queues, and pairing is atomic across them. Both run the same
// code:
//
//   - Enqueue publishes the ticket to the pool, which holds each player's
//     one live ticket or match for all servers (ErrConflict across
//     servers).
//   - Run keeps a mirror of the queue, fed by the pool's log of changes
//     (read at once when the pool is a Notifier, else every PoolPoll; a
//     server that fell behind the log reloads the whole queue), and pairs
//     it with the policy above.
//   - Before it starts a group, Run claims its tickets in the pool: all of
//     them, if all are still searching, or none. Only the claimer starts
//     the match (Starter.Create), signs the join tokens, and seats the
//     tickets in the pool with its advertised URL (Config.Server). A
//     ticket is thus in at most one match, whatever the servers do
//     concurrently.
//   - Every server sees the same queue, so each would form the same
//     groups: a group is claimed by the server of its newest ticket (the
//     one whose arrival usually completed it), and the others leave it to
//     that server for StealAfter before they claim it themselves.
//   - The server a ticket was queued on learns from the log that another
//     server seated it and finishes it there: Wait returns, and
//     Ticket.Server names the server to connect to. Cancel and expiry go
//     through the pool, atomically against claims; a claimed ticket cannot
//     be cancelled (ErrMatched).
//   - Ticket, Wait and Cancel also work for tickets queued on another
//     server (a load balancer may send a client anywhere): they read the
//     pool.
//   - Each Matchmaker beats a heartbeat in the pool; the tickets of one
//     that stopped (crashed or shut down) are expired by the others rather
//     than paired, and its players may queue again at once.
//   - If the pool fails, Enqueue answers ErrUnavailable and Run logs once,
//     backs off (up to 5 s) and retries; what failed midway (a release, a
//     seat, freeing players) is retried. Matches already started carry on.
//
// Finished tickets are kept only as long as a client needs to read them
// (Config.Retention; a matched one while its join token is valid), and at
// most Config.KeepPerPlayer per player.
package matchmaker

// Package matchmaker turns players' requests to play into matches.
//
// A player asks for a mode with Enqueue and gets a Ticket; the ticket stays
// searching until the matchmaker forms a group for it, when it becomes
// matched and carries the match ID and the join token for the WebSocket, or
// until the player cancels it or it expires. Clients follow a ticket with
// Ticket (a snapshot) or Wait (a long-poll).
//
// Pairing is by rating (SPEC §5). Each mode has its own queue, and each
// ticket carries the player's rating in that mode, looked up once by Enqueue
// through Config.Rating. A ticket accepts a rating gap — its Window — that
// starts narrow and widens the longer it searches; two tickets are
// compatible when the gap between them is within both windows. The oldest
// ticket is served first and gets the compatible tickets closest in rating
// (ties: the older). A group of a mode with more seats (ffa) is compatible
// pair by pair; it starts when full, or, once its oldest ticket has searched
// for Config.FFAWait, with at least the mode's MinPlayers. A queue is kept
// both in arrival order and sorted by rating, so that a pairing cycle costs
// O(n log n) at worst, and far less when few tickets are new.
//
// One goroutine, Run, does all the pairing: it is woken by enqueues and by a
// timer (the next instant a window widens enough to matter, ffa's wait for a
// fuller group, ticket expiry, housekeeping), asks a Starter (the match
// manager) to start each group, and hands out the join tokens. Everything
// else — the REST handlers of match/api — only enqueues and reads under the
// matchmaker's lock, so the pairing policy never races with itself; a
// pairing cycle holds the lock (about 30 ms for 100,000 new tickets).
//
// The matchmaker remembers which players are in a match that has not ended
// and refuses them a second ticket; cmd must route every match result to
// MatchEnded. It never talks to a store or the network.
package matchmaker

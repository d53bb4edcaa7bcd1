// Package rest is a Go client of Arbiter's REST API (docs/rest.md): sign
// up, find a match through a matchmaking ticket, and read players,
// matches and leaderboards. Beside it, package netcode/client plays the
// match the ticket leads to.
//
//	api, err := rest.New("https://play.example.com", rest.Options{})
//	g, err := api.CreateGuest(ctx, "alice")
//	me := api.WithToken(g.Token)
//	t, err := me.CreateTicket(ctx, "duel")
//	t, err = me.AwaitTicket(ctx, t.TicketID) // long-polls until matched (or cancelled, expired)
//	if t.Status == rest.TicketMatched {
//		c, err := client.Dial(ctx, t.WSURL, client.Options{})
//		…
//	}
//
// The wire types (Guest, Ticket, Match, …) are the API's JSON shapes; a
// test on the server's side holds them against its real answers. Answers
// other than the expected status are *Error values carrying the HTTP
// status and the API's error code and message; StatusCode reads the status
// off any error.
//
// A Client is safe for concurrent use and starts nothing: every method is
// one request (AwaitTicket and throttled retries a few in turn) on the
// caller's goroutine, bounded by its ctx.
//
// The package must not import the server (match, netcode, persistence) or
// anything outside the standard library, so that a game or a bot links only
// the client.
package rest

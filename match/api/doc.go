// Package api serves Arbiter's REST API (docs/rest.md) as one http.Handler:
// guest sign-up, matchmaking tickets with long-polling, player profiles with
// ratings, matches, leaderboards, the liveness and readiness probes, and its
// own OpenAPI description at GET /v1/openapi.json.
//
// Every response body is JSON, errors included, always in the shape
// {"error":{"code":"…","message":"…"}} with a status that means what it
// says. Requests are authenticated with the bearer tokens that guest
// sign-up hands out (match.Tokens), except sign-up itself, the OpenAPI
// document and the probes. A ticket of another player's is reported as not
// found, never as forbidden, so that IDs reveal nothing. Profiles, matches
// and leaderboards are public to every signed-in player: a match can be
// looked at by anyone, not only by those who played in it.
//
// Browsers are held to an origin policy (Origins, origins.go): a request
// whose Origin header names a page that is neither listed nor the server's
// own is refused with 403 before it is routed, and a listed page gets the
// CORS headers it needs (cors.go). Requests without an Origin, from
// programs that are not browsers, are not concerned. cmd hands the same
// policy to the game WebSockets.
//
// The routes are one table (routes.go) that New registers and that a test
// checks openapi.json against; a new route goes in both.
//
// The package holds no state of its own beyond two rate limiters: sign-ups
// per client IP, and requests per authenticated player over every bearer
// route (a long-poll counts once). Matchmaking belongs to the Matchmaker,
// players to the Players store, ratings to a RatingsReader and matches to a
// MatchReader, all interfaces declared here and wired by cmd. Handlers
// never panic the process: a panic is logged and answered with 500. The
// longest request is a ticket long-poll of at most 30 s, so the
// http.Server's WriteTimeout must be longer than that.
package api

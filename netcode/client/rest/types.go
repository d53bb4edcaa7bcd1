package rest

import (
	"encoding/json"
	"time"
)

// The JSON shapes of the REST API, field for field as docs/rest.md and the
// server's OpenAPI document (GET /v1/openapi.json) describe them. A test on
// the server's side (match/api) decodes real answers into these types with
// unknown fields refused, so the two cannot drift apart unnoticed.

// GuestRequest is the body of POST /v1/auth/guest.
type GuestRequest struct {
	Name string `json:"name"` // 1 to 32 printable characters, not all blank
}

// Guest is the answer to POST /v1/auth/guest: a new player and its bearer
// token, which every other route wants (see Client.WithToken).
type Guest struct {
	PlayerID string `json:"player_id"`
	Token    string `json:"token"`
}

// Rating is a player's rating in one mode. Every rating number is rounded
// to 2 decimals; Volatility to 6.
type Rating struct {
	Rating     float64 `json:"rating"`
	RD         float64 `json:"rd,omitempty"`         // Glicko-2 modes only
	Volatility float64 `json:"volatility,omitempty"` // Glicko-2 modes only
	Games      int     `json:"games"`
	Wins       int     `json:"wins"`
	Losses     int     `json:"losses"`
	Draws      int     `json:"draws"`
}

// Player is the answer to GET /v1/players/{id}.
type Player struct {
	PlayerID string            `json:"player_id"`
	Name     string            `json:"name"`
	Ratings  map[string]Rating `json:"ratings"` // by mode; empty if none
}

// TicketRequest is the body of POST /v1/matchmaking/tickets.
type TicketRequest struct {
	Mode string `json:"mode"` // "duel", "ffa", …
}

// TicketStatus is where a matchmaking ticket stands.
type TicketStatus string

// Ticket statuses. Only TicketSearching changes; the others are final.
const (
	TicketSearching TicketStatus = "searching"
	TicketMatched   TicketStatus = "matched"
	TicketCancelled TicketStatus = "cancelled"
	TicketExpired   TicketStatus = "expired" // searched too long (10 minutes)
)

// Ticket is a matchmaking ticket, as POST /v1/matchmaking/tickets and
// GET /v1/matchmaking/tickets/{id} answer it. MatchID, WSURL and JoinToken
// are set once it is matched.
type Ticket struct {
	TicketID string       `json:"ticket_id"`
	Status   TicketStatus `json:"status"`
	MatchID  string       `json:"match_id,omitempty"`
	// WSURL is the absolute WebSocket URL of the match, join token
	// included: what netcode/client.Dial wants.
	WSURL     string `json:"ws_url,omitempty"`
	JoinToken string `json:"join_token,omitempty"`
}

// MatchStatus is where a match stands.
type MatchStatus string

// Match statuses.
const (
	MatchWaiting MatchStatus = "waiting" // created, players connecting
	MatchRunning MatchStatus = "running"
	MatchEnded   MatchStatus = "ended"
	MatchAborted MatchStatus = "aborted" // stopped by shutdown or failure; rates no one
)

// Match is the answer to GET /v1/matches/{id}.
type Match struct {
	MatchID   string      `json:"match_id"`
	Mode      string      `json:"mode"`
	Status    MatchStatus `json:"status"`
	Players   []string    `json:"players"` // player IDs in seat order
	CreatedAt time.Time   `json:"created_at"`
	// Result is set once the match has ended or was aborted.
	Result *Result `json:"result,omitempty"`
	// Record is the game's own record of the ended match, as the game
	// wrote it: for chess {"moves":[UCI…],"pgn":"…","fen":"…"}. Absent for
	// a game that keeps none (the arena) and while the match runs.
	Record json.RawMessage `json:"record,omitempty"`
	// WSURL and JoinToken are where and with what the caller connects to
	// the match while it runs, given only to its players: the way back in
	// after a reload, or after the server that ran it was lost and a peer
	// resumed it.
	WSURL     string `json:"ws_url,omitempty"`
	JoinToken string `json:"join_token,omitempty"`
}

// Result is how a match ended.
type Result struct {
	Reason  string         `json:"reason"` // "score_limit", "time_limit", "forfeit", "shutdown", …
	EndedAt time.Time      `json:"ended_at"`
	Players []PlayerResult `json:"players"` // in seat order
}

// PlayerResult is one player's part of a Result.
type PlayerResult struct {
	PlayerID  string `json:"player_id"`
	Score     uint32 `json:"score"`
	Placement int    `json:"placement"` // 1 is first; ties share a placement
	Forfeit   bool   `json:"forfeit"`
	// RatingBefore and RatingAfter are nil until the result is rated, and
	// for an aborted match, which changes no rating.
	RatingBefore *float64 `json:"rating_before,omitempty"`
	RatingAfter  *float64 `json:"rating_after,omitempty"`
}

// Leaderboard is the answer to GET /v1/leaderboard/{mode}.
type Leaderboard struct {
	Mode    string             `json:"mode"`
	Entries []LeaderboardEntry `json:"entries"` // best first; empty if none
}

// LeaderboardEntry is one line of a Leaderboard.
type LeaderboardEntry struct {
	Rank     int     `json:"rank"` // 1-based
	PlayerID string  `json:"player_id"`
	Name     string  `json:"name"`
	Rating   float64 `json:"rating"`
	Games    int     `json:"games"`
	Wins     int     `json:"wins"`
	Losses   int     `json:"losses"`
	Draws    int     `json:"draws"`
}

// ErrorBody is the body of every error answer. Client methods return it
// as an *Error.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is what went wrong.
type ErrorDetail struct {
	Code    string `json:"code"`    // stable and lowercase, for programs: "not_found", "conflict", …
	Message string `json:"message"` // for humans
}

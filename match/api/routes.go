package api

import "net/http"

// route is one line of the route table: New registers exactly these, and
// TestOpenAPI checks openapi.json against them.
type route struct {
	method string
	path   string // an http.ServeMux path; its {wildcards} are OpenAPI's path parameters
	status int    // the status of success, which openapi.json must document
	// Exactly one of public and player is set: public for a route open to
	// anyone, player for one that requires a bearer token (and counts
	// against its player's rate limit).
	public http.HandlerFunc
	player authedFunc
}

func (rt route) authed() bool { return rt.player != nil }

// routes is the route table.
func (s *Server) routes() []route {
	return []route{
		{method: "POST", path: "/v1/auth/guest", status: http.StatusCreated, public: s.createGuest},
		{method: "GET", path: "/v1/players/{id}", status: http.StatusOK, player: s.getPlayer},
		{method: "POST", path: "/v1/matchmaking/tickets", status: http.StatusCreated, player: s.createTicket},
		{method: "GET", path: "/v1/matchmaking/tickets/{id}", status: http.StatusOK, player: s.getTicket},
		{method: "DELETE", path: "/v1/matchmaking/tickets/{id}", status: http.StatusNoContent, player: s.deleteTicket},
		{method: "GET", path: "/v1/matches/{id}", status: http.StatusOK, player: s.getMatch},
		{method: "GET", path: "/v1/leaderboard/{mode}", status: http.StatusOK, player: s.getLeaderboard},
		{method: "GET", path: "/v1/openapi.json", status: http.StatusOK, public: serveOpenAPI},
		{method: "GET", path: "/healthz", status: http.StatusOK, public: s.healthz},
		{method: "GET", path: "/readyz", status: http.StatusOK, public: s.readyz},
	}
}

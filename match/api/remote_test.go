package api_test

import (
	"cmp"
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
)

// hostedElsewhere is a Matchmaker whose one ticket is matched in a match
// that the server Server runs.
type hostedElsewhere struct {
	ticket matchmaker.Ticket
}

func (h hostedElsewhere) Mode(string) (match.Mode, bool) { return match.Mode{}, false }
func (h hostedElsewhere) Enqueue(context.Context, string, string) (matchmaker.Ticket, error) {
	return matchmaker.Ticket{}, matchmaker.ErrClosed
}
func (h hostedElsewhere) Ticket(context.Context, string, string) (matchmaker.Ticket, error) {
	return h.ticket, nil
}
func (h hostedElsewhere) Wait(context.Context, string, string) (matchmaker.Ticket, error) {
	return h.ticket, nil
}
func (h hostedElsewhere) Cancel(context.Context, string, string) error { return matchmaker.ErrMatched }

// TestWSURLOfAnotherServer: a ticket matched in a match that another
// server runs gets a ws_url on that server's advertised base.
func TestWSURLOfAnotherServer(t *testing.T) {
	tests := []struct {
		giveServer string
		want       string // before "/v1/play?token="
	}{
		{giveServer: "", want: "wss://one.example.com"},
		{giveServer: "http://10.0.0.2:8080", want: "ws://10.0.0.2:8080"},
		{giveServer: "https://eu2.example.com/arbiter/", want: "wss://eu2.example.com/arbiter"},
		{giveServer: "not a url", want: "wss://one.example.com"}, // logged; the best this server can do
	}
	for _, tt := range tests {
		t.Run(tt.giveServer, func(t *testing.T) {
			tk := matchmaker.Ticket{ID: "t1", PlayerID: "p", Mode: "duel", Status: matchmaker.StatusMatched,
				MatchID: "m1", JoinToken: "join.token", Server: tt.giveServer}
			srv, err := api.New(api.Config{PublicURL: "https://one.example.com", Logger: quietLogger()}, hostedElsewhere{tk}, &fakePlayers{}, testTokens)
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/v1/matchmaking/tickets/t1", "/v1/matchmaking/tickets/t1?wait=5s"} {
				req := httptest.NewRequest("GET", "http://one.example.com"+path, nil)
				req.Header.Set("Authorization", "Bearer "+testTokens.Player("p", time.Now().Add(time.Hour)))
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				var got ticketJSON
				decodeInto(t, rec.Body.Bytes(), &got)
				if want := tt.want + "/v1/play?token=" + url.QueryEscape(tk.JoinToken); got.WSURL != want {
					t.Errorf("GET %s: ws_url = %q, want %q", path, got.WSURL, want)
				}
			}
		})
	}
}

// TestMatchWSURL: GET /v1/matches/{id} gives a player of a running match
// where to connect to it now — here, or on the peer that runs it — with a
// join token of their own; nobody else, and nobody once it has ended. A
// matched ticket whose match has moved points to the match's new server.
func TestMatchWSURL(t *testing.T) {
	created := time.Now()
	tests := []struct {
		name    string
		give    match.Summary
		caller  string
		wantURL string // before "/v1/play?token="; "" for none
	}{
		{"running here", match.Summary{Status: match.StatusRunning, Players: []string{"p", "q"}}, "p", "wss://one.example.com"},
		{"waiting here", match.Summary{Status: match.StatusWaiting, Players: []string{"p", "q"}}, "q", "wss://one.example.com"},
		{"not a player", match.Summary{Status: match.StatusRunning, Players: []string{"p", "q"}}, "r", ""},
		{"ended", match.Summary{Status: match.StatusEnded, Players: []string{"p", "q"}}, "p", ""},
		{"on a peer", match.Summary{Status: match.StatusRunning, Players: []string{"p", "q"}, Remote: true, Server: "http://10.0.0.2:8080"}, "p", "ws://10.0.0.2:8080"},
		{"on a peer with no URL", match.Summary{Status: match.StatusRunning, Players: []string{"p", "q"}, Remote: true}, "p", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.give
			m.MatchID, m.Mode, m.CreatedAt = "m1", "duel", created
			tk := matchmaker.Ticket{ID: "t1", PlayerID: tt.caller, Mode: "duel", Status: matchmaker.StatusMatched,
				MatchID: "m1", JoinToken: "ticket.token", Server: "http://dead.example.com"}
			srv, err := api.New(api.Config{PublicURL: "https://one.example.com", Logger: quietLogger(),
				Matches: &fakeMatches{matches: map[string]match.Summary{"m1": m}}}, hostedElsewhere{tk}, &fakePlayers{}, testTokens)
			if err != nil {
				t.Fatal(err)
			}
			get := func(path string, into any) {
				req := httptest.NewRequest("GET", "http://one.example.com"+path, nil)
				req.Header.Set("Authorization", "Bearer "+testTokens.Player(tt.caller, time.Now().Add(time.Hour)))
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
				}
				decodeInto(t, rec.Body.Bytes(), into)
			}
			var got rest.Match
			get("/v1/matches/m1", &got)
			if tt.wantURL == "" {
				if got.WSURL != "" || got.JoinToken != "" {
					t.Errorf("ws_url, join_token = %q, %q; want none", got.WSURL, got.JoinToken)
				}
			} else {
				claims, err := testTokens.VerifyJoin(got.JoinToken)
				if err != nil || claims.PlayerID != tt.caller || claims.MatchID != "m1" {
					t.Errorf("join_token claims %+v, %v; want %s in m1", claims, err, tt.caller)
				}
				if want := tt.wantURL + "/v1/play?token=" + url.QueryEscape(got.JoinToken); got.WSURL != want {
					t.Errorf("ws_url = %q, want %q", got.WSURL, want)
				}
			}
			// The ticket: its own token, on the match's server now if
			// the match is known to run somewhere, else where it was
			// matched.
			var tkGot ticketJSON
			get("/v1/matchmaking/tickets/t1", &tkGot)
			wantTicket := "ws://dead.example.com"
			if m.Live() && (!m.Remote || m.Server != "") {
				wantTicket = cmp.Or(tt.wantURL, "wss://one.example.com")
			}
			if want := wantTicket + "/v1/play?token=ticket.token"; tkGot.WSURL != want {
				t.Errorf("ticket ws_url = %q, want %q", tkGot.WSURL, want)
			}
		})
	}
}

package api_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
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

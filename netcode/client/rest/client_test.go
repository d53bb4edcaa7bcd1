package rest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// handlerTransport serves requests with a handler in memory, on the
// caller's goroutine: no sockets, so that synctest can run the Client's
// waits on its fake clock.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// sent is what a fake server received.
type sent struct {
	Method, Path, Query, Auth, ContentType, Body string
}

// fakeAPI answers every request with status and body, and records what it
// received.
type fakeAPI struct {
	mu     sync.Mutex
	got    []sent
	answer func(n int, r *http.Request) (status int, header http.Header, body string) // n counts from 0
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b []byte
	if r.Body != nil { // a client's request, not a server's: no body is nil
		b, _ = io.ReadAll(r.Body)
	}
	f.mu.Lock()
	n := len(f.got)
	f.got = append(f.got, sent{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
	f.mu.Unlock()
	status, h, body := f.answer(n, r)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeAPI) requests() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.got...)
}

func newFake(t *testing.T, f *fakeAPI, opts Options) *Client {
	t.Helper()
	opts.HTTPClient = &http.Client{Transport: handlerTransport{f}}
	c, err := New("http://game.test:8080/prefix/", opts)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return c
}

func TestNew(t *testing.T) {
	tests := []struct {
		give    string
		want    string // BaseURL; "" for an error
		wantErr bool
	}{
		{give: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{give: "https://play.example.com/", want: "https://play.example.com"},
		{give: "http://h/arbiter/?x=1#f", want: "http://h/arbiter"},
		{give: "ws://h:8080", wantErr: true},
		{give: "127.0.0.1:8080", wantErr: true},
		{give: "http://", wantErr: true},
		{give: "http://u:p@h", wantErr: true},
		{give: "://", wantErr: true},
	}
	for _, tt := range tests {
		c, err := New(tt.give, Options{})
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("New(%q) = %v, want an error", tt.give, c.BaseURL())
		case !tt.wantErr && err != nil:
			t.Errorf("New(%q) = %v, want %s", tt.give, err, tt.want)
		case !tt.wantErr && c.BaseURL().String() != tt.want:
			t.Errorf("New(%q).BaseURL() = %s, want %s", tt.give, c.BaseURL(), tt.want)
		}
	}
}

// TestRequests: each method sends the request docs/rest.md describes and
// decodes the answer.
func TestRequests(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	after := 1520.5
	tests := []struct {
		name       string
		call       func(ctx context.Context, c *Client) (any, error)
		status     int
		answer     string
		wantSent   sent
		wantAnswer any
	}{
		{
			name:       "CreateGuest",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.CreateGuest(ctx, "Ada") },
			status:     201,
			answer:     `{"player_id":"p1","token":"tok"}`,
			wantSent:   sent{Method: "POST", Path: "/prefix/v1/auth/guest", ContentType: "application/json", Body: `{"name":"Ada"}`},
			wantAnswer: Guest{PlayerID: "p1", Token: "tok"},
		},
		{
			name:       "Player",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.WithToken("tok").Player(ctx, "p/1") },
			status:     200,
			answer:     `{"player_id":"p/1","name":"Ada","ratings":{"duel":{"rating":1510.5,"games":1,"wins":1,"losses":0,"draws":0}},"new_field":1}`,
			wantSent:   sent{Method: "GET", Path: "/prefix/v1/players/p/1", Auth: "Bearer tok"},
			wantAnswer: Player{PlayerID: "p/1", Name: "Ada", Ratings: map[string]Rating{"duel": {Rating: 1510.5, Games: 1, Wins: 1}}},
		},
		{
			name:       "CreateTicket",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.WithToken("tok").CreateTicket(ctx, "duel") },
			status:     201,
			answer:     `{"ticket_id":"t1","status":"searching"}`,
			wantSent:   sent{Method: "POST", Path: "/prefix/v1/matchmaking/tickets", Auth: "Bearer tok", ContentType: "application/json", Body: `{"mode":"duel"}`},
			wantAnswer: Ticket{TicketID: "t1", Status: TicketSearching},
		},
		{
			name:       "Ticket",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.WithToken("tok").Ticket(ctx, "t1", 0) },
			status:     200,
			answer:     `{"ticket_id":"t1","status":"matched","match_id":"m1","ws_url":"ws://h/v1/play?token=j","join_token":"j"}`,
			wantSent:   sent{Method: "GET", Path: "/prefix/v1/matchmaking/tickets/t1", Auth: "Bearer tok"},
			wantAnswer: Ticket{TicketID: "t1", Status: TicketMatched, MatchID: "m1", WSURL: "ws://h/v1/play?token=j", JoinToken: "j"},
		},
		{
			name: "Ticket long-poll",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.WithToken("tok").Ticket(ctx, "t1", 1500*time.Millisecond)
			},
			status:     200,
			answer:     `{"ticket_id":"t1","status":"searching"}`,
			wantSent:   sent{Method: "GET", Path: "/prefix/v1/matchmaking/tickets/t1", Query: "wait=1.5s", Auth: "Bearer tok"},
			wantAnswer: Ticket{TicketID: "t1", Status: TicketSearching},
		},
		{
			name: "CancelTicket",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.WithToken("tok").CancelTicket(ctx, "t1")
			},
			status:     204,
			wantSent:   sent{Method: "DELETE", Path: "/prefix/v1/matchmaking/tickets/t1", Auth: "Bearer tok"},
			wantAnswer: nil,
		},
		{
			name:   "Match",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.WithToken("tok").Match(ctx, "m1") },
			status: 200,
			answer: `{"match_id":"m1","mode":"duel","status":"ended","players":["a","b"],"created_at":"2030-01-02T03:04:05Z",
				"result":{"reason":"score_limit","ended_at":"2030-01-02T03:04:05Z","players":[
				{"player_id":"a","score":10,"placement":1,"forfeit":false,"rating_before":1500,"rating_after":1520.5},
				{"player_id":"b","score":3,"placement":2,"forfeit":true}]}}`,
			wantSent: sent{Method: "GET", Path: "/prefix/v1/matches/m1", Auth: "Bearer tok"},
			wantAnswer: Match{MatchID: "m1", Mode: "duel", Status: MatchEnded, Players: []string{"a", "b"}, CreatedAt: created,
				Result: &Result{Reason: "score_limit", EndedAt: created, Players: []PlayerResult{
					{PlayerID: "a", Score: 10, Placement: 1, RatingBefore: new(1500.0), RatingAfter: &after},
					{PlayerID: "b", Score: 3, Placement: 2, Forfeit: true},
				}}},
		},
		{
			name: "Leaderboard",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.WithToken("tok").Leaderboard(ctx, "duel", 5)
			},
			status:     200,
			answer:     `{"mode":"duel","entries":[{"rank":1,"player_id":"a","name":"Ada","rating":1520.5,"games":1,"wins":1,"losses":0,"draws":0}]}`,
			wantSent:   sent{Method: "GET", Path: "/prefix/v1/leaderboard/duel", Query: "limit=5", Auth: "Bearer tok"},
			wantAnswer: Leaderboard{Mode: "duel", Entries: []LeaderboardEntry{{Rank: 1, PlayerID: "a", Name: "Ada", Rating: 1520.5, Games: 1, Wins: 1}}},
		},
		{
			name:       "Leaderboard default limit",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.Leaderboard(ctx, "ffa", 0) },
			status:     200,
			answer:     `{"mode":"ffa","entries":[]}`,
			wantSent:   sent{Method: "GET", Path: "/prefix/v1/leaderboard/ffa"},
			wantAnswer: Leaderboard{Mode: "ffa", Entries: []LeaderboardEntry{}},
		},
		{
			name:     "Health",
			call:     func(ctx context.Context, c *Client) (any, error) { return nil, c.Health(ctx) },
			status:   200,
			answer:   `{"status":"ok"}`,
			wantSent: sent{Method: "GET", Path: "/prefix/healthz"},
		},
		{
			name:     "Ready",
			call:     func(ctx context.Context, c *Client) (any, error) { return nil, c.Ready(ctx) },
			status:   200,
			answer:   `{"status":"ok"}`,
			wantSent: sent{Method: "GET", Path: "/prefix/readyz"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answer: func(int, *http.Request) (int, http.Header, string) { return tt.status, nil, tt.answer }}
			c := newFake(t, f, Options{})
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("%s = %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.wantAnswer, got); diff != "" {
				t.Errorf("%s answer (-want +got):\n%s", tt.name, diff)
			}
			if diff := cmp.Diff([]sent{tt.wantSent}, f.requests()); diff != "" {
				t.Errorf("%s sent (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  http.Header
		body    string
		want    *Error
		wantMsg string
	}{
		{
			name: "API error", status: 409, body: `{"error":{"code":"conflict","message":"already searching or in a match"}}`,
			want:    &Error{Method: "POST", Path: "/v1/matchmaking/tickets", StatusCode: 409, Code: "conflict", Message: "already searching or in a match"},
			wantMsg: "rest: POST /v1/matchmaking/tickets: status 409 conflict: already searching or in a match",
		},
		{
			name: "with Retry-After", status: 503, header: http.Header{"Retry-After": {"3"}},
			body:    `{"error":{"code":"store_unavailable","message":"retry later"}}`,
			want:    &Error{Method: "POST", Path: "/v1/matchmaking/tickets", StatusCode: 503, Code: "store_unavailable", Message: "retry later", RetryAfter: 3 * time.Second},
			wantMsg: "rest: POST /v1/matchmaking/tickets: status 503 store_unavailable: retry later",
		},
		{
			name: "not the API's shape", status: 502, body: "<html>bad gateway</html>\n",
			want:    &Error{Method: "POST", Path: "/v1/matchmaking/tickets", StatusCode: 502, Message: "<html>bad gateway</html>"},
			wantMsg: "rest: POST /v1/matchmaking/tickets: status 502: <html>bad gateway</html>",
		},
		{
			name: "a long body is cut", status: 500, body: strings.Repeat("é", 300),
			want:    &Error{Method: "POST", Path: "/v1/matchmaking/tickets", StatusCode: 500, Message: strings.Repeat("é", 100) + "…"},
			wantMsg: "rest: POST /v1/matchmaking/tickets: status 500: " + strings.Repeat("é", 100) + "…",
		},
		{
			name: "unexpected success", status: 200, body: `{"ticket_id":"t"}`,
			want:    &Error{Method: "POST", Path: "/v1/matchmaking/tickets", StatusCode: 200, Message: `{"ticket_id":"t"}`},
			wantMsg: `rest: POST /v1/matchmaking/tickets: status 200: {"ticket_id":"t"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answer: func(int, *http.Request) (int, http.Header, string) { return tt.status, tt.header, tt.body }}
			c := newFake(t, f, Options{})
			_, err := c.CreateTicket(t.Context(), "duel")
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("CreateTicket = %v, want an *Error", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CreateTicket error (-want +got):\n%s", diff)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.wantMsg)
			}
			if StatusCode(err) != tt.status {
				t.Errorf("StatusCode(err) = %d, want %d", StatusCode(err), tt.status)
			}
		})
	}

	// No answer at all: no status.
	c, err := New("http://game.test", Options{HTTPClient: &http.Client{Transport: handlerTransport{}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = c.Health(ctx)
	if !errors.Is(err, context.Canceled) || StatusCode(err) != 0 {
		t.Errorf("Health with a cancelled ctx = %v (status %d), want context.Canceled and no status", err, StatusCode(err))
	}
	if StatusCode(nil) != 0 {
		t.Errorf("StatusCode(nil) = %d, want 0", StatusCode(nil))
	}
}

// TestRetryThrottled: with RetryThrottled, a 429 is waited out for its
// Retry-After (or a second) and the request sent again, body included;
// without it, the 429 is the answer.
func TestRetryThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		throttled := func(n int, _ *http.Request) (int, http.Header, string) {
			switch n {
			case 0:
				return 429, http.Header{"Retry-After": {"3"}}, `{"error":{"code":"rate_limited","message":"slow down"}}`
			case 1:
				return 429, nil, `{"error":{"code":"rate_limited","message":"slow down"}}`
			}
			return 201, nil, `{"player_id":"p","token":"t"}`
		}
		f := &fakeAPI{answer: throttled}
		var waits []time.Duration
		c := newFake(t, f, Options{RetryThrottled: true, OnThrottled: func(d time.Duration) { waits = append(waits, d) }})
		start := time.Now()
		g, err := c.CreateGuest(t.Context(), "Ada")
		if err != nil || g.PlayerID != "p" {
			t.Fatalf("CreateGuest = %+v, %v; want player p", g, err)
		}
		if d := time.Since(start); d != 4*time.Second {
			t.Errorf("CreateGuest took %v, want 4s (Retry-After 3, then the default 1)", d)
		}
		if want := []time.Duration{3 * time.Second, time.Second}; !cmp.Equal(waits, want) {
			t.Errorf("OnThrottled got %v, want %v", waits, want)
		}
		for i, s := range f.requests() {
			if s.Body != `{"name":"Ada"}` {
				t.Errorf("attempt %d sent body %q, want the request's", i, s.Body)
			}
		}

		// ctx ends the waiting.
		f = &fakeAPI{answer: func(int, *http.Request) (int, http.Header, string) {
			return 429, http.Header{"Retry-After": {"60"}}, `{"error":{"code":"rate_limited","message":"slow down"}}`
		}}
		c = newFake(t, f, Options{RetryThrottled: true})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err := c.CreateGuest(ctx, "Ada"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("CreateGuest throttled past ctx = %v, want context.DeadlineExceeded", err)
		}

		// Without RetryThrottled the 429 is an *Error.
		f = &fakeAPI{answer: throttled}
		c = newFake(t, f, Options{})
		_, err = c.CreateGuest(t.Context(), "Ada")
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != 3*time.Second || len(f.requests()) != 1 {
			t.Errorf("CreateGuest throttled = %v after %d requests, want one 429 with RetryAfter 3s", err, len(f.requests()))
		}
	})
}

// TestAwaitTicket: long-polls with DefaultWait until the ticket is no
// longer searching, a second apart at least.
func TestAwaitTicket(t *testing.T) {
	synctest.Test(t, testAwaitTicket)
}

func testAwaitTicket(t *testing.T) {
	tests := []struct {
		give string // the final status
		want TicketStatus
	}{
		{give: "matched", want: TicketMatched},
		{give: "cancelled", want: TicketCancelled},
		{give: "expired", want: TicketExpired},
	}
	for _, tt := range tests {
		f := &fakeAPI{answer: func(n int, _ *http.Request) (int, http.Header, string) {
			if n < 2 {
				return 200, nil, `{"ticket_id":"t1","status":"searching"}`
			}
			return 200, nil, `{"ticket_id":"t1","status":"` + tt.give + `"}`
		}}
		c := newFake(t, f, Options{Token: "tok"})
		start := time.Now()
		got, err := c.AwaitTicket(t.Context(), "t1")
		if err != nil || got.Status != tt.want {
			t.Errorf("AwaitTicket = %+v, %v; want %s", got, err, tt.want)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("AwaitTicket took %v for three polls answered at once, want 2s", d)
		}
		reqs := f.requests()
		if len(reqs) != 3 {
			t.Errorf("AwaitTicket made %d requests, want 3", len(reqs))
		}
		for _, r := range reqs {
			if r.Query != "wait=25s" || r.Auth != "Bearer tok" {
				t.Errorf("AwaitTicket sent %+v, want wait=25s with the bearer token", r)
			}
		}
	}

	// A ticket that searches for ever: ctx ends it.
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeAPI{answer: func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 5 {
			cancel()
		}
		return 200, nil, `{"ticket_id":"t1","status":"searching"}`
	}}
	c := newFake(t, f, Options{})
	if got, err := c.AwaitTicket(ctx, "t1"); !errors.Is(err, context.Canceled) || got.Status != TicketSearching {
		t.Errorf("AwaitTicket with ctx ending = %+v, %v; want searching and context.Canceled", got, err)
	}
}

// TestWithToken: WithToken changes only the token, of a copy.
func TestWithToken(t *testing.T) {
	f := &fakeAPI{answer: func(int, *http.Request) (int, http.Header, string) { return 200, nil, `{"status":"ok"}` }}
	anon := newFake(t, f, Options{})
	alice := anon.WithToken("alice")
	for _, c := range []*Client{anon, alice, alice.WithToken("")} {
		if err := c.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, s := range f.requests() {
		got = append(got, s.Auth)
	}
	if want := []string{"", "Bearer alice", ""}; !cmp.Equal(got, want) {
		t.Errorf("Authorization headers %q, want %q", got, want)
	}
}

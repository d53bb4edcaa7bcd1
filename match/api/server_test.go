package api_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/match/matchmaker/matchmakertest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

var testTokens = match.NewTokens([]byte("api test secret"))

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeStarter starts nothing and names matches m1, m2, ….
type fakeStarter struct {
	mu   sync.Mutex
	made int
}

func (f *fakeStarter) Create(mode string, players []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.made++
	return fmt.Sprintf("m%d", f.made), nil
}

// fakePlayers is an in-memory Players.
type fakePlayers struct {
	mu      sync.Mutex
	players map[string]string
	fail    error
}

func (f *fakePlayers) CreatePlayer(_ context.Context, id, name string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.players == nil {
		f.players = make(map[string]string)
	}
	f.players[id] = name
	return nil
}

func (f *fakePlayers) PlayerName(_ context.Context, id string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, ok := f.players[id]
	return name, ok, nil
}

// spy wraps the real matchmaker: it reports when a Wait begins and can
// panic on Enqueue.
type spy struct {
	api.Matchmaker
	waiting chan string // receives the ticket ID when a Wait begins
	panics  atomic.Bool
}

func (s *spy) Wait(ctx context.Context, id, player string) (matchmaker.Ticket, error) {
	select {
	case s.waiting <- id:
	default:
	}
	return s.Matchmaker.Wait(ctx, id, player)
}

func (s *spy) Enqueue(ctx context.Context, player, mode string) (matchmaker.Ticket, error) {
	if s.panics.Load() {
		panic("spy: boom")
	}
	return s.Matchmaker.Enqueue(ctx, player, mode)
}

type env struct {
	t       *testing.T
	url     string
	srv     *api.Server
	mm      *matchmaker.Matchmaker
	spy     *spy
	players *fakePlayers
}

// newEnv runs a real Matchmaker (with a fake Starter) and serves a real
// Server over it on loopback until the test ends.
func newEnv(t *testing.T, cfg api.Config) *env {
	t.Helper()
	mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes()}, &fakeStarter{}, testTokens)
	matchmakertest.Run(t, mm)
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	e := &env{t: t, mm: mm, spy: &spy{Matchmaker: mm, waiting: make(chan string, 1)}, players: &fakePlayers{}}
	srv, err := api.New(cfg, e.spy, e.players, testTokens)
	if err != nil {
		t.Fatalf("api.New = %v", err)
	}
	e.srv = srv
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// do sends a request; token "" sends no Authorization header.
func (e *env) do(method, path, token, body string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("NewRequest(%s %s) = %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// guest signs up and returns the player ID and bearer token.
func (e *env) guest(name string) (string, string) {
	e.t.Helper()
	code, _, body := e.do("POST", "/v1/auth/guest", "", fmt.Sprintf(`{"name":%q}`, name))
	if code != http.StatusCreated {
		e.t.Fatalf("POST /v1/auth/guest = %d %s, want 201", code, body)
	}
	var resp struct {
		PlayerID string `json:"player_id"`
		Token    string `json:"token"`
	}
	decodeInto(e.t, body, &resp)
	return resp.PlayerID, resp.Token
}

type ticketJSON struct {
	TicketID  string `json:"ticket_id"`
	Status    string `json:"status"`
	MatchID   string `json:"match_id"`
	WSURL     string `json:"ws_url"`
	JoinToken string `json:"join_token"`
}

func (e *env) enqueue(token, mode string) ticketJSON {
	e.t.Helper()
	code, _, body := e.do("POST", "/v1/matchmaking/tickets", token, fmt.Sprintf(`{"mode":%q}`, mode))
	if code != http.StatusCreated {
		e.t.Fatalf("POST /v1/matchmaking/tickets = %d %s, want 201", code, body)
	}
	var tk ticketJSON
	decodeInto(e.t, body, &tk)
	return tk
}

func decodeInto(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s into %T: %v", body, v, err)
	}
}

// wantError checks an error response: status, the exact JSON shape, and
// the code.
func wantError(t *testing.T, what string, gotCode int, h http.Header, body []byte, wantCode int, wantErr string) {
	t.Helper()
	if gotCode != wantCode {
		t.Errorf("%s = %d %s, want %d", what, gotCode, body, wantCode)
		return
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var got struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Errorf("%s: body %s is not the error shape: %v", what, body, err)
		return
	}
	if got.Error.Code != wantErr || got.Error.Message == "" {
		t.Errorf("%s: error %+v, want code %q and a message", what, got.Error, wantErr)
	}
}

func TestGuestAndPlayer(t *testing.T) {
	e := newEnv(t, api.Config{})
	id, token := e.guest("Ada Lovelace")
	if id == "" {
		t.Fatal("guest player_id is empty")
	}
	if got, err := testTokens.VerifyPlayer(token); err != nil || got != id {
		t.Fatalf("VerifyPlayer(guest token) = %q, %v; want %q", got, err, id)
	}
	if id2, _ := e.guest("Ada Lovelace"); id2 == id {
		t.Errorf("two guests got the same ID %q", id)
	}

	code, _, body := e.do("GET", "/v1/players/"+id, token, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/players/{id} = %d %s", code, body)
	}
	var got map[string]any
	decodeInto(t, body, &got)
	want := map[string]any{"player_id": id, "name": "Ada Lovelace", "ratings": map[string]any{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/players/{id} (-want +got):\n%s", diff)
	}

	code, h, body := e.do("GET", "/v1/players/nobody", token, "")
	wantError(t, "GET /v1/players/nobody", code, h, body, http.StatusNotFound, "not_found")
}

func TestGuestNames(t *testing.T) {
	tests := []struct {
		give string // the JSON value of name
		want int
	}{
		{give: `"a"`, want: http.StatusCreated},
		{give: `"` + strings.Repeat("x", 32) + `"`, want: http.StatusCreated},
		{give: `"` + strings.Repeat("é", 32) + `"`, want: http.StatusCreated}, // runes, not bytes
		{give: `"Ünïcødé ☃ 名前"`, want: http.StatusCreated},
		{give: `""`, want: http.StatusBadRequest},
		{give: `"` + strings.Repeat("x", 33) + `"`, want: http.StatusBadRequest},
		{give: `"   "`, want: http.StatusBadRequest},
		{give: `"tab\there"`, want: http.StatusBadRequest},
		{give: `"nul\u0000"`, want: http.StatusBadRequest},
		{give: `"bell\u0007"`, want: http.StatusBadRequest},
		{give: `"rtl\u202e"`, want: http.StatusBadRequest},
		{give: `"line\nbreak"`, want: http.StatusBadRequest},
		{give: `null`, want: http.StatusBadRequest},
	}
	e := newEnv(t, api.Config{GuestRate: rate.Inf})
	for _, tt := range tests {
		what := "POST /v1/auth/guest name " + tt.give
		code, h, body := e.do("POST", "/v1/auth/guest", "", `{"name":`+tt.give+`}`)
		if tt.want == http.StatusCreated {
			if code != tt.want {
				t.Errorf("%s = %d %s, want %d", what, code, body, tt.want)
			}
			continue
		}
		wantError(t, what, code, h, body, tt.want, "invalid_name")
	}
}

func TestBodyErrors(t *testing.T) {
	// FIELD stands for the endpoint's own field with a valid value, WRONG
	// for it with a number.
	tests := []struct {
		name     string
		give     string
		want     int
		wantCode string
	}{
		{name: "empty", give: ``, want: 400, wantCode: "malformed_json"},
		{name: "truncated", give: `{FIELD,`, want: 400, wantCode: "malformed_json"},
		{name: "not JSON", give: `name=ada`, want: 400, wantCode: "malformed_json"},
		{name: "array", give: `[{FIELD}]`, want: 400, wantCode: "malformed_json"},
		{name: "wrong type", give: `{WRONG}`, want: 400, wantCode: "malformed_json"},
		{name: "unknown field", give: `{FIELD,"admin":true}`, want: 400, wantCode: "unknown_field"},
		{name: "two values", give: `{FIELD}{}`, want: 400, wantCode: "malformed_json"},
		{name: "trailing garbage", give: `{FIELD} x`, want: 400, wantCode: "malformed_json"},
		{name: "too large", give: `{"name":"` + strings.Repeat("a", 64<<10) + `"}`, want: 413, wantCode: "body_too_large"},
		{name: "too large after the value", give: `{FIELD}` + strings.Repeat(" ", 64<<10), want: 413, wantCode: "body_too_large"},
	}
	e := newEnv(t, api.Config{GuestRate: rate.Inf})
	_, token := e.guest("someone")
	endpoints := []struct{ path, field, wrong string }{
		{"/v1/auth/guest", `"name":"a"`, `"name":1`},
		{"/v1/matchmaking/tickets", `"mode":"duel"`, `"mode":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ep := range endpoints {
				code, h, body := e.do("POST", ep.path, token, strings.NewReplacer("FIELD", ep.field, "WRONG", ep.wrong).Replace(tt.give))
				wantError(t, "POST "+ep.path, code, h, body, tt.want, tt.wantCode)
			}
		})
	}
	// Trailing whitespace is fine.
	code, _, body := e.do("POST", "/v1/auth/guest", "", "{\"name\":\"a\"}\n\t ")
	if code != http.StatusCreated {
		t.Errorf("POST /v1/auth/guest with trailing whitespace = %d %s, want 201", code, body)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, api.Config{})
	id, good := e.guest("a")
	tk := e.enqueue(good, "duel")
	tests := []struct {
		name string
		give string // the Authorization header
	}{
		{name: "missing", give: ""},
		{name: "scheme only", give: "Bearer"},
		{name: "empty token", give: "Bearer  "},
		{name: "basic", give: "Basic " + good},
		{name: "forged", give: "Bearer " + good[:len(good)-2] + "xx"},
		{name: "garbage", give: "Bearer not-a-token"},
		{name: "expired", give: "Bearer " + testTokens.Player(id, time.Now().Add(-time.Minute))},
		{name: "join token", give: "Bearer " + testTokens.Join(id, "m1", time.Now().Add(time.Hour))},
		{name: "other secret", give: "Bearer " + match.NewTokens([]byte("other")).Player(id, time.Now().Add(time.Hour))},
	}
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/matchmaking/tickets", `{"mode":"duel"}`},
		{"GET", "/v1/matchmaking/tickets/" + tk.TicketID, ""},
		{"DELETE", "/v1/matchmaking/tickets/" + tk.TicketID, ""},
		{"GET", "/v1/players/" + id, ""},
		{"GET", "/v1/matches/m1", ""},
		{"GET", "/v1/leaderboard/duel", ""},
		{"GET", "/v1/leaderboard/duel?limit=0", ""}, // 401 before 400
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rt := range routes {
				req, _ := http.NewRequestWithContext(t.Context(), rt.method, e.url+rt.path, strings.NewReader(rt.body))
				if tt.give != "" {
					req.Header.Set("Authorization", tt.give)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				wantError(t, rt.method+" "+rt.path, resp.StatusCode, resp.Header, body, http.StatusUnauthorized, "unauthorized")
				if resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s %s: no WWW-Authenticate header", rt.method, rt.path)
				}
			}
		})
	}
	// The case of the scheme does not matter.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/v1/players/"+id, nil)
	req.Header.Set("Authorization", "bearer "+good)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET with a lowercase bearer scheme = %d, want 200", resp.StatusCode)
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, token := e.guest("a")
	tests := []struct {
		method, path string
		want         int
		wantCode     string
		wantAllow    string
	}{
		{method: "GET", path: "/nope", want: 404, wantCode: "not_found"},
		{method: "GET", path: "/v1/matchmaking", want: 404, wantCode: "not_found"},
		{method: "GET", path: "/v1/auth/guest", want: 405, wantCode: "method_not_allowed", wantAllow: "POST"},
		{method: "PUT", path: "/v1/matchmaking/tickets/x", want: 405, wantCode: "method_not_allowed", wantAllow: "DELETE, GET, HEAD"},
		{method: "POST", path: "/healthz", want: 405, wantCode: "method_not_allowed", wantAllow: "GET, HEAD"},
	}
	for _, tt := range tests {
		code, h, body := e.do(tt.method, tt.path, token, "")
		wantError(t, tt.method+" "+tt.path, code, h, body, tt.want, tt.wantCode)
		if got := h.Get("Allow"); got != tt.wantAllow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.wantAllow)
		}
	}
}

func TestGuestRateLimit(t *testing.T) {
	e := newEnv(t, api.Config{GuestRate: rate.Every(time.Hour), GuestBurst: 3})
	for i := range 3 {
		if code, _, body := e.do("POST", "/v1/auth/guest", "", `{"name":"a"}`); code != http.StatusCreated {
			t.Fatalf("sign-up %d = %d %s, want 201", i+1, code, body)
		}
	}
	code, h, body := e.do("POST", "/v1/auth/guest", "", `{"name":"a"}`)
	wantError(t, "sign-up 4", code, h, body, http.StatusTooManyRequests, "rate_limited")
	if h.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The limit counts requests, whatever their bodies.
	code, h, body = e.do("POST", "/v1/auth/guest", "", `{`)
	wantError(t, "sign-up 5", code, h, body, http.StatusTooManyRequests, "rate_limited")

	// Another address has its own bucket.
	req := httptest.NewRequest("POST", "/v1/auth/guest", strings.NewReader(`{"name":"b"}`))
	req.RemoteAddr = "192.0.2.7:4000"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Errorf("sign-up from another address = %d %s, want 201", rec.Code, rec.Body)
	}
}

func TestTickets(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, alice := e.guest("alice")
	_, bob := e.guest("bob")
	_, carol := e.guest("carol")

	code, h, body := e.do("POST", "/v1/matchmaking/tickets", alice, `{"mode":"chess"}`)
	wantError(t, "enqueue chess", code, h, body, http.StatusBadRequest, "unknown_mode")
	code, h, body = e.do("POST", "/v1/matchmaking/tickets", alice, `{}`)
	wantError(t, "enqueue without a mode", code, h, body, http.StatusBadRequest, "unknown_mode")

	code, h, body = e.do("POST", "/v1/matchmaking/tickets", alice, `{"mode":"duel"}`)
	if code != http.StatusCreated {
		t.Fatalf("enqueue = %d %s, want 201", code, body)
	}
	var tk ticketJSON
	decodeInto(t, body, &tk)
	if tk.TicketID == "" || tk.Status != "searching" {
		t.Fatalf("enqueue = %+v, want a searching ticket", tk)
	}
	if got, want := h.Get("Location"), "/v1/matchmaking/tickets/"+tk.TicketID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if strings.Contains(string(body), "match_id") || strings.Contains(string(body), "ws_url") {
		t.Errorf("searching ticket %s shows match fields", body)
	}
	code, h, body = e.do("POST", "/v1/matchmaking/tickets", alice, `{"mode":"ffa"}`)
	wantError(t, "second enqueue", code, h, body, http.StatusConflict, "conflict")

	path := "/v1/matchmaking/tickets/" + tk.TicketID
	code, _, body = e.do("GET", path, alice, "")
	var got ticketJSON
	decodeInto(t, body, &got)
	if code != http.StatusOK || got != (ticketJSON{TicketID: tk.TicketID, Status: "searching"}) {
		t.Errorf("GET ticket = %d %+v, want 200 searching", code, got)
	}
	// Someone else's ticket does not exist, whatever they try.
	for _, method := range []string{"GET", "DELETE"} {
		code, h, body = e.do(method, path, bob, "")
		wantError(t, method+" someone else's ticket", code, h, body, http.StatusNotFound, "not_found")
		code, h, body = e.do(method, "/v1/matchmaking/tickets/nonexistent", alice, "")
		wantError(t, method+" a missing ticket", code, h, body, http.StatusNotFound, "not_found")
	}

	code, _, body = e.do("DELETE", path, alice, "")
	if code != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("DELETE ticket = %d %s, want 204 and no body", code, body)
	}
	code, _, body = e.do("GET", path, alice, "")
	decodeInto(t, body, &got)
	if code != http.StatusOK || got.Status != "cancelled" {
		t.Errorf("GET cancelled ticket = %d %+v, want 200 cancelled", code, got)
	}

	// Matched tickets cannot be cancelled.
	a := e.enqueue(alice, "duel")
	e.enqueue(carol, "duel")
	code, _, body = e.do("GET", "/v1/matchmaking/tickets/"+a.TicketID+"?wait=5s", alice, "")
	decodeInto(t, body, &got)
	if code != http.StatusOK || got.Status != "matched" {
		t.Fatalf("GET ticket with wait = %d %s, want 200 matched", code, body)
	}
	code, h, body = e.do("DELETE", "/v1/matchmaking/tickets/"+a.TicketID, alice, "")
	wantError(t, "DELETE matched ticket", code, h, body, http.StatusConflict, "already_matched")
	code, h, body = e.do("POST", "/v1/matchmaking/tickets", alice, `{"mode":"duel"}`)
	wantError(t, "enqueue while in a match", code, h, body, http.StatusConflict, "conflict")
}

func TestWaitParameter(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, alice := e.guest("alice")
	tk := e.enqueue(alice, "duel")
	tests := []struct {
		give string
		want int
	}{
		{give: "abc", want: 400},
		{give: "10", want: 400},
		{give: "-1s", want: 400},
		{give: "30.001s", want: 400},
		{give: "1h", want: 400},
		{give: "0s", want: 200},
		{give: "30s", want: 200},
		{give: "25s", want: 200},
	}
	// A long-poll on a ticket that is no longer searching returns at once,
	// so cancel first to keep the accepted cases fast.
	if code, _, body := e.do("DELETE", "/v1/matchmaking/tickets/"+tk.TicketID, alice, ""); code != 204 {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	for _, tt := range tests {
		what := "GET ticket?wait=" + tt.give
		code, h, body := e.do("GET", "/v1/matchmaking/tickets/"+tk.TicketID+"?wait="+url.QueryEscape(tt.give), alice, "")
		if tt.want != 200 {
			wantError(t, what, code, h, body, tt.want, "invalid_wait")
			continue
		}
		var got ticketJSON
		decodeInto(t, body, &got)
		if code != 200 || got.Status != "cancelled" {
			t.Errorf("%s = %d %s, want 200 cancelled", what, code, body)
		}
	}
}

func TestLongPoll(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, alice := e.guest("alice")
	_, bob := e.guest("bob")
	tk := e.enqueue(alice, "duel")

	type result struct {
		code int
		body []byte
	}
	ch := make(chan result, 1)
	go func() {
		// Not e.do: t.Fatal must not be called off the test goroutine.
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/v1/matchmaking/tickets/"+tk.TicketID+"?wait=25s", nil)
		req.Header.Set("Authorization", "Bearer "+alice)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- result{code: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- result{resp.StatusCode, b}
	}()
	if id := <-e.spy.waiting; id != tk.TicketID {
		t.Fatalf("waiting on %q, want %q", id, tk.TicketID)
	}
	select {
	case r := <-ch:
		t.Fatalf("long-poll returned before a second player came: %d %s", r.code, r.body)
	default:
	}
	begin := time.Now()
	e.enqueue(bob, "duel")
	r := <-ch
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("long-poll took %v after the match was made", took)
	}
	if r.code != http.StatusOK {
		t.Fatalf("long-poll = %d %s, want 200", r.code, r.body)
	}
	var got ticketJSON
	decodeInto(t, r.body, &got)
	if got.Status != "matched" || got.MatchID != "m1" || got.JoinToken == "" {
		t.Fatalf("long-poll = %+v, want matched in m1 with a join token", got)
	}
	claims, err := testTokens.VerifyJoin(got.JoinToken)
	if err != nil || claims.MatchID != "m1" {
		t.Fatalf("VerifyJoin(join token) = %+v, %v; want a token for m1", claims, err)
	}
	host := strings.TrimPrefix(e.url, "http://")
	if want := "ws://" + host + "/v1/play?token=" + url.QueryEscape(got.JoinToken); got.WSURL != want {
		t.Errorf("ws_url = %q, want %q", got.WSURL, want)
	}
}

func TestLongPollTimesOut(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, alice := e.guest("alice")
	tk := e.enqueue(alice, "duel")
	begin := time.Now()
	code, _, body := e.do("GET", "/v1/matchmaking/tickets/"+tk.TicketID+"?wait=100ms", alice, "")
	if took := time.Since(begin); took < 100*time.Millisecond {
		t.Errorf("wait=100ms returned after %v", took)
	}
	var got ticketJSON
	decodeInto(t, body, &got)
	if code != 200 || got.Status != "searching" {
		t.Errorf("timed-out long-poll = %d %s, want 200 searching", code, body)
	}
}

func TestWSURL(t *testing.T) {
	tests := []struct {
		givePublic string
		giveTLS    bool
		want       string // before "/v1/play?token="
	}{
		{givePublic: "", want: "ws://game.test:8080"},
		{givePublic: "", giveTLS: true, want: "wss://game.test:8080"},
		{givePublic: "https://game.example.com", want: "wss://game.example.com"},
		{givePublic: "https://game.example.com/", want: "wss://game.example.com"},
		{givePublic: "http://10.0.0.1:9000/arbiter/", want: "ws://10.0.0.1:9000/arbiter"},
		{givePublic: "wss://edge.example.com", giveTLS: false, want: "wss://edge.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.givePublic, func(t *testing.T) {
			mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes()}, &fakeStarter{}, testTokens)
			srv, err := api.New(api.Config{PublicURL: tt.givePublic, Logger: quietLogger()}, mm, &fakePlayers{}, testTokens)
			if err != nil {
				t.Fatalf("api.New(PublicURL %q) = %v", tt.givePublic, err)
			}
			matchmakertest.Run(t, mm)

			var ticket string
			for _, p := range []string{"a", "b"} {
				tk, err := mm.Enqueue(t.Context(), p, "duel")
				if err != nil {
					t.Fatal(err)
				}
				ticket = tk.ID
			}
			req := httptest.NewRequest("GET", "http://game.test:8080/v1/matchmaking/tickets/"+ticket+"?wait=10s", nil)
			if tt.giveTLS {
				req.TLS = &tls.ConnectionState{}
			}
			req.Header.Set("Authorization", "Bearer "+testTokens.Player("b", time.Now().Add(time.Hour)))
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			var got ticketJSON
			decodeInto(t, rec.Body.Bytes(), &got)
			if got.Status != "matched" {
				t.Fatalf("GET = %d %s, want matched", rec.Code, rec.Body)
			}
			if want := tt.want + "/v1/play?token=" + url.QueryEscape(got.JoinToken); got.WSURL != want {
				t.Errorf("ws_url = %q, want %q", got.WSURL, want)
			}
		})
	}
	for _, bad := range []string{"game.example.com", "ftp://game.example.com", "https://", "https://u:p@x.com", "https://x.com/?a=b", "://"} {
		if _, err := api.New(api.Config{PublicURL: bad}, nil, nil, testTokens); err == nil {
			t.Errorf("api.New(PublicURL %q) = nil error, want one", bad)
		}
	}
}

func TestHealth(t *testing.T) {
	var ready error
	var mu sync.Mutex
	e := newEnv(t, api.Config{Ready: func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return ready
	}})
	for _, path := range []string{"/healthz", "/readyz"} {
		code, _, body := e.do("GET", path, "", "")
		if code != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
			t.Errorf("GET %s = %d %s, want 200 {\"status\":\"ok\"}", path, code, body)
		}
	}
	mu.Lock()
	ready = errors.New("redis: connection refused")
	mu.Unlock()
	code, h, body := e.do("GET", "/readyz", "", "")
	wantError(t, "GET /readyz with a store down", code, h, body, http.StatusServiceUnavailable, "not_ready")
	if code, _, _ := e.do("GET", "/healthz", "", ""); code != 200 {
		t.Errorf("GET /healthz with a store down = %d, want 200", code)
	}
}

// reasonErr is a readiness failure that says why in public words.
type reasonErr struct{ reason string }

func (e reasonErr) Error() string        { return "internal detail: " + e.reason }
func (e reasonErr) PublicReason() string { return e.reason }

// TestNotReadyReason: /readyz's 503 shows the reason a readiness error
// gives for callers (PublicReason, anywhere in its chain), never the
// error's own text.
func TestNotReadyReason(t *testing.T) {
	tests := []struct {
		name string
		give error
		want string
	}{
		{"plain", errors.New("dial tcp 10.0.0.7:6379: connection refused"), "a store is unreachable"},
		{"public reason", reasonErr{"re-warming"}, "re-warming"},
		{"wrapped public reason", fmt.Errorf("live store: %w", reasonErr{"re-warming"}), "re-warming"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, api.Config{Ready: func(context.Context) error { return tt.give }})
			code, h, body := e.do("GET", "/readyz", "", "")
			wantError(t, "GET /readyz", code, h, body, http.StatusServiceUnavailable, "not_ready")
			var got struct {
				Error struct{ Message string } `json:"error"`
			}
			if err := json.Unmarshal(body, &got); err != nil || got.Error.Message != tt.want {
				t.Errorf("GET /readyz message = %q (%v), want %q", got.Error.Message, err, tt.want)
			}
		})
	}
}

func TestFailuresAreJSON500s(t *testing.T) {
	e := newEnv(t, api.Config{})
	_, alice := e.guest("alice")

	e.spy.panics.Store(true)
	code, h, body := e.do("POST", "/v1/matchmaking/tickets", alice, `{"mode":"duel"}`)
	wantError(t, "enqueue that panics", code, h, body, http.StatusInternalServerError, "internal")

	e.players.mu.Lock()
	e.players.fail = errors.New("disk on fire")
	e.players.mu.Unlock()
	code, h, body = e.do("POST", "/v1/auth/guest", "", `{"name":"bob"}`)
	wantError(t, "sign-up with a failing store", code, h, body, http.StatusInternalServerError, "internal")
	if strings.Contains(string(body), "fire") {
		t.Errorf("500 body %s leaks the cause", body)
	}
}

func TestShutdownRefusesTickets(t *testing.T) {
	mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes()}, &fakeStarter{}, testTokens)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := mm.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Logger: quietLogger()}, mm, &fakePlayers{}, testTokens)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/matchmaking/tickets", strings.NewReader(`{"mode":"duel"}`))
	req.Header.Set("Authorization", "Bearer "+testTokens.Player("a", time.Now().Add(time.Hour)))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	wantError(t, "enqueue after shutdown", rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusServiceUnavailable, "unavailable")
	if got := rec.Header().Get("Retry-After"); got == "" {
		t.Error("503 unavailable (shutting down) without Retry-After")
	}
}

// TestEnqueueUnavailable: a ticket the matchmaker cannot take for now (the
// rating store or the shared queue not answering) is answered 503
// unavailable with Retry-After, as docs/rest.md promises, so that clients
// wait and retry.
func TestEnqueueUnavailable(t *testing.T) {
	mm := matchmaker.New(matchmaker.Config{Logger: quietLogger(), Modes: matchmakertest.Modes(),
		Rating: func(context.Context, string, string) (float64, error) {
			return 0, errors.New("redis: i/o timeout")
		}}, &fakeStarter{}, testTokens)
	matchmakertest.Run(t, mm)
	srv, err := api.New(api.Config{Logger: quietLogger()}, mm, &fakePlayers{}, testTokens)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/v1/matchmaking/tickets", strings.NewReader(`{"mode":"duel"}`))
	req.Header.Set("Authorization", "Bearer "+testTokens.Player("a", time.Now().Add(time.Hour)))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	wantError(t, "enqueue with the rating store failing", rec.Code, rec.Header(), rec.Body.Bytes(), http.StatusServiceUnavailable, "unavailable")
	if secs, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want a whole number of seconds ≥ 1", rec.Header().Get("Retry-After"))
	}
}

// TestStoreDown: a request that fails on a store while the readiness check
// fails too is answered 503 store_unavailable with Retry-After; the same
// failure with the stores up is a 500.
func TestStoreDown(t *testing.T) {
	var mu sync.Mutex
	var ready error
	e := newEnv(t, api.Config{Ready: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return ready
	}})
	e.players.mu.Lock()
	e.players.fail = errors.New("dial tcp 127.0.0.1:6379: connection refused")
	e.players.mu.Unlock()

	code, h, body := e.do("POST", "/v1/auth/guest", "", `{"name":"ada"}`)
	wantError(t, "sign-up, store failing but ready", code, h, body, http.StatusInternalServerError, "internal")

	mu.Lock()
	ready = errors.New("redis: connection refused")
	mu.Unlock()
	code, h, body = e.do("POST", "/v1/auth/guest", "", `{"name":"ada"}`)
	wantError(t, "sign-up with the store down", code, h, body, http.StatusServiceUnavailable, "store_unavailable")
	if got := h.Get("Retry-After"); got == "" {
		t.Error("503 store_unavailable without Retry-After")
	}
}

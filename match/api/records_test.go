package api_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

// fakeRatings is an in-memory api.RatingsReader that records the limits
// it is asked for.
type fakeRatings struct {
	mu      sync.Mutex
	ratings map[string]map[string]match.Rating // by player, then mode
	boards  map[string][]match.LeaderboardEntry
	limits  []int
	fail    error
}

func (f *fakeRatings) PlayerRatings(_ context.Context, playerID string) (map[string]match.Rating, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	return f.ratings[playerID], nil
}

func (f *fakeRatings) Leaderboard(_ context.Context, mode string, limit int) ([]match.LeaderboardEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = append(f.limits, limit)
	if f.fail != nil {
		return nil, f.fail
	}
	return f.boards[mode], nil // all of it: the server must cut it to limit
}

// fakeMatches is an in-memory api.MatchReader.
type fakeMatches struct {
	mu      sync.Mutex
	matches map[string]match.Summary
	fail    error
}

func (f *fakeMatches) MatchSummary(_ context.Context, id string) (match.Summary, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return match.Summary{}, false, f.fail
	}
	m, ok := f.matches[id]
	return m, ok, nil
}

// getJSON GETs path with token and decodes a 200 body into a generic
// value, failing on any other status.
func (e *env) getJSON(path, token string) any {
	e.t.Helper()
	code, h, body := e.do("GET", path, token, "")
	if code != http.StatusOK {
		e.t.Fatalf("GET %s = %d %s, want 200", path, code, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	var got any
	decodeInto(e.t, body, &got)
	return got
}

func TestPlayerRatings(t *testing.T) {
	ratings := &fakeRatings{}
	e := newEnv(t, api.Config{Ratings: ratings})
	id, token := e.guest("Grace")
	ratings.mu.Lock()
	ratings.ratings = map[string]map[string]match.Rating{id: {
		"duel": {Rating: 1523.456, Games: 12, Wins: 7, Losses: 4, Draws: 1},
		"ffa":  {Rating: 1480, RD: 87.1234, Volatility: 0.0600004, Games: 3, Wins: 1, Losses: 2},
	}}
	ratings.mu.Unlock()

	got := e.getJSON("/v1/players/"+id, token)
	want := map[string]any{
		"player_id": id,
		"name":      "Grace",
		"ratings": map[string]any{
			// Elo: no rd or volatility.
			"duel": map[string]any{"rating": 1523.46, "games": 12.0, "wins": 7.0, "losses": 4.0, "draws": 1.0},
			"ffa": map[string]any{"rating": 1480.0, "rd": 87.12, "volatility": 0.06,
				"games": 3.0, "wins": 1.0, "losses": 2.0, "draws": 0.0},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/players/{id} (-want +got):\n%s", diff)
	}

	// A player without ratings has an empty object, not null.
	other, _ := e.guest("Linus")
	got = e.getJSON("/v1/players/"+other, token)
	want = map[string]any{"player_id": other, "name": "Linus", "ratings": map[string]any{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/players/{id} without ratings (-want +got):\n%s", diff)
	}

	code, h, body := e.do("GET", "/v1/players/nobody", token, "")
	wantError(t, "GET /v1/players/nobody", code, h, body, http.StatusNotFound, "not_found")

	ratings.mu.Lock()
	ratings.fail = errors.New("redis: timeout")
	ratings.mu.Unlock()
	code, h, body = e.do("GET", "/v1/players/"+id, token, "")
	wantError(t, "GET /v1/players/{id} with a failing reader", code, h, body, http.StatusInternalServerError, "internal")
}

func TestMatch(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	ended := time.Date(2030, 1, 2, 2, 6, 5, 500_000_000, time.UTC)
	matches := &fakeMatches{matches: map[string]match.Summary{
		"running": {MatchID: "running", Mode: "duel", Status: match.StatusRunning, Players: []string{"p1", "p2"}, CreatedAt: created},
		"ended": {MatchID: "ended", Mode: "duel", Status: match.StatusEnded, Players: []string{"p1", "p2"}, CreatedAt: created,
			Result: &match.Result{MatchID: "ended", Mode: "duel", Reason: "score_limit", EndedAt: ended, Players: []match.PlayerResult{
				{PlayerID: "p1", Score: 10, Placement: 1, RatingBefore: 1500, RatingAfter: 1520.004},
				{PlayerID: "p2", Score: 3, Placement: 2, RatingBefore: 1500, RatingAfter: 1479.996},
			}, Record: []byte(`{"moves": ["e2e4"], "pgn": "1. e4 *\n"}`)}},
		"unrated": {MatchID: "unrated", Mode: "duel", Status: match.StatusEnded, Players: []string{"p1", "p2"}, CreatedAt: created,
			Result: &match.Result{Reason: "forfeit", EndedAt: ended, Players: []match.PlayerResult{
				{PlayerID: "p1", Score: 2, Placement: 1},
				{PlayerID: "p2", Score: 5, Placement: 2, Forfeit: true},
			}, Record: []byte("{not JSON")}}, // shown without it
		"aborted": {MatchID: "aborted", Mode: "ffa", Status: match.StatusAborted, Players: []string{"p1"}, CreatedAt: created,
			Result: &match.Result{Reason: "shutdown", Aborted: true, EndedAt: ended, Players: []match.PlayerResult{
				{PlayerID: "p1", Placement: 1, RatingBefore: 1500, RatingAfter: 1500},
			}}},
		"empty": {MatchID: "empty", Mode: "duel", Status: match.StatusWaiting, CreatedAt: created},
	}}
	e := newEnv(t, api.Config{Matches: matches})
	// The viewer played in none of them: matches are public to every
	// signed-in player.
	_, token := e.guest("viewer")

	tests := []struct {
		give string
		want map[string]any
	}{
		{give: "running", want: map[string]any{
			"match_id": "running", "mode": "duel", "status": "running",
			"players": []any{"p1", "p2"}, "created_at": "2030-01-02T02:04:05Z",
		}},
		{give: "ended", want: map[string]any{
			"match_id": "ended", "mode": "duel", "status": "ended",
			"players": []any{"p1", "p2"}, "created_at": "2030-01-02T02:04:05Z",
			"result": map[string]any{"reason": "score_limit", "ended_at": "2030-01-02T02:06:05.5Z", "players": []any{
				map[string]any{"player_id": "p1", "score": 10.0, "placement": 1.0, "forfeit": false, "rating_before": 1500.0, "rating_after": 1520.0},
				map[string]any{"player_id": "p2", "score": 3.0, "placement": 2.0, "forfeit": false, "rating_before": 1500.0, "rating_after": 1480.0},
			}},
			"record": map[string]any{"moves": []any{"e2e4"}, "pgn": "1. e4 *\n"},
		}},
		{give: "unrated", want: map[string]any{
			"match_id": "unrated", "mode": "duel", "status": "ended",
			"players": []any{"p1", "p2"}, "created_at": "2030-01-02T02:04:05Z",
			"result": map[string]any{"reason": "forfeit", "ended_at": "2030-01-02T02:06:05.5Z", "players": []any{
				map[string]any{"player_id": "p1", "score": 2.0, "placement": 1.0, "forfeit": false},
				map[string]any{"player_id": "p2", "score": 5.0, "placement": 2.0, "forfeit": true},
			}},
		}},
		{give: "aborted", want: map[string]any{
			"match_id": "aborted", "mode": "ffa", "status": "aborted",
			"players": []any{"p1"}, "created_at": "2030-01-02T02:04:05Z",
			"result": map[string]any{"reason": "shutdown", "ended_at": "2030-01-02T02:06:05.5Z", "players": []any{
				map[string]any{"player_id": "p1", "score": 0.0, "placement": 1.0, "forfeit": false},
			}},
		}},
		{give: "empty", want: map[string]any{
			"match_id": "empty", "mode": "duel", "status": "waiting",
			"players": []any{}, "created_at": "2030-01-02T02:04:05Z",
		}},
	}
	for _, tt := range tests {
		got := e.getJSON("/v1/matches/"+tt.give, token)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET /v1/matches/%s (-want +got):\n%s", tt.give, diff)
		}
	}

	code, h, body := e.do("GET", "/v1/matches/nope", token, "")
	wantError(t, "GET /v1/matches/nope", code, h, body, http.StatusNotFound, "not_found")

	matches.mu.Lock()
	matches.fail = errors.New("redis: timeout")
	matches.mu.Unlock()
	code, h, body = e.do("GET", "/v1/matches/ended", token, "")
	wantError(t, "GET /v1/matches/{id} with a failing reader", code, h, body, http.StatusInternalServerError, "internal")
	if strings.Contains(string(body), "redis") {
		t.Errorf("500 body %s leaks the cause", body)
	}

	// Without a MatchReader, no match is found.
	e = newEnv(t, api.Config{})
	_, token = e.guest("viewer")
	code, h, body = e.do("GET", "/v1/matches/ended", token, "")
	wantError(t, "GET /v1/matches/{id} without a reader", code, h, body, http.StatusNotFound, "not_found")
}

func TestLeaderboard(t *testing.T) {
	entry := func(rank int, id string, rating float64) match.LeaderboardEntry {
		return match.LeaderboardEntry{Rank: rank, PlayerID: id, Name: "name-" + id,
			Rating: match.Rating{Rating: rating, RD: 50, Games: 30, Wins: 20, Losses: 9, Draws: 1}}
	}
	jsonEntry := func(rank float64, id string, rating float64) map[string]any {
		return map[string]any{"rank": rank, "player_id": id, "name": "name-" + id, "rating": rating,
			"games": 30.0, "wins": 20.0, "losses": 9.0, "draws": 1.0}
	}
	// Not sorted by rating, and a shared rank: the API shows the reader's
	// order and ranks as given.
	var board []match.LeaderboardEntry
	for i := range 15 {
		board = append(board, entry(i+1, "p"+strconv.Itoa(i), 2000-float64(i)))
	}
	board[1], board[2] = entry(2, "q", 1700.005), entry(2, "r", 1900)
	ratings := &fakeRatings{boards: map[string][]match.LeaderboardEntry{"duel": board}}
	e := newEnv(t, api.Config{Ratings: ratings})
	_, token := e.guest("viewer")

	got := e.getJSON("/v1/leaderboard/duel?limit=4", token)
	want := map[string]any{"mode": "duel", "entries": []any{
		jsonEntry(1, "p0", 2000), jsonEntry(2, "q", 1700.01), jsonEntry(2, "r", 1900), jsonEntry(4, "p3", 1997),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET /v1/leaderboard/duel?limit=4 (-want +got):\n%s", diff)
	}

	got = e.getJSON("/v1/leaderboard/duel", token)
	if n := len(got.(map[string]any)["entries"].([]any)); n != 10 {
		t.Errorf("GET /v1/leaderboard/duel: %d entries, want the default 10", n)
	}
	e.getJSON("/v1/leaderboard/duel?limit=100", token)
	e.getJSON("/v1/leaderboard/duel?limit=1", token)
	ratings.mu.Lock()
	gotLimits := ratings.limits
	ratings.mu.Unlock()
	if diff := cmp.Diff([]int{4, 10, 100, 1}, gotLimits); diff != "" {
		t.Errorf("limits asked of the reader (-want +got):\n%s", diff)
	}

	// A mode without entries has an empty list, not null.
	got = e.getJSON("/v1/leaderboard/ffa", token)
	if diff := cmp.Diff(map[string]any{"mode": "ffa", "entries": []any{}}, got); diff != "" {
		t.Errorf("GET /v1/leaderboard/ffa (-want +got):\n%s", diff)
	}

	for _, give := range []string{"0", "101", "-1", "abc", "1.5", "1e1", "10abc", "99999999999999999999"} {
		path := "/v1/leaderboard/duel?limit=" + give
		code, h, body := e.do("GET", path, token, "")
		wantError(t, "GET "+path, code, h, body, http.StatusBadRequest, "invalid_limit")
	}
	for _, give := range []string{"chess", "DUEL", "%20"} {
		path := "/v1/leaderboard/" + give
		code, h, body := e.do("GET", path, token, "")
		wantError(t, "GET "+path, code, h, body, http.StatusBadRequest, "unknown_mode")
	}

	ratings.mu.Lock()
	ratings.fail = errors.New("redis: timeout")
	ratings.mu.Unlock()
	code, h, body := e.do("GET", "/v1/leaderboard/duel", token, "")
	wantError(t, "GET /v1/leaderboard/duel with a failing reader", code, h, body, http.StatusInternalServerError, "internal")

	// Without a RatingsReader, known modes have empty leaderboards.
	e = newEnv(t, api.Config{})
	_, token = e.guest("viewer")
	got = e.getJSON("/v1/leaderboard/duel", token)
	if diff := cmp.Diff(map[string]any{"mode": "duel", "entries": []any{}}, got); diff != "" {
		t.Errorf("GET /v1/leaderboard/duel without a reader (-want +got):\n%s", diff)
	}
	code, h, body = e.do("GET", "/v1/leaderboard/chess", token, "")
	wantError(t, "GET /v1/leaderboard/chess without a reader", code, h, body, http.StatusBadRequest, "unknown_mode")
}

func TestPlayerRateLimit(t *testing.T) {
	e := newEnv(t, api.Config{PlayerRate: rate.Every(time.Hour), PlayerBurst: 3, GuestRate: rate.Inf})
	alice, aliceToken := e.guest("alice")
	_, bobToken := e.guest("bob")

	// Every bearer route draws on the same bucket, whatever it answers.
	for i, path := range []string{"/v1/players/" + alice, "/v1/leaderboard/duel", "/v1/matches/nope"} {
		if code, _, body := e.do("GET", path, aliceToken, ""); code == http.StatusTooManyRequests {
			t.Fatalf("request %d (GET %s) = %d %s, want it allowed", i+1, path, code, body)
		}
	}
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/v1/players/" + alice, ""},
		{"POST", "/v1/matchmaking/tickets", `{"mode":"duel"}`},
		{"GET", "/v1/matchmaking/tickets/x", ""},
	} {
		code, h, body := e.do(rt.method, rt.path, aliceToken, rt.body)
		wantError(t, rt.method+" "+rt.path+" over the limit", code, h, body, http.StatusTooManyRequests, "rate_limited")
		if secs, err := strconv.Atoi(h.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("%s %s: Retry-After %q, want a whole number of seconds ≥ 1", rt.method, rt.path, h.Get("Retry-After"))
		}
	}

	// Another player has their own bucket, and the unauthenticated routes
	// are not limited per player.
	if code, _, body := e.do("GET", "/v1/players/"+alice, bobToken, ""); code != http.StatusOK {
		t.Errorf("bob's GET /v1/players/{id} = %d %s, want 200", code, body)
	}
	for _, path := range []string{"/healthz", "/v1/openapi.json"} {
		if code, _, body := e.do("GET", path, aliceToken, ""); code != http.StatusOK {
			t.Errorf("GET %s while limited = %d %.100s, want 200", path, code, body)
		}
	}
	// A bad token is 401, not 429: it never reaches a bucket.
	code, h, body := e.do("GET", "/v1/players/"+alice, aliceToken+"x", "")
	wantError(t, "GET with a bad token", code, h, body, http.StatusUnauthorized, "unauthorized")
}

func TestLongPollCountsOnce(t *testing.T) {
	e := newEnv(t, api.Config{PlayerRate: rate.Every(time.Hour), PlayerBurst: 3})
	_, token := e.guest("alice")
	tk := e.enqueue(token, "duel") // 1
	begin := time.Now()
	code, _, body := e.do("GET", "/v1/matchmaking/tickets/"+tk.TicketID+"?wait=300ms", token, "") // 2
	if code != http.StatusOK || time.Since(begin) < 300*time.Millisecond {
		t.Fatalf("long-poll = %d %s after %v, want 200 after 300ms", code, body, time.Since(begin))
	}
	if code, _, body := e.do("GET", "/v1/matchmaking/tickets/"+tk.TicketID, token, ""); code != http.StatusOK { // 3
		t.Errorf("third request = %d %s, want 200", code, body)
	}
	code, h, body := e.do("GET", "/v1/matchmaking/tickets/"+tk.TicketID, token, "")
	wantError(t, "fourth request", code, h, body, http.StatusTooManyRequests, "rate_limited")
}

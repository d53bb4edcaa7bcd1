package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	"github.com/google/go-cmp/cmp"
)

// boardEntry is one line of GET /v1/leaderboard/{mode}.
type boardEntry struct {
	PlayerID string  `json:"player_id"`
	Name     string  `json:"name"`
	Rating   float64 `json:"rating"`
}

// errorBody is the API's error answer.
type errorBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

// duelBoard gets the duel leaderboard: its status, and its entries when
// 200, or the error when not.
func (ts *testServer) duelBoard(t *testing.T, token string) (int, []boardEntry, errorBody) {
	t.Helper()
	var out struct {
		Entries []boardEntry `json:"entries"`
		errorBody
	}
	code := ts.call(t, "GET", "/v1/leaderboard/duel?limit=10", token, nil, &out)
	return code, out.Entries, out.errorBody
}

// TestRedisRestartedEmpty: the Redis under a running server restarts
// without its data. The server notices, warms Redis again from Postgres and
// has its leaderboard back within 10 s, with no restart of its own. While
// it cannot (Postgres is cut off too), /readyz answers 503 saying why and
// the leaderboard is refused rather than shown empty; when Postgres
// returns, everything is back.
func TestRedisRestartedEmpty(t *testing.T) {
	rdb := servicetest.NewPrivateRedis(t)
	dbURL, schema, pg := servicetest.PostgresViaProxy(t)
	ts := startServer(t, "--redis-url", rdb.URL(), "--database-url", dbURL, "--database-schema", schema)

	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	res := match.Result{MatchID: "before", Mode: "duel", CreatedAt: time.Now(), Players: []match.PlayerResult{
		{PlayerID: alice.PlayerID, Score: 1}, {PlayerID: bob.PlayerID, Score: 0},
	}}
	match.Place(res.Players)
	if _, err := ts.ledger.Settle(t.Context(), res); err != nil {
		t.Fatal(err)
	}
	waitArchived(t, dbURL, schema, res.MatchID) // what Redis loses before this is lost
	code, want, _ := ts.duelBoard(t, alice.Token)
	if code != http.StatusOK || len(want) != 2 || want[0].PlayerID != alice.PlayerID {
		t.Fatalf("leaderboard before the restart = %d %+v, want alice then bob", code, want)
	}

	// Redis restarts empty: not ready at once (unless the warmer got there
	// first), and the board is back within 10 s.
	w := &ts.stores.warmer.Stats
	rdb.Restart()
	restarted := time.Now()
	if code := ts.call(t, "GET", "/readyz", "", nil, nil); code != http.StatusServiceUnavailable && w.Detected.Load() == 0 {
		t.Errorf("GET /readyz just after Redis restarted empty = %d, want 503", code)
	}
	for {
		code, got, _ := ts.duelBoard(t, alice.Token)
		if code == http.StatusOK && cmp.Equal(got, want) {
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("leaderboard 10 s after Redis restarted empty = %d %+v, want %+v", code, got, want)
		}
		time.Sleep(50 * time.Millisecond) // polling the server
	}
	t.Logf("leaderboard back %v after Redis restarted empty", time.Since(restarted).Round(time.Millisecond))
	if code := ts.call(t, "GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Errorf("GET /readyz after the re-warm = %d, want 200", code)
	}
	if d, r := w.Detected.Load(), w.Rewarmed.Load(); d != 1 || r != 1 {
		t.Errorf("warmer detected %d losses and re-warmed %d times, want 1 and 1", d, r)
	}

	// Again, but Postgres is cut off: not ready, and why, until it returns.
	pg.Cut()
	rdb.Restart()
	restarted = time.Now()
	for {
		var body errorBody
		code := ts.call(t, "GET", "/readyz", "", nil, &body)
		if code == http.StatusServiceUnavailable {
			if body.Error.Code != "not_ready" || body.Error.Message != "the live store is being re-warmed from the archive" {
				t.Errorf("GET /readyz while re-warming = %+v, want not_ready saying the live store is being re-warmed", body.Error)
			}
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("GET /readyz 10 s after Redis restarted empty = %d, want 503", code)
		}
		time.Sleep(50 * time.Millisecond) // polling the server
	}
	if code, got, body := ts.duelBoard(t, alice.Token); code != http.StatusServiceUnavailable || body.Error.Code != "store_unavailable" {
		t.Errorf("leaderboard while re-warming = %d %q %+v, want 503 store_unavailable", code, body.Error.Code, got)
	}
	pg.Restore()
	restored := time.Now()
	for {
		code, got, _ := ts.duelBoard(t, alice.Token)
		if code == http.StatusOK && cmp.Equal(got, want) && ts.call(t, "GET", "/readyz", "", nil, nil) == http.StatusOK {
			break
		}
		if time.Since(restored) > 10*time.Second {
			t.Fatalf("10 s after Postgres returned: leaderboard %d %+v (want %+v), or not ready", code, got, want)
		}
		time.Sleep(50 * time.Millisecond) // polling the server
	}
	if d, r := w.Detected.Load(), w.Rewarmed.Load(); d != 2 || r != 2 {
		t.Errorf("warmer detected %d losses and re-warmed %d times, want 2 and 2", d, r)
	}
}

package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	"github.com/google/go-cmp/cmp"
)

// duelBoard gets the duel leaderboard: its status, its entries when 200,
// and the API's error code when not.
func (ts *testServer) duelBoard(t *testing.T, token string) (int, []rest.LeaderboardEntry, string) {
	t.Helper()
	b, err := ts.api(t, token).Leaderboard(t.Context(), "duel", 10)
	return answer(t, err), b.Entries, errorCode(err)
}

// readyz asks GET /readyz: its status, and the API's error when not ready.
func (ts *testServer) readyz(t *testing.T) (int, *rest.Error) {
	t.Helper()
	err := ts.api(t, "").Ready(t.Context())
	var e *rest.Error
	errors.As(err, &e)
	return answer(t, err), e
}

// answer is the HTTP status of a REST call that returned err: 200 when
// it succeeded, the status of a *rest.Error; any other error (the server
// did not answer) fails the test.
func answer(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return http.StatusOK
	}
	code := rest.StatusCode(err)
	if code == 0 {
		t.Fatalf("REST call: %v", err)
	}
	return code
}

// errorCode is the API's error code in err, if any.
func errorCode(err error) string {
	var e *rest.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
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
	if code, _ := ts.readyz(t); code != http.StatusServiceUnavailable && w.Detected.Load() == 0 {
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
	if code, _ := ts.readyz(t); code != http.StatusOK {
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
		code, e := ts.readyz(t)
		if code == http.StatusServiceUnavailable {
			if e.Code != "not_ready" || e.Message != "the live store is being re-warmed from the archive" {
				t.Errorf("GET /readyz while re-warming = %q %q, want not_ready saying the live store is being re-warmed", e.Code, e.Message)
			}
			break
		}
		if time.Since(restarted) > 10*time.Second {
			t.Fatalf("GET /readyz 10 s after Redis restarted empty = %d, want 503", code)
		}
		time.Sleep(50 * time.Millisecond) // polling the server
	}
	if code, got, errCode := ts.duelBoard(t, alice.Token); code != http.StatusServiceUnavailable || errCode != "store_unavailable" {
		t.Errorf("leaderboard while re-warming = %d %q %+v, want 503 store_unavailable", code, errCode, got)
	}
	pg.Restore()
	restored := time.Now()
	for {
		code, got, _ := ts.duelBoard(t, alice.Token)
		if ready, _ := ts.readyz(t); code == http.StatusOK && cmp.Equal(got, want) && ready == http.StatusOK {
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

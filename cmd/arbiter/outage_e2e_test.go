package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/postgres"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// ticksSeen returns how many snapshots p has received.
func (p *player) ticksSeen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ticks)
}

// TestRedisOutage: Redis goes away while a duel runs. The room keeps
// ticking, readiness turns false, the API answers 503 where it needs Redis,
// and the match's end is recorded once Redis returns: nothing is lost. The
// result then reaches Postgres through the archiver.
func TestRedisOutage(t *testing.T) {
	redisURL, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBServer)
	dbURL, schema := servicetest.Postgres(t)
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "3s",
		"--redis-url", redisURL, "--redis-prefix", prefix, "--database-url", dbURL, "--database-schema", schema)

	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", alice, bob)
	matchID := tickets[0].MatchID
	players := []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	for _, p := range players {
		<-p.snaps // running
	}

	proxy.Cut()
	// Rooms keep ticking: a full second of snapshots arrives.
	before := players[0].ticksSeen()
	deadline := time.Now().Add(5 * time.Second)
	for players[0].ticksSeen() < before+30 {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots stalled during the Redis outage: %d → %d", before, players[0].ticksSeen())
		}
		<-players[0].snaps
	}
	var errBody struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := ts.call(t, "GET", "/readyz", "", nil, &errBody); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during the outage = %d, want 503", code)
	}
	if code := ts.call(t, "POST", "/v1/auth/guest", "", map[string]string{"name": "carol"}, &errBody); code != http.StatusServiceUnavailable || errBody.Error.Code != "store_unavailable" {
		t.Errorf("POST /v1/auth/guest during the outage = %d %q, want 503 store_unavailable", code, errBody.Error.Code)
	}
	if code := ts.call(t, "GET", "/v1/players/"+alice.PlayerID, alice.Token, nil, &errBody); code != http.StatusServiceUnavailable {
		t.Errorf("GET player during the outage = %d, want 503", code)
	}

	// The match ends during the outage: players hear of it at once,
	// unrated, and the result waits in the server to be recorded.
	for i, p := range players {
		select {
		case <-p.c.Done():
		case <-time.After(15 * time.Second):
			t.Fatalf("player %d: match did not end", i)
		}
	}
	for ts.manager.SettleErrors.Load() == 0 {
		time.Sleep(10 * time.Millisecond) // polling a counter
	}

	proxy.Restore()
	for ts.manager.Resettled.Load() == 0 {
		time.Sleep(10 * time.Millisecond) // polling a counter
	}
	if code := ts.call(t, "GET", "/readyz", "", nil, nil); code != http.StatusOK {
		t.Errorf("GET /readyz after the outage = %d, want 200", code)
	}
	var m struct {
		Status string `json:"status"`
	}
	if code := ts.call(t, "GET", "/v1/matches/"+matchID, alice.Token, nil, &m); code != http.StatusOK || m.Status != match.StatusEnded {
		t.Errorf("GET match after the outage = %d %+v, want 200 ended", code, m)
	}
	r, found, err := ts.stores.Rating(t.Context(), alice.PlayerID, "duel")
	if err != nil || !found || r.Games != 1 {
		t.Errorf("alice's duel rating after the outage = %+v, %v, %v; want 1 game", r, found, err)
	}

	// And the archiver carries it to Postgres.
	pg, err := postgres.Open(t.Context(), postgres.Config{URL: dbURL, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	deadline = time.Now().Add(20 * time.Second)
	for {
		if _, found, err := pg.MatchResult(t.Context(), matchID); err == nil && found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("result not in Postgres 20 s after Redis returned")
		}
		time.Sleep(50 * time.Millisecond) // polling the archive
	}
}

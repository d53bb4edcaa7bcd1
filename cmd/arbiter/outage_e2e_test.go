package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	"github.com/arbiter-gg/arbiter/persistence/postgres"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// ticksSeen returns how many snapshots p has received.
func (p *player) ticksSeen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ticks)
}

// startDuel queues two new guests for a duel and connects them; it returns
// once the match runs.
func startDuel(t *testing.T, ts *testServer) (matchID string, alice guest, players []*player) {
	t.Helper()
	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", alice, bob)
	players = []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	for _, p := range players {
		<-p.snaps // running
	}
	return tickets[0].MatchID, alice, players
}

// keepsTicking waits for a second's worth (at 30 Hz) of p's snapshots.
func keepsTicking(t *testing.T, p *player, during string) {
	t.Helper()
	before := p.ticksSeen()
	deadline := time.Now().Add(5 * time.Second)
	for p.ticksSeen() < before+30 {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots stalled %s: %d → %d", during, before, p.ticksSeen())
		}
		<-p.snaps
	}
}

// waitEnded waits until every player's connection has closed.
func waitEnded(t *testing.T, players []*player) {
	t.Helper()
	for i, p := range players {
		select {
		case <-p.c.Done():
		case <-time.After(15 * time.Second):
			t.Fatalf("player %d: match did not end", i)
		}
	}
}

// waitArchived waits until matchID's result is in the Postgres archive.
func waitArchived(t *testing.T, dbURL, schema, matchID string) match.Result {
	t.Helper()
	pg, err := postgres.Open(t.Context(), postgres.Config{URL: dbURL, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, found, err := pg.MatchResult(t.Context(), matchID)
		if err == nil && found {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("result of %s not in Postgres within 20 s (err %v)", matchID, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the archive
	}
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

	matchID, alice, players := startDuel(t, ts)
	proxy.Cut()
	keepsTicking(t, players[0], "during the Redis outage")
	ctx := t.Context()
	if err := ts.api(t, "").Ready(ctx); rest.StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during the outage = %v, want 503", err)
	}
	var re *rest.Error
	if _, err := ts.api(t, "").CreateGuest(ctx, "carol"); !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || re.Code != "store_unavailable" {
		t.Errorf("POST /v1/auth/guest during the outage = %v, want 503 store_unavailable", err)
	}
	if _, err := ts.api(t, alice.Token).Player(ctx, alice.PlayerID); rest.StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("GET player during the outage = %v, want 503", err)
	}

	// The match ends during the outage: players hear of it at once,
	// unrated, and the result waits in the server to be recorded.
	waitEnded(t, players)
	for ts.manager.SettleErrors.Load() == 0 {
		time.Sleep(10 * time.Millisecond) // polling a counter
	}

	proxy.Restore()
	for ts.manager.Resettled.Load() == 0 {
		time.Sleep(10 * time.Millisecond) // polling a counter
	}
	if err := ts.api(t, "").Ready(ctx); err != nil {
		t.Errorf("GET /readyz after the outage = %v, want 200", err)
	}
	if m, err := ts.api(t, alice.Token).Match(ctx, matchID); err != nil || m.Status != match.StatusEnded {
		t.Errorf("GET match after the outage = %+v, %v; want 200 ended", m, err)
	}
	r, found, err := ts.stores.Rating(t.Context(), alice.PlayerID, "duel")
	if err != nil || !found || r.Games != 1 {
		t.Errorf("alice's duel rating after the outage = %+v, %v, %v; want 1 game", r, found, err)
	}

	// And the archiver carries it to Postgres.
	waitArchived(t, dbURL, schema, matchID)
}

// TestPostgresOutageServer: Postgres goes away while a duel runs. Nothing
// live notices: the room ticks, the API answers (readiness included), the
// result is rated in Redis and waits there; when Postgres returns it lands,
// once.
func TestPostgresOutageServer(t *testing.T) {
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	dbURL, schema, proxy := servicetest.PostgresViaProxy(t)
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "3s",
		"--redis-url", redisURL, "--redis-prefix", prefix, "--database-url", dbURL, "--database-schema", schema)

	matchID, alice, players := startDuel(t, ts)
	proxy.Cut()
	keepsTicking(t, players[0], "during the Postgres outage")
	ctx, api := t.Context(), ts.api(t, alice.Token)
	for _, req := range []struct {
		name string
		call func() error
	}{
		{"GET /readyz", func() error { return api.Ready(ctx) }},
		{"GET /v1/players/{id}", func() error { _, err := api.Player(ctx, alice.PlayerID); return err }},
		{"GET /v1/leaderboard/duel", func() error { _, err := api.Leaderboard(ctx, "duel", 0); return err }},
	} {
		if err := req.call(); err != nil {
			t.Errorf("%s during the Postgres outage = %v, want 200", req.name, err)
		}
	}
	ts.guest(t, "carol") // sign-ups too

	waitEnded(t, players)
	r, found, err := ts.stores.Rating(t.Context(), alice.PlayerID, "duel")
	if err != nil || !found || r.Games != 1 {
		t.Errorf("alice's duel rating during the outage = %+v, %v, %v; want 1 game", r, found, err)
	}
	if ts.manager.SettleErrors.Load() != 0 {
		t.Errorf("SettleErrors = %d during a Postgres outage, want 0 (settling never waits on Postgres)", ts.manager.SettleErrors.Load())
	}
	if n, err := ts.stores.backlog(t.Context()); err != nil || n == 0 {
		t.Errorf("archive backlog during the outage = %d, %v; want the result waiting", n, err)
	}

	proxy.Restore()
	res := waitArchived(t, dbURL, schema, matchID)
	if res.Aborted || len(res.Players) != 2 {
		t.Errorf("archived result = %+v, want a finished duel", res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := ts.stores.backlog(t.Context()); n != 0; n, _ = ts.stores.backlog(t.Context()) {
		if time.Now().After(deadline) {
			t.Fatalf("archive backlog still %d 20 s after Postgres returned", n)
		}
		time.Sleep(50 * time.Millisecond) // polling the backlog
	}
}

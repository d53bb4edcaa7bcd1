package main

import (
	"testing"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// TestCrashRecovery kills the real binary (SIGKILL: no graceful shutdown)
// while a duel runs on Redis and Postgres. The next process on the same
// node finds the match in the directory and ends it from its last
// checkpoint: recorded as aborted (server_lost) with the standings it had,
// visible over REST, and archived in Postgres; the players keep their
// accounts.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	dbURL, schema := servicetest.Postgres(t)
	bin := buildBinary(t)
	env := []string{
		"ARBITER_REDIS_URL=" + redisURL, "ARBITER_REDIS_PREFIX=" + prefix,
		"ARBITER_DATABASE_URL=" + dbURL, "ARBITER_DATABASE_SCHEMA=" + schema,
		"ARBITER_TOKEN_SECRET=crash-test", "ARBITER_TICK_RATE=20", "ARBITER_MATCH_DURATION=60s",
	}
	// The same --addr on both runs makes them the same node.
	first := startBinary(t, bin, env, "--addr", "127.0.0.1:0")
	ts := &testServer{base: "http://" + first.addr}
	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", alice, bob)
	matchID := tickets[0].MatchID
	players := []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	for _, p := range players {
		<-p.snaps
	}
	// Two seconds of play: at 20 Hz, checkpoints of ticks 20 and 40.
	for players[0].ticksSeen() < 45 {
		<-players[0].snaps
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	for _, p := range players {
		<-p.c.Done()
	}

	second := startBinary(t, bin, env, "--addr", "127.0.0.1:0")
	ts = &testServer{base: "http://" + second.addr}
	waitOK(t, ts.base+"/readyz")
	m, err := ts.api(t, alice.Token).Match(t.Context(), matchID)
	if err != nil {
		t.Fatalf("GET match after the restart: %v", err)
	}
	if m.Status != match.StatusAborted || m.Result == nil || m.Result.Reason != match.ReasonServerLost || len(m.Result.Players) != 2 {
		t.Errorf("match after the restart = %+v, want aborted, server_lost, 2 players", m)
	}
	// Bearer tokens survive (same secret), and so do the players.
	if prof, err := ts.api(t, bob.Token).Player(t.Context(), bob.PlayerID); err != nil || prof.Name != "bob" {
		t.Errorf("GET bob after the restart = %+v, %v", prof, err)
	}

	if res := waitArchived(t, dbURL, schema, matchID); !res.Aborted || res.Reason != match.ReasonServerLost || res.Ticks < 40 {
		t.Errorf("archived result = %+v, want aborted, server_lost, from a checkpoint at tick ≥ 40", res)
	}
}

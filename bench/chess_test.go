package bench

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// chessServerFlags are the server flags of a chess benchmark: a clock no
// game of the run can flag on, and anyone matched with anyone.
var chessServerFlags = []string{"--chess-clock", "30m+0s", "--window-start", "100000"}

// startChessServer starts the server for a chess run, on every thread:
// concurrent games must never see each other's positions (match/chess
// serialises the chess library's FEN decoding, which v2.3.2 does through a
// shared buffer; a legal recorded move refused would fail the smoke test).
func startChessServer(t *testing.T, args ...string) string {
	t.Helper()
	return startServer(t, append(append([]string(nil), chessServerFlags...), args...)...)
}

// runChessSmoke plays 4 games with think times of a few milliseconds, so
// that games end and the bots queue again inside the window, and checks
// the figures every run must have.
func runChessSmoke(t *testing.T, base string, cfg ChessConfig) ChessReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var progress strings.Builder
	before := runtime.NumGoroutine()
	cfg.BaseURL, cfg.Games, cfg.Progress = base, 4, &progress
	cfg.Duration, cfg.Warmup = 3*time.Second, 300*time.Millisecond
	cfg.ThinkMin, cfg.ThinkMax = 5*time.Millisecond, 20*time.Millisecond
	rep, err := RunChess(ctx, cfg)
	if err != nil {
		t.Fatalf("RunChess: %v", err)
	}
	t.Logf("report: %+v", rep)
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines after RunChess, %d before", runtime.NumGoroutine(), before)
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the runtime
	}

	if rep.Games != 4 || rep.Clients != 8 {
		t.Errorf("games %d, clients %d; want 4, 8", rep.Games, rep.Clients)
	}
	if rep.Window < 2.9 || rep.Window > 10 {
		t.Errorf("window = %.2fs, want 3s (at most 10s on a loaded machine)", rep.Window)
	}
	if rep.Errors() != 0 {
		t.Errorf("%d errors, want none: %v", rep.Errors(), rep.Notes)
	}
	// 4 games, a ply every ≈ 13 ms plus the round trip: hundreds of moves,
	// every game of 37–87 plies over within the window, and more begun.
	if rep.Moves < 100 || rep.GamesEnded < 4 {
		t.Errorf("moves %d, games ended %d; want ≥ 100 and ≥ 4", rep.Moves, rep.GamesEnded)
	}
	// Every move the bots sent in the window reached the opponent's bot,
	// but for those still in flight when it closed.
	if rep.Delivered == 0 || rep.Delivered > rep.Moves || rep.Delivered < rep.Moves-8 {
		t.Errorf("delivered %d of %d moves, want all but those in flight at the end", rep.Delivered, rep.Moves)
	}
	if rep.DeliveryP50 <= 0 || rep.DeliveryP99 < rep.DeliveryP50 || rep.DeliveryMax < rep.DeliveryP99 || rep.DeliveryP50 > time.Second {
		t.Errorf("send→recv p50 %v, p99 %v, max %v: want increasing, p50 under 1s", rep.DeliveryP50, rep.DeliveryP99, rep.DeliveryMax)
	}
	// The server answered every move (and the resignations) in the window,
	// give or take those at its edges.
	if rep.Actions+8 < rep.Moves {
		t.Errorf("server actions %d, bots' moves %d: want the server to count every move", rep.Actions, rep.Moves)
	}
	if rep.ServerP50 <= 0 || rep.ServerP99 < rep.ServerP50 || rep.ServerMax < rep.ServerP99 && !rep.ServerMaxOver {
		t.Errorf("server p50 %v, p99 %v, max ≤ %v: want increasing", rep.ServerP50, rep.ServerP99, rep.ServerMax)
	}
	if rep.CPUPerMove <= 0 || rep.RSS <= 0 {
		t.Errorf("CPU µs/move %v, RSS %v; want both > 0", rep.CPUPerMove, rep.RSS)
	}
	if !strings.Contains(progress.String(), "joined 8/8") {
		t.Errorf("progress lines do not show every bot joined:\n%s", progress.String())
	}
	var table strings.Builder
	if err := WriteChessTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	return rep
}

// TestRunChess plays the chess benchmark against the real server binary,
// in memory: no Redis figure.
func TestRunChess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	rep := runChessSmoke(t, startChessServer(t), ChessConfig{})
	if rep.RedisCalls != nil || rep.RedisPerMove != nil {
		t.Errorf("Redis calls %v, per move %v without a Redis URL; want nil (n/a)", rep.RedisCalls, rep.RedisPerMove)
	}
	var table strings.Builder
	if err := WriteChessTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "| n/a |") {
		t.Errorf("table without Redis shows no n/a:\n%s", table.String())
	}
}

// TestRunChessRedis plays it against a server on a private Redis (INFO
// commandstats counts every client of a Redis: the shared one would count
// other tests' commands) and checks that its commands are counted.
func TestRunChessRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	rdb := servicetest.NewPrivateRedis(t)
	base := startChessServer(t, "--redis-url", rdb.URL())
	rep := runChessSmoke(t, base, ChessConfig{RedisURL: rdb.URL()})
	if rep.RedisCalls == nil || *rep.RedisCalls == 0 || rep.RedisPerMove == nil || *rep.RedisPerMove <= 0 {
		t.Errorf("Redis calls %v, per move %v; want both > 0", rep.RedisCalls, rep.RedisPerMove)
	}
}

func TestParseCommandStats(t *testing.T) {
	const text = "# Commandstats\r\n" +
		"cmdstat_get:calls=12,usec=40,usec_per_call=3.33,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=5,usec=400,usec_per_call=80.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=30,usec=900,usec_per_call=30.00,rejected_calls=1,failed_calls=0\r\n"
	got, err := parseCommandStats(text)
	if err != nil || got != 44 {
		t.Errorf("parseCommandStats = %d, %v; want 44 (INFO left out)", got, err)
	}
}

// TestChessConfigInvalid: a config that cannot work fails before any
// request.
func TestChessConfigInvalid(t *testing.T) {
	tests := []struct {
		give ChessConfig
		want string
	}{
		{give: ChessConfig{BaseURL: "127.0.0.1:8080", Games: 1}, want: "want http://host:port"},
		{give: ChessConfig{BaseURL: "http://x", Games: 0}, want: "at least 1"},
		{give: ChessConfig{BaseURL: "http://x", Games: 1, ThinkMin: time.Second, ThinkMax: time.Millisecond}, want: "min ≤ max"},
	}
	for _, tt := range tests {
		_, err := RunChess(t.Context(), tt.give)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RunChess(%+v) = %v, want an error containing %q", tt.give, err, tt.want)
		}
	}
}

package bench

import (
	"context"
	"maps"
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
	if rep.SaveFailures == nil || *rep.SaveFailures != 0 || rep.Unavailable != 0 {
		t.Errorf("save failures %v, 503s %d; want the server's count, 0, and none", rep.SaveFailures, rep.Unavailable)
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
	// Every move is saved by one script (EVALSHA, or EVAL the first time
	// Redis meets it), and the breakdown adds up to the total.
	if scripts := rep.RedisCommands["evalsha"] + rep.RedisCommands["eval"]; scripts < rep.Moves-8 {
		t.Errorf("%d scripts run for %d moves (%v); want one a move at least", scripts, rep.Moves, rep.RedisCommands)
	}
	if rep.RedisCalls != nil && commandCounts(rep.RedisCommands).total() != *rep.RedisCalls {
		t.Errorf("Redis commands %v add up to %d, want RedisCalls = %d", rep.RedisCommands, commandCounts(rep.RedisCommands).total(), *rep.RedisCalls)
	}
}

func TestParseCommandStats(t *testing.T) {
	const text = "# Commandstats\r\n" +
		"cmdstat_get:calls=12,usec=40,usec_per_call=3.33,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_info:calls=5,usec=400,usec_per_call=80.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|setinfo:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=30,usec=900,usec_per_call=30.00,rejected_calls=1,failed_calls=0\r\n"
	got, err := parseCommandStats(text)
	want := commandCounts{"get": 12, "client|setinfo": 2, "evalsha": 30}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("parseCommandStats = %v, %v; want %v (INFO left out)", got, err, want)
	}
	if got.total() != 44 {
		t.Errorf("total() = %d, want 44", got.total())
	}
	if _, err := parseCommandStats("cmdstat_get:calls=x,usec=1\r\n"); err == nil {
		t.Errorf("parseCommandStats(calls=x) = nil error, want one")
	}
}

func TestCommandCountsSince(t *testing.T) {
	tests := []struct {
		name          string
		before, after commandCounts
		want          commandCounts
	}{
		{"deltas", commandCounts{"get": 10, "set": 5}, commandCounts{"get": 15, "set": 5}, commandCounts{"get": 5}},
		{"new command", commandCounts{"get": 10}, commandCounts{"get": 10, "evalsha": 3}, commandCounts{"evalsha": 3}},
		{"reset in between", commandCounts{"get": 10}, commandCounts{"get": 4}, commandCounts{"get": 4}},
		{"nothing before", nil, commandCounts{"get": 1}, commandCounts{"get": 1}},
	}
	for _, tt := range tests {
		if got := tt.after.since(tt.before); !maps.Equal(got, tt.want) {
			t.Errorf("%s: %v.since(%v) = %v, want %v", tt.name, tt.after, tt.before, got, tt.want)
		}
	}
}

func TestRedisPerMoveByCommand(t *testing.T) {
	cmds := map[string]uint64{"evalsha": 1000, "hget": 1000, "set": 1010, "xadd": 20, "ping": 10, "get": 20}
	tests := []struct {
		name string
		give ChessReport
		top  int
		want string
	}{
		{"top 3 and the rest", ChessReport{Moves: 1000, RedisCommands: cmds}, 3,
			"set 1.01, evalsha 1.00, hget 1.00, 0.05 others (3 commands)"},
		{"all", ChessReport{Moves: 1000, RedisCommands: cmds}, 10,
			"set 1.01, evalsha 1.00, hget 1.00, get 0.02, xadd 0.02, ping 0.01"},
		{"no Redis", ChessReport{Moves: 1000}, 3, ""},
		{"no moves", ChessReport{RedisCommands: cmds}, 3, ""},
	}
	for _, tt := range tests {
		if got := tt.give.RedisPerMoveByCommand(tt.top); got != tt.want {
			t.Errorf("%s: RedisPerMoveByCommand(%d) = %q, want %q", tt.name, tt.top, got, tt.want)
		}
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

// TestWriteChessTable: figures the server's histogram only bounds read as
// such, and figures a run did not have read n/a.
func TestWriteChessTable(t *testing.T) {
	saves := uint64(3)
	tests := []struct {
		name string
		give ChessReport
		want []string
	}{
		{"beyond the buckets", ChessReport{ServerP50: 400 * time.Microsecond, ServerP99: 100 * time.Millisecond, ServerP99Over: true,
			ServerMax: 100 * time.Millisecond, ServerMaxOver: true}, []string{"| 400 µs | > 100 ms | > 100 ms |", "| n/a |"}},
		{"inside", ChessReport{ServerP50: 300 * time.Microsecond, ServerP99: 2 * time.Millisecond, ServerMax: 5 * time.Millisecond, SaveFailures: &saves},
			[]string{"| 300 µs | 2.00 ms | ≤ 5.00 ms |", "| 0 | 3 |"}},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := WriteChessTable(&b, tt.give); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: WriteChessTable = \n%s\nwant it to contain %q", tt.name, b.String(), w)
			}
		}
	}
}

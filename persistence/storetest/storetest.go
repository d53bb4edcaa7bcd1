// Package storetest is the contract every Arbiter store satisfies: one
// suite, run by each implementation's own tests (in memory, Redis,
// Postgres), so that the server behaves the same whichever store an
// operator picks.
//
// The suite asserts what callers rely on: a player ID is taken once; a
// match is settled exactly once however often or concurrently its result
// arrives; ratings, leaderboards and results read back exactly as
// settled (a game's record as an equal JSON value: EqualRecords);
// anti-cheat events are kept; a cancelled context is honoured.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/google/go-cmp/cmp"
)

// Store is the surface the server uses, whichever implementation is
// wired in.
type Store interface {
	match.LedgerStore
	match.EventSink
	CreatePlayer(ctx context.Context, id, name string, createdAt time.Time) error
	PlayerName(ctx context.Context, id string) (name string, found bool, err error)
	Rating(ctx context.Context, playerID, mode string) (match.Rating, bool, error)
	PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error)
	Leaderboard(ctx context.Context, mode string, limit int) ([]match.LeaderboardEntry, error)
	MatchResult(ctx context.Context, matchID string) (match.Result, bool, error)
	AntiCheatEvents(ctx context.Context, playerID string) ([]match.AntiCheatEvent, error)
	Ping(ctx context.Context) error
}

// Run runs the contract against stores made by open, which returns a new,
// empty store for each subtest (and cleans it up through t).
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"Players", testPlayers},
		{"SettleOnce", testSettleOnce},
		{"SettleConcurrent", testSettleConcurrent},
		{"Aborted", testAborted},
		{"Record", testRecord},
		{"Leaderboard", testLeaderboard},
		{"AntiCheat", testAntiCheat},
		{"Context", testContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// epoch is a base time with whole microseconds, the finest every store
// keeps.
var epoch = time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC)

func modes() map[string]match.Mode {
	return map[string]match.Mode{
		"duel": {Name: "duel", Players: 2, Rating: match.SystemElo},
		"ffa":  {Name: "ffa", Players: 10, MinPlayers: 2, Rating: match.SystemGlicko2},
	}
}

func newLedger(s Store) *match.Ledger {
	return match.NewLedger(s, modes(), rating.DefaultElo(), rating.DefaultGlicko2())
}

// Result returns a finished match of mode between players, placed in the
// order given (the first wins), as a room would report it.
func Result(id, mode string, players ...string) match.Result {
	res := match.Result{
		MatchID: id, Mode: mode, Reason: "time_limit",
		CreatedAt: epoch, StartedAt: epoch.Add(time.Second), EndedAt: epoch.Add(2 * time.Minute), Ticks: 3600,
	}
	for i, p := range players {
		res.Players = append(res.Players, match.PlayerResult{
			PlayerID: p, Entity: match.EntityID(i + 1), Score: uint32(10 * (len(players) - i)), Placement: i + 1,
		})
	}
	return res
}

func createPlayers(t *testing.T, s Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.CreatePlayer(t.Context(), id, "name-"+id, epoch); err != nil {
			t.Fatalf("CreatePlayer(%s) = %v", id, err)
		}
	}
}

func testPlayers(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreatePlayer(ctx, "p1", "Ada", epoch); err != nil {
		t.Fatalf("CreatePlayer(p1) = %v", err)
	}
	if err := s.CreatePlayer(ctx, "p1", "Mallory", epoch); !errors.Is(err, persistence.ErrExists) {
		t.Errorf("CreatePlayer(p1) again = %v, want ErrExists", err)
	}
	tests := []struct {
		give      string
		wantName  string
		wantFound bool
	}{
		{give: "p1", wantName: "Ada", wantFound: true},
		{give: "p2"},
		{give: ""},
	}
	for _, tt := range tests {
		name, found, err := s.PlayerName(ctx, tt.give)
		if err != nil || name != tt.wantName || found != tt.wantFound {
			t.Errorf("PlayerName(%q) = %q, %v, %v; want %q, %v, nil", tt.give, name, found, err, tt.wantName, tt.wantFound)
		}
	}
	rs, err := s.PlayerRatings(ctx, "p1")
	if err != nil || len(rs) != 0 {
		t.Errorf("PlayerRatings(new player) = %v, %v; want empty, nil", rs, err)
	}
	if _, found, err := s.Rating(ctx, "p1", "duel"); found || err != nil {
		t.Errorf("Rating(new player) found = %v, err = %v; want false, nil", found, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

func testSettleOnce(t *testing.T, s Store) {
	ctx := t.Context()
	createPlayers(t, s, "a", "b")
	l := newLedger(s)
	first, err := l.Settle(ctx, Result("m1", "duel", "a", "b"))
	if err != nil {
		t.Fatalf("Settle = %v", err)
	}
	if w := first.Players[0]; w.RatingBefore != 1500 || w.RatingAfter != 1520 {
		t.Errorf("winner rating %v → %v, want 1500 → 1520", w.RatingBefore, w.RatingAfter)
	}
	// A second delivery changes nothing and reports the first outcome.
	again, err := l.Settle(ctx, Result("m1", "duel", "b", "a"))
	if err != nil {
		t.Fatalf("Settle again = %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("second Settle differs from the first (-first +again):\n%s", diff)
	}
	stored, found, err := s.MatchResult(ctx, "m1")
	if err != nil || !found {
		t.Fatalf("MatchResult(m1) = %v, %v", found, err)
	}
	if diff := cmp.Diff(first, stored); diff != "" {
		t.Errorf("stored result differs from the settled one (-settled +stored):\n%s", diff)
	}
	if _, found, err := s.MatchResult(ctx, "nope"); found || err != nil {
		t.Errorf("MatchResult(unknown) = %v, %v; want false, nil", found, err)
	}

	tests := []struct {
		player string
		want   match.Rating
	}{
		{"a", match.Rating{Rating: 1520, Games: 1, Wins: 1}},
		{"b", match.Rating{Rating: 1480, Games: 1, Losses: 1}},
	}
	for _, tt := range tests {
		r, found, err := s.Rating(ctx, tt.player, "duel")
		if err != nil || !found || r != tt.want {
			t.Errorf("Rating(%s) = %+v, %v, %v; want %+v", tt.player, r, found, err, tt.want)
		}
		all, err := s.PlayerRatings(ctx, tt.player)
		if err != nil || len(all) != 1 || all["duel"] != tt.want {
			t.Errorf("PlayerRatings(%s) = %+v, %v; want duel: %+v", tt.player, all, err, tt.want)
		}
	}

	// A Glicko-2 mode keeps RD and volatility.
	createPlayers(t, s, "c")
	if _, err := l.Settle(ctx, Result("m2", "ffa", "c", "a", "b")); err != nil {
		t.Fatalf("Settle ffa = %v", err)
	}
	r, found, err := s.Rating(ctx, "c", "ffa")
	if err != nil || !found || r.RD <= 0 || r.Volatility <= 0 || r.Rating <= 1500 || r.Games != 1 || r.Wins != 1 {
		t.Errorf("Rating(c, ffa) = %+v, %v, %v; want a Glicko-2 win above 1500", r, found, err)
	}
	if all, _ := s.PlayerRatings(ctx, "a"); len(all) != 2 {
		t.Errorf("PlayerRatings(a) has %d modes, want 2: %+v", len(all), all)
	}
}

// testSettleConcurrent settles many matches that share players from many
// goroutines at once, and delivers each twice: every match counts once.
func testSettleConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	players := []string{"p0", "p1", "p2", "p3"}
	createPlayers(t, s, players...)
	l := newLedger(s)
	const matches = 24
	var wg sync.WaitGroup
	for i := range matches * 2 {
		wg.Go(func() {
			m := i % matches
			a, b := players[m%4], players[(m+1)%4]
			if _, err := l.Settle(ctx, Result(fmt.Sprintf("c%d", m), "duel", a, b)); err != nil {
				t.Errorf("Settle(c%d) = %v", m, err)
			}
		})
	}
	wg.Wait()
	games, sum := 0, 0.0
	for _, p := range players {
		r, _, err := s.Rating(ctx, p, "duel")
		if err != nil {
			t.Fatalf("Rating(%s) = %v", p, err)
		}
		if r.Games != 12 || r.Wins != 6 || r.Losses != 6 {
			t.Errorf("%s: %+v, want 12 games, 6 wins, 6 losses", p, r)
		}
		games += r.Games
		sum += r.Rating
	}
	if games != 2*matches {
		t.Errorf("games counted = %d, want %d", games, 2*matches)
	}
	// Duel Elo is zero-sum: lost updates would break it.
	if d := sum - 4*1500; d > 1e-6 || d < -1e-6 {
		t.Errorf("ratings sum to %v, want %v", sum, 4*1500)
	}
}

func testAborted(t *testing.T, s Store) {
	ctx := t.Context()
	createPlayers(t, s, "a", "b")
	res := Result("ab", "duel", "a", "b")
	res.Aborted, res.Reason = true, "shutdown"
	settled, err := newLedger(s).Settle(ctx, res)
	if err != nil {
		t.Fatalf("Settle(aborted) = %v", err)
	}
	stored, found, err := s.MatchResult(ctx, "ab")
	if err != nil || !found || !stored.Aborted || stored.Reason != "shutdown" {
		t.Fatalf("MatchResult(aborted) = %+v, %v, %v", stored, found, err)
	}
	if diff := cmp.Diff(settled, stored); diff != "" {
		t.Errorf("stored aborted result differs (-settled +stored):\n%s", diff)
	}
	if _, found, _ := s.Rating(ctx, "a", "duel"); found {
		t.Error("an aborted match gave a rating")
	}
}

// ChessRecord is a Result.Record as chess makes one, spaced and ordered as
// no jsonb column gives it back, with what JSON escapes.
const ChessRecord = `{"moves": ["f2f3", "e7e5", "g2g4", "d8h4"], "pgn": "[White \"a\"]\n\n1. f3 e5 2. g4 Qh4# 0-1\n",
	"fen": "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3", "note": "é <&>", "n": [1.5, null, true, {}]}`

// EqualRecords compares Result.Record as JSON values: stores keep the
// value a game recorded, not necessarily its bytes (Postgres's jsonb
// reorders keys and drops spaces). Two nil records are equal; nil and a
// record are not.
var EqualRecords = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && sf.Name() == "Record" && p.Index(-2).Type() == reflect.TypeFor[match.Result]()
}, cmp.Comparer(func(x, y []byte) bool {
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	var vx, vy any
	if json.Unmarshal(x, &vx) != nil || json.Unmarshal(y, &vy) != nil {
		return bytes.Equal(x, y)
	}
	return reflect.DeepEqual(vx, vy)
}))

// testRecord: a result's Record reads back, settled once or delivered
// again, as the JSON value the game gave.
func testRecord(t *testing.T, s Store) {
	ctx := t.Context()
	createPlayers(t, s, "a", "b")
	res := Result("rec", "duel", "b", "a")
	res.Reason = "checkmate"
	res.Record = []byte(ChessRecord)
	l := newLedger(s)
	settled, err := l.Settle(ctx, res)
	if err != nil {
		t.Fatalf("Settle = %v", err)
	}
	if string(settled.Record) != ChessRecord {
		t.Errorf("settled Record = %s, want the given %s", settled.Record, ChessRecord)
	}
	again, err := l.Settle(ctx, Result("rec", "duel", "b", "a"))
	if err != nil {
		t.Fatalf("Settle again = %v", err)
	}
	if diff := cmp.Diff(settled, again, EqualRecords); diff != "" {
		t.Errorf("second Settle differs from the first (-first +again):\n%s", diff)
	}
	stored, found, err := s.MatchResult(ctx, "rec")
	if err != nil || !found {
		t.Fatalf("MatchResult(rec) = %v, %v", found, err)
	}
	if diff := cmp.Diff(settled, stored, EqualRecords); diff != "" {
		t.Errorf("stored result differs from the settled one (-settled +stored):\n%s", diff)
	}
	if !json.Valid(stored.Record) {
		t.Errorf("stored Record %q is not JSON", stored.Record)
	}
	// Without a record, none comes back.
	if _, err := l.Settle(ctx, Result("norec", "duel", "a", "b")); err != nil {
		t.Fatalf("Settle = %v", err)
	}
	if stored, _, err := s.MatchResult(ctx, "norec"); err != nil || stored.Record != nil {
		t.Errorf("MatchResult(norec) Record = %q, %v; want nil", stored.Record, err)
	}
}

func testLeaderboard(t *testing.T, s Store) {
	ctx := t.Context()
	createPlayers(t, s, "a", "b", "c", "d")
	l := newLedger(s)
	// a beats b, and c beats d: a and c tie at 1520 (a ranks first, the
	// lower ID), b and d tie at 1480.
	for i, pair := range [][2]string{{"a", "b"}, {"c", "d"}} {
		if _, err := l.Settle(ctx, Result(fmt.Sprintf("l%d", i), "duel", pair[0], pair[1])); err != nil {
			t.Fatal(err)
		}
	}
	board, err := s.Leaderboard(ctx, "duel", 3)
	if err != nil {
		t.Fatalf("Leaderboard = %v", err)
	}
	var got []string
	for _, e := range board {
		got = append(got, fmt.Sprintf("%d %s %s %.0f %d", e.Rank, e.PlayerID, e.Name, e.Rating.Rating, e.Rating.Games))
	}
	want := []string{"1 a name-a 1520 1", "2 c name-c 1520 1", "3 b name-b 1480 1"}
	if !slices.Equal(got, want) {
		t.Errorf("Leaderboard(duel, 3) = %q, want %q", got, want)
	}
	// Ratings move: b now beats a twice and leads.
	for i := range 2 {
		if _, err := l.Settle(ctx, Result(fmt.Sprintf("r%d", i), "duel", "b", "a")); err != nil {
			t.Fatal(err)
		}
	}
	board, err = s.Leaderboard(ctx, "duel", 10)
	if err != nil || len(board) != 4 || board[0].PlayerID != "b" || board[3].PlayerID != "a" {
		t.Errorf("Leaderboard after b's wins = %+v, %v; want b first, a last, 4 entries", board, err)
	}
	if board, err := s.Leaderboard(ctx, "ffa", 10); err != nil || len(board) != 0 {
		t.Errorf("Leaderboard(empty mode) = %+v, %v; want empty", board, err)
	}
}

func testAntiCheat(t *testing.T, s Store) {
	ctx := t.Context()
	createPlayers(t, s, "cheater", "honest")
	want := []match.AntiCheatEvent{
		{MatchID: "m1", PlayerID: "cheater", Mode: "duel", Tick: 40, At: epoch, Action: "kick", Violations: map[string]int{"speed": 12, "fire_rate": 3}},
		{MatchID: "m2", PlayerID: "cheater", Mode: "ffa", Tick: 7, At: epoch.Add(time.Minute), Action: "kick", Violations: map[string]int{"teleport": 1}},
	}
	for _, ev := range want {
		if err := s.RecordAntiCheat(ctx, ev); err != nil {
			t.Fatalf("RecordAntiCheat = %v", err)
		}
	}
	got, err := s.AntiCheatEvents(ctx, "cheater")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AntiCheatEvents (-want +got):\n%s", diff)
	}
	if got, err := s.AntiCheatEvents(ctx, "honest"); err != nil || len(got) != 0 {
		t.Errorf("AntiCheatEvents(honest) = %v, %v; want none", got, err)
	}
}

func testContext(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	checks := map[string]error{
		"CreatePlayer":    s.CreatePlayer(ctx, "x", "x", epoch),
		"RecordAntiCheat": s.RecordAntiCheat(ctx, match.AntiCheatEvent{MatchID: "m", PlayerID: "x", At: epoch}),
		"Ping":            s.Ping(ctx),
	}
	_, _, checks["PlayerName"] = s.PlayerName(ctx, "x")
	_, checks["PlayerRatings"] = s.PlayerRatings(ctx, "x")
	_, checks["Leaderboard"] = s.Leaderboard(ctx, "duel", 10)
	_, _, checks["MatchResult"] = s.MatchResult(ctx, "m")
	_, checks["Settle"] = newLedger(s).Settle(ctx, Result("m", "duel", "x", "y"))
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s(cancelled context) = %v, want context.Canceled", name, err)
		}
	}
}

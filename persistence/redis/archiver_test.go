package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/postgres"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	"github.com/arbiter-gg/arbiter/persistence/storetest"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"
)

// openArchive opens a Postgres archive in a schema of the test's own.
func openArchive(t testing.TB) *postgres.Archive {
	t.Helper()
	raw, schema := servicetest.Postgres(t)
	return openArchiveAt(t, raw, schema)
}

func openArchiveAt(t testing.TB, raw, schema string) *postgres.Archive {
	t.Helper()
	a, err := postgres.Open(t.Context(), postgres.Config{URL: raw, Schema: schema})
	if err != nil {
		t.Fatalf("open archive: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

func ledger(s match.LedgerStore) *match.Ledger {
	modes := map[string]match.Mode{"duel": {Name: "duel", Players: 2}, "ffa": {Name: "ffa", Players: 10, MinPlayers: 2}}
	return match.NewLedger(s, modes, rating.DefaultElo(), rating.DefaultGlicko2())
}

// runArchiver runs a until the test ends (or stop is called) and waits for
// it.
func runArchiver(t *testing.T, a *Archiver) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			t.Errorf("archiver Run = %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// waitDrained waits until the stream is empty: everything archived.
func waitDrained(t *testing.T, s *Store, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, err := s.Backlog(t.Context())
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog still %d (err %v) after %v", n, err, within)
		}
		time.Sleep(20 * time.Millisecond) // polling a counter in Redis
	}
}

// playMatches creates players and settles n duels among them through s,
// every other one with a game's record, returning the settled results by
// match ID.
func playMatches(t *testing.T, s *Store, prefix string, players, n int) map[string]match.Result {
	t.Helper()
	ctx := t.Context()
	for i := range players {
		id := fmt.Sprintf("%sp%d", prefix, i)
		if err := s.CreatePlayer(ctx, id, "name-"+id, time.Now()); err != nil {
			t.Fatalf("CreatePlayer: %v", err)
		}
	}
	l := ledger(s)
	out := make(map[string]match.Result, n)
	for i := range n {
		a, b := fmt.Sprintf("%sp%d", prefix, i%players), fmt.Sprintf("%sp%d", prefix, (i+1+i/players)%players)
		if a == b {
			b = fmt.Sprintf("%sp%d", prefix, (i+2)%players)
		}
		res := storetest.Result(fmt.Sprintf("%sm%d", prefix, i), "duel", a, b)
		if i%2 == 0 {
			res.Record = []byte(storetest.ChessRecord) // half the games keep a record
		}
		res, err := l.Settle(ctx, res)
		if err != nil {
			t.Fatalf("Settle: %v", err)
		}
		out[res.MatchID] = res
	}
	return out
}

// checkArchived asserts that the archive holds exactly results (no more,
// none twice) and the same ratings as Redis.
func checkArchived(t *testing.T, s *Store, a *postgres.Archive, players int, results map[string]match.Result) {
	t.Helper()
	ctx := t.Context()
	got, err := a.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := postgres.Counts{Players: int64(players), Matches: int64(len(results)), MatchPlayers: int64(2 * len(results)), RatingHistory: int64(2 * len(results))}
	want.Ratings = got.Ratings // checked player by player below
	if got != want {
		t.Errorf("archive counts = %+v, want %+v", got, want)
	}
	for id, res := range results {
		stored, found, err := a.MatchResult(ctx, id)
		if err != nil || !found {
			t.Fatalf("archive MatchResult(%s) = %v, %v", id, found, err)
		}
		if diff := cmp.Diff(res, stored, cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) }), storetest.EqualRecords); diff != "" {
			t.Errorf("archived %s differs (-settled +archived):\n%s", id, diff)
			break
		}
	}
	ids, err := s.rdb.Keys(ctx, s.keys.ratings("*")).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range ids {
		player := key[len(s.keys.ratings("")):]
		live, err := s.PlayerRatings(ctx, player)
		if err != nil {
			t.Fatal(err)
		}
		archived, err := a.PlayerRatings(ctx, player)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(live, archived); diff != "" {
			t.Errorf("ratings of %s: Redis and archive differ (-redis +archive):\n%s", player, diff)
		}
	}
}

// TestWriteBehind: 200 matches finish; every result, rating change and
// history row lands in Postgres exactly once, even when every record is
// delivered twice.
func TestWriteBehind(t *testing.T) {
	s := openTest(t, Config{})
	a := openArchive(t)
	results := playMatches(t, s, "", 40, 200)

	// Deliver every record a second time, as a crashed archiver would.
	msgs, err := s.rdb.XRange(t.Context(), s.keys.stream(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		s.rdb.XAdd(t.Context(), &goredis.XAddArgs{Stream: s.keys.stream(), Values: m.Values})
	}
	arch := s.NewArchiver(a, ArchiverConfig{Consumer: "one", BatchSize: 64})
	runArchiver(t, arch)
	waitDrained(t, s, 30*time.Second)
	checkArchived(t, s, a, 40, results)
	if got, want := arch.Stats.Archived.Load(), uint64(2*(40+200)); got != want {
		t.Errorf("Archived = %d records, want %d", got, want)
	}
}

// TestPostgresOutage: while Postgres is unreachable, settling goes on and
// results wait in Redis; when it returns, all of them land, none twice.
func TestPostgresOutage(t *testing.T) {
	s := openTest(t, Config{})
	raw, schema, proxy := servicetest.PostgresViaProxy(t)
	a := openArchiveAt(t, raw, schema)
	arch := s.NewArchiver(a, ArchiverConfig{Consumer: "one", MaxBackoff: 100 * time.Millisecond})
	runArchiver(t, arch)

	before := playMatches(t, s, "a", 10, 20)
	waitDrained(t, s, 30*time.Second)

	proxy.Cut()
	during := playMatches(t, s, "b", 10, 30) // never waits on Postgres
	for arch.Stats.Failures.Load() < 2 {
		time.Sleep(10 * time.Millisecond) // polling the archiver's counter
	}
	if n, _ := s.Backlog(t.Context()); n != 10+30 {
		t.Errorf("backlog during the outage = %d, want %d", n, 10+30)
	}

	proxy.Restore()
	waitDrained(t, s, 30*time.Second)
	for id, r := range during {
		before[id] = r
	}
	checkArchived(t, s, a, 20, before)
}

// TestArchiverLogsRedisOutageOnce: an archiver that starts while Redis is
// cut off retries with a growing wait and logs the outage once, not at
// every attempt; when Redis is back it logs the recovery once and archives
// everything.
func TestArchiverLogsRedisOutageOnce(t *testing.T) {
	raw, prefix, proxy := servicetest.RedisViaProxy(t, servicetest.DBPersistence)
	rec := &logRecorder{}
	s, err := Open(t.Context(), Config{URL: withoutClientRetries(t, raw), Prefix: prefix, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	a := openArchive(t)
	results := playMatches(t, s, "", 6, 20)
	rec.Lines() // whatever settling said

	proxy.Cut()
	arch := s.NewArchiver(a, ArchiverConfig{Consumer: "one", Block: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	runArchiver(t, arch)
	// At least a second of outage and ten failed attempts, each of which
	// used to log a line.
	cut := time.Now()
	waitFor(t, 10*time.Second, "ten failed attempts", func() bool {
		return arch.Stats.Failures.Load() >= 10 && time.Since(cut) >= time.Second
	})
	proxy.Restore()
	waitDrained(t, s, 30*time.Second)
	checkArchived(t, s, a, 6, results)
	checkOutageLogged(t, "archiver", rec.Lines())
}

// TestArchiverCrash: an archiver dies between commit and acknowledgement;
// a new one, under another name, takes its pending records over; nothing
// is lost and nothing counted twice.
func TestArchiverCrash(t *testing.T) {
	s := openTest(t, Config{})
	a := openArchive(t)
	results := playMatches(t, s, "", 12, 60)

	ctx, cancel := context.WithCancel(t.Context())
	first := s.NewArchiver(a, ArchiverConfig{Consumer: "first", BatchSize: 25})
	first.afterWrite = cancel // killed after its first commit, before the ack
	if err := first.Run(ctx); err != nil {
		t.Fatalf("first Run = %v", err)
	}
	if first.Stats.Batches.Load() != 1 || first.Stats.Archived.Load() != 0 {
		t.Fatalf("first archiver: %d batches, %d acknowledged; want 1, 0", first.Stats.Batches.Load(), first.Stats.Archived.Load())
	}
	pending, err := s.rdb.XPending(t.Context(), s.keys.stream(), "archiver").Result()
	if err != nil || pending.Count != 25 {
		t.Fatalf("pending after the crash = %+v, %v; want 25", pending, err)
	}

	second := s.NewArchiver(a, ArchiverConfig{Consumer: "second", ClaimIdle: 200 * time.Millisecond})
	runArchiver(t, second)
	waitDrained(t, s, 30*time.Second)
	if got := second.Stats.Reclaimed.Load(); got != 25 {
		t.Errorf("second archiver reclaimed %d records, want 25", got)
	}
	checkArchived(t, s, a, 12, results)
}

// TestDeadLetter: a record the archiver cannot decode, and one the archive
// rejects (a 40-character name), are moved aside and counted; the records
// around them, in the same batch, are archived.
func TestDeadLetter(t *testing.T) {
	s := openTest(t, Config{})
	a := openArchive(t)
	s.rdb.XAdd(t.Context(), &goredis.XAddArgs{Stream: s.keys.stream(), Values: []any{"k", "settlement", "v", "{not json"}})
	s.rdb.XAdd(t.Context(), &goredis.XAddArgs{Stream: s.keys.stream(),
		Values: []any{"k", "player", "v", `{"ID":"long","Name":"` + strings.Repeat("x", 40) + `","CreatedAt":"2030-01-01T00:00:00Z"}`}})
	results := playMatches(t, s, "", 4, 3)
	arch := s.NewArchiver(a, ArchiverConfig{})
	runArchiver(t, arch)
	waitDrained(t, s, 30*time.Second)
	checkArchived(t, s, a, 4, results)
	if got := arch.Stats.DeadLettered.Load(); got != 2 {
		t.Errorf("DeadLettered = %d, want 2", got)
	}
	if got := arch.Stats.Archived.Load(); got != 4+3 {
		t.Errorf("Archived = %d, want %d", got, 4+3)
	}
	if n, _ := s.rdb.XLen(t.Context(), s.keys.deadLetters()).Result(); n != 2 {
		t.Errorf("dead-letter stream holds %d records, want 2", n)
	}
}

// TestArchiverRecreatesGroup: when Redis loses the stream and its consumer
// group while an archiver runs, the archiver makes them again and archives
// what comes next.
func TestArchiverRecreatesGroup(t *testing.T) {
	s := openTest(t, Config{})
	a := openArchive(t)
	results := playMatches(t, s, "a", 4, 3)
	runArchiver(t, s.NewArchiver(a, ArchiverConfig{Block: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}))
	waitDrained(t, s, 30*time.Second)
	s.rdb.Del(t.Context(), s.keys.stream()) // the group goes with it
	for id, r := range playMatches(t, s, "b", 4, 3) {
		results[id] = r
	}
	waitDrained(t, s, 30*time.Second)
	checkArchived(t, s, a, 8, results)
}

// TestColdRedis: a Redis that lost everything reads players, ratings and
// results through from the archive, warms the leaderboards, and the next
// match continues each player's record.
func TestColdRedis(t *testing.T) {
	ctx := t.Context()
	hot := openTest(t, Config{})
	a := openArchive(t)
	results := playMatches(t, hot, "", 6, 20)
	stop := runArchiver(t, hot.NewArchiver(a, ArchiverConfig{}))
	waitDrained(t, hot, 30*time.Second)
	stop()

	cold := openTest(t, Config{Archive: a})
	if name, found, err := cold.PlayerName(ctx, "p3"); err != nil || !found || name != "name-p3" {
		t.Errorf("cold PlayerName = %q, %v, %v", name, found, err)
	}
	for id, want := range results {
		got, found, err := cold.MatchResult(ctx, id)
		if err != nil || !found || got.MatchID != want.MatchID || len(got.Players) != 2 {
			t.Errorf("cold MatchResult(%s) = %+v, %v, %v", id, got, found, err)
		}
		break
	}
	n, err := cold.Warm(ctx, a.EachRating)
	if err != nil || n != 6 {
		t.Fatalf("Warm = %d, %v; want 6 ratings", n, err)
	}
	if n, err := cold.Warm(ctx, a.EachRating); err != nil || n != 0 {
		t.Errorf("Warm again = %d, %v; want 0 (already warm)", n, err)
	}
	wantBoard, _ := hot.Leaderboard(ctx, "duel", 10)
	gotBoard, _ := cold.Leaderboard(ctx, "duel", 10)
	if diff := cmp.Diff(wantBoard, gotBoard); diff != "" {
		t.Errorf("warmed leaderboard differs (-before +after):\n%s", diff)
	}
	before, _, _ := hot.Rating(ctx, "p0", "duel")
	settled, err := ledger(cold).Settle(ctx, storetest.Result("after", "duel", "p0", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	after, _, _ := cold.Rating(ctx, "p0", "duel")
	if settled.Players[0].RatingBefore != before.Rating || after.Games != before.Games+1 {
		t.Errorf("p0 after a cold start: before %v (want %v), games %d (want %d)", settled.Players[0].RatingBefore, before.Rating, after.Games, before.Games+1)
	}
}

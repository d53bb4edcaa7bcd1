package postgres

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/tern/v2/migrate"

	"github.com/arbiter-gg/arbiter/persistence"
)

func TestOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	url, schema := testDB(t)
	ctx := context.Background()

	// Two processes starting at once, then a third starting later: every
	// Open succeeds and the schema is migrated once.
	var wg sync.WaitGroup
	archives := make([]*Archive, 2)
	errs := make([]error, 2)
	for i := range archives {
		wg.Go(func() {
			archives[i], errs[i] = Open(ctx, Config{URL: url, Schema: schema, MaxConns: 2})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open #%d: %v", i, err)
		}
		t.Cleanup(archives[i].Close)
	}
	again, err := Open(ctx, Config{URL: url, Schema: schema})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	t.Cleanup(again.Close)

	var versions []int32
	rows, err := again.pool.Query(ctx, "SELECT version FROM "+schema+"."+versionTable)
	if err != nil {
		t.Fatalf("read version: %v", err)
	}
	for rows.Next() {
		var v int32
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("read version: %v", err)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read version: %v", err)
	}
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || int(versions[0]) != len(files) {
		t.Errorf("schema_version = %v, want [%d], the newest migration", versions, len(files))
	}

	// Every archive works on the same tables.
	if err := archives[0].CreatePlayer(ctx, "a", "Ann", t0); err != nil {
		t.Fatalf("CreatePlayer: %v", err)
	}
	if name, found, err := archives[1].PlayerName(ctx, "a"); err != nil || !found || name != "Ann" {
		t.Errorf("PlayerName(a) = %q, %v, %v, want Ann, true, nil", name, found, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	testDB(t) // skip with the others when there is no database
	tests := []struct {
		name     string
		give     Config
		wantText string // in the error
	}{
		{"unreachable", Config{URL: "postgres://arbiter:hunter2@127.0.0.1:1/arbiter?connect_timeout=5"}, "127.0.0.1:1/arbiter"},
		{"malformed", Config{URL: "postgres://arbiter:hunter2@127.0.0.1:notaport/arbiter"}, "malformed database URL"},
		{"bad schema", Config{URL: "postgres://arbiter:hunter2@127.0.0.1:1/arbiter", Schema: `Robert"); DROP TABLE players;--`}, "not a lowercase SQL identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := Open(ctx, tt.give)
			if err == nil {
				a.Close()
				t.Fatalf("Open(%s) = nil error, want one", tt.name)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Open error %q does not contain %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open error %q reveals the password", err)
			}
		})
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := newLeague("duel", "m")
	s := l.play("a", "b")

	tests := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return a.Ping(ctx) }},
		{"Write", func() error { return a.Write(ctx, persistence.Batch{Settlements: []persistence.Settlement{s}}) }},
		{"CreatePlayer", func() error { return a.CreatePlayer(ctx, "a", "Ann", t0) }},
		{"PlayerName", func() error { _, _, err := a.PlayerName(ctx, "a"); return err }},
		{"Rating", func() error { _, _, err := a.Rating(ctx, "a", "duel"); return err }},
		{"PlayerRatings", func() error { _, err := a.PlayerRatings(ctx, "a"); return err }},
		{"Leaderboard", func() error { _, err := a.Leaderboard(ctx, "duel", 10); return err }},
		{"Leaderboard limit 0", func() error { _, err := a.Leaderboard(ctx, "duel", 0); return err }},
		{"MatchResult", func() error { _, _, err := a.MatchResult(ctx, "m"); return err }},
		{"RecordAntiCheat", func() error { return a.RecordAntiCheat(ctx, kick("m", "a", 1)) }},
		{"AntiCheatEvents", func() error { _, err := a.AntiCheatEvents(ctx, "a"); return err }},
		{"SettleMatch", func() error { _, _, err := a.SettleMatch(ctx, s.Result, nil); return err }},
		{"EachRating", func() error { return a.EachRating(ctx, nil) }},
		{"Counts", func() error { _, err := a.Counts(ctx); return err }},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled) = %v, want context.Canceled", tt.name, err)
		}
	}
	wantCounts(t, a, Counts{})

	// The pool is still usable afterwards.
	if err := a.Ping(context.Background()); err != nil {
		t.Errorf("Ping after cancellations: %v", err)
	}
}

// TestMigrateRecord: migration 002 adds matches.record to an archive that
// holds matches (they read back without a record), and undoes cleanly.
func TestMigrateRecord(t *testing.T) {
	t.Parallel()
	a := openTest(t)
	ctx := t.Context()
	l := newLeague("chess", "m")
	old := l.play("a", "b")
	migrateTo := func(version int32) {
		t.Helper()
		conn, err := a.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		m, err := migrate.NewMigrator(ctx, conn.Conn(), a.schema+"."+versionTable)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := fs.Sub(migrationFiles, "migrations")
		if err := m.LoadMigrations(files); err != nil {
			t.Fatal(err)
		}
		if err := m.MigrateTo(ctx, version); err != nil {
			t.Fatalf("migrate to %d: %v", version, err)
		}
	}
	migrateTo(1)
	if _, err := a.pool.Exec(ctx, `INSERT INTO matches (id, mode, aborted, reason, created_at, ended_at, ticks)
VALUES ($1, 'chess', false, 'checkmate', now(), now(), 0)`, old.Result.MatchID); err != nil {
		t.Fatalf("a match archived at version 1: %v", err)
	}
	migrateTo(2)
	res, found, err := a.MatchResult(ctx, old.Result.MatchID)
	if err != nil || !found || res.Record != nil {
		t.Errorf("MatchResult(a match of version 1) = %v, %v, Record %q; want found, no record", found, err, res.Record)
	}
	recorded := l.play("a", "b")
	recorded.Result.Record = []byte(`{"moves":["e2e4"]}`)
	if err := a.Write(ctx, persistence.Batch{Settlements: []persistence.Settlement{recorded}}); err != nil {
		t.Fatalf("Write = %v", err)
	}
	if res, _, err := a.MatchResult(ctx, recorded.Result.MatchID); err != nil || string(res.Record) != `{"moves": ["e2e4"]}` {
		t.Errorf("MatchResult = Record %s, %v; want the record, as jsonb writes it", res.Record, err)
	}
	migrateTo(1)
	migrateTo(2)
}

// Package servicetest gives tests the real Redis and Postgres that CI
// starts, isolated per test: a Redis database chosen by the calling package
// and a key prefix of the test's own, a Postgres schema of the test's own.
//
// The services come from ARBITER_TEST_REDIS_URL and
// ARBITER_TEST_DATABASE_URL. When one is unset the test is skipped with a
// message naming the variable, unless ARBITER_REQUIRE_SERVICES=1, when it
// fails: CI sets all three so that nothing is silently skipped there.
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"
)

// Redis databases by test package, so that packages running in parallel
// never see each other's keys (the per-test prefix separates tests within
// a package).
const (
	DBPersistence = 1
	DBServer      = 2
	DBBench       = 3
)

func service(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv("ARBITER_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s is not set and ARBITER_REQUIRE_SERVICES=1", env)
	}
	t.Skipf("%s not set: skipping a test that needs the real service", env)
	return ""
}

// Unique returns a short random name, for prefixes and schemas.
func Unique() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Redis returns the URL of database db on the test Redis and a key prefix
// of this test's own; every key under it is deleted when the test ends.
func Redis(t testing.TB, db int) (rawURL, prefix string) {
	t.Helper()
	u, err := url.Parse(service(t, "ARBITER_TEST_REDIS_URL"))
	if err != nil {
		t.Fatalf("ARBITER_TEST_REDIS_URL: %v", err)
	}
	u.Path = "/" + strconv.Itoa(db)
	rawURL, prefix = u.String(), "test:"+Unique()+":"
	t.Cleanup(func() {
		opts, err := goredis.ParseURL(rawURL)
		if err != nil {
			return
		}
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return rawURL, prefix
}

// Postgres returns the URL of the test database and a fresh schema of this
// test's own, dropped when the test ends.
func Postgres(t testing.TB) (rawURL, schema string) {
	t.Helper()
	rawURL = service(t, "ARBITER_TEST_DATABASE_URL")
	schema = "test_" + Unique()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, rawURL)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP SCHEMA IF EXISTS %s CASCADE", pgx.Identifier{schema}.Sanitize())); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	return rawURL, schema
}

package main

import (
	"testing"

	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// The store configurations a server can run with.
const (
	storeMemory   = "memory"
	storeRedis    = "redis"
	storePostgres = "postgres"
	storeBoth     = "redis+postgres"
)

var storeKinds = []string{storeMemory, storeRedis, storePostgres, storeBoth}

// storeArgs returns the flags that run a server on kind, with a Redis key
// prefix and a Postgres schema of the test's own.
func storeArgs(t *testing.T, kind string) []string {
	t.Helper()
	var args []string
	if kind == storeRedis || kind == storeBoth {
		url, prefix := servicetest.Redis(t, servicetest.DBServer)
		args = append(args, "--redis-url", url, "--redis-prefix", prefix)
	}
	if kind == storePostgres || kind == storeBoth {
		url, schema := servicetest.Postgres(t)
		args = append(args, "--database-url", url, "--database-schema", schema)
	}
	return args
}

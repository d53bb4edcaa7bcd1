package redis

import (
	"testing"

	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	"github.com/arbiter-gg/arbiter/persistence/storetest"
)

// openTest opens a store on the test Redis under a prefix of the test's
// own.
func openTest(t *testing.T, cfg Config) *Store {
	t.Helper()
	cfg.URL, cfg.Prefix = servicetest.Redis(t, servicetest.DBPersistence)
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t, Config{}) })
}

package postgres

import (
	"testing"

	"github.com/arbiter-gg/arbiter/persistence/storetest"
)

// TestContract runs the contract every Arbiter store satisfies, so that
// the archive can stand in for persistence.Memory.
func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

package persistence_test

import (
	"testing"

	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/persistence/storetest"
)

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return persistence.NewMemory() })
}

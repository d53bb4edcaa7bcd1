package matchmaker_test

import (
	"testing"

	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/match/matchmaker/pooltest"
)

// TestMemoryPoolContract: the embedded default's pool keeps the contract
// the Redis pool keeps (persistence/redis runs the same suite).
func TestMemoryPoolContract(t *testing.T) {
	pooltest.Run(t, func(t *testing.T, logLen int) pooltest.Fixture {
		p := matchmaker.NewMemoryPoolLog(logLen)
		return pooltest.Fixture{Pool: p, Second: p, Forget: p.Forget}
	})
}

// Package matchmakertest runs a matchmaker in the tests of packages that
// build on one (the REST API, the Redis pool).
package matchmakertest

import (
	"context"
	"sync"
	"testing"

	"github.com/arbiter-gg/arbiter/match/matchmaker"
)

// Run runs mm's planning loop until stop is called or the test ends, and
// returns stop, which ends the loop, waits for it and returns Run's error.
// At the test's end an error from Run fails the test.
func Run(t testing.TB, mm *matchmaker.Matchmaker) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mm.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("matchmaker Run = %v", err)
		}
	})
	return stop
}

package matchmaker

import (
	"errors"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// testModes returns the modes the tests queue for, shaped like the
// reference game's: a duel of two and an ffa of two to ten. The matchmaker
// has no modes of its own (Config.Modes).
func testModes() map[string]match.Mode {
	return map[string]match.Mode{
		"duel": {Name: "duel", Game: "test", Players: 2, MinPlayers: 2, Duration: 120 * time.Second},
		"ffa":  {Name: "ffa", Game: "test", Players: 10, MinPlayers: 2, Duration: 120 * time.Second},
	}
}

// fillWait returns testModes with ffa's FillWait set to d.
func fillWait(d time.Duration) map[string]match.Mode {
	modes := testModes()
	ffa := modes["ffa"]
	ffa.FillWait = d
	modes["ffa"] = ffa
	return modes
}

// TestNoModes: the matchmaker has no modes of its own; without
// Config.Modes nothing can be queued for.
func TestNoModes(t *testing.T) {
	mm := New(Config{Logger: quietLogger()}, &fakeStarter{}, testTokens)
	if _, err := mm.Enqueue(t.Context(), "a", "duel"); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("Enqueue(a, duel) without modes = %v, want ErrUnknownMode", err)
	}
	if _, ok := mm.Mode("duel"); ok {
		t.Error("Mode(duel) found a mode nobody configured")
	}
}

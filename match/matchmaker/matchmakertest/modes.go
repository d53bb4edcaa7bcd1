package matchmakertest

import (
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Modes returns modes for a matchmaker under test (Config.Modes), shaped
// like the reference game's: "duel", two players, and "ffa", two to ten;
// 120 s each, of a game called "test". The matchmaker has no modes of its
// own.
func Modes() map[string]match.Mode {
	return map[string]match.Mode{
		"duel": {Name: "duel", Game: "test", Players: 2, MinPlayers: 2, Duration: 120 * time.Second},
		"ffa":  {Name: "ffa", Game: "test", Players: 10, MinPlayers: 2, Duration: 120 * time.Second},
	}
}

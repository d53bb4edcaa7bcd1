//go:build !race

package chess

// raceEnabled reports whether the race detector is on.
const raceEnabled = false

//go:build race

package chess

// raceEnabled reports whether the race detector is on, which makes the
// library's own Game (the reference in TestLibGameMatchesLibrary) several
// times slower.
const raceEnabled = true

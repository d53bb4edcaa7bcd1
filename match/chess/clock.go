package chess

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Clock is a Fischer time control: each side starts with Base and gains
// Increment after each of its moves.
type Clock struct {
	Base      time.Duration
	Increment time.Duration
}

// maxClock bounds a clock so that any time left fits Board's uint32
// milliseconds, with room for increments (about 24 days).
const maxClock = math.MaxUint32 / 2 * time.Millisecond

// ParseClock parses a time control written base+increment in Go durations,
// such as "3m+2s" (the default of --chess-clock) or "2s+0s"; "5m" alone has
// no increment. Base must be positive and Increment not negative.
func ParseClock(s string) (Clock, error) {
	baseStr, incStr, hasInc := strings.Cut(s, "+")
	base, err := time.ParseDuration(strings.TrimSpace(baseStr))
	if err != nil {
		return Clock{}, fmt.Errorf("chess: clock %q: base: %w", s, err)
	}
	var inc time.Duration
	if hasInc {
		if inc, err = time.ParseDuration(strings.TrimSpace(incStr)); err != nil {
			return Clock{}, fmt.Errorf("chess: clock %q: increment: %w", s, err)
		}
	}
	c := Clock{Base: base, Increment: inc}
	if err := c.validate(); err != nil {
		return Clock{}, fmt.Errorf("chess: clock %q: %w", s, err)
	}
	return c, nil
}

// String writes c the way ParseClock reads it, such as "3m0s+2s".
func (c Clock) String() string { return c.Base.String() + "+" + c.Increment.String() }

// pgnTimeControl writes c as PGN's TimeControl tag: seconds+seconds.
func (c Clock) pgnTimeControl() string {
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
	return secs(c.Base) + "+" + secs(c.Increment)
}

func (c Clock) validate() error {
	switch {
	case c.Base <= 0:
		return errors.New("base must be positive")
	case c.Increment < 0:
		return errors.New("increment must not be negative")
	case c.Base > maxClock || c.Increment > maxClock:
		return fmt.Errorf("longer than %v", maxClock)
	}
	return nil
}

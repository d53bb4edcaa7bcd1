package sim

import "math/bits"

// Combat rules (docs/arena.md). Distances are in centi-units, durations in
// milliseconds and converted to ticks by the functions below.
const (
	// ButtonFire is the Input.Buttons bit that fires.
	ButtonFire = 1 << 0
	// Range is how far a shot reaches from the shooter's position.
	Range = 30000
	// HitRadius is the radius of every entity's hit circle.
	HitRadius = 1500
	// Damage is the hp one hit takes.
	Damage = 25
	// FireCooldownMillis is the least time between two shots of one entity.
	FireCooldownMillis = 250
	// RespawnMillis is the time from death to respawn.
	RespawnMillis = 2000
	// MaxRewindMillis is how far in the past lag compensation may test a
	// shot.
	MaxRewindMillis = 200
	// MaxAim bounds each component of an input's aim vector: a larger one is
	// ViolationAimRange. It leaves clients ample precision (2^20 steps per
	// axis) while keeping Step's integer geometry far from overflow.
	MaxAim = 1 << 20
	// HistoryLen is how many ticks of positions the lag-compensation history
	// keeps per entity: at least one second at MaxTickRate, a power of two.
	HistoryLen = 64
)

// CooldownTicks returns the fire cooldown at tickRate in whole ticks, rounded
// up so that it is never shorter than FireCooldownMillis: 8 at 30 Hz, 15 at
// 60 Hz, 5 at 20 Hz.
func CooldownTicks(tickRate int) Tick {
	return Tick((FireCooldownMillis*tickRate + 999) / 1000)
}

// RewindTicks returns the most ticks lag compensation rewinds at tickRate,
// rounded down so that it never exceeds MaxRewindMillis: 6 at 30 Hz, 12 at
// 60 Hz, 4 at 20 Hz.
func RewindTicks(tickRate int) Tick {
	return Tick(MaxRewindMillis * tickRate / 1000)
}

// RespawnTicks returns the time from death to respawn at tickRate, in ticks
// (exact for every allowed rate: 2·tickRate).
func RespawnTicks(tickRate int) Tick {
	return Tick(RespawnMillis * tickRate / 1000)
}

// trace returns the entity shooter's shot along (ax, ay) hits: the first one,
// along the ray, of the other entities alive now whose position at tick rt
// (from the history) was alive and within HitRadius of the segment from the
// shooter's current position to Range along the aim; ties go to the lowest
// ID.
func (w *World) trace(shooter int, rt Tick, ax, ay int32) (int, bool) {
	dx, dy, ok := aimVector(ax, ay)
	if !ok {
		return 0, false
	}
	p := w.entities[shooter].Pos
	slot := int(rt % HistoryLen)
	best, bestKey := -1, int64(0)
	for j := range w.entities {
		if j == shooter || !w.present[j] || !w.entities[j].Alive {
			continue
		}
		h := &w.hist[j*HistoryLen+slot]
		if h.tick != rt || !h.alive {
			continue
		}
		if key, hit := segmentHit(p, dx, dy, h.pos); hit && (best < 0 || key < bestKey) {
			best, bestKey = j, key
		}
	}
	return best, best >= 0
}

// aimVector scales the aim direction (ax, ay) to length Range (within two
// units: the components are truncated). It first shifts the vector so that
// its larger component has 21 bits, an exact change that keeps the integer
// square root's relative error below 2^-20 however short the client's vector
// was. ok is false for the zero vector.
func aimVector(ax, ay int32) (dx, dy int64, ok bool) {
	x, y := int64(ax), int64(ay)
	m := max(x, -x, y, -y)
	if m == 0 {
		return 0, 0, false
	}
	if sh := 21 - bits.Len64(uint64(m)); sh > 0 {
		x, y = x<<sh, y<<sh
	} else if sh < 0 {
		// Only for aims beyond MaxAim, which Validate rejects; Step still
		// must not overflow on them.
		x, y = x>>-sh, y>>-sh
	}
	n := int64(isqrt(uint64(x*x + y*y))) // ≥ 2^20
	return x * Range / n, y * Range / n, true
}

// segmentHit reports whether the circle of radius HitRadius around c meets
// the segment from p to p+(dx, dy), where |(dx, dy)| ≤ Range+2, and returns
// where along the segment the circle is entered, as a key that orders the
// targets of one shot: the entry distance times |(dx, dy)|, 0 when p itself
// is inside the circle.
//
// Overflow: after the reach check |v| ≤ 31500 per axis and |d| ≤ 30002, so
// v·d and v×d stay below 1.9e9 and their squares below 3.6e18 < 2^63.
func segmentHit(p Vec, dx, dy int64, c Vec) (key int64, hit bool) {
	const reach = Range + HitRadius + 2
	const r2 = int64(HitRadius) * HitRadius
	vx, vy := int64(c.X)-int64(p.X), int64(c.Y)-int64(p.Y)
	if vx > reach || vx < -reach || vy > reach || vy < -reach {
		return 0, false
	}
	l2 := dx*dx + dy*dy
	s := vx*dx + vy*dy     // projection of v on d, times |d|
	cross := vx*dy - vy*dx // perpendicular distance, times |d|
	switch {
	case s <= 0: // closest point of the segment is p
		if vx*vx+vy*vy > r2 {
			return 0, false
		}
	case s >= l2: // closest point is the far end
		ex, ey := vx-dx, vy-dy
		if ex*ex+ey*ey > r2 {
			return 0, false
		}
	default:
		if cross*cross > r2*l2 {
			return 0, false
		}
	}
	// The segment passes within HitRadius, so the perpendicular distance
	// does too and the root's argument is not negative.
	return max(s-int64(isqrt(uint64(r2*l2-cross*cross))), 0), true
}

// isqrt returns floor(√n), exactly, by the binary digit-by-digit method: no
// floating point, the same answer on every platform.
func isqrt(n uint64) uint64 {
	var r uint64
	bit := uint64(1) << 62
	for bit > n {
		bit >>= 2
	}
	for bit != 0 {
		if n >= r+bit {
			n -= r + bit
			r = r>>1 + bit
		} else {
			r >>= 1
		}
		bit >>= 2
	}
	return r
}

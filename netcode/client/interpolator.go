package client

import (
	"math"

	"github.com/arbiter-gg/arbiter/sim"
)

// EntityView is one entity as the client shows it: position in centi-units,
// hit points and score as the server last reported them.
type EntityView struct {
	ID    sim.EntityID
	Pos   sim.Vec
	HP    int32
	Score int32
}

// frame is one remembered snapshot.
type frame struct {
	tick     sim.Tick
	entities []EntityView // in the server's order, without self
}

// Interpolator remembers the last few snapshots of the other entities and
// shows them between two of them, so that remote players move smoothly although
// snapshots arrive at a fixed rate and with jitter.
//
// Interpolator is pure and not safe for concurrent use; the Client guards its
// own with a mutex. The zero value is not usable; call NewInterpolator.
type Interpolator struct {
	self     sim.EntityID // left out of every frame: the Predictor shows it
	tickRate int
	// frames is a ring of at most cap(frames) snapshots in increasing tick
	// order, the oldest at head. Entity slices are reused when a slot is
	// overwritten, so a steady stream of snapshots does not allocate.
	frames []frame
	head   int
	n      int
}

// NewInterpolator returns an Interpolator that remembers at most capacity
// snapshots (a non-positive capacity means one second's worth, tickRate) and
// leaves out entity self, which the caller shows by prediction. A capacity below
// 2 is raised to 2, the least that can be interpolated between.
func NewInterpolator(self sim.EntityID, tickRate, capacity int) *Interpolator {
	if capacity <= 0 {
		capacity = tickRate
	}
	capacity = max(capacity, 2)
	return &Interpolator{self: self, tickRate: tickRate, frames: make([]frame, capacity)}
}

// Len returns the number of snapshots remembered.
func (ip *Interpolator) Len() int { return ip.n }

// Newest returns the tick of the newest snapshot remembered and whether there is
// one.
func (ip *Interpolator) Newest() (sim.Tick, bool) {
	if ip.n == 0 {
		return 0, false
	}
	return ip.at(ip.n - 1).tick, true
}

// Oldest returns the tick of the oldest snapshot remembered and whether there is
// one.
func (ip *Interpolator) Oldest() (sim.Tick, bool) {
	if ip.n == 0 {
		return 0, false
	}
	return ip.at(0).tick, true
}

// at returns the i-th remembered frame, 0 being the oldest.
func (ip *Interpolator) at(i int) *frame {
	return &ip.frames[(ip.head+i)%len(ip.frames)]
}

// Push remembers the entities of the snapshot of tick (entity self is left
// out; entities is copied). A snapshot not newer than the newest one remembered
// is ignored and Push returns false. When full, the oldest snapshot is
// forgotten.
func (ip *Interpolator) Push(tick sim.Tick, entities []EntityView) bool {
	if newest, ok := ip.Newest(); ok && tick <= newest {
		return false
	}
	var f *frame
	if ip.n < len(ip.frames) {
		f = ip.at(ip.n)
		ip.n++
	} else {
		f = ip.at(0)
		ip.head = (ip.head + 1) % len(ip.frames)
	}
	f.tick = tick
	f.entities = f.entities[:0]
	for _, e := range entities {
		if e.ID != ip.self {
			f.entities = append(f.entities, e)
		}
	}
	return true
}

// Sample appends to dst the entities as they were at renderTick, a possibly
// fractional server tick, and returns the extended slice.
//
// Between two remembered snapshots a and b (a.tick ≤ renderTick ≤ b.tick) an
// entity present in both is placed on the straight line between its two
// positions; one only in b is shown at b; one only in a is gone. HP and score
// are b's. A renderTick before the oldest or after the newest snapshot is
// clamped to it: the client never extrapolates. An entity that moved further
// than it could have by walking (a respawn) is not slid across the arena but
// snaps to whichever end is nearer in time (the newer on a tie).
func (ip *Interpolator) Sample(renderTick float64, dst []EntityView) []EntityView {
	if ip == nil {
		return dst // before the Welcome there is nothing to show
	}
	if ip.n == 0 {
		return dst
	}
	oldest, newest := ip.at(0), ip.at(ip.n-1)
	if renderTick <= float64(oldest.tick) || ip.n == 1 {
		return append(dst, oldest.entities...)
	}
	if renderTick >= float64(newest.tick) {
		return append(dst, newest.entities...)
	}
	// Find the newest frame at or before renderTick, searching from the
	// newest end: the render tick normally sits a few ticks behind it.
	i := ip.n - 2
	for i > 0 && float64(ip.at(i).tick) > renderTick {
		i--
	}
	a, b := ip.at(i), ip.at(i+1)
	span := float64(b.tick - a.tick)
	t := (renderTick - float64(a.tick)) / span
	// Fastest legal move over the span, with slack for rounding.
	reach := int64(b.tick-a.tick)*int64(sim.Speed)/int64(max(ip.tickRate, 1)) + 1
	for _, eb := range b.entities {
		v := eb
		if ea, ok := find(a.entities, eb.ID); ok {
			if chebyshev(ea.Pos, eb.Pos) > reach {
				if t < 0.5 {
					v.Pos = ea.Pos
				}
			} else {
				v.Pos = sim.Vec{X: lerp(ea.Pos.X, eb.Pos.X, t), Y: lerp(ea.Pos.Y, eb.Pos.Y, t)}
			}
		}
		dst = append(dst, v)
	}
	return dst
}

// find returns the entity with the given id. Snapshots hold a handful of
// entities (at most ten in ffa), so a linear scan beats building a map.
func find(es []EntityView, id sim.EntityID) (EntityView, bool) {
	for _, e := range es {
		if e.ID == id {
			return e, true
		}
	}
	return EntityView{}, false
}

func lerp(a, b int32, t float64) int32 {
	// The explicit conversion rounds the product before the sum: Go may
	// otherwise fuse them into one multiply-add (arm64 does), and the
	// result must be the same on every platform and in the TypeScript SDK.
	return int32(math.Round(float64(a) + float64((float64(b)-float64(a))*t)))
}

package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
)

// Arena geometry and movement, in centi-units (docs/arena.md).
const (
	// ArenaSize is the extent of the arena on both axes: positions lie in
	// [0, ArenaSize].
	ArenaSize = 100000
	// Speed is the distance a full-length move covers per second.
	Speed = 20000
	// MaxMove is the largest length of a move vector as applied (per-mille
	// of Speed).
	MaxMove = 1000
	// MoveTolerance is the largest length of a valid input's move vector:
	// an analog stick's unit vector, scaled by 1000 and rounded per axis,
	// may be up to √2·0.5 ≈ 0.71 longer than MaxMove. ClampMove scales
	// vectors between the two back to MaxMove; longer ones are
	// ViolationMoveLength.
	MoveTolerance = 1001
	// MaxHP is a fresh entity's hit points.
	MaxHP = 100
)

// Tick rate bounds accepted by New.
const (
	MinTickRate = 20
	MaxTickRate = 60
)

// Tick counts simulation steps since a world was created. Tick 0 is the
// state before the first Step.
type Tick uint32

// EntityID names an entity within one world. IDs start at 1 and are never
// reused within a world.
type EntityID uint32

// Vec is a position or displacement in centi-units.
type Vec struct {
	X, Y int32
}

// Input is one player's command for one tick, already decoded from the wire.
type Input struct {
	Seq          uint32
	MoveX, MoveY int32 // per-mille, length at most MoveTolerance (see ClampMove)
	Buttons      uint32
	AimX, AimY   int32 // a direction; only its angle matters, |each| ≤ MaxAim
	ViewTick     Tick  // the tick the client was displaying, for lag compensation
}

// Command pairs an input with the entity it drives.
type Command struct {
	Entity EntityID
	Input  Input
}

// Entity is the state of one player's avatar.
type Entity struct {
	ID    EntityID
	Pos   Vec
	HP    int32 // 0 while dead
	Score int32 // kills
	// Alive is false from the tick the entity's hp reaches 0 until the tick
	// it respawns. A dead entity does not move, cannot fire and cannot be
	// hit; its Pos stays where it died.
	Alive bool
	// RespawnAt is the tick whose Step brings a dead entity back; it is
	// meaningful only while !Alive.
	RespawnAt Tick
	// NextFire is the first tick whose Step may apply this entity's fire
	// (the fire cooldown, in ticks). 0 until it first fires.
	NextFire Tick
}

// Config fixes the parameters of a world for its whole life.
type Config struct {
	// TickRate is the number of Steps per simulated second, in
	// [MinTickRate, MaxTickRate].
	TickRate int
}

// ErrTickRate is returned by New for a tick rate outside the allowed range.
var ErrTickRate = errors.New("sim: tick rate out of range")

// World is the arena's complete state. The zero value is not usable; call New.
type World struct {
	cfg  Config
	tick Tick

	// Rule durations derived from cfg.TickRate, in ticks.
	cooldown Tick // between two applied fires of one entity
	rewind   Tick // furthest lag compensation looks back
	respawn  Tick // from death to respawn

	entities []Entity  // index i holds EntityID i+1
	present  []bool    // present[i] reports whether entity i+1 is in the world
	ctl      []control // per entity, indexed like entities
	// hist is the lag-compensation history: HistoryLen entries per entity,
	// entity i's state after tick t at hist[i*HistoryLen+t%HistoryLen].
	hist  []past
	shots []shot // reused by Step
}

// control is the per-entity state that is not part of the game picture: the
// command being applied and the anti-cheat accounting.
type control struct {
	stepped   Tick  // the last tick the entity took a command
	in        Input // that command
	fire      bool  // that command fires and the entity was alive to fire it
	suspicion int32 // see Suspicion
}

// past is one entry of the lag-compensation history.
type past struct {
	tick  Tick // the tick this entry describes; stale entries do not match
	pos   Vec
	alive bool
}

// shot is a hit found by Step's fire phase, applied after every shot of
// the tick has been traced.
type shot struct{ from, to int }

// New returns an empty world at tick 0.
func New(cfg Config) (*World, error) {
	if cfg.TickRate < MinTickRate || cfg.TickRate > MaxTickRate {
		return nil, fmt.Errorf("%w: %d not in [%d, %d]", ErrTickRate, cfg.TickRate, MinTickRate, MaxTickRate)
	}
	return &World{
		cfg:      cfg,
		cooldown: CooldownTicks(cfg.TickRate),
		rewind:   RewindTicks(cfg.TickRate),
		respawn:  RespawnTicks(cfg.TickRate),
	}, nil
}

// Config returns the configuration the world was created with.
func (w *World) Config() Config { return w.cfg }

// Tick returns the number of Steps taken so far.
func (w *World) Tick() Tick { return w.tick }

// spawnPoints are where entities appear, in join order; deterministic so that
// every replica of a world agrees.
var spawnPoints = [...]Vec{
	{20000, 20000}, {80000, 80000}, {80000, 20000}, {20000, 80000},
	{50000, 10000}, {50000, 90000}, {10000, 50000}, {90000, 50000},
	{35000, 35000}, {65000, 65000},
}

// SpawnPoint returns the deterministic spawn position of the n-th entity
// (0-based) to join a world.
func SpawnPoint(n int) Vec {
	return spawnPoints[n%len(spawnPoints)]
}

// Spawn adds a new entity at its spawn point and returns its ID.
func (w *World) Spawn() EntityID {
	id := EntityID(len(w.entities) + 1)
	w.entities = append(w.entities, Entity{ID: id, Pos: SpawnPoint(len(w.entities)), HP: MaxHP, Alive: true})
	w.present = append(w.present, true)
	w.ctl = append(w.ctl, control{})
	w.hist = append(w.hist, make([]past, HistoryLen)...)
	w.record(len(w.entities) - 1)
	return id
}

// Remove takes an entity out of the world. Its ID is not reused.
func (w *World) Remove(id EntityID) {
	if i, ok := w.index(id); ok {
		w.present[i] = false
	}
}

// Entity returns the entity with the given ID and whether it is in the world.
func (w *World) Entity(id EntityID) (Entity, bool) {
	i, ok := w.index(id)
	if !ok {
		return Entity{}, false
	}
	return w.entities[i], true
}

// AppendEntities appends every entity in the world to dst, in ID order, and
// returns the extended slice. Passing a reused dst avoids allocation.
func (w *World) AppendEntities(dst []Entity) []Entity {
	for i, e := range w.entities {
		if w.present[i] {
			dst = append(dst, e)
		}
	}
	return dst
}

func (w *World) index(id EntityID) (int, bool) {
	i := int(id) - 1
	if i < 0 || i >= len(w.entities) || !w.present[i] {
		return 0, false
	}
	return i, true
}

// Step advances the world by one tick, applying cmds. Callers pass at most
// one command per entity, each admitted by Accept (or at least passing
// Validate); a command for an entity not in the world is ignored, and so is
// any second command for the same entity. An entity without a command does
// not move.
//
// Step enforces the game rules itself rather than trusting its caller: an
// input failing the stateless Validate and a dead entity's input have no
// effect (the input still counts as the entity's command for the tick), a
// fire still on cooldown or without an aim only moves, and a future view
// tick is clamped to the present. A held fire button therefore fires at
// the cooldown's pace, on the first tick it allows.
//
// One tick runs in phases, each in entity ID order, so that the result does
// not depend on the order of cmds:
//  1. budgets refill, suspicion decays, dead entities due respawn;
//  2. movement;
//  3. every fire is traced against the state as it was before any of this
//     tick's damage: the shooter at its new position, targets where they were
//     at the shot's rewind tick (see RewindTick) and alive both then and now;
//  4. damage, in shooter ID order. Shots of one tick are simultaneous, so two
//     entities may kill each other (a trade); a victim killed by an earlier
//     shooter ignores later shots, and the kill is credited to the shooter
//     whose hit took the last hit points;
//  5. the tick's positions enter the lag-compensation history.
func (w *World) Step(cmds []Command) {
	w.tick++
	now := w.tick

	for i := range w.entities {
		if !w.present[i] {
			continue
		}
		c := &w.ctl[i]
		if c.suspicion > 0 {
			c.suspicion--
		}
		if e := &w.entities[i]; !e.Alive && e.RespawnAt <= now {
			w.revive(i)
		}
	}

	for _, cmd := range cmds {
		i, ok := w.index(cmd.Entity)
		if !ok || w.ctl[i].stepped == now {
			continue
		}
		c, e := &w.ctl[i], &w.entities[i]
		c.stepped, c.in, c.fire = now, cmd.Input, false
		if !e.Alive || Validate(cmd.Input) != ViolationNone {
			continue
		}
		e.Pos = Move(e.Pos, cmd.Input, w.cfg.TickRate)
		c.fire = cmd.Input.Buttons&ButtonFire != 0 && (cmd.Input.AimX != 0 || cmd.Input.AimY != 0)
	}

	w.shots = w.shots[:0]
	for i := range w.entities {
		c, e := &w.ctl[i], &w.entities[i]
		if c.stepped != now || !c.fire || now < e.NextFire {
			continue
		}
		e.NextFire = now + w.cooldown
		if j, ok := w.trace(i, rewindFrom(now-1, c.in.ViewTick, w.rewind), c.in.AimX, c.in.AimY); ok {
			w.shots = append(w.shots, shot{from: i, to: j})
		}
	}

	for _, s := range w.shots {
		v := &w.entities[s.to]
		if !v.Alive {
			continue
		}
		v.HP -= Damage
		if v.HP <= 0 {
			v.HP, v.Alive, v.RespawnAt = 0, false, now+w.respawn
			w.entities[s.from].Score++
		}
	}

	for i := range w.entities {
		if w.present[i] {
			w.record(i)
		}
	}
}

// RewindTick returns the tick whose positions a shot fired in the next Step
// with the given view tick is tested against: the view tick clamped to
// [Tick()-RewindTicks, Tick()] (and to 0). Tick() is the newest state a
// client can have seen, so it means no rewind at all; an older view tick is
// clamped, never rejected (docs/arena.md); a future one is a violation for
// Validate and clamped to Tick() by Step.
func (w *World) RewindTick(view Tick) Tick { return rewindFrom(w.tick, view, w.rewind) }

// rewindFrom clamps view to [last-rewind, last].
func rewindFrom(last, view, rewind Tick) Tick {
	lo := Tick(0)
	if last > rewind {
		lo = last - rewind
	}
	return max(min(view, last), lo)
}

// record writes entity i's current state into the history.
func (w *World) record(i int) {
	e := &w.entities[i]
	w.hist[i*HistoryLen+int(w.tick%HistoryLen)] = past{tick: w.tick, pos: e.Pos, alive: e.Alive}
}

// revive brings dead entity i back at full hp, at the spawn point farthest
// from every living entity.
func (w *World) revive(i int) {
	e := &w.entities[i]
	e.Pos, e.HP, e.Alive, e.RespawnAt = w.respawnPoint(i), MaxHP, true, 0
}

// respawnPoint chooses where entity self respawns: the spawn point whose
// nearest living other entity is farthest away (squared Euclidean distance),
// ties to the lowest spawn point index; with nobody else alive, spawn point
// 0. Entities revived earlier in the same tick count as living.
func (w *World) respawnPoint(self int) Vec {
	best, bestD := 0, int64(-1)
	for k, sp := range spawnPoints {
		d := int64(1) << 62
		for j := range w.entities {
			o := &w.entities[j]
			if j == self || !w.present[j] || !o.Alive {
				continue
			}
			dx, dy := int64(o.Pos.X)-int64(sp.X), int64(o.Pos.Y)-int64(sp.Y)
			d = min(d, dx*dx+dy*dy)
		}
		if d > bestD {
			best, bestD = k, d
		}
	}
	return spawnPoints[best]
}

// Move returns where an entity at p ends up after applying in for one tick at
// tickRate. It is the movement rule shared by the server and by client-side
// prediction: (mx, my) = ClampMove(move_x, move_y), dx = trunc(mx * Speed /
// (MaxMove * tickRate)), the same for y, then clamp to the arena.
func Move(p Vec, in Input, tickRate int) Vec {
	mx, my := ClampMove(in.MoveX, in.MoveY)
	den := int64(MaxMove) * int64(tickRate)
	dx := int64(mx) * Speed / den
	dy := int64(my) * Speed / den
	return Vec{X: clamp(int64(p.X)+dx, 0, ArenaSize), Y: clamp(int64(p.Y)+dy, 0, ArenaSize)}
}

// ClampMove returns the move vector (x, y) scaled to length at most MaxMove:
// unchanged if x²+y² ≤ MaxMove², else each component times MaxMove / n,
// truncated towards zero, where n = ⌈√(x²+y²)⌉. Between MaxMove and
// MoveTolerance (an analog stick's rounded unit vector) n is always 1001, so
// a client and the server need only this one integer rule to agree. The
// server clamps only valid vectors (length ≤ MoveTolerance); client
// libraries clamp whatever the game hands them, so that no honest client
// sends an invalid one. Exact in integers for every int32 pair.
func ClampMove(x, y int32) (int32, int32) {
	ux, uy := uint64(abs64(int64(x))), uint64(abs64(int64(y)))
	l2 := ux*ux + uy*uy // ≤ 2·2^62: fits
	if l2 <= MaxMove*MaxMove {
		return x, y
	}
	n := isqrt(l2)
	if n*n < l2 {
		n++
	}
	return int32(int64(x) * MaxMove / int64(n)), int32(int64(y) * MaxMove / int64(n))
}

func abs64(v int64) int64 { return max(v, -v) }

func clamp(v, lo, hi int64) int32 {
	return int32(min(max(v, lo), hi))
}

// Hash returns a digest of the complete game state, for determinism checks:
// two worlds that took the same commands from the same start hash equal. It
// covers the tick and every entity's position, hp, score, life and cooldown;
// the anti-cheat accounting (budgets, suspicion) is not game state and is
// left out.
func (w *World) Hash() uint64 {
	h := fnv.New64a()
	var buf [4]byte
	put := func(v uint32) {
		buf[0], buf[1], buf[2], buf[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		h.Write(buf[:])
	}
	put(uint32(w.tick))
	for i, e := range w.entities {
		if !w.present[i] {
			continue
		}
		alive := uint32(0)
		if e.Alive {
			alive = 1
		}
		put(uint32(e.ID))
		put(uint32(e.Pos.X))
		put(uint32(e.Pos.Y))
		put(uint32(e.HP))
		put(uint32(e.Score))
		put(alive)
		put(uint32(e.RespawnAt))
		put(uint32(e.NextFire))
	}
	return h.Sum64()
}

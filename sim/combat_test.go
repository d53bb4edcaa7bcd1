package sim

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// place moves entity id to p as of the current tick, history included, as if
// it had been standing there.
func place(t testing.TB, w *World, id EntityID, p Vec) {
	t.Helper()
	i, ok := w.index(id)
	if !ok {
		t.Fatalf("place: entity %d not in the world", id)
	}
	w.entities[i].Pos = p
	w.record(i)
}

// kill makes entity id dead as of the current tick, respawning far in the
// future.
func kill(t testing.TB, w *World, id EntityID) {
	t.Helper()
	i, ok := w.index(id)
	if !ok {
		t.Fatalf("kill: entity %d not in the world", id)
	}
	e := &w.entities[i]
	e.HP, e.Alive, e.RespawnAt = 0, false, w.tick+10000
	w.record(i)
}

func fire(aim Vec, view Tick) Input {
	return Input{Buttons: ButtonFire, AimX: aim.X, AimY: aim.Y, ViewTick: view}
}

func mustEntity(t testing.TB, w *World, id EntityID) Entity {
	t.Helper()
	e, ok := w.Entity(id)
	if !ok {
		t.Fatalf("Entity(%d) not in the world", id)
	}
	return e
}

func TestHitGeometry(t *testing.T) {
	type target struct {
		pos  Vec
		dead bool
	}
	shooter := Vec{50000, 50000}
	east := Vec{1, 0}
	tests := []struct {
		name    string
		aim     Vec
		targets []target
		want    int // index into targets of the one hit, -1 for none
	}{
		{"straight hit", east, []target{{pos: Vec{60000, 50000}}}, 0},
		{"on the radius", east, []target{{pos: Vec{60000, 51500}}}, 0},
		{"one unit outside the radius", east, []target{{pos: Vec{60000, 51501}}}, -1},
		{"one unit outside below", east, []target{{pos: Vec{60000, 48499}}}, -1},
		{"short aim vector is a direction", Vec{3, 4}, []target{{pos: Vec{50000 + 18000, 50000 + 24000}}}, 0},
		{"diagonal on the radius", Vec{3, 4}, []target{{pos: Vec{50000 + 16800, 50000 + 24900}}}, 0},
		{"diagonal just outside", Vec{3, 4}, []target{{pos: Vec{50000 + 16796, 50000 + 24903}}}, -1},
		{"huge aim vector", Vec{-MaxAim, 0}, []target{{pos: Vec{30000, 50000}}}, 0},
		{"end of range touches", east, []target{{pos: Vec{50000 + Range + HitRadius, 50000}}}, 0},
		{"out of range by one", east, []target{{pos: Vec{50000 + Range + HitRadius + 1, 50000}}}, -1},
		{"behind the shooter", east, []target{{pos: Vec{40000, 50000}}}, -1},
		{"overlapping the shooter", east, []target{{pos: Vec{48600, 50000}}}, 0},
		{"first of two in line", east, []target{{pos: Vec{70000, 50000}}, {pos: Vec{60000, 50000}}}, 1},
		{"equal distance goes to the lower ID", east, []target{{pos: Vec{60000, 51000}}, {pos: Vec{60000, 49000}}}, 0},
		{"equal distance, mirrored", east, []target{{pos: Vec{60000, 49000}}, {pos: Vec{60000, 51000}}}, 0},
		// Entered at 61000-√(1500²-1400²) ≈ 60462, before the centred one's
		// 60500: nearest along the ray, not nearest centre.
		{"first entered, not first centre", east, []target{{pos: Vec{62000, 50000}}, {pos: Vec{61000, 51400}}}, 1},
		{"dead target is not hit", east, []target{{pos: Vec{60000, 50000}, dead: true}, {pos: Vec{70000, 50000}}}, 1},
		{"dead target alone", east, []target{{pos: Vec{60000, 50000}, dead: true}}, -1},
		{"nobody else", east, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, 30)
			s := w.Spawn()
			place(t, w, s, shooter)
			ids := make([]EntityID, len(tt.targets))
			for k, tg := range tt.targets {
				ids[k] = w.Spawn()
				place(t, w, ids[k], tg.pos)
				if tg.dead {
					kill(t, w, ids[k])
				}
			}
			w.Step([]Command{{Entity: s, Input: fire(tt.aim, w.Tick())}})
			if got := mustEntity(t, w, s); got.HP != MaxHP || got.NextFire != 1+CooldownTicks(30) {
				t.Errorf("shooter after its shot = %+v, want full hp and cooldown to %d", got, 1+CooldownTicks(30))
			}
			for k, id := range ids {
				want := int32(MaxHP)
				switch {
				case tt.targets[k].dead:
					want = 0
				case k == tt.want:
					want = MaxHP - Damage
				}
				if got := mustEntity(t, w, id).HP; got != want {
					t.Errorf("target %d at %v: hp %d, want %d", k, tt.targets[k].pos, got, want)
				}
			}
		})
	}
}

// TestDeathAndRespawn: four hits kill, the shooter scores, and the victim
// comes back after exactly RespawnTicks at the spawn point farthest from the
// living.
func TestDeathAndRespawn(t *testing.T) {
	const rate = 30
	w := mustWorld(t, rate)
	a, b := w.Spawn(), w.Spawn()
	place(t, w, a, Vec{20000, 20000})
	place(t, w, b, Vec{30000, 20000})
	cd := CooldownTicks(rate)
	var died Tick
	for shot := 1; shot <= 4; shot++ {
		for w.Tick()+1 < mustEntity(t, w, a).NextFire {
			w.Step(nil)
		}
		if v := w.Validate(a, fire(Vec{1, 0}, w.Tick())); v != ViolationNone {
			t.Fatalf("shot %d: Validate = %v, want none", shot, v)
		}
		w.Step([]Command{{Entity: a, Input: fire(Vec{1, 0}, w.Tick())}})
		eb := mustEntity(t, w, b)
		if want := int32(MaxHP - shot*Damage); eb.HP != want {
			t.Fatalf("after shot %d: hp %d, want %d", shot, eb.HP, want)
		}
		if shot < 4 && !eb.Alive {
			t.Fatalf("dead after %d shots", shot)
		}
		died = w.Tick()
	}
	if got := w.Tick(); got != 1+3*cd {
		t.Errorf("fourth shot at tick %d, want %d (cooldown %d)", got, 1+3*cd, cd)
	}
	eb := mustEntity(t, w, b)
	if eb.Alive || eb.HP != 0 || eb.RespawnAt != died+RespawnTicks(rate) {
		t.Fatalf("victim after 4 hits = %+v, want dead, respawning at %d", eb, died+RespawnTicks(rate))
	}
	if got := mustEntity(t, w, a).Score; got != 1 {
		t.Errorf("shooter score %d, want 1", got)
	}

	// Dead: no moving, no firing, no being hit.
	deathPos := eb.Pos
	w.Step([]Command{{Entity: b, Input: Input{MoveX: 1000, Buttons: ButtonFire, AimX: -1, ViewTick: w.Tick()}}})
	if got := mustEntity(t, w, b); got.Pos != deathPos || got.NextFire != 0 {
		t.Errorf("dead entity acted: %+v, want still at %v and never fired", got, deathPos)
	}
	for w.Tick()+1 < mustEntity(t, w, a).NextFire {
		w.Step(nil)
	}
	w.Step([]Command{{Entity: a, Input: fire(Vec{1, 0}, w.Tick())}})
	if got := mustEntity(t, w, b); got.HP != 0 || mustEntity(t, w, a).Score != 1 {
		t.Errorf("dead entity was hit: %+v", got)
	}

	for w.Tick() < died+RespawnTicks(rate)-1 {
		w.Step(nil)
	}
	if mustEntity(t, w, b).Alive {
		t.Fatalf("alive at tick %d, before its respawn tick %d", w.Tick(), died+RespawnTicks(rate))
	}
	w.Step(nil)
	// a stands at (20000, 20000): the farthest spawn point is (80000, 80000).
	want := Entity{ID: b, Pos: Vec{80000, 80000}, HP: MaxHP, Alive: true}
	if got := mustEntity(t, w, b); got != want {
		t.Errorf("at tick %d: %+v, want %+v", w.Tick(), got, want)
	}
}

func TestRespawnPoint(t *testing.T) {
	w := mustWorld(t, 30)
	ids := []EntityID{w.Spawn(), w.Spawn(), w.Spawn()}
	i0, _ := w.index(ids[0])
	// The others stand at (80000,80000) and (80000,20000): (10000,50000) is
	// 5.8e9 (squared) from both, farther than any other point's nearest.
	if got, want := w.respawnPoint(i0), spawnPoints[6]; got != want {
		t.Errorf("respawnPoint = %v, want %v", got, want)
	}
	kill(t, w, ids[1])
	kill(t, w, ids[2])
	if got, want := w.respawnPoint(i0), spawnPoints[0]; got != want {
		t.Errorf("respawnPoint with nobody alive = %v, want %v (index 0)", got, want)
	}
}

// TestTrade: two entities with 25 hp shooting each other in the same tick
// both die and both score: a tick's shots are simultaneous.
func TestTrade(t *testing.T) {
	w := mustWorld(t, 30)
	a, b := w.Spawn(), w.Spawn()
	place(t, w, a, Vec{40000, 40000})
	place(t, w, b, Vec{50000, 40000})
	for _, id := range []EntityID{a, b} {
		i, _ := w.index(id)
		w.entities[i].HP = Damage
	}
	w.Step([]Command{
		{Entity: b, Input: fire(Vec{-1, 0}, 0)},
		{Entity: a, Input: fire(Vec{1, 0}, 0)},
	})
	for _, id := range []EntityID{a, b} {
		if e := mustEntity(t, w, id); e.Alive || e.Score != 1 {
			t.Errorf("entity %d = %+v, want dead with score 1", id, e)
		}
	}
}

func TestCooldown(t *testing.T) {
	for _, tt := range []struct {
		rate int
		want Tick
	}{{20, 5}, {30, 8}, {60, 15}} {
		t.Run(fmt.Sprintf("%dHz", tt.rate), func(t *testing.T) {
			if got := CooldownTicks(tt.rate); got != tt.want {
				t.Fatalf("CooldownTicks(%d) = %d, want %d", tt.rate, got, tt.want)
			}
			w := mustWorld(t, tt.rate)
			a, b := w.Spawn(), w.Spawn()
			place(t, w, a, Vec{40000, 40000})
			place(t, w, b, Vec{45000, 40000})
			shot := fire(Vec{1, 0}, 0)
			w.Step([]Command{{Entity: a, Input: shot}})
			first := w.Tick()
			// Every tick until the cooldown is over the trigger stays held:
			// the input is valid and moves, the shot waits.
			for w.Tick() < first+tt.want-1 {
				held := shot
				held.MoveY = 1000
				if v := w.Validate(a, held); v != ViolationNone {
					t.Fatalf("Validate(fire held) before tick %d = %v, want none", w.Tick()+1, v)
				}
				y := mustEntity(t, w, a).Pos.Y
				w.Step([]Command{{Entity: a, Input: held}})
				if hp := mustEntity(t, w, b).HP; hp != MaxHP-Damage {
					t.Fatalf("tick %d: fire on cooldown applied, hp %d", w.Tick(), hp)
				}
				if got := mustEntity(t, w, a).Pos.Y - y; got != Speed/int32(tt.rate) {
					t.Fatalf("tick %d: fire held on cooldown moved %d, want %d", w.Tick(), got, Speed/tt.rate)
				}
				place(t, w, a, Vec{40000, 40000}) // keep b in the line of fire
			}
			if v := w.Validate(a, shot); v != ViolationNone {
				t.Fatalf("Validate for tick %d (%d after the first shot) = %v, want none", w.Tick()+1, tt.want, v)
			}
			w.Step([]Command{{Entity: a, Input: shot}})
			if got := w.Tick() - first; got != tt.want {
				t.Errorf("second shot %d ticks after the first, want %d", got, tt.want)
			}
			if hp := mustEntity(t, w, b).HP; hp != MaxHP-2*Damage {
				t.Errorf("second shot: hp %d, want %d", hp, MaxHP-2*Damage)
			}
		})
	}
}

// TestLagCompensation: a target runs east at full speed across the line a
// stationary shooter fires along (north). The client aims where the target
// crossed the line, at the tick it reports as its view tick. The shot hits
// when that view is 100 or 200 ms old, and misses when it is 300 ms old
// (rewound only 200 ms, by then the target was 3 ticks = 1998 units on) or
// when the client claims a fresh view.
func TestLagCompensation(t *testing.T) {
	const rate = 30
	run := Input{MoveX: MaxMove}
	tests := []struct {
		name   string
		moved  Tick // ticks the target has run since it crossed the line
		behind Tick // the view tick is this many ticks before the newest one
		want   bool // hit
	}{
		{"100 ms", 3, 3, true},
		{"200 ms, the limit", RewindTicks(rate), RewindTicks(rate), true},
		{"300 ms, clamped to 200 ms", 9, 9, false},
		{"no lag claimed", 3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWorld(t, rate)
			s, tg := w.Spawn(), w.Spawn()
			place(t, w, s, Vec{50000, 40000})
			for range 20 { // some history first
				w.Step(nil)
			}
			place(t, w, tg, Vec{50000, 50000})
			for range tt.moved {
				w.Step([]Command{{Entity: tg, Input: run}})
			}
			if got, want := mustEntity(t, w, tg).Pos.X-50000, int32(tt.moved)*(Speed/rate); got != want {
				t.Fatalf("target %d east of the line, want %d", got, want)
			}
			in := fire(Vec{0, 1}, w.Tick()-tt.behind)
			if v := w.Validate(s, in); v != ViolationNone {
				t.Fatalf("Validate(%+v) = %v, want none", in, v)
			}
			w.Step([]Command{{Entity: s, Input: in}, {Entity: tg, Input: run}})
			if got := mustEntity(t, w, tg).HP < MaxHP; got != tt.want {
				t.Errorf("hit = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRewindTick(t *testing.T) {
	w := mustWorld(t, 30) // RewindTicks = 6
	for range 10 {
		w.Step(nil)
	}
	for _, tt := range []struct{ give, want Tick }{
		{10, 10}, {7, 7}, {4, 4}, {3, 4}, {0, 4}, {11, 10}, {1 << 31, 10},
	} {
		if got := w.RewindTick(tt.give); got != tt.want {
			t.Errorf("RewindTick(%d) at tick 10 = %d, want %d", tt.give, got, tt.want)
		}
	}
	if got := mustWorld(t, 30).RewindTick(5); got != 0 {
		t.Errorf("RewindTick(5) at tick 0 = %d, want 0", got)
	}
}

// TestLateJoinerNotHitInThePast: a shot rewound to before an entity joined
// cannot hit it.
func TestLateJoinerNotHitInThePast(t *testing.T) {
	w := mustWorld(t, 30)
	s := w.Spawn()
	place(t, w, s, Vec{50000, 50000})
	w.Step(nil)
	w.Step(nil)
	late := w.Spawn()
	place(t, w, late, Vec{60000, 50000})
	w.Step([]Command{{Entity: s, Input: fire(Vec{1, 0}, 1)}})
	if hp := mustEntity(t, w, late).HP; hp != MaxHP {
		t.Errorf("entity hit at a tick before it joined: hp %d", hp)
	}
}

func TestIsqrt(t *testing.T) {
	check := func(n uint64) {
		r := isqrt(n)
		hi, lo := bits.Mul64(r, r)
		hi1, lo1 := bits.Mul64(r+1, r+1)
		if hi != 0 || lo > n || (hi1 == 0 && lo1 <= n) {
			t.Fatalf("isqrt(%d) = %d", n, r)
		}
	}
	for n := range uint64(5000) {
		check(n)
	}
	for _, n := range []uint64{1<<32 - 1, 1 << 32, 1<<32 + 1, 1<<62 - 1, 1 << 62, 1<<64 - 1, (1<<32 - 1) * (1<<32 - 1)} {
		check(n)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		check(r.Uint64() >> r.IntN(64))
		s := r.Uint64N(1 << 32)
		check(s * s)
		check(s*s - 1)
	}
}

func TestAimVector(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		ax, ay := int32(r.IntN(2*MaxAim+1)-MaxAim), int32(r.IntN(2*MaxAim+1)-MaxAim)
		if r.IntN(2) == 0 { // short vectors too
			ax, ay = ax>>r.IntN(20), ay>>r.IntN(20)
		}
		dx, dy, ok := aimVector(ax, ay)
		if ok != (ax != 0 || ay != 0) {
			t.Fatalf("aimVector(%d, %d) ok = %v", ax, ay, ok)
		}
		if !ok {
			continue
		}
		if l2 := dx*dx + dy*dy; l2 > (Range+1)*(Range+1) || l2 < (Range-2)*(Range-2) {
			t.Fatalf("aimVector(%d, %d) = (%d, %d), length² %d not within 2 of %d", ax, ay, dx, dy, l2, Range)
		}
		// Same direction: the cross product is only the truncation's.
		if c, lim := int64(ax)*dy-int64(ay)*dx, 2*(abs64(int64(ax))+abs64(int64(ay))); c > lim || c < -lim || int64(ax)*dx+int64(ay)*dy < 0 {
			t.Fatalf("aimVector(%d, %d) = (%d, %d): not the same direction", ax, ay, dx, dy)
		}
	}
}

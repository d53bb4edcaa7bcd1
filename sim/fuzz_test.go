package sim

import (
	"slices"
	"testing"
)

// FuzzValidate: World.Validate never panics, gives the same verdict twice,
// changes nothing, agrees with the stateless Validate and with Accept, and
// Step never moves an entity further than one legal move whatever it is fed.
// Seeds are in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	f.Add(uint32(1), int32(1000), int32(0), uint32(1), int32(1), int32(0), uint32(12), uint8(0))
	f.Add(uint32(2), int32(-707), int32(707), uint32(1), int32(-5), int32(9), uint32(13), uint8(3))
	f.Add(uint32(9), int32(-1<<31), int32(1<<31-1), uint32(1<<32-1), int32(-1<<31), int32(0), uint32(1<<32-1), uint8(255))
	f.Fuzz(func(t *testing.T, id uint32, mx, my int32, buttons uint32, ax, ay int32, view uint32, spend uint8) {
		w := mustWorld(t, 30)
		a, b, c := w.Spawn(), w.Spawn(), w.Spawn()
		place(t, w, b, Vec{25000, 20000})
		for range 12 {
			w.Step([]Command{{Entity: a, Input: fire(Vec{1, 0}, w.Tick())}, {Entity: c, Input: Input{MoveX: 1000}}})
		}
		for range spend % 5 {
			w.Accept(EntityID(id), Input{ViewTick: 99}) // some suspicion
		}
		in := Input{Seq: 1, MoveX: mx, MoveY: my, Buttons: buttons, AimX: ax, AimY: ay, ViewTick: Tick(view)}
		ctl, hash := slices.Clone(w.ctl), w.Hash()

		v := w.Validate(EntityID(id), in)
		if again := w.Validate(EntityID(id), in); again != v {
			t.Fatalf("Validate(%d, %+v) = %v, then %v", id, in, v, again)
		}
		if !slices.Equal(ctl, w.ctl) || w.Hash() != hash {
			t.Fatalf("Validate(%d, %+v) changed the world", id, in)
		}
		if sv := Validate(in); sv != ViolationNone && sv != v {
			t.Fatalf("Validate(%d, %+v) = %v, but the stateless Validate says %v", id, in, v, sv)
		}
		if v.String() == "unknown" {
			t.Fatalf("Validate returned unnamed violation %d", v)
		}
		if got := w.Accept(EntityID(id), in); got != v {
			t.Fatalf("Accept(%d, %+v) = %v, Validate said %v", id, in, got, v)
		}
		if w.Hash() != hash {
			t.Fatalf("Accept(%d, %+v) changed the game state", id, in)
		}

		before, _ := w.Entity(EntityID(id))
		w.Step([]Command{{Entity: EntityID(id), Input: in}})
		after, ok := w.Entity(EntityID(id))
		if !ok {
			return
		}
		limit := int32(Speed / 30)
		if d := max(after.Pos.X-before.Pos.X, before.Pos.X-after.Pos.X, after.Pos.Y-before.Pos.Y, before.Pos.Y-after.Pos.Y); d > limit {
			t.Fatalf("Step(%+v) moved entity %d by %d, more than %d", in, id, d, limit)
		}
		if Validate(in) != ViolationNone && after.Pos != before.Pos {
			t.Fatalf("Step applied invalid %+v", in)
		}
	})
}

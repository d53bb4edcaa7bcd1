package sim

import (
	"math"
	"slices"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		give Input
		want Violation
	}{
		{Input{}, ViolationNone},
		{Input{MoveX: 1000}, ViolationNone},
		{Input{MoveX: 600, MoveY: -800}, ViolationNone},
		{Input{MoveX: 924, MoveY: 383}, ViolationNone},  // a 22.5° unit vector, rounded: length 1000.23
		{Input{MoveX: 601, MoveY: -800}, ViolationNone}, // 1000.60
		{Input{MoveX: -1001}, ViolationNone},            // exactly the tolerance
		{Input{MoveX: -1002}, ViolationMoveLength},
		{Input{MoveX: 708, MoveY: -708}, ViolationMoveLength}, // 1001.26: no rounding of a unit vector gives it
		{Input{MoveX: 602, MoveY: -800}, ViolationMoveLength}, // 1001.20
		{Input{MoveX: 1500}, ViolationMoveLength},
		{Input{MoveX: -1 << 31, MoveY: -1 << 31}, ViolationMoveLength},
		{Input{Buttons: ButtonFire, AimX: 1}, ViolationNone},
		{Input{Buttons: ButtonFire, AimX: -MaxAim, AimY: MaxAim}, ViolationNone},
		{Input{Buttons: ButtonFire}, ViolationNone}, // a fire without an aim fires nothing; no violation
		{Input{Buttons: ButtonFire | 0x10}, ViolationNone},
		{Input{Buttons: 0x10}, ViolationNone}, // other buttons need no aim
		{Input{}, ViolationNone},              // zero aim without fire
		{Input{AimX: MaxAim + 1}, ViolationAimRange},
		{Input{AimY: -MaxAim - 1}, ViolationAimRange},
		{Input{Buttons: ButtonFire, AimX: -1 << 31, AimY: 1<<31 - 1}, ViolationAimRange},
		{Input{MoveX: 2000, AimX: MaxAim + 1}, ViolationMoveLength}, // move checked first
		{Input{ViewTick: 1 << 31}, ViolationNone},                   // stateless: no tick to compare with
	}
	for _, tt := range tests {
		if got := Validate(tt.give); got != tt.want {
			t.Errorf("Validate(%+v) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestWorldValidate(t *testing.T) {
	const rate = 30
	w := mustWorld(t, rate)
	idle, shooter, dead := w.Spawn(), w.Spawn(), w.Spawn()
	for range 10 {
		w.Step(nil)
	}
	w.Step([]Command{{Entity: shooter, Input: fire(Vec{1, 1}, w.Tick())}}) // cooldown until 11+8
	kill(t, w, dead)
	now := w.Tick() // 11
	aim := Vec{0, -5}

	tests := []struct {
		name string
		id   EntityID
		give Input
		want Violation
	}{
		{"still", idle, Input{}, ViolationNone},
		{"full move", idle, Input{MoveX: -1000, ViewTick: now}, ViolationNone},
		{"fire", idle, fire(aim, now), ViolationNone},
		{"move too long", idle, Input{MoveX: 1000, MoveY: 100}, ViolationMoveLength},
		{"rounded analog vector", idle, Input{MoveX: 924, MoveY: 383}, ViolationNone},
		{"fire without aim", idle, fire(Vec{}, now), ViolationNone},
		{"absurd aim", idle, Input{AimX: MaxAim * 2}, ViolationAimRange},
		{"view tick now", idle, Input{ViewTick: now}, ViolationNone},
		{"view tick in the future", idle, Input{ViewTick: now + 1}, ViolationViewTick},
		{"view tick far in the future", idle, Input{ViewTick: 1<<32 - 1}, ViolationViewTick},
		{"view tick too old is clamped, not rejected", idle, fire(aim, 0), ViolationNone},
		{"fire held through the cooldown", shooter, fire(aim, now), ViolationNone},
		{"move on cooldown", shooter, Input{MoveY: 1000}, ViolationNone},
		{"view tick checked after the stateless rules", idle, Input{MoveX: 5000, ViewTick: now + 1}, ViolationMoveLength},
		{"dead entity's input is valid", dead, fire(aim, now), ViolationNone},
		{"unknown entity: stateless rules only", 99, Input{ViewTick: now + 1}, ViolationNone},
		{"unknown entity: bad move", 99, Input{MoveX: 5000}, ViolationMoveLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.Validate(tt.id, tt.give); got != tt.want {
				t.Errorf("Validate(%d, %+v) = %v, want %v", tt.id, tt.give, got, tt.want)
			}
		})
	}
}

func TestViolationString(t *testing.T) {
	seen := map[string]bool{}
	for v := ViolationNone; v.String() != "unknown"; v++ {
		name := v.String()
		if name == "" || seen[name] {
			t.Errorf("Violation(%d).String() = %q: empty or duplicate", v, name)
		}
		seen[name] = true
		if (v.Weight() == 0) != (v == ViolationNone) {
			t.Errorf("%v.Weight() = %d", v, v.Weight())
		}
	}
	if len(seen) != 4 {
		t.Errorf("%d violation kinds named, want 4", len(seen))
	}
	if got := Violation(200).String(); got != "unknown" {
		t.Errorf("Violation(200).String() = %q, want unknown", got)
	}
}

// TestValidateIsPure: Validate changes nothing; Accept only the accounting.
func TestValidateIsPure(t *testing.T) {
	w := mustWorld(t, 30)
	a := w.Spawn()
	w.Step(nil)
	ctl, hash := slices.Clone(w.ctl), w.Hash()
	for range 10 {
		w.Validate(a, Input{MoveX: 5000})
		w.Validate(a, fire(Vec{1, 0}, 9))
		w.Validate(a, Input{})
	}
	if !slices.Equal(ctl, w.ctl) || hash != w.Hash() {
		t.Fatal("Validate changed the world")
	}
	if v := w.Accept(a, Input{MoveX: 5000}); v != ViolationMoveLength {
		t.Fatalf("Accept = %v, want %v", v, ViolationMoveLength)
	}
	if hash != w.Hash() {
		t.Error("Accept changed the game state")
	}
	if got := w.Suspicion(a); got != ViolationMoveLength.Weight() {
		t.Errorf("Suspicion after one move_length = %d, want %d", got, ViolationMoveLength.Weight())
	}
	if w.Accept(a, Input{MoveX: 1000}) != ViolationNone || w.Suspicion(a) != ViolationMoveLength.Weight() {
		t.Errorf("an accepted input changed the suspicion score to %d", w.Suspicion(a))
	}
}

func TestSuspicionDecays(t *testing.T) {
	w := mustWorld(t, 30)
	a := w.Spawn()
	w.Accept(a, Input{ViewTick: 1})
	w.AddSuspicion(a, 30)
	w.AddSuspicion(a, -5) // ignored
	want := ViolationViewTick.Weight() + 30
	if got := w.Suspicion(a); got != want {
		t.Fatalf("Suspicion = %d, want %d", got, want)
	}
	for range 5 {
		w.Step(nil)
	}
	if got := w.Suspicion(a); got != want-5 {
		t.Errorf("Suspicion after 5 ticks = %d, want %d", got, want-5)
	}
	for range want {
		w.Step(nil)
	}
	if got := w.Suspicion(a); got != 0 {
		t.Errorf("Suspicion = %d after decaying, want 0", got)
	}
	if w.Suspicion(99) != 0 || w.Suspicious(99) {
		t.Error("unknown entity is suspicious")
	}
	w.AddSuspicion(99, 10) // no panic
}

// TestSpeedhack: an honest player's command and a cheater's ten commands a
// tick, all at full speed, are all valid — sending faster is not a
// violation — but Step applies one command per entity per tick, so over N
// ticks both cover exactly N·Speed/tickRate, and nobody is suspicious.
func TestSpeedhack(t *testing.T) {
	for _, rate := range []int{30, 60} {
		w := mustWorld(t, rate)
		honest, cheat := w.Spawn(), w.Spawn()
		place(t, w, honest, Vec{10000, 10000})
		place(t, w, cheat, Vec{10000, 60000})
		const ticks = 60
		seq := uint32(0)
		var cmds []Command
		for tk := range ticks {
			cmds = cmds[:0]
			seq++
			in := Input{Seq: seq, MoveX: MaxMove, ViewTick: w.Tick()}
			if v := w.Accept(honest, in); v != ViolationNone {
				t.Fatalf("%d Hz tick %d: honest input rejected: %v", rate, tk, v)
			}
			cmds = append(cmds, Command{Entity: honest, Input: in})
			for range 10 {
				seq++
				in := Input{Seq: seq, MoveX: MaxMove, ViewTick: w.Tick()}
				if v := w.Accept(cheat, in); v != ViolationNone {
					t.Fatalf("%d Hz tick %d: a fast sender's input rejected: %v", rate, tk, v)
				}
				cmds = append(cmds, Command{Entity: cheat, Input: in}) // Step applies one
			}
			w.Step(cmds)
		}
		want := int32(ticks * (Speed / rate))
		if got := mustEntity(t, w, honest).Pos.X - 10000; got != want {
			t.Errorf("%d Hz: honest player covered %d, want %d", rate, got, want)
		}
		if got := mustEntity(t, w, cheat).Pos.X - 10000; got != want {
			t.Errorf("%d Hz: fast sender covered %d, want %d (the legal maximum)", rate, got, want)
		}
		if w.Suspicion(honest) != 0 || w.Suspicion(cheat) != 0 {
			t.Errorf("%d Hz: suspicion %d and %d, want 0: surplus inputs are not violations", rate, w.Suspicion(honest), w.Suspicion(cheat))
		}
	}
}

// TestClampMove: the one integer rule that brings rounded analog vectors
// back to MaxMove, and clamps anything a client library is handed.
func TestClampMove(t *testing.T) {
	tests := []struct {
		give, want Vec
	}{
		{Vec{0, 0}, Vec{0, 0}},
		{Vec{1000, 0}, Vec{1000, 0}},
		{Vec{600, -800}, Vec{600, -800}},
		{Vec{707, 707}, Vec{707, 707}},
		{Vec{924, 383}, Vec{923, 382}},     // length 1000.23: ×1000/1001, truncated
		{Vec{-924, -383}, Vec{-923, -382}}, // truncation towards zero
		{Vec{1001, 0}, Vec{1000, 0}},
		{Vec{601, -800}, Vec{600, -799}},
		{Vec{1000, 1000}, Vec{706, 706}}, // n = ⌈1414.2⌉ = 1415
		{Vec{0, -1500}, Vec{0, -1000}},
		{Vec{-1 << 31, -1 << 31}, Vec{-707, -707}},
		{Vec{1<<31 - 1, -1 << 31}, Vec{707, -707}},
	}
	for _, tt := range tests {
		x, y := ClampMove(tt.give.X, tt.give.Y)
		if (Vec{x, y}) != tt.want {
			t.Errorf("ClampMove(%d, %d) = (%d, %d), want %v", tt.give.X, tt.give.Y, x, y, tt.want)
		}
	}
	// Every vector a rounded analog stick produces — a unit vector at any
	// angle scaled by 1000 and rounded per axis — is valid and clamps to at
	// most MaxMove, and its movement is the clamped vector's.
	for deg := range 3600 {
		a := float64(deg) / 10 * math.Pi / 180
		in := Input{MoveX: int32(math.Round(1000 * math.Cos(a))), MoveY: int32(math.Round(1000 * math.Sin(a)))}
		if v := Validate(in); v != ViolationNone {
			t.Fatalf("analog vector at %.1f° %+v: %v", float64(deg)/10, in, v)
		}
		x, y := ClampMove(in.MoveX, in.MoveY)
		if l2 := int64(x)*int64(x) + int64(y)*int64(y); l2 > MaxMove*MaxMove || l2 < 998*998 {
			t.Fatalf("ClampMove%+v = (%d, %d): length² %d, want just below %d", in, x, y, l2, MaxMove*MaxMove)
		}
		if Move(Vec{50000, 50000}, in, 30) != Move(Vec{50000, 50000}, Input{MoveX: x, MoveY: y}, 30) {
			t.Fatalf("Move does not clamp %+v", in)
		}
	}
}

package sim

import (
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
		{Input{MoveX: 601, MoveY: -800}, ViolationMoveLength},
		{Input{MoveX: -1001}, ViolationMoveLength},
		{Input{MoveX: -1 << 31, MoveY: -1 << 31}, ViolationMoveLength},
		{Input{Buttons: ButtonFire, AimX: 1}, ViolationNone},
		{Input{Buttons: ButtonFire, AimX: -MaxAim, AimY: MaxAim}, ViolationNone},
		{Input{Buttons: ButtonFire}, ViolationAimZero},
		{Input{Buttons: ButtonFire | 0x10}, ViolationAimZero},
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
	idle, shooter, broke, dead := w.Spawn(), w.Spawn(), w.Spawn(), w.Spawn()
	for range 10 {
		w.Step(nil)
	}
	w.Step([]Command{{Entity: shooter, Input: fire(Vec{1, 1}, w.Tick())}}) // cooldown until 11+8
	for range BudgetBurst {
		w.Accept(broke, Input{})
	}
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
		{"fire without aim", idle, fire(Vec{}, now), ViolationAimZero},
		{"absurd aim", idle, Input{AimX: MaxAim * 2}, ViolationAimRange},
		{"view tick now", idle, Input{ViewTick: now}, ViolationNone},
		{"view tick in the future", idle, Input{ViewTick: now + 1}, ViolationViewTick},
		{"view tick far in the future", idle, Input{ViewTick: 1<<32 - 1}, ViolationViewTick},
		{"view tick too old is clamped, not rejected", idle, fire(aim, 0), ViolationNone},
		{"fire on cooldown", shooter, fire(aim, now), ViolationFireRate},
		{"move on cooldown", shooter, Input{MoveY: 1000}, ViolationNone},
		{"budget spent", broke, Input{}, ViolationBudget},
		{"budget checked after the stateless rules", broke, Input{MoveX: 5000}, ViolationMoveLength},
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
	// The cooldown ends exactly: the shooter may fire in Step 11+8.
	for w.Tick()+1 < now+CooldownTicks(rate) {
		w.Step(nil)
	}
	if got := w.Validate(shooter, fire(aim, w.Tick())); got != ViolationNone {
		t.Errorf("Validate(fire) for tick %d = %v, want none", w.Tick()+1, got)
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
	if len(seen) != 7 {
		t.Errorf("%d violation kinds named, want 7", len(seen))
	}
	if got := Violation(200).String(); got != "unknown" {
		t.Errorf("Violation(200).String() = %q, want unknown", got)
	}
}

func TestBudget(t *testing.T) {
	var b Budget
	if b.Tokens() != BudgetBurst || !b.Ready() {
		t.Fatalf("zero Budget has %d tokens, want %d", b.Tokens(), BudgetBurst)
	}
	for k := range BudgetBurst {
		if !b.Take() {
			t.Fatalf("Take %d failed on a full budget", k+1)
		}
	}
	if b.Take() || b.Ready() {
		t.Fatal("Take succeeded on a spent budget")
	}
	b.Refill()
	if !b.Take() || b.Take() {
		t.Error("one Refill did not admit exactly one Take")
	}
	for range 10 {
		b.Refill()
	}
	if b.Tokens() != BudgetBurst {
		t.Errorf("Refill past the burst: %d tokens, want %d", b.Tokens(), BudgetBurst)
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
	if got := w.ctl[0].budget.Tokens(); got != BudgetBurst-1 {
		t.Errorf("a rejected input left %d tokens, want %d: every offer costs one", got, BudgetBurst-1)
	}
}

func TestSuspicionDecays(t *testing.T) {
	w := mustWorld(t, 30)
	a := w.Spawn()
	w.Flag(a, ViolationViewTick)
	w.Flag(a, ViolationFireRate)
	want := ViolationViewTick.Weight() + ViolationFireRate.Weight()
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
	w.Flag(99, ViolationBudget) // no panic
}

// TestSpeedhack: an honest player offers one input per tick; a cheater
// offers ten, all running at full speed. Over N ticks both cover exactly
// N·Speed/tickRate, and the cheater, not the honest one, crosses
// SuspicionLimit.
func TestSpeedhack(t *testing.T) {
	for _, rate := range []int{30, 60} {
		w := mustWorld(t, rate)
		honest, cheat := w.Spawn(), w.Spawn()
		place(t, w, honest, Vec{10000, 10000})
		place(t, w, cheat, Vec{10000, 60000})
		const ticks = 60
		seq := uint32(0)
		accepted, flaggedAt := 0, -1
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
				switch v := w.Accept(cheat, in); v {
				case ViolationNone:
					accepted++
					// Hand Step every accepted input: it applies one.
					cmds = append(cmds, Command{Entity: cheat, Input: in})
				case ViolationBudget:
				default:
					t.Fatalf("cheater's input rejected for %v", v)
				}
			}
			w.Step(cmds)
			if flaggedAt < 0 && w.Suspicious(cheat) {
				flaggedAt = tk
			}
		}
		want := int32(ticks * (Speed / rate))
		if got := mustEntity(t, w, honest).Pos.X - 10000; got != want {
			t.Errorf("%d Hz: honest player covered %d, want %d", rate, got, want)
		}
		if got := mustEntity(t, w, cheat).Pos.X - 10000; got != want {
			t.Errorf("%d Hz: cheater covered %d, want %d (the legal maximum)", rate, got, want)
		}
		if accepted != ticks+BudgetBurst-1 {
			t.Errorf("%d Hz: %d of the cheater's inputs accepted, want %d", rate, accepted, ticks+BudgetBurst-1)
		}
		if flaggedAt < 0 || flaggedAt > 5 {
			t.Errorf("%d Hz: cheater suspicious from tick %d (score %d), want within 5 ticks", rate, flaggedAt, w.Suspicion(cheat))
		}
		if got := w.Suspicion(honest); got != 0 {
			t.Errorf("%d Hz: honest player's suspicion %d, want 0", rate, got)
		}
	}
}

// TestBudgetAbsorbsJitter: inputs arriving in bursts of up to BudgetBurst,
// one per tick on average, are all accepted.
func TestBudgetAbsorbsJitter(t *testing.T) {
	w := mustWorld(t, 30)
	a := w.Spawn()
	for tk := range 300 {
		n := []int{0, 0, 3, 1, 0, 2}[tk%6]
		for range n {
			if v := w.Accept(a, Input{MoveX: 1}); v != ViolationNone {
				t.Fatalf("tick %d: burst of %d rejected: %v", tk, n, v)
			}
		}
		w.Step(nil)
	}
}

package sim

// Violation is the reason an input was rejected before it touched the world.
// Its String form is a stable lowercase word used in logs and metric labels.
type Violation uint8

// The kinds of Violation. ViolationNone means the input is acceptable.
const (
	ViolationNone Violation = iota
	// ViolationMoveLength: the move vector is longer than MaxMove.
	ViolationMoveLength
	// ViolationAimZero: the input fires with a zero aim vector.
	ViolationAimZero
	// ViolationAimRange: a component of the aim vector exceeds MaxAim in
	// magnitude (fire or not).
	ViolationAimRange
	// ViolationFireRate: the input fires before the entity's cooldown is
	// over.
	ViolationFireRate
	// ViolationViewTick: the view tick is in the future (later than the
	// world's tick). A view tick too old is not a violation: Step clamps it
	// to the rewind window.
	ViolationViewTick
	// ViolationBudget: the entity offered more inputs than its Budget
	// allows: more than one per tick on average, BudgetBurst at once.
	ViolationBudget
)

var violationNames = [...]string{
	ViolationNone:       "none",
	ViolationMoveLength: "move_length",
	ViolationAimZero:    "aim_zero",
	ViolationAimRange:   "aim_range",
	ViolationFireRate:   "fire_rate",
	ViolationViewTick:   "view_tick",
	ViolationBudget:     "budget",
}

// String returns the violation's stable name.
func (v Violation) String() string {
	if int(v) < len(violationNames) {
		return violationNames[v]
	}
	return "unknown"
}

// violationWeights is what each violation adds to the suspicion score. A
// flood costs little per input but comes many per tick; a malformed input
// no honest client sends costs most.
var violationWeights = [...]int32{
	ViolationNone:       0,
	ViolationMoveLength: 20,
	ViolationAimZero:    10,
	ViolationAimRange:   20,
	ViolationFireRate:   10,
	ViolationViewTick:   20,
	ViolationBudget:     4,
}

// Weight returns what one violation of kind v adds to an entity's suspicion
// score (see World.Suspicion); 0 for ViolationNone and unknown kinds.
func (v Violation) Weight() int {
	if int(v) < len(violationWeights) {
		return int(violationWeights[v])
	}
	return 0
}

// Suspicion score parameters: each violation adds its Weight, each Step takes
// one off (never below zero), so a player rejected at most once every
// Weight ticks stays near zero while a cheater's score climbs.
const (
	// SuspicionLimit is the score at and above which World.Suspicious
	// reports an entity; the room kicks it for cheating.
	SuspicionLimit = 100
	// suspicionCap keeps the score from overflowing under a flood.
	suspicionCap = 1 << 20
)

// Validate checks an input against the stateless rules of the game without
// applying it: the move length and the aim. It is pure: the same input
// always yields the same verdict. Client-side prediction uses it to know
// which inputs the server will drop; World.Validate adds the checks that
// depend on the entity and the tick.
func Validate(in Input) Violation {
	mx, my := int64(in.MoveX), int64(in.MoveY)
	// Bound each axis first: the sum of squares of two int32 extremes
	// overflows int64.
	if mx < -MaxMove || mx > MaxMove || my < -MaxMove || my > MaxMove || mx*mx+my*my > MaxMove*MaxMove {
		return ViolationMoveLength
	}
	if in.AimX < -MaxAim || in.AimX > MaxAim || in.AimY < -MaxAim || in.AimY > MaxAim {
		return ViolationAimRange
	}
	if in.Buttons&ButtonFire != 0 && in.AimX == 0 && in.AimY == 0 {
		return ViolationAimZero
	}
	return ViolationNone
}

// Validate reports whether in may be applied for entity id in the next Step,
// without changing anything: calling it any number of times yields the same
// verdict. It checks, in order, the stateless rules (the package-level
// Validate), the entity's input budget, the view tick (not after Tick()) and,
// for a fire, the cooldown (the next Step's tick must be at least
// Entity.NextFire). An entity not in the world gets only the stateless
// checks: Step ignores its commands anyway.
//
// A dead entity's inputs are valid; Step ignores them.
func (w *World) Validate(id EntityID, in Input) Violation {
	if v := Validate(in); v != ViolationNone {
		return v
	}
	i, ok := w.index(id)
	if !ok {
		return ViolationNone
	}
	switch {
	case !w.ctl[i].budget.Ready():
		return ViolationBudget
	case in.ViewTick > w.tick:
		return ViolationViewTick
	case in.Buttons&ButtonFire != 0 && w.tick+1 < w.entities[i].NextFire:
		return ViolationFireRate
	}
	return ViolationNone
}

// Accept admits one input offered for entity id: it returns the same verdict
// as Validate would, and accounts for the offer. Every offered input, valid
// or not, takes one token of the entity's Budget (when one is left), and a
// rejected one adds its Weight to the entity's suspicion score. It never
// changes the game state (positions, hp, cooldowns): those change only in
// Step.
//
// The contract for the caller (the match room): call Accept exactly once for
// every input it processes for the entity, in seq order, in the tick it
// processes it — rejected or not, before the Step that would apply it — and
// pass at most one accepted input per entity to each Step. Inputs the caller
// buffers and has not processed yet are not offered. Accept on one accepted
// input per tick never runs the budget dry (Step refills one token per tick);
// offering more than one per tick on average does, and the excess comes back
// ViolationBudget. Sending inputs faster therefore never moves a player
// faster: Step applies at most one command per entity per tick whatever was
// accepted, and the budget turns the surplus into suspicion.
func (w *World) Accept(id EntityID, in Input) Violation {
	v := w.Validate(id, in)
	if i, ok := w.index(id); ok {
		w.ctl[i].budget.Take()
		w.flag(i, v)
	}
	return v
}

// Flag adds a violation found outside the world (for example an input the
// room dropped as stale or for overflowing its buffer) to entity id's
// suspicion score. It does not touch the budget.
func (w *World) Flag(id EntityID, v Violation) {
	if i, ok := w.index(id); ok {
		w.flag(i, v)
	}
}

func (w *World) flag(i int, v Violation) {
	c := &w.ctl[i]
	c.suspicion = min(c.suspicion+int32(v.Weight()), suspicionCap)
}

// Suspicion returns entity id's violation score: the sum of the Weights of
// its violations, decayed by one per Step. 0 for an entity not in the world.
func (w *World) Suspicion(id EntityID) int {
	if i, ok := w.index(id); ok {
		return int(w.ctl[i].suspicion)
	}
	return 0
}

// Suspicious reports whether entity id's suspicion score has reached
// SuspicionLimit.
func (w *World) Suspicious(id EntityID) bool {
	return w.Suspicion(id) >= SuspicionLimit
}

// BudgetBurst is the most inputs a Budget admits at once, after a quiet
// spell: enough to absorb network jitter, too few to gain anything.
const BudgetBurst = 3

// Budget is a player's input budget, modelled on the Source engine's usercmd
// tick budget: a token bucket that refills by one token per tick up to
// BudgetBurst, from which every offered input takes one. On average a player
// may thus offer one input per tick. The zero value is a full budget.
type Budget struct {
	spent uint8 // tokens taken and not yet refilled, ≤ BudgetBurst
}

// Refill returns one token to the budget, up to BudgetBurst. World.Step calls
// it once per tick.
func (b *Budget) Refill() {
	if b.spent > 0 {
		b.spent--
	}
}

// Take takes a token and reports whether there was one.
func (b *Budget) Take() bool {
	if b.spent >= BudgetBurst {
		return false
	}
	b.spent++
	return true
}

// Ready reports whether Take would succeed.
func (b Budget) Ready() bool { return b.spent < BudgetBurst }

// Tokens returns the number of tokens left.
func (b Budget) Tokens() int { return BudgetBurst - int(b.spent) }

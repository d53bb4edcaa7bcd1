package sim

// Violation is the reason an input was rejected before it touched the world.
// Its String form is a stable lowercase word used in logs and metric labels.
//
// Only what no honest client can produce is a violation. An honest client on
// a real network holds the fire button through the cooldown, rounds an
// analog stick to a vector slightly longer than MaxMove, sends faster than
// the tick rate and delivers its inputs in bursts after a stall: none of
// that is a violation (Step applies at most one input per entity per tick
// and fires only when the cooldown allows, and ClampMove absorbs rounding).
type Violation uint8

// The kinds of Violation. ViolationNone means the input is acceptable.
const (
	ViolationNone Violation = iota
	// ViolationMoveLength: the move vector is longer than MoveTolerance,
	// which no rounding of a vector of length MaxMove produces.
	ViolationMoveLength
	// ViolationAimRange: a component of the aim vector exceeds MaxAim in
	// magnitude (fire or not).
	ViolationAimRange
	// ViolationViewTick: the view tick is in the future (later than the
	// world's tick): a client cannot display a tick it has not received. A
	// view tick too old is not a violation: Step clamps it to the rewind
	// window.
	ViolationViewTick
)

var violationNames = [...]string{
	ViolationNone:       "none",
	ViolationMoveLength: "move_length",
	ViolationAimRange:   "aim_range",
	ViolationViewTick:   "view_tick",
}

// String returns the violation's stable name.
func (v Violation) String() string {
	if int(v) < len(violationNames) {
		return violationNames[v]
	}
	return "unknown"
}

// Describe returns what the violated rule is, for the humans reading a
// Kick message.
func (v Violation) Describe() string {
	switch v {
	case ViolationMoveLength:
		return "move vector longer than 1001"
	case ViolationAimRange:
		return "aim component beyond ±1048576"
	case ViolationViewTick:
		return "view tick ahead of the server"
	}
	return v.String()
}

// violationWeights is what each violation adds to the suspicion score.
var violationWeights = [...]int32{
	ViolationNone:       0,
	ViolationMoveLength: 20,
	ViolationAimRange:   20,
	ViolationViewTick:   20,
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
// applying it: the move length (up to MoveTolerance: ClampMove brings what
// lies between MaxMove and it back to MaxMove) and the aim range. It is
// pure: the same input always yields the same verdict. Client-side
// prediction uses it to know which inputs the server will drop;
// World.Validate adds the checks that depend on the tick.
func Validate(in Input) Violation {
	mx, my := int64(in.MoveX), int64(in.MoveY)
	// Bound each axis first: the sum of squares of two int32 extremes
	// overflows int64.
	if mx < -MoveTolerance || mx > MoveTolerance || my < -MoveTolerance || my > MoveTolerance ||
		mx*mx+my*my > MoveTolerance*MoveTolerance {
		return ViolationMoveLength
	}
	if in.AimX < -MaxAim || in.AimX > MaxAim || in.AimY < -MaxAim || in.AimY > MaxAim {
		return ViolationAimRange
	}
	return ViolationNone
}

// Validate reports whether in may be applied for entity id in the next Step,
// without changing anything: calling it any number of times yields the same
// verdict. It checks the stateless rules (the package-level Validate), then
// the view tick (not after Tick()). An entity not in the world gets only
// the stateless checks: Step ignores its commands anyway.
//
// A fire during the cooldown is valid: its move applies, and the shot is
// fired by the first Step the cooldown allows in which the entity's command
// still fires (a held trigger). A dead entity's inputs are valid too; Step
// ignores them.
func (w *World) Validate(id EntityID, in Input) Violation {
	if v := Validate(in); v != ViolationNone {
		return v
	}
	if _, ok := w.index(id); !ok {
		return ViolationNone
	}
	if in.ViewTick > w.tick {
		return ViolationViewTick
	}
	return ViolationNone
}

// Accept admits one input offered for entity id: it returns the same verdict
// as Validate would, and adds a rejected input's Weight to the entity's
// suspicion score. It never changes the game state (positions, hp,
// cooldowns): those change only in Step.
//
// The contract for the caller (the match room): call Accept exactly once for
// every input it offers for the entity, in seq order, before the Step that
// would apply it, and pass at most one accepted input per entity to each
// Step. Inputs the caller drops without offering them (stale, surplus) are
// not violations and are not offered. Sending inputs faster never moves a
// player faster: Step applies at most one command per entity per tick.
func (w *World) Accept(id EntityID, in Input) Violation {
	v := w.Validate(id, in)
	if i, ok := w.index(id); ok {
		w.addSuspicion(i, v.Weight())
	}
	return v
}

// AddSuspicion adds points to entity id's suspicion score, for a violation
// found outside the world (a frame the transport refused). Non-positive
// points change nothing.
func (w *World) AddSuspicion(id EntityID, points int) {
	if i, ok := w.index(id); ok && points > 0 {
		w.addSuspicion(i, points)
	}
}

func (w *World) addSuspicion(i, points int) {
	c := &w.ctl[i]
	c.suspicion = int32(min(int(c.suspicion)+points, suspicionCap))
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

package match

import "time"

// Game is a pluggable game type. A Game is registered with the Manager under
// a name and creates one World per match. Implementations must be safe for
// concurrent use: rooms call NewWorld from their own goroutines.
type Game interface {
	// NewWorld returns a fresh world for one match.
	NewWorld(cfg WorldConfig) (World, error)
}

// WorldConfig parameterises one match's world.
type WorldConfig struct {
	Mode     string
	TickRate int
	Players  int // seats in the match
}

// World is one match's game state. It is owned by the room goroutine: no
// method is called concurrently, and implementations need no locks.
type World interface {
	// Join adds a player's entity and returns its ID.
	Join() EntityID
	// Validate reports whether in may be applied for entity now. It returns
	// nil or an error naming the violation (compare with errors.Is). The
	// room calls it exactly once per input it offers, in seq order, before
	// the Step that applies it, so a game may keep anti-cheat accounting
	// here (violation scores); it must not change game state, which only
	// Step does. Only what no honest client produces may be rejected: the
	// room has already dropped stale and surplus inputs without offering
	// them.
	Validate(entity EntityID, in Input) error
	// Step advances the world one tick, applying cmds (at most one per
	// entity, each one validated).
	Step(cmds []Command)
	// AppendEntities appends the state of every entity to dst.
	AppendEntities(dst []EntityState) []EntityState
	// Finished reports whether the game's own end condition is met (for
	// example, a duel's score limit). The time limit is the room's business.
	Finished() bool
}

// AntiCheat is an optional World capability for games that keep a
// violation score. The room reports the frames the transport refused from a
// player (Report), and kicks a player the world finds suspicious
// (arbiterv1.CloseCheat: Kick cheat, close 1008; an anti-cheat event, a
// forfeit). Inputs the room drops without offering them to Validate —
// stale, repeated, surplus — are never reported: honest clients on real
// networks produce them. Called only from the room goroutine.
type AntiCheat interface {
	// Report adds one frame refused by the transport to entity's score;
	// rule is the word of the reason the transport closed the connection
	// for: bad_frame, too_big, text_frame or input_flood (arbiterv1's
	// CloseReason).
	Report(entity EntityID, rule string)
	Suspicious(entity EntityID) bool
}

// EntityID names an entity within a world.
type EntityID uint32

// Input is one player's decoded input. Field meanings follow the wire
// protocol's arbiter.v1.Input.
type Input struct {
	Seq          uint32
	MoveX, MoveY int32
	Buttons      uint32
	AimX, AimY   int32
	ViewTick     uint32
}

// Command is an input bound to the entity it drives.
type Command struct {
	Entity EntityID
	Input  Input
}

// EntityState is what a snapshot says about one entity.
type EntityState struct {
	ID    EntityID
	X, Y  int32
	HP    uint32
	Score uint32
}

// Mode is a game mode's match rules.
type Mode struct {
	Name       string
	Game       string        // registered Game name
	Players    int           // seats per match (maximum for ffa)
	MinPlayers int           // fewest players a match may start with
	Duration   time.Duration // time limit of a running match
	Rating     string        // rating system: SystemElo (default) or SystemGlicko2
}

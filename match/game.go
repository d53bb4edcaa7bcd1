package match

import (
	"time"

	"github.com/arbiter-gg/arbiter/rating"
)

// Game is a pluggable game type. A Game is registered with the Manager under
// a name and creates one World per match. Implementations must be safe for
// concurrent use: rooms call NewWorld from their own goroutines.
type Game interface {
	// NewWorld returns a fresh world for one match.
	NewWorld(cfg WorldConfig) (World, error)
}

// GameSpec is a game as its package declares it for registration: the name
// it is registered under, its Game, and the modes it is played in with
// their rules. A game's package is the only place that names its modes:
// cmd registers each game's spec in one line and builds the Manager's, the
// matchmaker's and the Ledger's modes from the specs, changing only what
// its flags override (time limits, rating systems and parameters). match,
// the matchmaker and the REST API know games and modes only through these
// values.
type GameSpec struct {
	Name  string // the name the Game is registered under: every mode's Game
	Game  Game
	Modes []Mode // each mode's Name is unique across every registered game
}

// WorldConfig parameterises one match's world.
type WorldConfig struct {
	Mode       string // the mode's name
	TickRate   int
	Players    int // seats in the match
	ScoreLimit int // the mode's ScoreLimit: a score that ends the match (Finished); 0: none
	MatchID    string
	PlayerIDs  []string // the players, in seat order: Join's calls come in this order
}

// World is one match's game state: a TickWorld, stepped at the tick rate
// (the arena), or an EventWorld, changed by each player action as soon as
// it arrives and by its own deadlines (chess). It is owned by the room
// goroutine: no method is called concurrently, and implementations need no
// locks.
type World interface {
	// Join adds a player's entity and returns its ID; the room calls it
	// once per seat, in seat order, before the match starts.
	Join() EntityID
}

// TickWorld is a World stepped at the tick rate: players send inputs
// (arbiter.v1.Input), at most one applied per player per tick, and every
// tick ends with a snapshot to every player.
type TickWorld interface {
	World
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
	// example, a player reaching the mode's ScoreLimit). The time limit is the room's business.
	Finished() bool
}

// EventWorld is a World that changes only when a player acts (an
// arbiter.v1.Action, in the game's own command message) or when one of its
// own deadlines passes (a chess clock), never on a tick: the room processes
// each action as soon as it arrives and sends every player the new State
// (arbiter.v1.State, in the game's own state message) after every change.
// A game played this way has no anti-cheat score: whatever an action
// carries, the game accepts it or rejects it with a reason, and a rejected
// action is answered, never punished.
type EventWorld interface {
	World
	// Start begins the game at now: the match has started (every seat was
	// taken, or the join timeout passed).
	Start(now time.Time)
	// Act applies entity's action, received at now. It reports whether
	// the game changed; a non-nil Rejection refuses the action, with the
	// game's reason word and a message. A refused action changes nothing,
	// but the game may have changed before it was looked at (a clock that
	// ran out first): then both are set.
	Act(entity EntityID, payload []byte, now time.Time) (changed bool, rej *Rejection)
	// Deadline returns when the game next changes by itself (a clock
	// running out); zero: never, until the next action.
	Deadline() time.Time
	// Advance applies what is due at now (Deadline has passed) and reports
	// whether the game changed.
	Advance(now time.Time) bool
	// Version numbers the game's changes: it increases with every change
	// and never goes back, also in a world restored from a saved state on
	// another server, so that the State a client keeps (the highest
	// version) is always the newest.
	Version() uint32
	// AppendState appends the game's state message, encoded, to dst: the
	// payload of the State every player receives after a change. The room
	// calls it once per change and sends the same bytes, with the same
	// version, to a player who connects or whose action changed nothing.
	AppendState(dst []byte) []byte
	// Over reports whether the game has ended and, if so, why: the
	// result's Reason, one lowercase word of the game's (checkmate).
	Over() (reason string, over bool)
	// Score returns entity's score, which places the players when the game
	// ends (the highest first; equal scores share a placement).
	Score(entity EntityID) uint32
	// Forfeit records that entity left the game for good (it stayed away
	// past the grace period): the game decides what that means for the
	// others, and Over says whether it ended.
	Forfeit(entity EntityID, now time.Time)
}

// Rejection is why an EventWorld refused an action: Reason is a short
// lowercase word of the game's (illegal_move), Message is for humans.
type Rejection struct {
	Reason  string
	Message string
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

// Mode is a game mode's match rules, as its game declares them in its
// GameSpec. Each mode has its own matchmaking queue, ratings and
// leaderboard; players name it in the REST API.
type Mode struct {
	Name       string        // unique across games
	Game       string        // registered Game name
	Players    int           // seats per match: the most players a match has
	MinPlayers int           // fewest players a match may start with; below Players, the matchmaker starts a match short of players after FillWait
	FillWait   time.Duration // with MinPlayers < Players: how long a group's oldest ticket searches before the group starts short of players; 0: the matchmaker's default
	Duration   time.Duration // time limit of a running match; 0: none (an event game that ends by its own rules)
	ScoreLimit int           // a score that ends a match before its time limit (the game's World.Finished, through WorldConfig); 0: none
	Rating     string        // rating system: SystemElo (default) or SystemGlicko2
	// Elo and Glicko2 are the parameters of the mode's rating system
	// (only the one Rating names is used). Zero: the Ledger's defaults.
	Elo     rating.Elo
	Glicko2 rating.Glicko2
}

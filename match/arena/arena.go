// Package arena plugs the reference game of package sim into match: it
// declares the arena's modes (Spec), translates between match's
// game-neutral types and sim's, and maps sim's violations to errors. It
// holds no rules of its own beyond the modes'.
package arena

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/arbiter-gg/arbiter/sim"
)

// Name is the name the arena is registered under.
const Name = "arena"

// Spec returns the arena as cmd registers it: its Game and its modes, as
// docs/arena.md describes them.
//
//   - duel: two players; the first to 10 kills wins, or the time limit of
//     120 s ends it.
//   - ffa: up to ten players, at least two (the matchmaker starts a group
//     short of players once it has waited 10 s); 120 s, no score limit.
//
// Both are rated by Elo with rating.DefaultElo's parameters (start 1500, K
// 40 for a player's first 30 games in the mode, 20 after); cmd's flags may
// change the time limits and the rating systems and parameters.
func Spec() match.GameSpec {
	return match.GameSpec{
		Name: Name,
		Game: Game{},
		Modes: []match.Mode{
			{Name: "duel", Game: Name, Players: 2, MinPlayers: 2, Duration: 120 * time.Second, ScoreLimit: 10,
				Rating: match.SystemElo, Elo: rating.DefaultElo()},
			{Name: "ffa", Game: Name, Players: 10, MinPlayers: 2, FillWait: 10 * time.Second, Duration: 120 * time.Second,
				Rating: match.SystemElo, Elo: rating.DefaultElo()},
		},
	}
}

// Game creates arena worlds. The zero value is ready to use and safe for
// concurrent use.
type Game struct{}

// NewWorld returns an empty arena for one match, which ends early when a
// player's score reaches cfg.ScoreLimit (if not 0).
func (Game) NewWorld(cfg match.WorldConfig) (match.World, error) {
	w, err := sim.New(sim.Config{TickRate: cfg.TickRate})
	if err != nil {
		return nil, fmt.Errorf("arena: %w", err)
	}
	if cfg.ScoreLimit < 0 {
		return nil, fmt.Errorf("arena: score limit %d: must not be negative", cfg.ScoreLimit)
	}
	return &world{w: w, scoreLimit: int32(min(cfg.ScoreLimit, math.MaxInt32))}, nil
}

// ErrViolation is wrapped by every rejection Validate returns; errors.As to
// *ViolationError gives the kind.
var ErrViolation = errors.New("arena: input violates the rules")

// ViolationError names the rule an input broke.
type ViolationError struct{ Kind sim.Violation }

func (e *ViolationError) Error() string { return "arena: violation: " + e.Kind.String() }

// Violation returns the violation's stable name, which the room counts by.
func (e *ViolationError) Violation() string { return e.Kind.String() }

// Unwrap makes every ViolationError match ErrViolation.
func (e *ViolationError) Unwrap() error { return ErrViolation }

// violationErrs holds one preallocated error per kind, indexed by kind:
// validation runs for every input and must not allocate.
var violationErrs = func() []error {
	errs := []error{sim.ViolationNone: nil}
	for v := sim.ViolationNone + 1; v.String() != "unknown"; v++ {
		errs = append(errs, &ViolationError{Kind: v})
	}
	return errs
}()

// errUnknownViolation covers a kind sim adds before this table knows it.
var errUnknownViolation = &ViolationError{Kind: sim.Violation(255)}

func violationErr(v sim.Violation) error {
	if int(v) < len(violationErrs) {
		return violationErrs[v]
	}
	return errUnknownViolation
}

// The arena is stepped at the tick rate and keeps a violation score.
var (
	_ match.TickWorld = (*world)(nil)
	_ match.AntiCheat = (*world)(nil)
)

type world struct {
	w          *sim.World
	scoreLimit int32 // 0: none
	ents       []sim.Entity
	cmds       []sim.Command
}

func (a *world) Join() match.EntityID { return match.EntityID(a.w.Spawn()) }

// Validate admits in for entity through sim.World.Accept. It leaves the game
// state alone (positions, hp, score, cooldowns: only Step changes those) but
// adds a rejected input's weight to the entity's suspicion score. That
// relies on the room's call order: Validate exactly once per input it
// offers, in seq order, before the Step that applies it, and at most one
// accepted input per entity per Step.
func (a *world) Validate(entity match.EntityID, in match.Input) error {
	if v := a.w.Accept(sim.EntityID(entity), toSim(in)); v != sim.ViolationNone {
		return violationErr(v)
	}
	return nil
}

func (a *world) Step(cmds []match.Command) {
	a.cmds = a.cmds[:0]
	for _, c := range cmds {
		a.cmds = append(a.cmds, sim.Command{Entity: sim.EntityID(c.Entity), Input: toSim(c.Input)})
	}
	a.w.Step(a.cmds)
}

// AppendEntities reports every entity; a dead one has HP 0 (match's
// EntityState has no separate life flag).
func (a *world) AppendEntities(dst []match.EntityState) []match.EntityState {
	a.ents = a.w.AppendEntities(a.ents[:0])
	for _, e := range a.ents {
		dst = append(dst, match.EntityState{ID: match.EntityID(e.ID), X: e.Pos.X, Y: e.Pos.Y, HP: uint32(max(e.HP, 0)), Score: uint32(max(e.Score, 0))})
	}
	return dst
}

// Finished reports whether an entity has reached the mode's score limit;
// always false for a mode without one.
func (a *world) Finished() bool {
	if a.scoreLimit == 0 {
		return false
	}
	a.ents = a.w.AppendEntities(a.ents[:0])
	for _, e := range a.ents {
		if e.Score >= a.scoreLimit {
			return true
		}
	}
	return false
}

// Suspicion returns entity's violation score (sim.World.Suspicion).
func (a *world) Suspicion(entity match.EntityID) int {
	return a.w.Suspicion(sim.EntityID(entity))
}

// Suspicious implements match.AntiCheat: the score has reached
// sim.SuspicionLimit.
func (a *world) Suspicious(entity match.EntityID) bool {
	return a.w.Suspicious(sim.EntityID(entity))
}

// FrameWeight is what one frame refused by the transport (undecodable,
// too big, text, a flood) adds to the player's suspicion score: half of
// sim.SuspicionLimit, so that a client that breaks the protocol and
// reconnects to do it again is kicked at the second time within a few
// seconds. No honest client sends such a frame.
const FrameWeight = sim.SuspicionLimit / 2

// Report implements match.AntiCheat: a refused frame adds FrameWeight.
func (a *world) Report(entity match.EntityID, _ string) {
	a.w.AddSuspicion(sim.EntityID(entity), FrameWeight)
}

func toSim(in match.Input) sim.Input {
	return sim.Input{Seq: in.Seq, MoveX: in.MoveX, MoveY: in.MoveY, Buttons: in.Buttons,
		AimX: in.AimX, AimY: in.AimY, ViewTick: sim.Tick(in.ViewTick)}
}

package match

import (
	"context"
	"fmt"
	"time"
)

// Checkpoint is a match's state as a successor process needs it to end
// the match cleanly if this one dies: who plays, how they stand, and the
// game's latest snapshot. Rooms hand one to the Checkpointer when created
// and every RoomConfig.CheckpointEvery ticks while running.
type Checkpoint struct {
	MatchID   string
	Mode      string
	Status    string         // StatusWaiting or StatusRunning
	Players   []PlayerResult // in seat order: entity, score and forfeit as of Tick; no placement or ratings
	Tick      uint32
	CreatedAt time.Time
	StartedAt time.Time // zero while waiting
	// State is the encoded snapshot of Tick (an arbiter.v1.ServerMessage),
	// nil while waiting. The room never modifies it after handing it over.
	State []byte
}

// Checkpointer keeps checkpoints of the running matches outside the
// process (persistence/redis does, in Redis). Save and Ended are called on
// room goroutines and must return at once: an implementation queues (and
// counts what it drops), it never blocks a tick.
type Checkpointer interface {
	// Save records cp, replacing the match's previous checkpoint.
	Save(cp Checkpoint)
	// Ended forgets the match: its result is recorded.
	Ended(matchID string)
}

// ReasonServerLost is the Result.Reason of a match its process stopped
// running without ending it (a crash): a successor ends it from its last
// checkpoint, aborted.
const ReasonServerLost = "server_lost"

// OrphanResult is the result of a match its process left running: the
// standings of its last checkpoint, aborted (no rating changes, as for a
// shutdown), ended at now.
func OrphanResult(cp Checkpoint, now time.Time) Result {
	res := Result{
		MatchID: cp.MatchID, Mode: cp.Mode, Aborted: true, Reason: ReasonServerLost,
		CreatedAt: cp.CreatedAt, StartedAt: cp.StartedAt, EndedAt: now, Ticks: cp.Tick,
	}
	res.Players = append(res.Players, cp.Players...)
	Place(res.Players)
	return res
}

// EndOrphans records the results of matches a previous process left
// running, from their checkpoints (see OrphanResult), and forgets the
// checkpoints once recorded. It returns how many it ended; it stops at the
// first failure, leaving the rest for the next start.
func (m *Manager) EndOrphans(ctx context.Context, orphans []Checkpoint) (int, error) {
	ended := 0
	for _, cp := range orphans {
		res := OrphanResult(cp, m.cfg.Clock.Now())
		if m.cfg.Ledger != nil {
			if _, err := m.cfg.Ledger.Settle(ctx, res); err != nil {
				return ended, fmt.Errorf("end orphaned match %s: %w", cp.MatchID, err)
			}
		}
		if m.cfg.Checkpoints != nil {
			m.cfg.Checkpoints.Ended(cp.MatchID)
		}
		m.cfg.Logger.Warn("ended a match the previous process left running", "match", cp.MatchID, "mode", cp.Mode, "tick", cp.Tick)
		ended++
	}
	return ended, nil
}

// checkpoint returns the room's checkpoint at tick with state, the
// snapshot just encoded. Room goroutine only (or before it starts).
func (r *Room) checkpoint(tick uint32, state []byte) Checkpoint {
	cp := Checkpoint{
		MatchID: r.id, Mode: r.mode.Name, Status: StatusWaiting, Tick: tick,
		CreatedAt: r.createdAt, StartedAt: r.startedAt, State: state,
		Players: make([]PlayerResult, len(r.players)),
	}
	if state != nil {
		cp.Status = StatusRunning
	}
	for i, p := range r.players {
		cp.Players[i] = PlayerResult{PlayerID: p.id, Entity: p.entity, Forfeit: p.forfeited.Load()}
	}
	if r.tickState == nil {
		return cp // an event room: the manager's checkpoint at its creation
	}
	for _, e := range r.ents { // the entities encodeSnapshot just read
		if p := r.byEntity[e.ID]; p != nil {
			cp.Players[p.seat].Score = e.Score
		}
	}
	return cp
}

package match

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"google.golang.org/protobuf/proto"
)

// Errors returned when attaching to a seat.
var (
	// ErrMatchOver: the match has ended; its join tokens no longer admit.
	ErrMatchOver = errors.New("match: match is over")
)

// Peer is a connected client as a room sees it. netcode's sessions satisfy
// it. Every method must return at once and be safe for concurrent use: the
// room goroutine calls them while ticking.
type Peer interface {
	// Send queues a message frame (anything but a snapshot) for delivery in
	// order. The frame is immutable and may be shared between peers.
	Send(frame []byte)
	// SendSnapshot offers the newest snapshot; it replaces any older
	// snapshot the peer has not yet written. snap is the tick's snapshot
	// as the room encoded it once for every peer (shared and immutable:
	// the full message if a peer of the tick takes full snapshots, the
	// key and delta bodies if one takes deltas — see EncodingPeer), own
	// the peer's player's acknowledgements, which a delta message carries
	// for its recipient alone. The peer writes whichever its connection
	// needs. It must not block, but it may write: the network peer makes
	// one non-blocking write when nothing else waits to be sent, so the
	// tick's duration includes the fan-out.
	SendSnapshot(snap arbiterv1.TickSnapshot, own arbiterv1.Ack)
	// Close ends the connection: a Kick with reason and message if the
	// connection allows it, then a close frame with the reason's code and
	// word.
	Close(reason arbiterv1.CloseReason, message string)
}

// EncodingPeer is an optional Peer capability: a connection that agreed
// with its client how its snapshots are encoded (docs/protocol.md, "Delta
// snapshots"). The room tells the client in its Welcome
// (Welcome.snapshots) and counts the peer's snapshot bytes in that
// encoding. A Peer without it gets full snapshots.
type EncodingPeer interface {
	Peer
	// SnapshotEncoding returns the connection's encoding; it must not
	// change.
	SnapshotEncoding() arbiterv1.SnapshotEncoding
}

// Poller is an optional Peer capability: a connection that a tick-driven
// room reads at its ticks rather than one read as its frames arrive
// (netcode's sessions). An input is applied only at the next tick, so
// reading it any earlier — waking a goroutine for every arrival — buys
// nothing. At the start of every tick, before it takes the players'
// inputs, the room calls Poll on each player's peer, on its goroutine:
// the peer reads what its client sent since the last tick and hands it to
// its Seat (Input) as it would on arrival. now is the tick's time by the
// room's clock. Poll must not block, nor call into the room other than
// through the Seat. Event-driven rooms never call it: their actions are
// processed on arrival.
type Poller interface {
	Poll(now time.Time)
}

// encodingOf returns peer's snapshot encoding: full unless it says
// otherwise.
func encodingOf(peer Peer) arbiterv1.SnapshotEncoding {
	if ep, ok := peer.(EncodingPeer); ok && ep.SnapshotEncoding() == arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA {
		return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	}
	return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
}

// Room states.
const (
	stateWaiting int32 = iota
	stateRunning
	stateEnded
)

// RoomConfig holds the timing rules every room shares.
type RoomConfig struct {
	TickRate    int           // ticks per second
	JoinTimeout time.Duration // how long a room waits for every seat before starting anyway
	Grace       time.Duration // how long a disconnected player may stay away before forfeiting
	MaxCatchUp  int           // most ticks run back to back after a stall
	// TickPhases, if > 0, puts every room's ticks on one of TickPhases
	// evenly spaced instants of each period (counted from the Unix epoch),
	// so that rooms tick together and the server wakes once per phase
	// rather than once per room: less CPU (−16 % at 1000 clients, 30 Hz,
	// with one phase; bench/README.md) for snapshots that leave later in
	// rooms late in the burst (+11 ms ack p99). 0 lets each room tick from
	// its own start.
	TickPhases int
	// InboxSize is the most inputs held per player ahead of the tick that
	// applies them (default 16); arrivals beyond it push the oldest out.
	InboxSize int
	// MaxBacklog is the most inputs a player may leave waiting after a
	// tick has taken one (default ⌈TickRate/10⌉: 100 ms): a tick that
	// finds more drops all but the newest, so a burst after a network
	// stall costs one correction and no lasting latency. It is also the
	// jitter a client's pacing may cover with a cushion of inputs.
	MaxBacklog int
	// Observer, if set, watches every tick of every room (metrics).
	Observer TickObserver
	// CheckpointEvery is how many ticks apart a running room hands its
	// checkpoint to the manager's Checkpointer; default TickRate (once a
	// second).
	CheckpointEvery int
}

// TickObserver watches rooms' tick loops, for metrics. ObserveTick is
// called once per tick, on the room goroutine, right after the tick ran:
// duration is how long the tick's work took (inputs, step, snapshot
// encoding and fan-out to the peers, which may write to sockets), lateness
// how long after its deadline it started (never negative; a tick run to
// catch up after a stall is as late as the stall). It runs on every tick of every room, so it must return at once
// and should not allocate; one observer serves all the rooms of a Manager,
// so it must be safe for concurrent use.
type TickObserver interface {
	ObserveTick(duration, lateness time.Duration)
}

// ActionObserver is an optional capability of RoomConfig.Observer that
// watches event rooms: ObserveAction is called once per action, on the
// room goroutine, with how long it took from its arrival (Seat.Action) to
// its answer handed to the peers (the new State to every player, or the
// Rejected): the server's share of a move's latency. Like ObserveTick, it
// must return at once and be safe for concurrent use.
type ActionObserver interface {
	ObserveAction(latency time.Duration)
}

// Stats counts what rooms did: Room.Stats one room's, Manager.Stats the
// totals of all a manager's rooms, ended ones included. Safe to read from any
// goroutine; only rooms write them.
type Stats struct {
	Ticks         atomic.Uint64
	Overruns      atomic.Uint64 // wake-ups that found more than one tick due
	Skipped       atomic.Uint64 // ticks dropped by the catch-up cap
	InputsApplied atomic.Uint64
	InputsInvalid atomic.Uint64 // rejected by the game's validation
	InputsStale   atomic.Uint64 // ignored: seq not above the last processed one, or already waiting
	// InputsSurplus counts inputs dropped unapplied, oldest first, to keep
	// a player's backlog short: superseded before the match started, pushed
	// out of a full buffer, beyond MaxBacklog, or a standing backlog.
	InputsSurplus atomic.Uint64
	// ActionsRejected counts the actions an event game refused (illegal,
	// out of turn, after the end): answered with Rejected, never scored.
	ActionsRejected atomic.Uint64
	// SaveErrors counts event-game changes the GameStore did not take
	// (they were broadcast anyway).
	SaveErrors     atomic.Uint64
	Kicks          atomic.Uint64 // players removed for cheating
	SnapshotFrames atomic.Uint64 // snapshots offered to peers: one per peer per tick
	// SnapshotBytes counts the bytes of the snapshots offered, each
	// peer's in its encoding: a full peer's the full message, a delta
	// peer's the delta from the previous tick (a peer that needs a key —
	// its first snapshot, or one after skipped ones — writes more).
	SnapshotBytes atomic.Uint64
}

// Room runs one match. Its world is owned by the goroutine running Run;
// Seats are the only way other goroutines touch it.
type Room struct {
	id     string
	mode   Mode
	cfg    RoomConfig
	world  World
	tw     TickWorld  // the world, if it is stepped at the tick rate
	ew     EventWorld // the world, if it changes by actions and deadlines
	clock  Clock
	log    *slog.Logger
	end    func(Result) Result  // reports the result, returns it settled
	report func(AntiCheatEvent) // hands an anti-cheat event to its store; never blocks
	// checkpoints receives a checkpoint every cfg.CheckpointEvery ticks;
	// nil for none.
	checkpoints Checkpointer
	// games keeps an event game's state after every change; nil for none.
	games GameStore
	// saveWarn limits the logging of failed saves across a manager's
	// rooms; nil logs every one.
	saveWarn *warnEvery

	events     *eventState // an event room's own state; nil in a tick room
	players    []*player   // in seat order
	byEntity   map[EntityID]*player
	graceTicks int       // cfg.Grace in ticks
	anticheat  AntiCheat // the world, if it keeps violation scores; else nil

	createdAt time.Time
	state     atomic.Int32
	tick      atomic.Uint32
	joined    chan struct{} // signalled when a seat is taken for the first time
	startedAt time.Time     // owned by the room goroutine

	// Stats is updated by the room goroutine and by Seat.Input.
	Stats Stats
	// total receives every count added to Stats as well: the manager's
	// totals, which outlive the room. Never nil.
	total *Stats

	// tickState is a tick room's reused buffers; nil in an event room.
	// Embedded, so that the tick loop names them as the room's own
	// (r.snap, r.enc…); behind a pointer, so that an event room — a chess
	// game's, thousands per server, every one marked by every GC cycle —
	// does not carry a tick room's ~280 bytes of slices and messages
	// (TestEventRoomHeap).
	*tickState
}

// tickState is a tick room's reused buffers, owned by the room goroutine.
type tickState struct {
	cmds  []Command
	ents  []EntityState
	peers []*player // the players with a peer this tick
	// snap is this tick's Snapshot, prev the previous tick's (of tick
	// prevTick; 0: none), which the delta is from: the two swap every
	// tick, reusing their Entity messages.
	snap, prev *arbiterv1.Snapshot
	prevTick   uint32
	kind       arbiterv1.ServerMessage_Snapshot // msg's oneof, pointing at snap
	msg        arbiterv1.ServerMessage
	enc        arbiterv1.DeltaEncoder
	bodies     []byte // the key and delta bodies, before they join the tick's buffer
}

// player is one seat of a room.
type player struct {
	id     string
	seat   int
	entity EntityID

	mu struct {
		sync.Mutex
		// inbox holds the inputs not yet processed, in seq order, every
		// seq above lastSeq and dropped; at most cap(inbox).
		inbox  []Input
		peer   Peer
		delta  bool // peer's snapshots are delta-encoded (encodingOf)
		joined bool // a peer has attached at least once
		// received is the highest seq received (processed or waiting):
		// Welcome.last_input_seq.
		received uint32
		// dropped is the highest seq Seat.Input dropped as surplus (pushed
		// out of a full inbox, or superseded before the start); the room
		// counts it as processed at the next tick.
		dropped uint32
		faults  map[string]int // frames the transport refused, not yet policed
		// actions are an event room's actions not yet taken by the room
		// goroutine, in arrival (and seq) order; received is the highest
		// seq among them and those processed.
		actions []action
		// needState: an event room owes this seat's new peer the State.
		needState bool
	}
	// lastSeq is the highest seq processed; written only by the room
	// goroutine, read by Seat.Input to turn away stale inputs early.
	lastSeq atomic.Uint32
	// faulted reports that mu.faults holds something for police.
	faulted atomic.Bool
	kicked  atomic.Bool
	// forfeited is set once, by the room goroutine: under mu when the
	// grace period runs out, so that Attach (under mu too) either admits
	// the player first or refuses it; by a kick, after kicked, which
	// Attach checks first. Attach then refuses the player.
	forfeited atomic.Bool

	// Owned by the room goroutine.
	peer       Peer           // this tick's peer, from take; nil while away
	delta      bool           // peer's snapshots are delta-encoded
	away       int            // consecutive ticks without a peer
	violations map[string]int // violations by rule: rejected inputs, refused frames; nil in an event room
	backlog    uint32         // inputs left waiting after this tick's take
	minQueue   int            // fewest inputs found waiting by a tick of the current window
	windowLeft int            // ticks left in the current window
}

// newRoom returns a room in the waiting state. end is called once, on the
// room goroutine, when the match ends: it reports the result and returns it
// settled (with ratings), for MatchEnd; nil means the result is final as is.
func newRoom(id string, mode Mode, cfg RoomConfig, world World, players []string, clock Clock, log *slog.Logger, end func(Result) Result) *Room {
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = max(cfg.TickRate, 1)
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = max((cfg.TickRate+9)/10, 1)
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = 16
	}
	cfg.InboxSize = max(cfg.InboxSize, cfg.MaxBacklog+2)
	r := &Room{
		id: id, mode: mode, cfg: cfg, world: world, clock: clock, log: log, end: end,
		byEntity:  make(map[EntityID]*player, len(players)),
		joined:    make(chan struct{}, 1),
		createdAt: clock.Now(),
		total:     new(Stats), // a Manager replaces it with its own
	}
	r.tw, _ = world.(TickWorld)
	r.ew, _ = world.(EventWorld)
	for i, pid := range players {
		p := &player{id: pid, seat: i, entity: world.Join()}
		if r.ew == nil {
			// Inputs, violations and snapshots are a tick game's: an event
			// room (a chess game, thousands per server) goes without.
			p.mu.inbox = make([]Input, 0, cfg.InboxSize+1)
			p.violations = make(map[string]int)
		}
		r.players = append(r.players, p)
		r.byEntity[p.entity] = p
	}
	r.graceTicks = int(cfg.Grace.Seconds() * float64(cfg.TickRate))
	if r.ew != nil {
		r.events = newEventState(r.players)
	} else {
		r.anticheat, _ = world.(AntiCheat)
		r.tickState = &tickState{snap: new(arbiterv1.Snapshot), prev: new(arbiterv1.Snapshot)}
		r.msg.Kind = &r.kind
	}
	return r
}

// ID returns the match ID.
func (r *Room) ID() string { return r.id }

// Mode returns the room's mode.
func (r *Room) Mode() Mode { return r.mode }

// Summary describes the room as it is now.
func (r *Room) Summary() Summary {
	s := Summary{MatchID: r.id, Mode: r.mode.Name, Status: StatusWaiting, CreatedAt: r.createdAt}
	switch r.state.Load() {
	case stateRunning:
		s.Status = StatusRunning
	case stateEnded:
		s.Status = StatusEnded
	}
	for _, p := range r.players {
		s.Players = append(s.Players, p.id)
	}
	return s
}

// Tick returns the number of ticks the room has run.
func (r *Room) Tick() uint32 { return r.tick.Load() }

// Run waits for the players, ticks the match until it ends, then reports the
// result. It returns nil when the match ended by its rules and ctx.Err() when
// ctx ended it first (every peer is then closed with 1001). A panic inside
// the game ends this match only: peers are closed with 1011 and Run returns
// an error.
func (r *Room) Run(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("room panicked; match aborted", "match", r.id, "panic", v, "stack", string(debug.Stack()))
			r.finish("internal_error", arbiterv1.CloseInternalError, "the match failed on the server", true)
			err = fmt.Errorf("room %s: panic: %v", r.id, v)
		}
	}()
	if !r.waitForPlayers(ctx) {
		r.finish("shutdown", arbiterv1.CloseShutdown, "the server is shutting down", true)
		return ctx.Err()
	}
	r.state.Store(stateRunning)
	r.startedAt = r.clock.Now()
	if r.ew != nil {
		return r.runEvents(ctx)
	}
	period := time.Second / time.Duration(r.cfg.TickRate)
	start := r.startedAt
	if r.cfg.TickPhases > 0 {
		start = alignUp(start, period/time.Duration(r.cfg.TickPhases))
	}
	sched := newSchedule(start, period, r.cfg.MaxCatchUp)
	limit := uint32(r.mode.Duration.Seconds() * float64(r.cfg.TickRate))
	timer := r.clock.NewTimer(sched.wait(r.startedAt))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			r.finish("shutdown", arbiterv1.CloseShutdown, "the server is shutting down", true)
			return ctx.Err()
		case <-timer.C():
		}
		// The ticks due runs are the oldest due (it skips the rest): their
		// deadlines follow from first.
		first := sched.next
		for i := range sched.due(r.clock.Now()) {
			r.runTick(sched.deadline(first + uint64(i)))
			if reason := r.endReason(limit); reason != "" {
				r.publishSchedule(sched)
				r.finish(reason, arbiterv1.CloseMatchOver, "the match is over", false)
				return nil
			}
		}
		r.publishSchedule(sched)
		timer.Reset(sched.wait(r.clock.Now()))
	}
}

// runTick runs one tick that was due at deadline and reports it to the
// observer, if any. Room goroutine only.
func (r *Room) runTick(deadline time.Time) {
	obs := r.cfg.Observer
	if obs == nil {
		r.step()
		return
	}
	start := r.clock.Now()
	r.step()
	obs.ObserveTick(r.clock.Now().Sub(start), max(start.Sub(deadline), 0))
}

// publishSchedule copies the schedule's counters to the room's stats and
// adds what is new to the totals. Room goroutine only: it is the only
// writer of these two counters, so the load and store do not race.
func (r *Room) publishSchedule(s *schedule) {
	if d := s.overruns - r.Stats.Overruns.Load(); d > 0 {
		r.total.Overruns.Add(d)
		r.Stats.Overruns.Store(s.overruns)
	}
	if d := s.skipped - r.Stats.Skipped.Load(); d > 0 {
		r.total.Skipped.Add(d)
		r.Stats.Skipped.Store(s.skipped)
	}
}

// waitForPlayers blocks until every seat has been taken once or the join
// timeout passes. It reports false if ctx ended first.
func (r *Room) waitForPlayers(ctx context.Context) bool {
	timer := r.clock.NewTimer(r.cfg.JoinTimeout)
	defer timer.Stop()
	for !r.allJoined() {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C():
			return true
		case <-r.joined:
		}
	}
	return true
}

func (r *Room) allJoined() bool {
	for _, p := range r.players {
		p.mu.Lock()
		j := p.mu.joined
		p.mu.Unlock()
		if !j {
			return false
		}
	}
	return true
}

// endReason reports why the match should end now, or "". A limit of 0
// is none: the mode has no time limit (Mode.Duration 0), and the game
// ends by its score or forfeits.
func (r *Room) endReason(limit uint32) string {
	switch {
	case limit > 0 && r.tick.Load() >= limit:
		return "time_limit"
	case r.tw.Finished():
		return "score_limit"
	}
	if len(r.players) > 1 {
		left := 0
		for _, p := range r.players {
			if !p.forfeited.Load() {
				left++
			}
		}
		if left <= 1 {
			return "forfeit"
		}
	}
	return ""
}

// step runs one tick: have the peers that are Pollers read what their
// clients sent, take at most one input per player, step the world, encode
// the snapshot once and offer the same bytes to every peer, with each
// one's own acknowledgements.
func (r *Room) step() {
	r.poll()
	r.cmds, r.peers = r.cmds[:0], r.peers[:0]
	for _, p := range r.players {
		in, ok := r.take(p)
		if r.anticheat != nil && r.police(p) {
			continue // kicked: no input, no snapshot
		}
		if ok {
			r.cmds = append(r.cmds, Command{Entity: p.entity, Input: in})
		}
		if p.peer != nil {
			r.peers = append(r.peers, p)
		}
	}
	r.tw.Step(r.cmds)
	if n := uint64(len(r.cmds)); n > 0 {
		r.Stats.InputsApplied.Add(n)
		r.total.InputsApplied.Add(n)
	}
	tick := r.tick.Add(1)
	r.Stats.Ticks.Add(1)
	r.total.Ticks.Add(1)

	checkpoint := r.checkpoints != nil && tick%uint32(r.cfg.CheckpointEvery) == 0
	full, deltas := checkpoint, false // what this tick's peers and checkpoint take
	for _, p := range r.peers {
		full, deltas = full || !p.delta, deltas || p.delta
	}
	snap := r.encodeSnapshot(tick, full, deltas)
	bytes := 0
	for _, p := range r.peers {
		own := arbiterv1.Ack{LastInputSeq: p.lastSeq.Load(), InputBacklog: p.backlog}
		p.peer.SendSnapshot(snap, own)
		switch {
		case !p.delta:
			bytes += len(snap.Full)
		case snap.Delta != nil:
			bytes += arbiterv1.DeltaMessageSize(snap.Delta, own)
		default:
			bytes += arbiterv1.DeltaMessageSize(snap.Key, own)
		}
	}
	if checkpoint {
		r.checkpoints.Save(r.checkpoint(tick, snap.Full))
	}
	if n := uint64(len(r.peers)); n > 0 {
		r.Stats.SnapshotFrames.Add(n)
		r.total.SnapshotFrames.Add(n)
		r.Stats.SnapshotBytes.Add(uint64(bytes))
		r.total.SnapshotBytes.Add(uint64(bytes))
	}
}

// poll has every player's peer that is a Poller read what its client
// sent since the last tick (Poller). Room goroutine only; no player's lock
// is held while a peer polls, for it hands inputs to the player's Seat.
func (r *Room) poll() {
	now := r.clock.Now()
	for _, p := range r.players {
		p.mu.Lock()
		peer := p.mu.peer
		p.mu.Unlock()
		if pl, ok := peer.(Poller); ok {
			pl.Poll(now)
		}
	}
}

// take processes p's waiting inputs for this tick and returns the one to
// apply, if any; it sets p.peer to p's current peer (nil while p is away;
// p forfeits once away past the grace period). In seq order it
//
//   - drops surplus, oldest first: all but the newest when more than
//     MaxBacklog+1 wait (a burst after a stall, or a client sending faster
//     than the tick rate), and the standing excess when every tick of the
//     last standing window (standingWindow) found two or more waiting (a
//     backlog that only adds latency: a client sending one per tick never
//     drains it);
//   - offers the rest to the game's Validate until one passes, dropping
//     the invalid ones (counted, and scored by the game).
//
// Everything it drops counts as processed: last_input_seq moves past it.
func (r *Room) take(p *player) (Input, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peer, p.delta = p.mu.peer, p.mu.delta
	if p.peer == nil {
		p.away++
		if p.away > r.graceTicks && !p.forfeited.Load() {
			p.forfeited.Store(true)
			r.log.Info("player forfeited after the grace period", "match", r.id, "player", p.id)
		}
	} else {
		p.away = 0
	}

	last := max(p.lastSeq.Load(), p.mu.dropped)
	inbox := p.mu.inbox
	drop := 0
	if q := len(inbox); q > r.cfg.MaxBacklog+1 {
		drop = q - 1
	}
	if p.windowLeft <= 0 {
		p.windowLeft, p.minQueue = standingWindow*r.cfg.TickRate, len(inbox)
	}
	p.minQueue = min(p.minQueue, len(inbox))
	if p.windowLeft--; p.windowLeft == 0 && p.minQueue >= 2 {
		drop = max(drop, p.minQueue-1)
	}
	if drop > 0 {
		last = inbox[drop-1].Seq
		r.countSurplus(uint64(drop))
	}
	var in Input
	ok := false
	for _, next := range inbox[drop:] {
		drop++
		last = next.Seq
		if err := r.tw.Validate(p.entity, next); err != nil {
			r.Stats.InputsInvalid.Add(1)
			r.total.InputsInvalid.Add(1)
			p.violations[violationName(err)]++
			continue
		}
		in, ok = next, true
		break
	}
	p.mu.inbox = append(inbox[:0], inbox[drop:]...)
	p.backlog = uint32(len(p.mu.inbox))
	p.lastSeq.Store(last)
	return in, ok
}

// standingWindow is the standing-excess window of take, in seconds: a
// player's inputs found two or more waiting by every tick of one window of
// standingWindow × TickRate ticks (windows follow each other from the
// player's first tick) lose the excess, all but one of the fewest found,
// at its end.
//
// Two seconds, not one, so that an honest client pacing its inputs from
// input_backlog sheds a cushion it built itself before the server drops it
// as a correction (issue 14). Where the way to the server stalls for more
// than a tick now and then (a loaded machine that does not schedule the
// server's reading goroutine for 10–80 ms), the client library's Pacer
// raises its lead after each starved tick, by what the late input had and
// a margin of up to half a tick, and so now and then keeps a tick of
// inputs waiting; its standing-backlog rule sheds that within three
// quarters of a second, but keeps the margin, so a lead past one and a
// half ticks takes a second round. In the Pacer's simulation of such a
// link (netcode/client TestPacerStalledReads), a one-second window dropped
// inputs in 99 of 200 minute-long runs at 30 Hz and 171 of 200 at 60 Hz;
// two seconds, in none (the longest such backlog lasted 1.8 s at 30 Hz,
// 2.3 s at 60 Hz: no bound, but a window rarely lies within one). The rule
// keeps its purpose: a client that keeps a queue standing (sending one per
// tick after a burst, or on purpose) loses it within two windows, at most
// four seconds of added latency; a client that sends faster than one per
// tick is cut back by the MaxBacklog rule within a few ticks, as before.
const standingWindow = 2

// countStale counts an input ignored for its seq. Safe for concurrent use.
func (r *Room) countStale() {
	r.Stats.InputsStale.Add(1)
	r.total.InputsStale.Add(1)
}

// countSurplus counts n inputs dropped as surplus. Safe for concurrent use.
func (r *Room) countSurplus(n uint64) {
	r.Stats.InputsSurplus.Add(n)
	r.total.InputsSurplus.Add(n)
}

// encodeSnapshot encodes the snapshot of tick once for every peer: if
// full, the full message (every entity with its player's
// acknowledgements), and if deltas, the key and delta bodies (from the
// previous tick's entities), as the tick's peers (and checkpoint) need,
// all in one fresh buffer. The buffer cannot be reused: peers may hold it
// until their writers have sent it, ticks later. The entities are read
// every tick, needed or not: they are the next tick's delta base.
func (r *Room) encodeSnapshot(tick uint32, full, deltas bool) arbiterv1.TickSnapshot {
	r.snap, r.prev = r.prev, r.snap
	r.ents = r.tw.AppendEntities(r.ents[:0])
	for len(r.snap.Entities) < len(r.ents) {
		r.snap.Entities = append(r.snap.Entities, new(arbiterv1.Entity))
	}
	r.snap.Entities = r.snap.Entities[:len(r.ents)]
	r.snap.Tick = tick
	for i, e := range r.ents {
		pe := r.snap.Entities[i]
		pe.Id, pe.X, pe.Y, pe.Hp, pe.Score = uint32(e.ID), e.X, e.Y, e.HP, e.Score
		pe.LastInputSeq, pe.InputBacklog = 0, 0
		if p := r.byEntity[e.ID]; p != nil {
			pe.LastInputSeq, pe.InputBacklog = p.lastSeq.Load(), p.backlog
		}
	}
	r.bodies = r.bodies[:0]
	base := uint32(0)
	if deltas {
		r.bodies = r.enc.AppendBody(r.bodies, tick, 0, nil, r.snap.Entities)
		if r.prevTick != 0 && r.prevTick == tick-1 {
			base = r.prevTick
		}
	}
	keyLen := len(r.bodies)
	if base != 0 {
		r.bodies = r.enc.AppendBody(r.bodies, tick, base, r.prev.Entities, r.snap.Entities)
	}
	r.prevTick = tick

	if !full && !deltas {
		return arbiterv1.TickSnapshot{Tick: tick}
	}
	fullLen := 0
	if full {
		r.kind.Snapshot = r.snap
		fullLen = proto.Size(&r.msg) // and caches every size for MarshalAppend
	}
	buf := make([]byte, 0, fullLen+len(r.bodies))
	if full {
		var err error
		buf, err = proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, &r.msg)
		if err != nil {
			panic(fmt.Sprintf("match: marshal snapshot: %v", err)) // a message built here always encodes
		}
	}
	buf = append(buf, r.bodies...)
	ts := arbiterv1.TickSnapshot{Tick: tick}
	if full {
		ts.Full = buf[:fullLen:fullLen]
	}
	if deltas {
		ts.Key = buf[fullLen : fullLen+keyLen : fullLen+keyLen]
	}
	if base != 0 {
		ts.Delta, ts.Base = buf[fullLen+keyLen:], base
	}
	return ts
}

// mustMarshal encodes a server message into a fresh buffer sized exactly:
// the buffer is handed to peers and never reused. Marshalling a well-formed
// message built here cannot fail.
func mustMarshal(m *arbiterv1.ServerMessage) []byte {
	opts := proto.MarshalOptions{UseCachedSize: true}
	buf, err := opts.MarshalAppend(make([]byte, 0, proto.Size(m)), m)
	if err != nil {
		panic(fmt.Sprintf("match: marshal %T: %v", m.Kind, err))
	}
	return buf
}

// finish ends the match: computes the result and reports it, then sends
// MatchEnd (unless aborted) and closes every peer for reason. Reporting comes
// first so that a player told the match is over finds it gone from the
// directory and is free to queue again.
func (r *Room) finish(why string, reason arbiterv1.CloseReason, message string, aborted bool) {
	r.state.Store(stateEnded)
	res := r.result(why, aborted)
	if r.end != nil {
		res = r.end(res)
	}
	var end []byte
	if !aborted {
		end = mustMarshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_MatchEnd{MatchEnd: res.proto()}})
	}
	for _, p := range r.players {
		p.mu.Lock()
		peer := p.mu.peer
		p.mu.peer = nil
		p.mu.Unlock()
		if peer == nil {
			continue
		}
		if end != nil {
			peer.Send(end)
		}
		peer.Close(reason, message)
	}
	r.log.Info("match ended", "match", r.id, "mode", r.mode.Name, "why", why, "ticks", r.tick.Load(),
		"overruns", r.Stats.Overruns.Load(), "skipped", r.Stats.Skipped.Load())
}

// Result is the outcome of a match.
type Result struct {
	MatchID   string
	Mode      string
	Players   []PlayerResult // in seat order
	Aborted   bool           // ended by shutdown or failure: no winner, no rating change
	Reason    string         // time_limit, score_limit, forfeit, shutdown, internal_error, abandoned (every player of an event game gone); or an event game's own word
	CreatedAt time.Time
	StartedAt time.Time // zero if the match never started
	EndedAt   time.Time
	Ticks     uint32
	// Record is what the game wants archived with the result, as JSON of
	// the game's own (chess: the moves, the PGN, the final position): the
	// Recorder's Record when the match ended; nil for a game that keeps
	// none (the arena). Stores keep it as given and return an equal JSON
	// value, not necessarily the same bytes; nobody modifies it once the
	// room has handed the result over.
	Record []byte
}

// PlayerResult is one player's line of a Result.
type PlayerResult struct {
	PlayerID  string
	Entity    EntityID
	Score     uint32
	Placement int // 1 is first; ties share a placement; forfeits are last
	Forfeit   bool
	// RatingBefore and RatingAfter are the player's rating in the mode
	// around this match, set when the result is settled.
	RatingBefore, RatingAfter float64
}

func (r *Room) result(why string, aborted bool) Result {
	scores := make(map[EntityID]uint32, len(r.players))
	if r.tw != nil {
		for _, e := range r.tw.AppendEntities(nil) {
			scores[e.ID] = e.Score
		}
	} else {
		for _, p := range r.players {
			scores[p.entity] = r.ew.Score(p.entity)
		}
	}
	res := Result{MatchID: r.id, Mode: r.mode.Name, Aborted: aborted, Reason: why,
		CreatedAt: r.createdAt, StartedAt: r.startedAt, EndedAt: r.clock.Now(), Ticks: r.tick.Load()}
	for _, p := range r.players {
		res.Players = append(res.Players, PlayerResult{PlayerID: p.id, Entity: p.entity, Score: scores[p.entity], Forfeit: p.forfeited.Load()})
	}
	Place(res.Players)
	res.Record = r.record()
	return res
}

// record returns the world's Record for the result, or nil: for a world
// that is no Recorder, and, logged, for one whose Record fails, returns
// what is not JSON, or panics (the room may be ending because the world
// panicked already: that must not take the process down).
func (r *Room) record() (b []byte) {
	rec, ok := r.ew.(Recorder)
	if !ok {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("game record panicked; result kept without it", "match", r.id, "panic", v)
			b = nil
		}
	}()
	b, err := rec.Record()
	switch {
	case err != nil:
		r.log.Error("game record failed; result kept without it", "match", r.id, "err", err)
		return nil
	case !json.Valid(b):
		r.log.Error("game record is not JSON; result kept without it", "match", r.id)
		return nil
	}
	return b
}

// Place assigns placements: players who did not forfeit rank by score, with
// equal scores sharing a placement (1, 1, 3); forfeited players share the
// last placement after them.
func Place(players []PlayerResult) {
	active := 0
	for _, p := range players {
		if !p.Forfeit {
			active++
		}
	}
	for i := range players {
		if players[i].Forfeit {
			players[i].Placement = active + 1
			continue
		}
		better := 0
		for _, q := range players {
			if !q.Forfeit && q.Score > players[i].Score {
				better++
			}
		}
		players[i].Placement = better + 1
	}
}

func (res Result) proto() *arbiterv1.MatchEnd {
	m := &arbiterv1.MatchEnd{MatchId: res.MatchID}
	for _, p := range res.Players {
		m.Results = append(m.Results, &arbiterv1.PlayerResult{
			PlayerId: p.PlayerID, Score: p.Score, Placement: uint32(p.Placement), EntityId: uint32(p.Entity),
			RatingBefore: p.RatingBefore, RatingAfter: p.RatingAfter,
		})
	}
	return m
}

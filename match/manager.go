package match

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by Manager.
var (
	// ErrUnknownMode: Create was asked for a mode that is not configured.
	ErrUnknownMode = errors.New("match: unknown mode")
	// ErrNotFound: no running match has that ID (it never existed or has
	// ended).
	ErrNotFound = errors.New("match: match not found")
	// ErrNotSeated: the token's player has no seat in the token's match.
	ErrNotSeated = errors.New("match: player not in match")
	// ErrClosed: the manager is shutting down and starts no more rooms.
	ErrClosed = errors.New("match: manager closed")
)

// Config configures a Manager.
type Config struct {
	Room   RoomConfig
	Modes  map[string]Mode
	Games  map[string]Game // by name; a Mode names its Game
	Tokens *Tokens
	Clock  Clock        // default SystemClock
	Logger *slog.Logger // default slog.Default()
	// Ledger, if set, settles every result (ratings, exactly once) before
	// players are told the outcome.
	Ledger Settler
	// OnEnd, if set, receives every room's settled result, on the room's
	// goroutine; it must return promptly.
	OnEnd func(Result)
	// Events, if set, stores anti-cheat events. Rooms hand them over
	// through a bounded queue that Run drains; they never wait for it.
	Events EventSink
	// Checkpoints, if set, receives every room's checkpoints, so that a
	// successor can end the matches this process leaves running if it
	// dies (EndOrphans).
	Checkpoints Checkpointer
	// LiveGames, if set, keeps the state of every event game whose world
	// is a Saver after each change, before the change is broadcast.
	LiveGames GameStore
}

// Settler records a finished match and applies its rating changes once.
// *Ledger is one.
type Settler interface {
	Settle(ctx context.Context, res Result) (Result, error)
}

// settleTimeout bounds how long a room's end waits for its result to be
// recorded; past it, players get the result without rating changes.
const settleTimeout = 5 * time.Second

// Manager is the directory of running rooms. It starts a goroutine per room
// and owns it: Run's return means every room has stopped. Safe for
// concurrent use.
type Manager struct {
	cfg    Config
	wg     sync.WaitGroup
	events chan AntiCheatEvent // to Run's event writer; bounded

	saveWarn warnEvery // failed game saves: a log line per 10 s at most

	// EventsDropped counts anti-cheat events lost to a full queue.
	EventsDropped atomic.Uint64
	// Stats totals what every room of this manager did, ended rooms
	// included: rooms add to it as they go.
	Stats Stats
	// Settled counts the results the Ledger recorded at their room's end;
	// SettleErrors those it failed to record then (they went out unrated
	// and were queued to try again). Resettled counts the queued ones
	// recorded later; SettleLost the ones given up on: the queue was full
	// or the manager stopped first.
	Settled, SettleErrors, Resettled, SettleLost atomic.Uint64

	unsettled chan Result // results to record again; bounded

	mu struct {
		sync.Mutex
		rooms  map[string]*roomHandle
		closed bool
	}
}

type roomHandle struct {
	room   *Room
	cancel context.CancelFunc
}

// NewManager checks cfg and returns a Manager. It starts nothing.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("match: config needs Tokens")
	}
	for name, mode := range cfg.Modes {
		if _, ok := cfg.Games[mode.Game]; !ok {
			return nil, fmt.Errorf("match: mode %s: game %q not registered", name, mode.Game)
		}
	}

	if cfg.Room.MaxCatchUp <= 0 {
		cfg.Room.MaxCatchUp = 3
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg, events: make(chan AntiCheatEvent, eventQueue), unsettled: make(chan Result, unsettledQueue)}
	m.saveWarn.period = 10 * time.Second
	m.mu.rooms = make(map[string]*roomHandle)
	return m, nil
}

// Mode returns the configured mode called name.
func (m *Manager) Mode(name string) (Mode, bool) {
	mode, ok := m.cfg.Modes[name]
	return mode, ok
}

// Create starts a room for mode with players in seat order and returns the
// new match's ID. The room waits for its players' connections.
func (m *Manager) Create(mode string, players []string) (string, error) {
	md, ok := m.cfg.Modes[mode]
	if !ok {
		return "", fmt.Errorf("create %s match: %w", mode, ErrUnknownMode)
	}
	id := NewID()
	world, err := m.cfg.Games[md.Game].NewWorld(WorldConfig{Mode: mode, TickRate: m.cfg.Room.TickRate, Players: len(players), ScoreLimit: md.ScoreLimit,
		MatchID: id, PlayerIDs: slices.Clone(players)})
	if err == nil {
		_, tick := world.(TickWorld)
		_, event := world.(EventWorld)
		if !tick && !event {
			err = fmt.Errorf("%T is neither a TickWorld nor an EventWorld", world)
		}
	}
	if err != nil {
		return "", fmt.Errorf("create %s match: new world: %w", mode, err)
	}
	if err := m.start(id, md, world, players, time.Time{}); err != nil {
		return "", err
	}
	m.cfg.Logger.Info("match created", "match", id, "mode", mode, "players", len(players))
	return id, nil
}

// Resume starts again, on this server, the event game a server that is
// gone left running: its world rebuilt from what its room last saved (the
// GameStore's g) by its game's Restore, under the same match ID and
// players, so that their join tokens admit them here. The room waits for
// their connections, as a new one does; time while no server held the
// game is not charged (the game's Restore decides how). createdAt is the
// match's creation, from its checkpoint. It fails with ErrUnknownMode, or
// when the game cannot be restored (not a Restorer, or a state it refuses).
func (m *Manager) Resume(g LiveGame, createdAt time.Time) error {
	md, ok := m.cfg.Modes[g.Mode]
	if !ok {
		return fmt.Errorf("resume match %s: mode %s: %w", g.MatchID, g.Mode, ErrUnknownMode)
	}
	restorer, ok := m.cfg.Games[md.Game].(Restorer)
	if !ok {
		return fmt.Errorf("resume match %s: game %s cannot be restored", g.MatchID, md.Game)
	}
	world, err := restorer.Restore(WorldConfig{Mode: md.Name, TickRate: m.cfg.Room.TickRate, Players: len(g.Players),
		ScoreLimit: md.ScoreLimit, MatchID: g.MatchID, PlayerIDs: slices.Clone(g.Players)}, g.State, m.cfg.Clock.Now())
	if err != nil {
		return fmt.Errorf("resume match %s: %w", g.MatchID, err)
	}
	if _, ok := world.(EventWorld); !ok {
		return fmt.Errorf("resume match %s: %T is not an EventWorld", g.MatchID, world)
	}
	if err := m.start(g.MatchID, md, world, g.Players, createdAt); err != nil {
		return err
	}
	m.cfg.Logger.Info("match resumed", "match", g.MatchID, "mode", md.Name, "version", g.Version)
	return nil
}

// start runs a room for world under id: it registers it in the directory
// and starts its goroutine. A zero createdAt means now.
func (m *Manager) start(id string, md Mode, world World, players []string, createdAt time.Time) error {
	room := newRoom(id, md, m.cfg.Room, world, players, m.cfg.Clock, m.cfg.Logger, func(res Result) Result {
		res = m.settle(res)
		m.remove(id)
		if m.cfg.OnEnd != nil {
			m.cfg.OnEnd(res)
		}
		return res
	})
	if !createdAt.IsZero() {
		room.createdAt = createdAt
	}
	room.report = m.report
	room.total = &m.Stats
	room.checkpoints = m.cfg.Checkpoints
	room.games = m.cfg.LiveGames
	room.saveWarn = &m.saveWarn
	if m.cfg.Checkpoints != nil {
		m.cfg.Checkpoints.Save(room.checkpoint(0, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		cancel()
		return ErrClosed
	}
	if _, dup := m.mu.rooms[id]; dup {
		cancel()
		return fmt.Errorf("start match %s: already running here", id)
	}
	m.mu.rooms[id] = &roomHandle{room: room, cancel: cancel}
	m.wg.Go(func() {
		defer cancel()
		_ = room.Run(ctx) // the room logs and reports its own end
	})
	return nil
}

// settle records res through the ledger. On failure (a store outage) the
// result goes out unrated, so that players are not kept waiting on a
// store, and is queued for resettle to record later.
func (m *Manager) settle(res Result) Result {
	if m.cfg.Ledger == nil {
		m.ended(res.MatchID)
		return res
	}
	settled, err := m.trySettle(res)
	if err != nil {
		// The checkpoint stays until the result is recorded: if this
		// process dies first, a successor ends the match from it.
		m.SettleErrors.Add(1)
		select {
		case m.unsettled <- res:
			m.cfg.Logger.Error("result not settled; will try again", "match", res.MatchID, "err", err)
		default:
			m.SettleLost.Add(1)
			m.cfg.Logger.Error("result not settled and the retry queue is full; its rating changes are lost", "match", res.MatchID, "err", err)
		}
		return res
	}
	m.Settled.Add(1)
	m.ended(res.MatchID)
	return settled
}

// ended forgets a match's checkpoint once its result is recorded.
func (m *Manager) ended(matchID string) {
	if m.cfg.Checkpoints != nil {
		m.cfg.Checkpoints.Ended(matchID)
	}
}

func (m *Manager) trySettle(res Result) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	return m.cfg.Ledger.Settle(ctx, res)
}

// unsettledQueue bounds the results waiting to be recorded again.
const unsettledQueue = 4096

// Backoff between attempts to record a result again.
const (
	resettleMinBackoff = 100 * time.Millisecond
	resettleMaxBackoff = 10 * time.Second
)

// resettle records the queued results, oldest first, trying each until
// the store takes it (the ledger is idempotent, so a result that did get
// through before changes nothing), until ctx ends. What is left then is
// logged and counted as lost. The store's outage is logged as it starts
// and ends (a Retrier), not at every attempt.
func (m *Manager) resettle(ctx context.Context) {
	retry := NewRetrier("result resettler", RetrierConfig{
		Backoff: Backoff{Min: resettleMinBackoff, Max: resettleMaxBackoff, Jitter: 0.5},
		Clock:   m.cfg.Clock,
		Logger:  m.cfg.Logger,
	})
	defer func() {
		for {
			select {
			case res := <-m.unsettled:
				m.SettleLost.Add(1)
				m.cfg.Logger.Error("stopped before the result could be settled; its rating changes are lost", "match", res.MatchID)
			default:
				return
			}
		}
	}()
	for {
		var res Result
		select {
		case res = <-m.unsettled:
		case <-ctx.Done():
			return
		}
		for {
			_, err := m.trySettle(res)
			if err == nil {
				retry.Succeeded()
				m.Resettled.Add(1)
				m.ended(res.MatchID)
				m.cfg.Logger.Info("result settled after a retry", "match", res.MatchID)
				break
			}
			if ctx.Err() != nil || !retry.Wait(ctx, retry.Failed(err)) {
				m.SettleLost.Add(1)
				m.cfg.Logger.Error("stopped before the result could be settled; its rating changes are lost", "match", res.MatchID, "err", err)
				return
			}
		}
	}
}

func (m *Manager) remove(id string) {
	m.mu.Lock()
	delete(m.mu.rooms, id)
	m.mu.Unlock()
}

// Room returns the running room with the given ID.
func (m *Manager) Room(id string) (*Room, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.mu.rooms[id]
	if !ok {
		return nil, false
	}
	return h.room, true
}

// Rooms returns how many rooms are running.
func (m *Manager) Rooms() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mu.rooms)
}

// RoomsByStatus returns how many rooms are waiting for their players and
// how many are running. A room that has just ended is in neither.
func (m *Manager) RoomsByStatus() (waiting, running int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range m.mu.rooms {
		switch h.room.state.Load() {
		case stateWaiting:
			waiting++
		case stateRunning:
			running++
		}
	}
	return waiting, running
}

// Admit checks a join token and returns the seat it names. It fails with
// ErrTokenInvalid or ErrTokenExpired for a bad token, ErrNotFound when the
// match is not running (tokens are good until their match ends), and
// ErrNotSeated when the player has no seat in it.
func (m *Manager) Admit(token string) (*Seat, error) {
	claims, err := m.cfg.Tokens.VerifyJoin(token)
	if err != nil {
		return nil, err
	}
	room, ok := m.Room(claims.MatchID)
	if !ok {
		return nil, fmt.Errorf("admit to %s: %w", claims.MatchID, ErrNotFound)
	}
	for _, p := range room.players {
		if p.id == claims.PlayerID {
			if p.kicked.Load() {
				return nil, fmt.Errorf("admit %s to %s: %w", claims.PlayerID, claims.MatchID, ErrKicked)
			}
			return &Seat{room: room, p: p}, nil
		}
	}
	return nil, fmt.Errorf("admit %s to %s: %w", claims.PlayerID, claims.MatchID, ErrNotSeated)
}

// Run writes anti-cheat events to the store and records again the results
// the ledger failed to record, until ctx ends; then it stops every room
// (their peers are closed with 1001), waits for them, and writes the events
// they left. It always returns nil: rooms report their own
// failures. Call it once.
func (m *Manager) Run(ctx context.Context) error {
	var writer sync.WaitGroup
	writer.Go(m.writeEvents)
	rctx, stopResettle := context.WithCancel(context.Background())
	defer stopResettle()
	writer.Go(func() { m.resettle(rctx) })
	<-ctx.Done()
	m.mu.Lock()
	m.mu.closed = true
	for _, h := range m.mu.rooms {
		h.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
	close(m.events) // no room is left to report
	stopResettle()
	writer.Wait()
	return nil
}

// report queues an anti-cheat event without blocking; a full queue drops it.
func (m *Manager) report(ev AntiCheatEvent) {
	select {
	case m.events <- ev:
	default:
		m.EventsDropped.Add(1)
		m.cfg.Logger.Warn("anti-cheat event dropped: queue full", "match", ev.MatchID, "player", ev.PlayerID)
	}
}

// writeEvents stores queued events until the queue is closed.
func (m *Manager) writeEvents() {
	for ev := range m.events {
		if m.cfg.Events == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		if err := m.cfg.Events.RecordAntiCheat(ctx, ev); err != nil {
			m.cfg.Logger.Error("anti-cheat event not stored", "match", ev.MatchID, "player", ev.PlayerID, "err", err)
		}
		cancel()
	}
}

// untimedLength bounds how long a match of a mode with no time limit (a
// game that ends by its own rules, such as chess by its clocks) is expected
// to last, for the lifetime of its join tokens.
const untimedLength = 2 * time.Hour

// JoinExpiry returns how long a join token for mode should stay valid: the
// longest a match can wait and run, with margin.
func (m *Manager) JoinExpiry(mode Mode) time.Duration {
	length := mode.Duration
	if length <= 0 {
		length = untimedLength
	}
	return m.cfg.Room.JoinTimeout + length + 10*time.Minute
}

// NewID returns a fresh random identifier: 128 bits as 32 hex digits,
// unguessable, for matches, tickets and players alike.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

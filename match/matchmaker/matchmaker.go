package matchmaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Errors returned by the Matchmaker. Compare with errors.Is.
var (
	// ErrConflict: Enqueue was asked for a player who already has a
	// searching ticket or is in a match that has not ended.
	ErrConflict = errors.New("matchmaker: player already searching or in a match")
	// ErrUnknownMode: Enqueue was asked for a mode that is not configured.
	ErrUnknownMode = errors.New("matchmaker: unknown mode")
	// ErrNotFound: no such ticket, or it belongs to another player (the two
	// are indistinguishable on purpose), or it has been forgotten.
	ErrNotFound = errors.New("matchmaker: ticket not found")
	// ErrMatched: Cancel was asked for a ticket that is already matched or is
	// being matched right now.
	ErrMatched = errors.New("matchmaker: ticket already matched")
	// ErrClosed: Run has returned; Enqueue takes no more tickets and Wait no
	// longer waits.
	ErrClosed = errors.New("matchmaker: closed")
	// ErrUnavailable: Enqueue could not learn the player's rating (the
	// lookup failed, timed out, or returned a non-finite number) or could
	// not reach the queue (Config.Pool). No ticket was created; the
	// caller may retry later. The underlying error is wrapped too. Ticket,
	// Wait and Cancel also return it when the pool does not answer.
	ErrUnavailable = errors.New("matchmaker: unavailable")
)

// DefaultFillWait is how long a group of a mode with MinPlayers < Players
// waits for more players when the mode does not say (Mode.FillWait).
const DefaultFillWait = 10 * time.Second

// DefaultRating is the rating of every player when Config.Rating is nil
// (docs/rest.md: ratings start at 1500).
const DefaultRating = 1500

// Status is where a ticket is in its life. A ticket starts searching and
// moves exactly once to one of the other three.
type Status string

// Ticket statuses, as they appear in the REST API.
const (
	StatusSearching Status = "searching"
	StatusMatched   Status = "matched"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Ticket is a snapshot of one player's request to play. It is a value: it
// does not change after the call that returned it.
type Ticket struct {
	ID        string
	PlayerID  string
	Mode      string
	Status    Status
	Rating    float64 // the player's rating in Mode when the ticket was created
	MatchID   string  // set when matched
	JoinToken string  // set when matched: the player's token for GET /v1/play
	// Server is set when matched to a match that another server runs
	// (a shared Pool): that server's advertised base URL (its
	// Config.Server), where the player must connect. Empty: this server.
	Server    string
	CreatedAt time.Time
}

// Starter starts matches. match.Manager satisfies it. Create is called only
// from the Run goroutine, never with the matchmaker's lock held, so it may
// take its time and may call back into the matchmaker (MatchEnded).
type Starter interface {
	// Create starts a match of mode for players, in seat order, and returns
	// its ID.
	Create(mode string, players []string) (matchID string, err error)
}

// Config configures a Matchmaker. The zero value of every field means its
// default.
type Config struct {
	// Modes are the modes players may queue for, by name: the modes of the
	// registered games (match.GameSpec), which cmd passes. There is no
	// default: a Matchmaker without modes has no queue, and every Enqueue
	// fails with ErrUnknownMode. A mode's MinPlayers ≤ 0 means Players; a
	// mode whose MinPlayers is below Players starts short-handed after
	// its FillWait (default DefaultFillWait).
	Modes map[string]match.Mode
	// Windows are the rating windows of the modes, by mode name; a mode
	// absent here gets DefaultWindow(). Two tickets of a mode are
	// compatible when their ratings differ by no more than both tickets'
	// windows (see Window).
	Windows map[string]Window
	// Rating returns a player's rating in mode. Enqueue calls it once per
	// ticket, without the matchmaker's lock, with a ctx bounded by
	// RatingTimeout; it must be safe for concurrent use. An error (or a
	// NaN or infinite rating) fails Enqueue with ErrUnavailable. Default:
	// DefaultRating for everyone.
	Rating func(ctx context.Context, playerID, mode string) (float64, error)
	// RatingTimeout bounds each Rating call. Default 2 s.
	RatingTimeout time.Duration
	// TicketTTL is how long a ticket may search before it expires.
	// Default 10 min.
	TicketTTL time.Duration
	// Retention is how long a cancelled or expired ticket stays readable
	// before it is forgotten: long enough for a client to read why its
	// search ended. Default 1 min. A matched ticket stays readable until
	// its join token expires (see JoinTTL): a client that reloads reads it
	// again to reconnect.
	Retention time.Duration
	// KeepPerPlayer bounds the finished tickets kept per player; past it
	// the oldest are forgotten first, so that a client churning tickets
	// cannot grow the server's memory. Default 4.
	KeepPerPlayer int
	// JoinTTL returns how long the join tokens of a match of mode stay
	// valid; it also bounds how long the matchmaker believes a player is in
	// that match if MatchEnded never comes. Default: mode.Duration + 10 min;
	// cmd should pass match.Manager.JoinExpiry.
	JoinTTL func(mode match.Mode) time.Duration
	// CreateRetry is how long a mode's queue rests after Starter.Create
	// failed before it tries again. Default 1 s.
	CreateRetry time.Duration
	// Clock is the source of time. Default match.SystemClock.
	Clock match.Clock
	// Logger receives matchmaking events. Default slog.Default().
	Logger *slog.Logger
	// ObserveWait, if set, is told how long each matched ticket searched,
	// by mode (metrics). It is called on the Run goroutine with the
	// matchmaker's lock held: it must return at once and must not call the
	// Matchmaker. Each ticket is observed by the server it was queued on.
	ObserveWait func(mode string, waited time.Duration)

	// Pool is the queue this Matchmaker pairs from (see the package doc):
	// tickets, the rule of one live ticket or match per player, and
	// pairing are common to every Matchmaker on it. Default: a
	// MemoryPool of this Matchmaker's own.
	Pool Pool
	// Server is this server's advertised base URL, such as
	// https://eu1.play.example.com, recorded with every match it starts
	// so that the players who queued on another server are sent here
	// (Ticket.Server). Needed only when the Pool is shared.
	Server string
	// PoolPoll is how often Run reads the pool's changes (other servers'
	// tickets, and the matches they found for this server's tickets)
	// when the pool is not a Notifier. Default 200 ms.
	PoolPoll time.Duration
	// PoolTimeout bounds each call to the Pool. Default 2 s.
	PoolTimeout time.Duration
	// PoolAlive is how long this Matchmaker counts as alive after its last
	// heartbeat; Run beats every third of it. The other servers expire the
	// tickets of one that stopped beating (it crashed, or shut down).
	// Default 15 s.
	PoolAlive time.Duration
	// StealAfter is how long a group whose newest ticket was queued on
	// another server is left to that server, which normally claims it at
	// once, before this one claims it instead. Default 1 s.
	StealAfter time.Duration
}

// maxIdle bounds how long Run sleeps with nothing to do, so housekeeping
// runs even when nothing else happens.
const maxIdle = time.Minute

// Matchmaker pairs players into matches. Its methods are safe for concurrent
// use; Run must be called exactly once, and pairing happens only while it
// runs (tickets enqueued before Run starts wait for it).
type Matchmaker struct {
	cfg      Config
	starter  Starter
	tokens   *match.Tokens
	clock    match.Clock
	log      *slog.Logger
	pool     Pool
	notify   Notifier // the pool, if it tells of its changes
	instance string   // this Matchmaker's name in the pool: random, one per process

	// Groups this server claimed (ClaimsWon), groups whose claim found a
	// ticket already taken, cancelled or expired (ClaimsLost), and groups
	// left to another server and taken over after StealAfter
	// (Takeovers). Safe to read concurrently.
	ClaimsWon, ClaimsLost, Takeovers atomic.Uint64

	// mirror is Run's copy of the queue and what it owes the pool; only
	// the Run goroutine touches it.
	mirror *mirror

	// wake tells Run that it has work: a ticket was published or a match
	// ended. Size one: a pending wake-up covers any number of them.
	wake chan struct{}
	// done is closed when Run returns; it releases every Wait.
	done chan struct{}

	mu struct {
		sync.Mutex
		running  bool
		closed   bool
		tickets  map[string]*ticket    // this server's tickets not yet forgotten, by ID
		search   map[string]*ticket    // a player's searching ticket, by player ID
		finished map[string][]*ticket  // a player's finished tickets not yet forgotten, oldest first
		matches  map[string]matchEntry // matches started here and not ended, by ID
		ended    map[string]time.Time  // results for matches not (yet) known, by ID, with arrival time
		frees    []freeing             // ended matches whose players the pool must free
		sizes    map[string]int        // the queues' sizes at Run's last look, by mode
		aliveAt  time.Time             // last heartbeat
		swept    time.Time             // last housekeeping

		// freeing are the frees Run took from frees and is making now.
		// An Enqueue of one of their players makes them again itself
		// rather than publish before Run's Free reaches the pool (Free
		// is idempotent).
		freeing []freeing
	}
}

// ticket is one of this server's tickets: the player's view of it, and
// what its waiters wait on. Its searching life in the queue is a member.
type ticket struct {
	Ticket
	// published: the pool has it (Publish returned, or the pool's changes
	// mentioned it).
	published bool
	forgetAt  time.Time     // when finished: forgotten then
	changed   chan struct{} // closed when the status leaves searching
}

type matchEntry struct {
	players []string
	until   time.Time
}

type freeing struct {
	matchID string
	players []string
}

// New returns a Matchmaker that starts matches with starter and signs join
// tokens with tokens. It starts nothing: call Run.
func New(cfg Config, starter Starter, tokens *match.Tokens) *Matchmaker {
	modes := make(map[string]match.Mode, len(cfg.Modes))
	for name, m := range cfg.Modes {
		m.Players = max(m.Players, 1)
		if m.MinPlayers <= 0 || m.MinPlayers > m.Players {
			m.MinPlayers = m.Players
		}
		if m.FillWait <= 0 {
			m.FillWait = DefaultFillWait
		}
		modes[name] = m
	}
	cfg.Modes = modes
	cfg.TicketTTL = cmp.Or(cfg.TicketTTL, 10*time.Minute)
	cfg.Retention = cmp.Or(cfg.Retention, time.Minute)
	cfg.KeepPerPlayer = cmp.Or(max(cfg.KeepPerPlayer, 0), 4)
	cfg.CreateRetry = cmp.Or(cfg.CreateRetry, time.Second)
	cfg.RatingTimeout = cmp.Or(cfg.RatingTimeout, 2*time.Second)
	if cfg.Rating == nil {
		cfg.Rating = func(context.Context, string, string) (float64, error) { return DefaultRating, nil }
	}
	if cfg.JoinTTL == nil {
		cfg.JoinTTL = func(m match.Mode) time.Duration { return m.Duration + 10*time.Minute }
	}
	if cfg.Clock == nil {
		cfg.Clock = match.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Pool == nil {
		cfg.Pool = NewMemoryPool(cfg.Clock)
	}
	cfg.PoolPoll = cmp.Or(cfg.PoolPoll, 200*time.Millisecond)
	cfg.PoolTimeout = cmp.Or(cfg.PoolTimeout, 2*time.Second)
	cfg.PoolAlive = cmp.Or(cfg.PoolAlive, 15*time.Second)
	cfg.StealAfter = cmp.Or(cfg.StealAfter, time.Second)
	m := &Matchmaker{
		cfg:      cfg,
		starter:  starter,
		tokens:   tokens,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		pool:     cfg.Pool,
		instance: match.NewID(),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	m.notify, _ = cfg.Pool.(Notifier)
	m.mirror = newMirror(cfg)
	m.mu.tickets = make(map[string]*ticket)
	m.mu.search = make(map[string]*ticket)
	m.mu.finished = make(map[string][]*ticket)
	m.mu.matches = make(map[string]matchEntry)
	m.mu.ended = make(map[string]time.Time)
	m.mu.sizes = make(map[string]int, len(cfg.Modes))
	for name := range cfg.Modes {
		m.mu.sizes[name] = 0
	}
	return m
}

// Mode returns the configured mode called name.
func (m *Matchmaker) Mode(name string) (match.Mode, bool) {
	md, ok := m.cfg.Modes[name]
	return md, ok
}

// Enqueue creates a searching ticket for playerID in mode, carrying the
// player's rating in mode from Config.Rating, which it calls with ctx
// (bounded by Config.RatingTimeout), and publishes it to the pool (bounded
// by Config.PoolTimeout). It fails with ErrUnknownMode, with ErrConflict
// if the player already has a searching ticket or is in a match that has
// not ended (on any server sharing the pool), with ErrUnavailable if the
// rating lookup fails or the pool does not answer, and with ErrClosed once
// Run has returned. It never waits for pairing.
func (m *Matchmaker) Enqueue(ctx context.Context, playerID, mode string) (Ticket, error) {
	if _, ok := m.cfg.Modes[mode]; !ok {
		return Ticket{}, fmt.Errorf("enqueue %s for %q: %w", playerID, mode, ErrUnknownMode)
	}
	// Refuse what would be refused anyway before asking for the rating, so
	// that a client retrying a conflict costs the rating store nothing.
	m.mu.Lock()
	err := m.admitLocked(playerID)
	m.mu.Unlock()
	if err != nil {
		return Ticket{}, err
	}
	rating, err := m.rating(ctx, playerID, mode)
	if err != nil {
		return Ticket{}, err
	}

	now := m.clock.Now()
	t := &ticket{
		Ticket:  Ticket{ID: match.NewID(), PlayerID: playerID, Mode: mode, Status: StatusSearching, Rating: rating, CreatedAt: now},
		changed: make(chan struct{}),
	}
	// The ticket is known here before the pool has it, so that its
	// arrival in the changes finds it. Its ID is known to nobody yet.
	m.mu.Lock()
	if err := m.admitLocked(playerID); err != nil {
		m.mu.Unlock()
		return Ticket{}, err
	}
	m.mu.tickets[t.ID] = t
	m.mu.search[playerID] = t
	tk := t.Ticket // as created: Run may match it before Publish returns
	beat := m.aliveDueLocked(now)
	frees, taken := m.takeFreesLocked(playerID)
	m.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, m.cfg.PoolTimeout)
	defer cancel()
	if beat {
		err = m.beat(pctx, now)
	}
	// The player's last match ended here but the pool may not know yet
	// (Run has not told it, or Run's Free is still on its way): tell it
	// now, so that a client queueing again as soon as it reads MatchEnd
	// is not refused.
	for i := 0; err == nil && i < len(frees); i++ {
		if err = m.pool.Free(pctx, frees[i].matchID, frees[i].players); err != nil {
			if i < taken { // the rest are Run's, which requeues them if its call fails
				m.requeueFrees(frees[i:taken])
			}
			err = fmt.Errorf("free the players of match %s: %w", frees[i].matchID, err)
		}
	}
	if err == nil {
		pt := PoolTicket{ID: t.ID, PlayerID: playerID, Mode: mode, Rating: rating, CreatedAt: now, Home: m.instance}
		_, err = m.pool.Publish(pctx, pt, m.cfg.TicketTTL+poolGrace+time.Minute)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case err == nil:
		t.published = true
	case !errors.Is(err, ErrConflict) && (t.published || t.Status != StatusSearching):
		// A call that failed late was made after all: the pool's changes
		// brought the ticket back.
		err = nil
	}
	if err != nil {
		delete(m.mu.tickets, t.ID)
		if m.mu.search[playerID] == t {
			delete(m.mu.search, playerID)
		}
		if errors.Is(err, ErrConflict) {
			return Ticket{}, fmt.Errorf("enqueue %s: %w", playerID, err)
		}
		return Ticket{}, fmt.Errorf("enqueue %s: %w: queue: %w", playerID, ErrUnavailable, err)
	}
	m.wakeRun()
	return tk, nil
}

// admitLocked returns why playerID may not queue, as far as this server
// knows (the pool knows the rest), or nil.
func (m *Matchmaker) admitLocked(playerID string) error {
	if m.mu.closed {
		return ErrClosed
	}
	if _, ok := m.mu.search[playerID]; ok {
		return fmt.Errorf("enqueue %s: %w", playerID, ErrConflict)
	}
	return nil
}

// rating looks up playerID's rating in mode.
func (m *Matchmaker) rating(ctx context.Context, playerID, mode string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RatingTimeout)
	defer cancel()
	r, err := m.cfg.Rating(ctx, playerID, mode)
	if err == nil && (math.IsNaN(r) || math.IsInf(r, 0)) {
		err = fmt.Errorf("not a finite number: %v", r)
	}
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w: rating in %s: %w", playerID, ErrUnavailable, mode, err)
	}
	return r, nil
}

// wakeRun tells Run it has work.
func (m *Matchmaker) wakeRun() {
	select {
	case m.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// aliveDueLocked reports whether the heartbeat is due at now.
func (m *Matchmaker) aliveDueLocked(now time.Time) bool {
	return m.mu.aliveAt.IsZero() || !now.Before(m.mu.aliveAt.Add(m.cfg.PoolAlive/3))
}

// beat tells the pool this Matchmaker is alive.
func (m *Matchmaker) beat(ctx context.Context, now time.Time) error {
	if err := m.pool.Alive(ctx, m.instance, m.cfg.PoolAlive); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	m.mu.Lock()
	m.mu.aliveAt = now
	m.mu.Unlock()
	return nil
}

// poolContext bounds one call to the pool. It outlives ctx's cancellation,
// so that what a shutdown interrupts is not left half done.
func (m *Matchmaker) poolContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.cfg.PoolTimeout)
}

// Ticket returns a snapshot of playerID's ticket id, or ErrNotFound if there
// is none or it is someone else's. A ticket this server does not hold
// (queued on another server sharing the pool, or forgotten here) is read
// from the pool, with ctx: ErrUnavailable if it does not answer.
func (m *Matchmaker) Ticket(ctx context.Context, id, playerID string) (Ticket, error) {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	var tk Ticket
	if err == nil {
		tk = t.Ticket
	}
	m.mu.Unlock()
	if err != nil {
		return m.remoteTicket(ctx, id, playerID)
	}
	return tk, nil
}

// Wait is Ticket as a long-poll: it returns at once unless the ticket is
// searching, and otherwise blocks until its status changes, ctx ends, or
// Run returns. It always returns the ticket as it is when Wait returns;
// the error is ErrNotFound (with a zero Ticket), ctx.Err() if ctx ended
// first, or ErrClosed if Run has returned, both with the still-searching
// ticket. A ticket this server does not hold is read from the pool every
// PoolPoll.
func (m *Matchmaker) Wait(ctx context.Context, id, playerID string) (Ticket, error) {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	if err != nil {
		m.mu.Unlock()
		return m.remoteWait(ctx, id, playerID)
	}
	if t.Status != StatusSearching {
		m.mu.Unlock()
		return t.Ticket, nil
	}
	changed := t.changed
	m.mu.Unlock()

	select {
	case <-changed:
	case <-ctx.Done():
		err = ctx.Err()
	case <-m.done:
		err = ErrClosed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Status != StatusSearching {
		err = nil // the change won a race with ctx or shutdown
	}
	return t.Ticket, err
}

// fromState is the Ticket a pool's state describes.
func (m *Matchmaker) fromState(st PoolState) Ticket {
	t := Ticket{ID: st.ID, PlayerID: st.PlayerID, Mode: st.Mode, Status: st.Status, Rating: st.Rating, CreatedAt: st.CreatedAt}
	if st.Status == StatusMatched {
		t.MatchID, t.JoinToken = st.Seat.MatchID, st.Seat.JoinToken
		if st.Seat.Host != m.instance {
			t.Server = st.Seat.Server
		}
	}
	return t
}

// remoteTicket is Ticket for a ticket this server does not hold.
func (m *Matchmaker) remoteTicket(ctx context.Context, id, playerID string) (Ticket, error) {
	pctx, cancel := context.WithTimeout(ctx, m.cfg.PoolTimeout)
	defer cancel()
	st, err := m.pool.Lookup(pctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || err == nil && st.PlayerID != playerID:
		return Ticket{}, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	case err != nil:
		return Ticket{}, fmt.Errorf("ticket %s: %w: queue: %w", id, ErrUnavailable, err)
	}
	return m.fromState(st), nil
}

// remoteWait is Wait for a ticket this server does not hold: it asks the
// pool every PoolPoll.
func (m *Matchmaker) remoteWait(ctx context.Context, id, playerID string) (Ticket, error) {
	timer := m.clock.NewTimer(m.cfg.PoolPoll)
	defer timer.Stop()
	for {
		t, err := m.remoteTicket(ctx, id, playerID)
		if err != nil || t.Status != StatusSearching {
			if ctx.Err() != nil && err != nil && !errors.Is(err, ErrNotFound) {
				err = ctx.Err()
			}
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, ctx.Err()
		case <-m.done:
			return t, ErrClosed
		case <-timer.C():
			timer.Reset(m.cfg.PoolPoll)
		}
	}
}

// Cancel cancels playerID's searching ticket id. It fails with ErrNotFound
// if there is no such ticket of that player's, with ErrMatched if the
// ticket is matched or being matched, and with ErrUnavailable if the pool
// does not answer (the call is bounded by ctx and Config.PoolTimeout).
// Cancelling a ticket that is already cancelled or expired succeeds and
// changes nothing. The ticket may have been queued on any server sharing
// the pool: the pool decides, atomically with every claim.
func (m *Matchmaker) Cancel(ctx context.Context, id, playerID string) error {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	if err == nil {
		switch t.Status {
		case StatusMatched:
			m.mu.Unlock()
			return fmt.Errorf("cancel ticket %s: %w", id, ErrMatched)
		case StatusCancelled, StatusExpired:
			m.mu.Unlock()
			return nil
		}
	}
	m.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, m.cfg.PoolTimeout)
	defer cancel()
	s, err := m.pool.Withdraw(pctx, id, playerID, StatusCancelled, m.cfg.Retention)
	switch {
	case errors.Is(err, ErrMatched):
		return fmt.Errorf("cancel ticket %s: %w", id, ErrMatched)
	case errors.Is(err, ErrNotFound):
		if t == nil {
			return fmt.Errorf("cancel ticket %s: %w", id, ErrNotFound)
		}
		s = StatusExpired // the pool forgot it: it outlived its TTL
	case err != nil:
		return fmt.Errorf("cancel ticket %s: %w: queue: %w", id, ErrUnavailable, err)
	}
	if t == nil {
		return nil // another server's ticket: that server learns it from the changes
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Status == StatusSearching {
		m.finishLocked(t, s, m.clock.Now())
	}
	return nil
}

// QueueSizes returns how many tickets are searching in each configured
// mode's queue, by mode name, zeros included, as Run last saw them: every
// server's tickets when the pool is shared. Tickets picked for a match
// that is being started are not counted.
func (m *Matchmaker) QueueSizes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.mu.sizes)
}

// MatchEnded records that a match is over, so that its players may queue
// again. It is safe to call from any goroutine (cmd wires it to
// match.Manager's OnEnd, which runs on the room's goroutine), returns at
// once while Run runs (Run frees the players in the pool; so does an
// Enqueue of one of them that comes before Run's Free has returned), and
// ignores results it has already seen. Once Run has returned (the rooms a
// shutdown ends report after it), MatchEnded frees them itself, waiting up
// to PoolTimeout.
func (m *Matchmaker) MatchEnded(res match.Result) {
	now := m.clock.Now()
	m.mu.Lock()
	var players []string
	if e, ok := m.mu.matches[res.MatchID]; ok {
		players = e.players
		delete(m.mu.matches, res.MatchID)
	} else {
		// A match we never started, a duplicate, or the result of a match
		// that ended before Create returned to Run: remember it so that
		// Run frees its players once it has seated them.
		m.mu.ended[res.MatchID] = now
		for _, p := range res.Players {
			players = append(players, p.PlayerID)
		}
	}
	f := freeing{matchID: res.MatchID, players: players}
	closed := m.mu.closed
	if !closed {
		m.queueFreeLocked(f)
	}
	m.mu.Unlock()
	if !closed || len(players) == 0 {
		m.wakeRun()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.PoolTimeout)
	defer cancel()
	if err := m.pool.Free(ctx, f.matchID, f.players); err != nil {
		m.log.Warn("matchmaker: could not free the players of an ended match; the pool frees them when its time is up", "match", f.matchID, "err", err)
	}
}

// maxFrees bounds the ended matches whose players wait to be freed; past
// it they are left to the pool's own expiry.
const maxFrees = 10_000

// queueFreeLocked queues f for Run, unless too many wait.
func (m *Matchmaker) queueFreeLocked(f freeing) {
	if len(f.players) == 0 {
		return
	}
	if len(m.mu.frees) >= maxFrees {
		m.log.Warn("matchmaker: too many ended matches waiting to free their players; the pool frees them when their time is up", "match", f.matchID)
		return
	}
	m.mu.frees = append(m.mu.frees, f)
}

// takeFreesLocked returns the freeings that name playerID: first the
// taken ones, which it takes out of the queue, then the ones Run is making
// now (left to Run too).
func (m *Matchmaker) takeFreesLocked(playerID string) (frees []freeing, taken int) {
	m.mu.frees = slices.DeleteFunc(m.mu.frees, func(f freeing) bool {
		if slices.Contains(f.players, playerID) {
			frees = append(frees, f)
			return true
		}
		return false
	})
	taken = len(frees)
	for _, f := range m.mu.freeing {
		if slices.Contains(f.players, playerID) {
			frees = append(frees, f)
		}
	}
	return frees, taken
}

// requeueFrees puts back, first in line, freeings that failed.
func (m *Matchmaker) requeueFrees(fs []freeing) {
	m.mu.Lock()
	m.mu.frees = append(slices.Clone(fs), m.mu.frees...)
	m.mu.Unlock()
}

// finishLocked moves a searching ticket to its final status and wakes its
// waiters. A matched ticket is kept until its join token expires (until),
// another until Retention is up; beyond KeepPerPlayer finished tickets,
// the player's oldest is forgotten at once.
func (m *Matchmaker) finishLocked(t *ticket, s Status, now time.Time) {
	m.finishUntilLocked(t, s, now.Add(m.cfg.Retention))
}

func (m *Matchmaker) finishUntilLocked(t *ticket, s Status, forgetAt time.Time) {
	t.Status = s
	t.forgetAt = forgetAt
	close(t.changed)
	if m.mu.search[t.PlayerID] == t {
		delete(m.mu.search, t.PlayerID)
	}
	done := append(m.mu.finished[t.PlayerID], t)
	if n := len(done) - m.cfg.KeepPerPlayer; n > 0 {
		for _, old := range done[:n] {
			delete(m.mu.tickets, old.ID)
		}
		done = slices.Delete(done, 0, n)
	}
	m.mu.finished[t.PlayerID] = done
}

// seatLocked finishes t, this server's, as matched in s; the ticket stays
// readable as long as its join token is valid.
func (m *Matchmaker) seatLocked(t *ticket, s PoolSeat, until, now time.Time) {
	t.MatchID, t.JoinToken = s.MatchID, s.JoinToken
	if s.Host != m.instance {
		t.Server = s.Server
	}
	forgetAt := now.Add(m.cfg.Retention)
	if until.After(forgetAt) {
		forgetAt = until
	}
	m.finishUntilLocked(t, StatusMatched, forgetAt)
	if m.cfg.ObserveWait != nil {
		m.cfg.ObserveWait(t.Mode, now.Sub(t.CreatedAt))
	}
}

// sweepLocked forgets finished tickets past their time and the match
// records that outlived their join tokens, so memory stays bounded by the
// players active in the last Retention or JoinTTL.
func (m *Matchmaker) sweepLocked(now time.Time) {
	m.mu.swept = now
	for player, done := range m.mu.finished {
		kept := slices.DeleteFunc(done, func(t *ticket) bool {
			if now.Before(t.forgetAt) {
				return false
			}
			delete(m.mu.tickets, t.ID)
			return true
		})
		if len(kept) == 0 {
			delete(m.mu.finished, player)
		} else {
			m.mu.finished[player] = kept
		}
	}
	for id, e := range m.mu.matches {
		if !now.Before(e.until) {
			m.log.Warn("matchmaker: no result for match; the pool frees its players", "match", id)
			delete(m.mu.matches, id)
		}
	}
	for id, at := range m.mu.ended {
		if !now.Before(at.Add(m.cfg.Retention)) {
			delete(m.mu.ended, id)
		}
	}
}

func (m *Matchmaker) lookupLocked(id, playerID string) (*ticket, error) {
	t, ok := m.mu.tickets[id]
	if !ok || t.PlayerID != playerID {
		return nil, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	return t, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

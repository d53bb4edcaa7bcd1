package matchmaker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	// not reach the shared queue (Config.Pool). No ticket was created; the
	// caller may retry later. The underlying error is wrapped too. With a
	// Pool, Ticket, Wait and Cancel also return it when the pool does not
	// answer.
	ErrUnavailable = errors.New("matchmaker: unavailable")
)

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
	// Server is set when matched, with a Pool, to a match that another
	// server runs: that server's advertised base URL (its Config.Server),
	// where the player must connect. Empty: this server.
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
	// Modes are the modes players may queue for, by name. Default:
	// DefaultModes(). A mode's MinPlayers ≤ 0 means Players; a mode whose
	// MinPlayers is below Players starts short-handed after FFAWait.
	Modes map[string]match.Mode
	// FFAWait is how long the oldest ticket of a group of a mode with
	// MinPlayers < Players searches before the group, if it has at least
	// MinPlayers mutually compatible tickets, starts without being full.
	// Default 10 s.
	FFAWait time.Duration
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
	// Retention is how long a finished (matched, cancelled, expired) ticket
	// stays readable before it is forgotten. Default 10 min.
	Retention time.Duration
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
	// Matchmaker. With a Pool, each ticket is observed by the server it was
	// queued on.
	ObserveWait func(mode string, waited time.Duration)

	// Pool, if set, is the queue this Matchmaker shares with the other
	// servers on the same store (see the package doc): tickets, the rule
	// of one live ticket or match per player, and pairing are then
	// common to all of them. Default nil: this process alone.
	Pool Pool
	// Server is this server's advertised base URL, such as
	// https://eu1.play.example.com, recorded with every match it starts
	// so that the players who queued on another server are sent here
	// (Ticket.Server). Used with a Pool only.
	Server string
	// PoolPoll is how often Run reads the pool's changes (other servers'
	// tickets, and the matches they found for this server's tickets).
	// Default 200 ms.
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

// DefaultModes returns the modes of docs/arena.md for the arena game: duel (2
// players) and ffa (up to 10, at least 2), each 120 s long.
func DefaultModes() map[string]match.Mode {
	return map[string]match.Mode{
		"duel": {Name: "duel", Game: "arena", Players: 2, MinPlayers: 2, Duration: 120 * time.Second},
		"ffa":  {Name: "ffa", Game: "arena", Players: 10, MinPlayers: 2, Duration: 120 * time.Second},
	}
}

// maxIdle bounds how long Run sleeps with nothing to do, so housekeeping
// runs even when nothing else happens.
const maxIdle = time.Minute

// Matchmaker pairs players into matches. Its methods are safe for concurrent
// use; Run must be called exactly once, and pairing happens only while it
// runs (tickets enqueued before Run starts wait for it).
type Matchmaker struct {
	cfg     Config
	starter Starter
	tokens  *match.Tokens
	clock   match.Clock
	log     *slog.Logger

	pool     Pool   // nil: memory only
	instance string // this Matchmaker's name in the pool: random, one per process

	// With a Pool: groups this server claimed (ClaimsWon), groups whose
	// claim found a ticket already taken, cancelled or expired
	// (ClaimsLost), and groups left to another server and taken over
	// after StealAfter (Takeovers). Safe to read concurrently.
	ClaimsWon, ClaimsLost, Takeovers atomic.Uint64
	run                              poolRun

	// wake tells Run that a ticket was enqueued. Size one: a pending wake-up
	// covers any number of enqueues, since Run looks at every queue.
	wake chan struct{}
	// done is closed when Run returns; it releases every Wait.
	done chan struct{}

	mu struct {
		sync.Mutex
		running bool
		closed  bool
		seq     uint64                // arrival order, and tie-break for tickets created in the same instant
		tickets map[string]*ticket    // every ticket not yet forgotten, by ID
		queues  map[string]*queue     // searching tickets not being matched, by mode; one per configured mode
		search  map[string]*ticket    // a player's searching ticket, by player ID
		playing map[string]seat       // players in a match that has not ended, by player ID
		matches map[string]matchEntry // matches started and not ended, by ID
		ended   map[string]time.Time  // results for matches not (yet) known, by ID, with arrival time
		retryAt map[string]time.Time  // a mode's queue rests until then after a failed Create
		swept   time.Time             // last housekeeping

		poolState // with a Pool only
	}
}

// ticket is a ticket of this server's (in mu.tickets) or, with a Pool, a
// queue entry of the shared queue (in mu.mirror and a queue; see poolEntry).
type ticket struct {
	Ticket
	seq uint64
	// queued: searching and in its mode's queue (not pending).
	queued bool
	// pos is the ticket's index in its queue's rating index; valid only
	// during queue.pair.
	pos int32
	// pending: picked for a group whose Create is in flight. The ticket is
	// out of its queue and cannot be cancelled; its status is still
	// searching.
	pending  bool
	finished time.Time     // when the status left searching
	changed  chan struct{} // closed when the status leaves searching

	poolEntry // with a Pool, for the queue entries only
}

type seat struct {
	matchID string
	until   time.Time
}

type matchEntry struct {
	players []string
	until   time.Time
}

// New returns a Matchmaker that starts matches with starter and signs join
// tokens with tokens. It starts nothing: call Run.
func New(cfg Config, starter Starter, tokens *match.Tokens) *Matchmaker {
	if cfg.Modes == nil {
		cfg.Modes = DefaultModes()
	}
	modes := make(map[string]match.Mode, len(cfg.Modes))
	for name, m := range cfg.Modes {
		m.Players = max(m.Players, 1)
		if m.MinPlayers <= 0 || m.MinPlayers > m.Players {
			m.MinPlayers = m.Players
		}
		modes[name] = m
	}
	cfg.Modes = modes
	cfg.FFAWait = cmp.Or(cfg.FFAWait, 10*time.Second)
	cfg.TicketTTL = cmp.Or(cfg.TicketTTL, 10*time.Minute)
	cfg.Retention = cmp.Or(cfg.Retention, 10*time.Minute)
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
	m.mu.tickets = make(map[string]*ticket)
	m.mu.queues = make(map[string]*queue, len(cfg.Modes))
	for name, md := range cfg.Modes {
		w, ok := cfg.Windows[name]
		if !ok {
			w = DefaultWindow()
		}
		m.mu.queues[name] = newQueue(md, w)
	}
	m.mu.search = make(map[string]*ticket)
	m.mu.playing = make(map[string]seat)
	m.mu.matches = make(map[string]matchEntry)
	m.mu.ended = make(map[string]time.Time)
	m.mu.retryAt = make(map[string]time.Time)
	if m.pool != nil {
		m.mu.mirror = make(map[string]*ticket)
		m.mu.awaiting = make(map[string]time.Time)
	}
	return m
}

// Mode returns the configured mode called name.
func (m *Matchmaker) Mode(name string) (match.Mode, bool) {
	md, ok := m.cfg.Modes[name]
	return md, ok
}

// Enqueue is EnqueueContext with a background context: the rating lookup
// is bounded by Config.RatingTimeout alone.
func (m *Matchmaker) Enqueue(playerID, mode string) (Ticket, error) {
	return m.EnqueueContext(context.Background(), playerID, mode)
}

// EnqueueContext creates a searching ticket for playerID in mode, carrying
// the player's rating in mode from Config.Rating, which it calls with ctx
// (bounded by Config.RatingTimeout). It fails with ErrUnknownMode, with
// ErrConflict if the player already has a searching ticket or is in a match
// that has not ended (with a Pool: on any server), with ErrUnavailable if
// the rating lookup fails or the pool does not answer, and with ErrClosed
// once Run has returned. It blocks only on the rating lookup and the
// pool, never on pairing.
func (m *Matchmaker) EnqueueContext(ctx context.Context, playerID, mode string) (Ticket, error) {
	if _, ok := m.cfg.Modes[mode]; !ok {
		return Ticket{}, fmt.Errorf("enqueue %s for %q: %w", playerID, mode, ErrUnknownMode)
	}
	// Refuse what would be refused anyway before asking for the rating, so
	// that a client retrying a conflict costs the rating store nothing.
	m.mu.Lock()
	err := m.admitLocked(playerID, m.clock.Now())
	m.mu.Unlock()
	if err != nil {
		return Ticket{}, err
	}
	rating, err := m.rating(ctx, playerID, mode)
	if err != nil {
		return Ticket{}, err
	}
	if m.pool != nil {
		return m.publish(ctx, playerID, mode, rating)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	// Now under the lock: arrival order (seq) and CreatedAt then agree,
	// which expiry and the windows' monotony in a queue rely on.
	now := m.clock.Now()
	if err := m.admitLocked(playerID, now); err != nil {
		return Ticket{}, err
	}
	m.mu.seq++
	t := &ticket{
		Ticket: Ticket{ID: match.NewID(), PlayerID: playerID, Mode: mode, Status: StatusSearching, Rating: rating,
			CreatedAt: now},
		seq:     m.mu.seq,
		changed: make(chan struct{}),
	}
	m.mu.tickets[t.ID] = t
	m.mu.search[playerID] = t
	m.mu.queues[mode].add(t)
	select {
	case m.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return t.Ticket, nil
}

// admitLocked returns why playerID may not queue at now, or nil.
func (m *Matchmaker) admitLocked(playerID string, now time.Time) error {
	if m.mu.closed {
		return ErrClosed
	}
	if _, ok := m.mu.search[playerID]; ok {
		return fmt.Errorf("enqueue %s: %w", playerID, ErrConflict)
	}
	if s, ok := m.mu.playing[playerID]; ok && now.Before(s.until) {
		return fmt.Errorf("enqueue %s: in match %s: %w", playerID, s.matchID, ErrConflict)
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

// Ticket returns a snapshot of playerID's ticket id, or ErrNotFound if there
// is none or it is someone else's. With a Pool, a ticket queued on another
// server is read from the pool (ErrUnavailable if it does not answer).
func (m *Matchmaker) Ticket(id, playerID string) (Ticket, error) {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	var tk Ticket
	if err == nil {
		tk = t.Ticket
	}
	m.mu.Unlock()
	if err != nil && m.pool != nil {
		return m.remoteTicket(context.Background(), id, playerID)
	}
	return tk, err
}

// Wait is Ticket as a long-poll: it returns at once unless the ticket is
// searching, and otherwise blocks until its status changes, ctx ends, or
// Run returns. It always returns the ticket as it is when Wait returns;
// the error is ErrNotFound (with a zero Ticket), ctx.Err() if ctx ended
// first, or ErrClosed if Run has returned, both with the still-searching
// ticket. With a Pool, a ticket queued on another server is read from the
// pool every PoolPoll.
func (m *Matchmaker) Wait(ctx context.Context, id, playerID string) (Ticket, error) {
	m.mu.Lock()
	t, err := m.lookupLocked(id, playerID)
	if err != nil && m.pool != nil {
		m.mu.Unlock()
		return m.remoteWait(ctx, id, playerID)
	}
	if err != nil || t.Status != StatusSearching {
		m.mu.Unlock()
		if err != nil {
			return Ticket{}, err
		}
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

// Cancel cancels playerID's searching ticket id. It fails with ErrNotFound
// if there is no such ticket of that player's, and with ErrMatched if the
// ticket is matched or being matched. Cancelling a ticket that is already
// cancelled or expired succeeds and changes nothing. With a Pool, the
// ticket may have been queued on any server, and Cancel fails with
// ErrUnavailable if the pool does not answer.
func (m *Matchmaker) Cancel(id, playerID string) error {
	if m.pool != nil {
		return m.poolCancel(id, playerID)
	}
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.lookupLocked(id, playerID)
	if err != nil {
		return err
	}
	switch {
	case t.Status == StatusMatched || t.pending:
		return fmt.Errorf("cancel ticket %s: %w", id, ErrMatched)
	case t.Status != StatusSearching:
		return nil
	}
	m.mu.queues[t.Mode].remove(t)
	m.finishLocked(t, StatusCancelled, now)
	return nil
}

// QueueSizes returns how many tickets are searching in each configured
// mode's queue, by mode name, zeros included. Tickets picked for a match
// that is being started are not counted. With a Pool, the queues are the
// shared ones, every server's tickets, as this server last read them.
func (m *Matchmaker) QueueSizes() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	sizes := make(map[string]int, len(m.mu.queues))
	for name, q := range m.mu.queues {
		sizes[name] = q.live
	}
	return sizes
}

// MatchEnded records that a match is over, so that its players may queue
// again. It is safe to call from any goroutine (cmd wires it to
// match.Manager's OnEnd, which runs on the room's goroutine), returns
// promptly, and ignores results it has already seen. With a Pool, Run
// frees the players in the pool; once Run has returned (the rooms a
// shutdown ends report after it), MatchEnded does it itself, waiting up to
// PoolTimeout.
func (m *Matchmaker) MatchEnded(res match.Result) {
	if m.pool != nil {
		m.poolMatchEnded(res)
		return
	}
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.mu.matches[res.MatchID]
	if !ok {
		// Either a match we never started, a duplicate, or the result of a
		// match that ended before Create returned to Run: remember it so
		// that Run does not mark its players as playing.
		m.mu.ended[res.MatchID] = now
		return
	}
	delete(m.mu.matches, res.MatchID)
	m.freeLocked(res.MatchID, e.players)
}

func (m *Matchmaker) freeLocked(matchID string, players []string) {
	for _, p := range players {
		if s, ok := m.mu.playing[p]; ok && s.matchID == matchID {
			delete(m.mu.playing, p)
		}
	}
}

// Run pairs tickets until ctx ends, then releases every Wait, refuses new
// tickets, and returns nil. It must be called once; a second call returns an
// error at once.
func (m *Matchmaker) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.mu.running {
		m.mu.Unlock()
		return errors.New("matchmaker: Run called twice")
	}
	m.mu.running = true
	m.mu.swept = m.clock.Now()
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.mu.closed = true
		var frees []freeing
		if m.pool != nil {
			frees, m.mu.frees = m.mu.frees, nil
		}
		m.mu.Unlock()
		close(m.done)
		if m.pool != nil {
			m.leave(frees)
		}
	}()

	timer := m.clock.NewTimer(maxIdle)
	defer timer.Stop()
	for {
		now := m.clock.Now()
		next := m.step(ctx, now)
		timer.Stop()
		timer.Reset(min(next.Sub(now), maxIdle))
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-timer.C():
		}
	}
}

// step does everything that is due at now: expiry, pairing, starting the
// groups, housekeeping. It returns when it next has something to do absent
// new tickets. Called only from Run.
func (m *Matchmaker) step(ctx context.Context, now time.Time) time.Time {
	if m.pool != nil {
		return m.poolStep(ctx, now)
	}
	for {
		groups, next := m.plan(now)
		if len(groups) == 0 {
			return next
		}
		for _, g := range groups {
			m.start(g)
		}
		// Starting took time and may have failed (requeueing with a
		// back-off): plan again at the new now.
		now = m.clock.Now()
	}
}

// group is a set of tickets picked for one match, in seat order.
type group struct {
	mode    match.Mode
	tickets []*ticket
}

// plan expires old tickets, forms groups and marks their tickets pending,
// and sweeps what is stale. It returns the groups to start and when the
// queues next need a look: the next expiry, the next instant a rating window
// widens enough to matter, a short-handed group becoming due, or the end of
// a queue's rest after a failed Create.
func (m *Matchmaker) plan(now time.Time) ([]group, time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := now.Add(maxIdle)
	var groups []group
	for name, q := range m.mu.queues {
		oldest := q.expire(now.Add(-m.cfg.TicketTTL), func(t *ticket) { m.finishLocked(t, StatusExpired, now) })
		if oldest == nil {
			continue
		}
		next = earliest(next, oldest.CreatedAt.Add(m.cfg.TicketTTL))
		var formed [][]*ticket
		formed, next = m.formLocked(name, q, now, next)
		for _, ts := range formed {
			groups = append(groups, group{mode: q.mode, tickets: ts})
		}
	}
	if sweepEvery := min(m.cfg.Retention, maxIdle); !now.Before(m.mu.swept.Add(sweepEvery)) {
		m.sweepLocked(now)
	}
	return groups, next
}

// formLocked forms the groups of mode name's queue q at now, unless the
// mode rests after a failed Create, and marks their tickets pending. It
// returns them, and next brought forward to when q next needs a look.
func (m *Matchmaker) formLocked(name string, q *queue, now, next time.Time) ([][]*ticket, time.Time) {
	if at, ok := m.mu.retryAt[name]; ok {
		if now.Before(at) {
			return nil, earliest(next, at)
		}
		delete(m.mu.retryAt, name)
	}
	var formed [][]*ticket
	// Pairing again finds nothing new unless tickets came or a window
	// widened past a gap (or a short-handed group became due).
	if q.dirty || (!q.wakeAt.IsZero() && !now.Before(q.wakeAt)) {
		formed, q.wakeAt = q.pair(now, m.cfg.FFAWait)
		for _, ts := range formed {
			for _, t := range ts {
				t.pending = true
			}
		}
	}
	if !q.wakeAt.IsZero() {
		next = earliest(next, q.wakeAt)
	}
	return formed, next
}

// start asks the Starter for g's match, without the lock, and settles g's
// tickets: matched with join tokens on success, back in the queue (and the
// queue resting for CreateRetry) on failure.
func (m *Matchmaker) start(g group) {
	players := make([]string, len(g.tickets))
	for i, t := range g.tickets {
		players[i] = t.PlayerID
	}
	matchID, err := m.starter.Create(g.mode.Name, players)
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.log.Error("matchmaker: start match; tickets requeued", "mode", g.mode.Name, "players", len(players),
			"retry_in", m.cfg.CreateRetry, "err", err)
		q := m.mu.queues[g.mode.Name]
		for _, t := range g.tickets {
			t.pending = false
			q.readd(t)
		}
		m.mu.retryAt[g.mode.Name] = now.Add(m.cfg.CreateRetry)
		return
	}

	until := now.Add(m.cfg.JoinTTL(g.mode))
	_, endedAlready := m.mu.ended[matchID]
	delete(m.mu.ended, matchID)
	if !endedAlready {
		m.mu.matches[matchID] = matchEntry{players: players, until: until}
	}
	for _, t := range g.tickets {
		t.pending = false
		t.MatchID = matchID
		t.JoinToken = m.tokens.Join(t.PlayerID, matchID, until)
		m.finishLocked(t, StatusMatched, now)
		if m.cfg.ObserveWait != nil {
			m.cfg.ObserveWait(g.mode.Name, now.Sub(t.CreatedAt))
		}
		if !endedAlready {
			m.mu.playing[t.PlayerID] = seat{matchID: matchID, until: until}
		}
	}
	m.log.Info("matchmaker: match started", "match", matchID, "mode", g.mode.Name, "players", len(players))
}

// finishLocked moves a searching ticket to its final status and wakes its
// waiters. The caller has taken it out of its queue (or it was never in
// one).
func (m *Matchmaker) finishLocked(t *ticket, s Status, now time.Time) {
	t.Status = s
	t.finished = now
	close(t.changed)
	if m.mu.search[t.PlayerID] == t {
		delete(m.mu.search, t.PlayerID)
	}
	delete(m.mu.awaiting, t.ID)
}

// sweepLocked forgets finished tickets past Retention and the match records
// that outlived their join tokens, so memory stays bounded by the players
// active in the last Retention or JoinTTL.
func (m *Matchmaker) sweepLocked(now time.Time) {
	m.mu.swept = now
	for id, t := range m.mu.tickets {
		if t.Status != StatusSearching && !now.Before(t.finished.Add(m.cfg.Retention)) {
			delete(m.mu.tickets, id)
		}
	}
	for id, e := range m.mu.matches {
		if !now.Before(e.until) {
			m.log.Warn("matchmaker: no result for match; freeing its players", "match", id)
			delete(m.mu.matches, id)
			m.freeLocked(id, e.players)
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

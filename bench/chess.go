package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"
)

// The chess benchmark (SPEC §7b, bench/README.md "Chess"): N games at once,
// 2N bots. Each bot signs up once, then queues in mode chess, plays its
// colour of a recorded game (recordedGames, chosen by the match ID so that
// both sides play the same one) with a think time before every move, and
// queues again when the game ends, until the run is over.

// maxPlies bounds the plies of a game whose send times are kept; the
// recorded games are shorter.
const maxPlies = 128

// ChessConfig is one chess benchmark run. Only BaseURL and Games are
// required.
type ChessConfig struct {
	// BaseURL is the running server, "http://host:port". Every request and
	// WebSocket goes there, and nowhere else.
	BaseURL string
	// Games is the number of games played at once, N: 2N bots.
	Games int
	// Duration is the measurement window (default 20 s); Warmup how long
	// everyone plays after the last bot's first game started and before
	// the window opens (default 2 s; negative: none).
	Duration, Warmup time.Duration
	// ThinkMin and ThinkMax bound a bot's think time before each of its
	// moves, drawn uniformly (default 0.5 s and 3 s, SPEC §7b).
	ThinkMin, ThinkMax time.Duration
	// Concurrency bounds how many bots join at once (default 64).
	Concurrency int
	// RedisURL, if set, is the Redis the server uses (redis://host:port):
	// its command count (INFO commandstats) is read at the window's ends,
	// for Redis calls per move. That Redis must serve this server alone.
	RedisURL string
	// Seed seeds the think times.
	Seed uint64
	// Progress, if not nil, receives one line a second while the run goes
	// on. It is written from one goroutine at a time.
	Progress io.Writer
}

// ChessReport is what one chess run measured, over the window unless said
// otherwise. Durations are in nanoseconds in JSON.
type ChessReport struct {
	Mode     string        `json:"mode"` // "chess"
	Games    int           `json:"games"`
	Clients  int           `json:"clients"` // 2 × Games
	ThinkMin time.Duration `json:"think_min_ns"`
	ThinkMax time.Duration `json:"think_max_ns"`
	Window   float64       `json:"window_seconds"` // measured, between the two /metrics scrapes
	// JoinTime is how long it took every bot to sign up, queue, be matched
	// and connect for its first game; Throttled counts the 429s waited
	// out meanwhile.
	JoinTime  time.Duration `json:"join_time_ns"`
	Throttled uint64        `json:"throttled"`

	// Moves the bots sent in the window, and per second.
	Moves       uint64  `json:"moves"`
	MovesPerSec float64 `json:"moves_per_sec"`
	// GamesEnded counts games that ended in the window (MatchEnd), by
	// their White.
	GamesEnded uint64 `json:"games_ended"`

	// Server side: the server's arbiter_action_duration_seconds over the
	// window (Δ of its buckets): an action's arrival to its answer — the
	// opponent's State — handed to the players' connections. Actions
	// counts them (moves and resignations); the quantiles are interpolated
	// inside a bucket like PromQL's histogram_quantile; ServerMax is the
	// upper bound of the highest bucket holding one (+Inf beyond the
	// largest finite bound: ServerMaxOver). A quantile beyond the largest
	// finite bound reads as that bound, with ServerP50Over or
	// ServerP99Over set: it is only known to be larger.
	Actions       uint64        `json:"actions"`
	ServerP50     time.Duration `json:"server_p50_ns"`
	ServerP50Over bool          `json:"server_p50_over,omitempty"`
	ServerP99     time.Duration `json:"server_p99_ns"`
	ServerP99Over bool          `json:"server_p99_over,omitempty"`
	ServerMax     time.Duration `json:"server_max_bound_ns"`
	ServerMaxOver bool          `json:"server_max_over,omitempty"`

	// Client side: a move's send (just before SendAction) to the arrival
	// at the opponent's bot of the first State that holds it, for moves
	// sent in the window. Log-linear histogram, quantiles within 1.6 %,
	// max exact.
	Delivered   uint64        `json:"delivered"`
	DeliveryP50 time.Duration `json:"delivery_p50_ns"`
	DeliveryP99 time.Duration `json:"delivery_p99_ns"`
	DeliveryMax time.Duration `json:"delivery_max_ns"`

	// ServerCPU is Δprocess_cpu_seconds_total; ServerCores the same per
	// second of window; CPUPerMove the same per move, in µs. RSS is at
	// the window's end.
	ServerCPU   float64 `json:"server_cpu_seconds"`
	ServerCores float64 `json:"server_cpu_cores"`
	CPUPerMove  float64 `json:"cpu_us_per_move"`
	RSS         float64 `json:"rss_bytes"`

	// RedisCalls is the Δ of the commands the server's Redis ran
	// (ChessConfig.RedisURL), RedisPerMove the same per move; both null
	// without a Redis URL. Commands, not round trips: a pipeline sends
	// several in one, and Redis counts the commands a script runs as well
	// as the script's EVALSHA.
	RedisCalls   *uint64  `json:"redis_calls"`
	RedisPerMove *float64 `json:"redis_calls_per_move"`
	// RedisCommands is RedisCalls by command, as INFO commandstats names
	// them ("evalsha", "set", "client|setinfo"): a move's save is one
	// EVALSHA, one round trip, which runs an HGET and a SET inside Redis,
	// counted here under their names too.
	RedisCommands map[string]uint64 `json:"redis_commands,omitempty"`

	// Unavailable counts the 503s to a new ticket over the whole run
	// (matchmaking temporarily unavailable: the server's stores fell
	// behind), each waited out and retried.
	Unavailable uint64 `json:"unavailable"`
	// SaveFailures is the server's arbiter_game_save_failures_total over
	// the whole run, up to the window's end: moves the live store did not
	// save (in time), sent to the players anyway. Null if the server does
	// not export it.
	SaveFailures *uint64 `json:"save_failures"`

	// Errors over the whole run, not only the window: moves the server
	// refused (a legal game replayed should have none), boards that left
	// the recorded game, connections that ended without MatchEnd, and
	// failed returns to the queue. Notes says more.
	Rejected  uint64 `json:"rejected"`
	Diverged  uint64 `json:"diverged"`
	Dropped   uint64 `json:"dropped"`
	Requeue   uint64 `json:"requeue_errors"`
	BadStates uint64 `json:"bad_states"`

	// GeneratorCPU is the load generator's own CPU use in the window, in
	// cores.
	GeneratorCPU float64 `json:"generator_cpu_cores"`

	Notes []string `json:"notes,omitempty"`
}

// RedisPerMoveByCommand lists the Redis commands run per move in the
// window, the most frequent first, at most top of them and the rest summed
// ("evalsha 1.00, hget 1.00, set 1.00, … 0.12 others"); "" without Redis
// figures or moves.
func (r ChessReport) RedisPerMoveByCommand(top int) string {
	if len(r.RedisCommands) == 0 || r.Moves == 0 {
		return ""
	}
	names := slices.Collect(maps.Keys(r.RedisCommands))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(r.RedisCommands[b], r.RedisCommands[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	perMove := func(n uint64) string { return fmt.Sprintf("%.2f", float64(n)/float64(r.Moves)) }
	var parts []string
	var rest uint64
	for i, name := range names {
		if i < top {
			parts = append(parts, name+" "+perMove(r.RedisCommands[name]))
		} else {
			rest += r.RedisCommands[name]
		}
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("%s others (%d commands)", perMove(rest), len(names)-top))
	}
	return strings.Join(parts, ", ")
}

// Errors reports how many errors the run met, all kinds together.
func (r ChessReport) Errors() uint64 {
	return r.Rejected + r.Diverged + r.Dropped + r.Requeue + r.BadStates
}

func (cfg ChessConfig) withDefaults() (ChessConfig, error) {
	if cfg.Duration == 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 2 * time.Second
	}
	cfg.Warmup = max(cfg.Warmup, 0)
	if cfg.ThinkMin == 0 && cfg.ThinkMax == 0 {
		cfg.ThinkMin, cfg.ThinkMax = 500*time.Millisecond, 3*time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	switch {
	case cfg.Games < 1:
		return cfg, fmt.Errorf("bench: %d games: want at least 1", cfg.Games)
	case cfg.Duration < 0:
		return cfg, fmt.Errorf("bench: duration %v: must be positive", cfg.Duration)
	case cfg.ThinkMin < 0 || cfg.ThinkMax < cfg.ThinkMin:
		return cfg, fmt.Errorf("bench: think time %v–%v: want 0 ≤ min ≤ max", cfg.ThinkMin, cfg.ThinkMax)
	}
	return cfg, nil
}

// chessRun is the state of one RunChess.
type chessRun struct {
	cfg  ChessConfig
	api  *lobby
	rec  recorder // delivery latencies: a move's send to the opponent's State
	bots []*chessBot

	joined atomic.Int64 // bots connected for their first game
	phase  atomic.Pointer[string]

	// games are the send times of the games being played, by match ID,
	// shared by the two bots of a game.
	mu struct {
		sync.Mutex
		games map[string]*sharedGame
	}
}

// sharedGame is what the two bots of one game share: when each ply was
// sent (ns since recorder.base, 0 until sent). The mover stores a ply's
// time before sending it; the opponent's reader loads it when the State
// holding the ply arrives.
type sharedGame struct {
	sent [maxPlies]atomic.Int64
	refs int // bots holding it; guarded by chessRun.mu
}

func (r *chessRun) acquire(matchID string) *sharedGame {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.mu.games[matchID]
	if g == nil {
		g = new(sharedGame)
		r.mu.games[matchID] = g
	}
	g.refs++
	return g
}

func (r *chessRun) release(matchID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g := r.mu.games[matchID]; g != nil {
		if g.refs--; g.refs <= 0 {
			delete(r.mu.games, matchID)
		}
	}
}

// RunChess plays cfg.Games games of chess at once against the server at
// cfg.BaseURL (see the package doc and bench/README.md) and reports what it
// measured in the window. It blocks until the run is over or ctx ends, and
// it closes every client it opened before returning. Server-side figures
// need the process collector (Linux).
func RunChess(ctx context.Context, cfg ChessConfig) (ChessReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return ChessReport{}, err
	}
	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		return ChessReport{}, err
	}
	hc := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}}
	defer hc.CloseIdleConnections()
	api, err := newLobby(base, hc)
	if err != nil {
		return ChessReport{}, err
	}
	r := &chessRun{cfg: cfg, api: api, rec: recorder{base: time.Now()}}
	r.mu.games = map[string]*sharedGame{}
	r.setPhase("join")
	r.rec.lat.Store(new(histogram)) // warmup: recorded, then thrown away

	if err := r.api.health(ctx); err != nil {
		if isUnreachable(err) {
			return ChessReport{}, fmt.Errorf("%w at %s: %w", ErrUnreachable, cfg.BaseURL, err)
		}
		return ChessReport{}, fmt.Errorf("bench: server at %s not healthy: %w", cfg.BaseURL, err)
	}
	metricsURL := base.String() + "/metrics"
	sStart, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return ChessReport{}, fmt.Errorf("bench: %w", err)
	}
	var rs *redisStats
	if cfg.RedisURL != "" {
		if rs, err = newRedisStats(ctx, cfg.RedisURL); err != nil {
			return ChessReport{}, err
		}
		defer rs.close()
	}

	n := 2 * cfg.Games
	r.bots = make([]*chessBot, n)
	for i := range r.bots {
		r.bots[i] = &chessBot{r: r, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}

	progCtx, stopProgress := context.WithCancel(ctx)
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		progress.Go(func() { r.progress(progCtx) })
	}
	defer func() { stopProgress(); progress.Wait() }()

	// Bots play until playCtx ends; each closes its own connection.
	playCtx, stopPlay := context.WithCancel(ctx)
	var players sync.WaitGroup
	defer func() { stopPlay(); players.Wait() }()

	joinStart := time.Now()
	if err := r.joinAll(ctx, playCtx, &players); err != nil {
		return ChessReport{}, err
	}
	rep := ChessReport{
		Mode: "chess", Games: cfg.Games, Clients: n, ThinkMin: cfg.ThinkMin, ThinkMax: cfg.ThinkMax,
		JoinTime: time.Since(joinStart), Throttled: r.api.throttled.Load(),
	}

	r.setPhase("warmup")
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return ChessReport{}, err
	}

	r.setPhase("measure")
	s0, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return ChessReport{}, fmt.Errorf("bench: %w", err)
	}
	var redis0, redis1 commandCounts
	if rs != nil {
		if redis0, err = rs.calls(ctx); err != nil {
			return ChessReport{}, err
		}
	}
	c0 := r.counters()
	window := new(histogram)
	r.rec.from.Store(r.rec.since())
	r.rec.lat.Store(window)
	if err := sleep(ctx, cfg.Duration); err != nil {
		return ChessReport{}, err
	}
	r.rec.lat.Store(nil)
	c1 := r.counters()
	if rs != nil {
		if redis1, err = rs.calls(ctx); err != nil {
			return ChessReport{}, err
		}
	}
	s1, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return ChessReport{}, fmt.Errorf("bench: %w", err)
	}
	r.setPhase("done")

	r.fill(&rep, window, c0, c1, s0, s1)
	rep.Unavailable = r.api.unavailable.Load()
	if sStart.HasSaveFailures && s1.HasSaveFailures {
		n := uint64(max(s1.SaveFailures-sStart.SaveFailures, 0))
		rep.SaveFailures = &n
		if n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the server did not save %d moves in time (arbiter_game_save_failures_total); it sent them anyway", n))
		}
	}
	if rs != nil {
		ran := redis1.since(redis0)
		rep.RedisCommands = ran
		calls := ran.total()
		rep.RedisCalls = &calls
		if rep.Moves > 0 {
			per := float64(calls) / float64(rep.Moves)
			rep.RedisPerMove = &per
		}
	}
	return rep, nil
}

// joinAll signs every bot up and brings it into its first game, at most
// cfg.Concurrency at a time, and starts each one's play goroutine (tracked
// by players, ended by playCtx) as soon as it is connected.
func (r *chessRun) joinAll(ctx, playCtx context.Context, players *sync.WaitGroup) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	for i, b := range r.bots {
		g.Go(func() error {
			var err error
			if b.g, err = r.api.signUp(gctx, fmt.Sprintf("chess-%d", i)); err != nil {
				return fmt.Errorf("bench: bot %d: sign up: %w", i, err)
			}
			s, err := b.join(gctx)
			if err != nil {
				var he *client.HandshakeError
				switch {
				case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
					return fmt.Errorf("bench: bot %d: the server refuses more WebSockets from this address (start it with --max-conns-per-ip %d or more): %w", i, len(r.bots), err)
				case errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable:
					return fmt.Errorf("bench: bot %d: the server is full (start it with --max-conns %d or more): %w", i, len(r.bots), err)
				}
				return fmt.Errorf("bench: bot %d: %w", i, err)
			}
			r.joined.Add(1)
			players.Go(func() { b.run(playCtx, s) })
			return nil
		})
	}
	return g.Wait()
}

// chessBot is one player slot of the run: one guest, playing one game
// after another. Its counters are atomics, read by the run; the rest is
// its play goroutine's.
type chessBot struct {
	r   *chessRun
	g   guest
	rng *rand.Rand // think times

	playing atomic.Bool // connected to a game

	moves     atomic.Uint64 // moves sent
	ended     atomic.Uint64 // games it played White in that ended with MatchEnd
	rejected  atomic.Uint64 // actions the server refused
	diverged  atomic.Uint64 // boards that left the recorded game
	dropped   atomic.Uint64 // connections that ended without MatchEnd
	requeue   atomic.Uint64 // failed returns to the queue
	badStates atomic.Uint64 // State payloads that were no Board

	// why is the first error's text, for the report's notes.
	why atomic.Pointer[string]
}

func (b *chessBot) fail(counter *atomic.Uint64, format string, args ...any) {
	counter.Add(1)
	msg := fmt.Sprintf(format, args...)
	b.why.CompareAndSwap(nil, &msg)
}

// seat is a bot's place in one game: its connection, and what its reader
// hands to its play goroutine.
type seat struct {
	bot     *chessBot
	c       *client.Client
	matchID string
	shared  *sharedGame
	board   atomic.Pointer[chessv1.Board] // the newest Board; set by the reader
	changed chan struct{}                 // size 1: a new Board (a pending wake-up covers any number)
	seen    int                           // plies of the newest Board; reader only
}

// join queues the bot for a game of chess, waits to be matched and
// connects.
func (b *chessBot) join(ctx context.Context) (*seat, error) {
	tk, err := b.r.api.queue(ctx, b.g, "chess")
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	wsURL, err := b.r.api.rebase(tk.WSURL)
	if err != nil {
		return nil, err
	}
	s := &seat{bot: b, changed: make(chan struct{}, 1)}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The shared game is looked up by match ID before the first State can
	// arrive: the ticket names the match.
	s.matchID = tk.MatchID
	s.shared = b.r.acquire(s.matchID)
	c, err := client.Dial(dctx, wsURL, client.Options{
		OnState:    s.onState,
		OnRejected: s.onRejected,
		OnMatchEnd: func(*arbiterv1.MatchEnd) { s.nudge() },
	})
	if err != nil {
		b.r.release(s.matchID)
		return nil, fmt.Errorf("connect: %w", err)
	}
	if w := c.Welcome(); w.Game != "chess" {
		_ = c.Close()
		b.r.release(s.matchID)
		return nil, fmt.Errorf("connect: Welcome.game = %q, want chess", w.Game)
	}
	s.c = c
	b.playing.Store(true)
	return s, nil
}

func (s *seat) nudge() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// onState runs on the client's reader goroutine for every State kept. It
// times every new ply the opponent made, sent in the window, from its send
// to now.
func (s *seat) onState(st *arbiterv1.State) {
	now := s.bot.r.rec.since()
	b := new(chessv1.Board)
	if err := proto.Unmarshal(st.GetPayload(), b); err != nil {
		s.bot.fail(&s.bot.badStates, "a State's payload is not a chess Board: %v", err)
		return
	}
	mine := 1 // the plies of the bot's colour are those i with i%2 == mine
	if b.GetWhitePlayerId() == s.bot.g.PlayerID {
		mine = 0
	}
	n := len(b.GetMoves())
	if h := s.bot.r.rec.lat.Load(); h != nil {
		from := s.bot.r.rec.from.Load()
		for i := s.seen; i < min(n, maxPlies); i++ {
			if i%2 == mine {
				continue
			}
			if at := s.shared.sent[i].Load(); at > 0 && at >= from {
				h.Record(time.Duration(now - at))
			}
		}
	}
	s.seen = max(s.seen, n)
	s.board.Store(b)
	s.nudge()
}

func (s *seat) onRejected(rej *arbiterv1.Rejected) {
	s.bot.fail(&s.bot.rejected, "match %s: action %d rejected: %s (%s); the board's FEN %q", s.matchID, rej.GetSeq(), rej.GetReason(), rej.GetMessage(), s.board.Load().GetFen())
	s.nudge()
}

// run plays the bot's games, the first one s, until ctx ends: each game to
// its end, then back to the queue for the next.
func (b *chessBot) run(ctx context.Context, s *seat) {
	for {
		b.play(ctx, s)
		if ctx.Err() != nil {
			return
		}
		for {
			var err error
			if s, err = b.join(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			b.fail(&b.requeue, "back to the queue: %v", err)
			if sleep(ctx, time.Second) != nil {
				return
			}
		}
	}
}

// play plays one game from its first State to its end (the connection's
// end, or ctx's), then closes the connection: the colour the server gave
// the bot, of the recorded game the match ID picks, each move after a
// think time; when the recorded moves run out, the side to move resigns.
func (b *chessBot) play(ctx context.Context, s *seat) {
	defer func() {
		b.playing.Store(false)
		_ = s.c.Close()
		b.r.release(s.matchID)
	}()
	moves := recordedMoves[gameFor(s.matchID)]
	think := time.NewTimer(time.Hour)
	think.Stop()
	defer think.Stop()
	thinking := false
	ply := -1 // the ply the bot is thinking on or has played
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.c.Done():
			switch bd := s.board.Load(); {
			case s.c.MatchEnd() == nil:
				b.fail(&b.dropped, "match %s: the connection ended without MatchEnd: %v", s.matchID, s.c.CloseError())
			case bd.GetWhitePlayerId() == b.g.PlayerID:
				b.ended.Add(1)
			}
			return
		case <-s.changed:
		case <-think.C:
			thinking = false
			bd := s.board.Load()
			if bd.GetStatus() != "playing" || len(bd.GetMoves()) != ply {
				continue // the game moved on without the bot (it ended)
			}
			var cmd *chessv1.Command
			if ply < len(moves) {
				cmd = &chessv1.Command{Kind: &chessv1.Command_Move{Move: &chessv1.Move{Uci: moves[ply]}}}
				s.shared.sent[ply].Store(b.r.rec.since())
				b.moves.Add(1)
			} else {
				cmd = &chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}}
			}
			if _, err := s.c.SendActionMessage(cmd); err != nil && !errors.Is(err, client.ErrClosed) {
				b.fail(&b.dropped, "match %s: send: %v", s.matchID, err)
				return
			}
			continue
		}
		bd := s.board.Load()
		if bd.GetStatus() != "playing" {
			continue // waiting for the opponent, or over: MatchEnd and the close follow
		}
		white := bd.GetWhitePlayerId() == b.g.PlayerID
		n := len(bd.GetMoves())
		if (bd.GetTurn() == "white") != white || n == ply || thinking {
			continue
		}
		ply = n
		if n > len(moves) || !slices.Equal(bd.GetMoves(), moves[:n]) {
			b.fail(&b.diverged, "match %s: the board's moves %v left the recorded game %q", s.matchID, bd.GetMoves(), recordedGames[gameFor(s.matchID)].Name)
			if _, err := s.c.SendActionMessage(&chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}}); err != nil {
				return
			}
			continue
		}
		thinking = true
		think.Reset(b.thinkTime())
	}
}

// thinkTime draws a think time uniformly in [ThinkMin, ThinkMax].
func (b *chessBot) thinkTime() time.Duration {
	lo, hi := b.r.cfg.ThinkMin, b.r.cfg.ThinkMax
	return lo + time.Duration(b.rng.Int64N(int64(hi-lo)+1))
}

// gameFor picks the recorded game a match plays, the same for both bots.
func gameFor(matchID string) int {
	h := fnv.New32a()
	_, _ = io.WriteString(h, matchID)
	return int(h.Sum32() % uint32(len(recordedMoves)))
}

// chessCounters is every bot's counters at one moment.
type chessCounters struct {
	cpu          time.Duration // the generator's own CPU time so far
	at           time.Time
	moves, ended uint64
}

func (r *chessRun) counters() chessCounters {
	c := chessCounters{cpu: selfCPU(), at: time.Now()}
	for _, b := range r.bots {
		c.moves += b.moves.Load()
		c.ended += b.ended.Load()
	}
	return c
}

// fill computes the report's figures from the window's two ends.
func (r *chessRun) fill(rep *ChessReport, lat *histogram, c0, c1 chessCounters, s0, s1 serverSample) {
	clientSecs := c1.at.Sub(c0.at).Seconds()
	rep.Window = s1.At.Sub(s0.At).Seconds()
	rep.Moves = c1.moves - c0.moves
	rep.MovesPerSec = float64(rep.Moves) / clientSecs
	rep.GamesEnded = c1.ended - c0.ended
	rep.GeneratorCPU = (c1.cpu - c0.cpu).Seconds() / clientSecs

	rep.Delivered = lat.Count()
	rep.DeliveryP50, rep.DeliveryP99, rep.DeliveryMax = lat.Quantile(0.50), lat.Quantile(0.99), lat.Max()

	acts := deltaBuckets(s0.Action, s1.Action)
	if len(acts) > 0 {
		rep.Actions = uint64(acts[len(acts)-1].Count)
		seconds := func(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }
		if q := promQuantile(0.50, acts); !math.IsNaN(q) {
			rep.ServerP50, rep.ServerP50Over = seconds(q), promBeyond(0.50, acts)
		}
		if q := promQuantile(0.99, acts); !math.IsNaN(q) {
			rep.ServerP99, rep.ServerP99Over = seconds(q), promBeyond(0.99, acts)
		}
		switch m := promMaxBound(acts); {
		case math.IsInf(m, 1):
			rep.ServerMaxOver = true
			rep.ServerMax = seconds(acts[len(acts)-2].UpperBound) // the largest finite bound
		case !math.IsNaN(m):
			rep.ServerMax = seconds(m)
		}
	} else {
		rep.Notes = append(rep.Notes, "the server exports no arbiter_action_duration_seconds: no server-side latency")
	}

	rep.ServerCPU = s1.CPU - s0.CPU
	if rep.Window > 0 {
		rep.ServerCores = rep.ServerCPU / rep.Window
	}
	if rep.Moves > 0 {
		rep.CPUPerMove = rep.ServerCPU / float64(rep.Moves) * 1e6
	}
	if !s1.HasCPU {
		rep.Notes = append(rep.Notes, "the server exports no process_cpu_seconds_total (not Linux?): no CPU figure")
	}
	rep.RSS = s1.RSS

	var why string
	for _, b := range r.bots {
		rep.Rejected += b.rejected.Load()
		rep.Diverged += b.diverged.Load()
		rep.Dropped += b.dropped.Load()
		rep.Requeue += b.requeue.Load()
		rep.BadStates += b.badStates.Load()
		if w := b.why.Load(); w != nil && why == "" {
			why = *w
		}
	}
	if rep.Errors() > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d errors in the run (first: %s)", rep.Errors(), why))
	}
}

func (r *chessRun) setPhase(p string) { r.phase.Store(&p) }

// progress writes one line a second until ctx ends.
func (r *chessRun) progress(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	var lastMoves uint64
	lastAt := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var moves, errs uint64
			playing := 0
			for _, b := range r.bots {
				moves += b.moves.Load()
				errs += b.rejected.Load() + b.diverged.Load() + b.dropped.Load() + b.requeue.Load() + b.badStates.Load()
				if b.playing.Load() {
					playing++
				}
			}
			rate := float64(moves-lastMoves) / now.Sub(lastAt).Seconds()
			lastMoves, lastAt = moves, now
			p99 := "-"
			if h := r.rec.lat.Load(); h != nil && h.Count() > 0 {
				p99 = fmtDuration(h.Quantile(0.99))
			}
			fmt.Fprintf(r.cfg.Progress, "%5.0fs %-7s joined %d/%d playing %d  moves/s %.0f  send→recv p99 %s  errors %d\n",
				now.Sub(start).Seconds(), *r.phase.Load(), r.joined.Load(), len(r.bots), playing, rate, p99, errs)
		}
	}
}

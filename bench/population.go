package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/clienttest"
	"github.com/arbiter-gg/arbiter/netem"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// A population run plays many short duels between bots that behave like
// real game clients on real networks — holding the trigger, rounding analog
// sticks, sending at their frame rate, stalling, reloading the page,
// joining late, over links with latency and jitter — and, if asked, against
// cheaters. It reports, per behaviour, how its players ended their
// matches, and the server's own count of violations and kicks: an honest
// player must never be kicked, forfeit or be scored a violation; a cheater
// must never move faster than the rules allow.

// Sender is how a population bot times its inputs.
type Sender int

// The senders. Every one but SendRawAnalog goes through the client
// library's SendInput (seqs after Welcome.last_input_seq, clamped vectors,
// prediction).
const (
	// SendPaced sends when the library's pacing says an input is due.
	SendPaced Sender = iota
	// SendTicker sends on a fixed ticker at the tick rate, unpaced.
	SendTicker
	// SendDouble and SendQuadruple send at 2× and 4× the tick rate, as a
	// browser sending one input per frame does.
	SendDouble
	SendQuadruple
	// SendRawAnalog sends raw frames on a fixed ticker at the tick rate,
	// numbering them itself, with analog vectors rounded per axis and not
	// clamped: a client written without the library.
	SendRawAnalog
	numSenders
)

var senderNames = [numSenders]string{"paced", "ticker", "2x", "4x", "raw-analog"}

func (s Sender) String() string { return senderNames[s] }

// Cheat is what a cheating population bot does.
type Cheat int

// The cheats.
const (
	CheatNone Cheat = iota
	// CheatFlood sends full-speed inputs at 10× the tick rate.
	CheatFlood
	// CheatLongVector sends move vectors of length 1500.
	CheatLongVector
	// CheatFutureView claims to see ticks 100 ahead of the server.
	CheatFutureView
	// CheatReplay sends every input twice and replays old seqs.
	CheatReplay
	// CheatBadFrames sends an undecodable frame, reconnecting after each
	// close.
	CheatBadFrames
	numCheats
)

var cheatNames = [numCheats]string{"", "flood-10x", "vector-1500", "future-view", "replay", "bad-frames"}

func (c Cheat) String() string { return cheatNames[c] }

// Behaviour is one population bot's way of playing one match.
type Behaviour struct {
	Sender   Sender
	Fire     bool          // holds the trigger all match, aiming at the nearest opponent
	Analog   bool          // moves with rounded unit vectors at changing angles
	Stall    time.Duration // the link stalls this long once, mid-match (0: never)
	Reload   bool          // closes and reconnects mid-match, as a reloaded page
	JoinLate time.Duration // connects this long after being matched
	Cheat    Cheat         // if set, the bot cheats this way and ignores the rest
	Link     netem.Link    // each direction of its connection
}

// traits returns the names the behaviour is counted under in a report.
func (b Behaviour) traits() []string {
	if b.Cheat != CheatNone {
		return []string{"cheat:" + b.Cheat.String()}
	}
	t := []string{"all honest", "send:" + b.Sender.String()}
	if b.Fire {
		t = append(t, "hold fire")
	}
	if b.Analog {
		t = append(t, "analog")
	}
	if b.Stall > 0 {
		t = append(t, "stall")
	}
	if b.Reload {
		t = append(t, "reload")
	}
	if b.JoinLate > 0 {
		t = append(t, "join late")
	}
	return t
}

// PopulationConfig is one population run. Only BaseURL is required; the
// server should run short matches (--match-duration 5s or so) and allow
// the sign-ups (--guest-rate).
type PopulationConfig struct {
	BaseURL string
	// Matches is how many duels to play (default 100); Parallel how many
	// at once (default 10).
	Matches, Parallel int
	// Cheaters makes every other bot a cheater, the kinds in turn. With
	// Parallel 1 every match is one honest bot against one cheater; with
	// more, the matchmaker may pair cheaters together, and a cheater whose
	// opponent is kicked at once may play its match to the end before its
	// own cheat tells.
	Cheaters bool
	// LatencyMin and LatencyMax bound each bot's one-way latency (default
	// 20 and 150 ms); Jitter is each chunk's ± (default 30 ms).
	LatencyMin, LatencyMax, Jitter time.Duration
	// MaxStall and MaxJoinLate bound the stalls and late joins (default
	// 3 s and 5 s); a stall lasts at least MaxStall/6.
	MaxStall, MaxJoinLate time.Duration
	// Seed makes the behaviours and the links reproducible (0: 1).
	Seed uint64
	// FullSnapshots makes the bots ask for full snapshots instead of the
	// client library's default, deltas.
	FullSnapshots bool
	// Progress, if set, receives a line per finished match.
	Progress io.Writer
}

func (cfg PopulationConfig) withDefaults() PopulationConfig {
	cfg.Matches = cmp.Or(cfg.Matches, 100)
	cfg.Parallel = min(cmp.Or(cfg.Parallel, 10), cfg.Matches)
	cfg.LatencyMin = cmp.Or(cfg.LatencyMin, 20*time.Millisecond)
	cfg.LatencyMax = max(cmp.Or(cfg.LatencyMax, 150*time.Millisecond), cfg.LatencyMin)
	cfg.Jitter = cmp.Or(cfg.Jitter, 30*time.Millisecond)
	cfg.MaxStall = cmp.Or(cfg.MaxStall, 3*time.Second)
	cfg.MaxJoinLate = cmp.Or(cfg.MaxJoinLate, 5*time.Second)
	cfg.Seed = cmp.Or(cfg.Seed, 1)
	return cfg
}

// PopulationRow is what happened to the players of one behaviour trait.
type PopulationRow struct {
	Trait   string `json:"trait"`
	Players int    `json:"players"` // bot-matches with the trait
	// Completed counts players who played to the end: they received
	// MatchEnd (and, unless a stall held it past the server's linger, the
	// close 1000 match_over after it).
	Completed int `json:"completed"`
	// Closed counts the other ends, by kick reason (or close code when
	// there was no Kick).
	Closed   map[string]int `json:"closed,omitempty"`
	Forfeits int            `json:"forfeits"` // recorded as forfeited in the result
	// MaxStep is the largest distance the player's own entity moved in one
	// tick (Chebyshev, centi-units); LegalStep the most the rules allow.
	MaxStep   int32  `json:"max_step"`
	LegalStep int32  `json:"legal_step"`
	Inputs    uint64 `json:"inputs"`      // sent
	Corrected uint64 `json:"corrections"` // predictions the server corrected
}

// PopulationReport is what a population run found.
type PopulationReport struct {
	TickRate int             `json:"tick_rate"`
	Matches  int             `json:"matches"`
	Rows     []PopulationRow `json:"rows"` // honest traits first, then cheats
	// The server's counts over the run, from /metrics.
	Kicks     float64            `json:"server_kicks"`
	Inputs    map[string]float64 `json:"server_inputs"` // by result
	Closes    map[string]float64 `json:"server_closes"` // by reason
	Errors    []string           `json:"errors,omitempty"`
	Throttled uint64             `json:"throttled"`
	// Unavailable counts the 503s to a new ticket (matchmaking
	// temporarily unavailable), each waited out and retried.
	Unavailable uint64        `json:"unavailable"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	legalDelta  int32
}

// Honest reports whether nothing honest was punished: every honest player
// completed its matches, none forfeited, none moved faster than the rules
// allow, and the server scored no violation and kicked nobody. A report of
// a run with cheaters is never honest.
func (r PopulationReport) Honest() bool {
	if r.Kicks != 0 || r.Inputs["invalid"] != 0 || len(r.Errors) > 0 {
		return false
	}
	for _, reason := range []arbiterv1.CloseReason{arbiterv1.CloseBadFrame, arbiterv1.CloseTooBig, arbiterv1.CloseTextFrame,
		arbiterv1.CloseInputFlood, arbiterv1.CloseCheat, arbiterv1.CloseForfeited} {
		if r.Closes[reason.String()] != 0 {
			return false
		}
	}
	for _, row := range r.Rows {
		if strings.HasPrefix(row.Trait, "cheat:") || row.Completed != row.Players || row.Forfeits != 0 || row.MaxStep > row.LegalStep {
			return false
		}
	}
	return true
}

// botResult is one bot's account of one match.
type botResult struct {
	b           Behaviour
	ended       bool   // MatchEnd received
	closed      string // otherwise: the kick reason, or "close <code>"
	forfeit     bool
	maxStep     int32
	inputs      uint64
	corrections uint64
}

// population is the state of one run.
type population struct {
	cfg       PopulationConfig
	api       *lobby
	tickets   atomic.Int64 // tickets left to queue: two per match
	tickRate  atomic.Int64
	mu        sync.Mutex
	results   []botResult
	matches   map[string]bool
	errs      []string
	nextCheat int
}

// RunPopulation plays cfg.Matches duels between population bots and
// reports what became of them. It returns an error only if the run could
// not be made (no server); what went wrong in matches is in the report.
func RunPopulation(ctx context.Context, cfg PopulationConfig) (PopulationReport, error) {
	cfg = cfg.withDefaults()
	base, err := parseBase(cfg.BaseURL)
	if err != nil {
		return PopulationReport{}, err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Parallel}}
	defer hc.CloseIdleConnections()
	api, err := newLobby(base, hc)
	if err != nil {
		return PopulationReport{}, err
	}
	p := &population{cfg: cfg, api: api, matches: map[string]bool{}}
	p.tickets.Store(int64(2 * cfg.Matches))
	if err := p.api.health(ctx); err != nil {
		return PopulationReport{}, fmt.Errorf("bench: server at %s: %w", cfg.BaseURL, err)
	}
	metricsURL := base.String() + "/metrics"
	s0, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return PopulationReport{}, fmt.Errorf("bench: %w", err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 2 * cfg.Parallel {
		wg.Go(func() { p.seat(ctx, i) })
	}
	wg.Wait()
	s1, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return PopulationReport{}, fmt.Errorf("bench: %w", err)
	}
	rep := p.report(s0, s1)
	rep.Elapsed = time.Since(start)
	rep.Throttled = p.api.throttled.Load()
	rep.Unavailable = p.api.unavailable.Load()
	return rep, ctx.Err()
}

// seat is one bot player, playing match after match until the run's
// tickets are gone or ctx ends.
func (p *population) seat(ctx context.Context, i int) {
	rng := rand.New(rand.NewPCG(p.cfg.Seed, uint64(i)))
	g, err := p.api.signUp(ctx, fmt.Sprintf("pop-%d", i))
	if err != nil {
		p.fail(fmt.Sprintf("seat %d: sign up: %v", i, err))
		return
	}
	for p.tickets.Add(-1) >= 0 && ctx.Err() == nil {
		b := p.behaviour(rng, i)
		qctx, cancel := context.WithTimeout(ctx, time.Minute) // a ticket left alone must not hang the run
		tk, err := p.api.queue(qctx, g, "duel")
		cancel()
		if err != nil {
			p.fail(fmt.Sprintf("seat %d: queue: %v", i, err))
			return
		}
		wsURL, err := p.api.rebase(tk.WSURL)
		if err != nil {
			p.fail(fmt.Sprintf("seat %d: %v", i, err))
			return
		}
		res := p.play(ctx, wsURL, b, rng)
		if m, err := p.api.result(ctx, g, tk.MatchID); err == nil {
			for _, pl := range m.Result.Players {
				if pl.PlayerID == g.PlayerID {
					res.forfeit = pl.Forfeit
				}
			}
		} else if ctx.Err() == nil {
			p.fail(fmt.Sprintf("seat %d: result of %s: %v", i, tk.MatchID, err))
		}
		p.record(tk.MatchID, res)
	}
}

// behaviour draws the behaviour of seat i's next match.
func (p *population) behaviour(rng *rand.Rand, i int) Behaviour {
	cfg := p.cfg
	lat := cfg.LatencyMin + time.Duration(rng.Int64N(int64(cfg.LatencyMax-cfg.LatencyMin)+1))
	b := Behaviour{Link: netem.Link{Latency: lat, Jitter: cfg.Jitter, Seed: rng.Uint64()}}
	if cfg.Cheaters && i%2 == 1 {
		p.mu.Lock()
		b.Cheat = Cheat(1 + p.nextCheat%int(numCheats-1))
		p.nextCheat++
		p.mu.Unlock()
		return b
	}
	b.Sender = Sender(rng.IntN(int(numSenders)))
	b.Fire = rng.IntN(2) == 0
	b.Analog = rng.IntN(2) == 0
	if rng.IntN(3) == 0 {
		b.Stall = cfg.MaxStall/6 + time.Duration(rng.Int64N(int64(cfg.MaxStall-cfg.MaxStall/6)+1))
	}
	b.Reload = rng.IntN(4) == 0
	if rng.IntN(3) == 0 {
		b.JoinLate = time.Duration(rng.Int64N(int64(cfg.MaxJoinLate) + 1))
	}
	return b
}

func (p *population) fail(msg string) {
	p.mu.Lock()
	p.errs = append(p.errs, msg)
	p.mu.Unlock()
}

func (p *population) record(matchID string, res botResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.results = append(p.results, res)
	p.matches[matchID] = true
	if w := p.cfg.Progress; w != nil {
		end := "completed"
		if !res.ended {
			end = res.closed
		}
		fmt.Fprintf(w, "match %s  %-40s %s\n", matchID[:8], strings.Join(res.b.traits(), ","), end)
	}
}

func (p *population) report(s0, s1 serverSample) PopulationReport {
	p.mu.Lock()
	defer p.mu.Unlock()
	rate := int(p.tickRate.Load())
	legal := int32(0)
	if rate > 0 {
		legal = int32(sim.Speed / rate)
	}
	rows := map[string]*PopulationRow{}
	for _, r := range p.results {
		for _, t := range r.b.traits() {
			row := rows[t]
			if row == nil {
				row = &PopulationRow{Trait: t, LegalStep: legal, Closed: map[string]int{}}
				rows[t] = row
			}
			row.Players++
			if r.ended {
				row.Completed++
			} else {
				row.Closed[r.closed]++
			}
			if r.forfeit {
				row.Forfeits++
			}
			row.MaxStep = max(row.MaxStep, r.maxStep)
			row.Inputs += r.inputs
			row.Corrected += r.corrections
		}
	}
	rep := PopulationReport{TickRate: rate, Matches: len(p.matches), Errors: slices.Clone(p.errs),
		Kicks: s1.Kicks - s0.Kicks, Inputs: delta(s0.Inputs, s1.Inputs), Closes: delta(s0.Closes, s1.Closes)}
	rank := func(t string) int {
		switch {
		case t == "all honest":
			return 0
		case strings.HasPrefix(t, "cheat:"):
			return 2
		}
		return 1
	}
	for _, t := range slices.SortedFunc(maps.Keys(rows), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	}) {
		rep.Rows = append(rep.Rows, *rows[t])
	}
	return rep
}

func delta(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// popBot is one population bot in one match. Its snapshot fields are
// written by the client's reader (OnSnapshot) and read by the sender under
// mu.
type popBot struct {
	b    Behaviour
	rng  *rand.Rand
	link *netem.Dialer              // every connection over b.Link, each with its own jitter draws
	full bool                       // ask for full snapshots rather than deltas
	conn atomic.Pointer[netem.Conn] // the current connection's link, for stalls

	// The stall and the reload, each once, 1–3 s into the match; owned by
	// the sender (run).
	stallAt, reloadAt time.Time
	stalled, reloaded bool

	mu     sync.Mutex
	entity uint32
	tick   uint32 // newest snapshot's
	pos    sim.Vec
	aim    sim.Vec // towards the nearest living opponent
	last   struct {
		tick, hp uint32
		pos      sim.Vec
	}
	maxStep  int32
	haveLast bool
}

// play plays one match with behaviour b.
func (p *population) play(ctx context.Context, wsURL string, b Behaviour, rng *rand.Rand) (res botResult) {
	res.b = b
	if err := sleep(ctx, b.JoinLate); err != nil {
		res.closed = "cancelled"
		return res
	}
	bot := &popBot{b: b, rng: rng, link: &netem.Dialer{Up: b.Link, Down: b.Link}, full: p.cfg.FullSnapshots}
	c, err := bot.dial(ctx, wsURL)
	if err != nil {
		res.closed = "dial: " + shortErr(err)
		return res
	}
	p.tickRate.Store(int64(c.Welcome().TickRate))
	defer func() {
		bot.mu.Lock()
		res.maxStep = bot.maxStep
		bot.mu.Unlock()
	}()
	bot.plan()
	for {
		c = bot.run(ctx, c, wsURL, &res)
		if c == nil {
			return res
		}
		<-c.Done()
		ce := c.CloseError()
		switch {
		case c.MatchEnd() != nil:
			// The end reached the player. Its close frame may not have: a
			// link that stalled past the server's linger delivers the close
			// after the client's own writes met the closed socket, and the
			// failed write can end the connection first.
			res.ended = true
		case ce.Resumable() && ctx.Err() == nil:
			// The connection dropped (a stall past the server's linger
			// can drop even the match's end): come back, as a game
			// client does. A 401 means the match ended meanwhile; the
			// seat checks its result.
			nc, err := client.Resume(ctx, wsURL, c, bot.options(client.Backoff{MaxAttempts: 3}))
			var he *client.HandshakeError
			switch {
			case errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized:
				res.ended = true
			case err != nil:
				res.closed = "resume: " + shortErr(err)
			default:
				c = nc
				continue
			}
		case ce.KickReason != "":
			res.closed = ce.KickReason.String()
		default:
			res.closed = fmt.Sprintf("close %d", ce.Code)
		}
		res.corrections += c.PredictionError().Corrections // a resumed client carries the ones before
		_ = c.Close()
		return res
	}
}

// dial connects over the bot's emulated link.
func (bot *popBot) dial(ctx context.Context, wsURL string) (*client.Client, error) {
	return client.Dial(ctx, wsURL, bot.options(client.Backoff{}))
}

// options are the bot's client options: its snapshot callback and its
// emulated link (each connection gets the behaviour's Link; the newest is
// kept for stalls).
func (bot *popBot) options(b client.Backoff) client.Options {
	return client.Options{
		OnSnapshot:         bot.onSnapshot,
		InterpolationDelay: -1,
		Backoff:            b,
		FullSnapshots:      bot.full,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := bot.link.DialContext(ctx, network, addr)
			if err == nil {
				bot.conn.Store(nc.(*netem.Conn))
			}
			return nc, err
		},
	}
}

// onSnapshot runs on the client's reader: it tracks the bot's own entity —
// its largest step in one tick, skipping respawns — and the aim at the
// nearest living opponent.
func (bot *popBot) onSnapshot(s *arbiterv1.Snapshot) {
	bot.mu.Lock()
	defer bot.mu.Unlock()
	bot.tick = s.GetTick()
	var me *arbiterv1.Entity
	for _, e := range s.GetEntities() {
		if e.GetId() == bot.entity {
			me = e
		}
	}
	if me == nil {
		return
	}
	pos := sim.Vec{X: me.GetX(), Y: me.GetY()}
	if bot.haveLast && s.GetTick() == bot.last.tick+1 && bot.last.hp > 0 && me.GetHp() > 0 {
		bot.maxStep = max(bot.maxStep, pos.X-bot.last.pos.X, bot.last.pos.X-pos.X, pos.Y-bot.last.pos.Y, bot.last.pos.Y-pos.Y)
	}
	bot.last.tick, bot.last.hp, bot.last.pos, bot.haveLast = s.GetTick(), me.GetHp(), pos, true
	bot.pos = pos
	best := int64(math.MaxInt64)
	for _, e := range s.GetEntities() {
		if e.GetId() == bot.entity || e.GetHp() == 0 {
			continue
		}
		dx, dy := int64(e.GetX()-pos.X), int64(e.GetY()-pos.Y)
		if d := dx*dx + dy*dy; d < best && d > 0 {
			best, bot.aim = d, sim.Vec{X: int32(dx), Y: int32(dy)}
		}
	}
}

// plan draws when the bot stalls and reloads: once each, 1–3 s from now.
func (bot *popBot) plan() {
	bot.stallAt = time.Now().Add(time.Second + time.Duration(bot.rng.Int64N(int64(2*time.Second))))
	bot.reloadAt = time.Now().Add(time.Second + time.Duration(bot.rng.Int64N(int64(2*time.Second))))
	bot.stalled, bot.reloaded = bot.b.Stall == 0, !bot.b.Reload
}

// run sends the behaviour's inputs until the connection ends, reloading
// and stalling on the way, and returns the last connection (nil if a
// reconnection failed, with res filled in).
func (bot *popBot) run(ctx context.Context, c *client.Client, wsURL string, res *botResult) *client.Client {
	bot.mu.Lock()
	bot.entity = uint32(c.Welcome().Entity)
	bot.mu.Unlock()
	if bot.b.Cheat != CheatNone {
		return bot.cheat(ctx, c, wsURL, res)
	}
	rate := c.Welcome().TickRate
	period := time.Second / time.Duration(rate)
	rawSeq := c.Welcome().LastInputSeq
	n := 0
	every := period
	switch bot.b.Sender {
	case SendDouble:
		every = period / 2
	case SendQuadruple:
		every = period / 4
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := every
		if bot.b.Sender == SendPaced {
			wait = max(c.InputDue(time.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return c
		case <-c.Done():
			return c
		case <-timer.C:
		}
		now := time.Now()
		if !bot.stalled && now.After(bot.stallAt) {
			bot.stalled = true
			if nc := bot.conn.Load(); nc != nil {
				nc.Stall(bot.b.Stall)
			}
		}
		if !bot.reloaded && now.After(bot.reloadAt) {
			bot.reloaded = true
			res.corrections += c.PredictionError().Corrections
			_ = c.Close()
			nc, err := bot.dial(ctx, wsURL)
			var he *client.HandshakeError
			switch {
			case errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized:
				// The match ended while the page reloaded (its other
				// player was kicked, say): the page learns the result
				// from the REST API, as a browser would, and the seat
				// checks it was not a forfeit.
				res.ended = true
				return nil
			case err != nil:
				res.closed = "reload: " + shortErr(err)
				return nil
			}
			c, rawSeq = nc, nc.Welcome().LastInputSeq
		}
		in := bot.input(n)
		n++
		if bot.b.Sender == SendRawAnalog {
			rawSeq++
			bot.mu.Lock()
			view := bot.tick
			bot.mu.Unlock()
			err := clienttest.Send(c, &arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{
				Seq: rawSeq, MoveX: in.MoveX, MoveY: in.MoveY, Buttons: in.Buttons, AimX: in.AimX, AimY: in.AimY, ViewTick: view,
			}}})
			if err != nil {
				return c
			}
		} else if _, err := c.SendInput(in); err != nil {
			return c
		}
		res.inputs++
	}
}

// input is the bot's n-th input: a direction that turns every half
// second, as an analog stick's rounded unit vector or a digital one, and
// the trigger held towards the nearest opponent.
func (bot *popBot) input(n int) sim.Input {
	angle := float64(n/15)*0.7 + float64(bot.b.Link.Seed%100)
	var in sim.Input
	if bot.b.Analog || bot.b.Sender == SendRawAnalog {
		in.MoveX, in.MoveY = int32(math.Round(1000*math.Cos(angle))), int32(math.Round(1000*math.Sin(angle)))
	} else {
		dirs := [][2]int32{{1000, 0}, {0, 1000}, {-1000, 0}, {0, -1000}, {707, 707}, {-707, -707}}
		d := dirs[(n/15)%len(dirs)]
		in.MoveX, in.MoveY = d[0], d[1]
	}
	if bot.b.Fire {
		bot.mu.Lock()
		in.Buttons, in.AimX, in.AimY = sim.ButtonFire, bot.aim.X, bot.aim.Y
		bot.mu.Unlock()
		if in.AimX == 0 && in.AimY == 0 {
			in.AimX = 1
		}
	}
	return in
}

// cheat plays the bot's cheat until the connection ends, reconnecting
// after each close for CheatBadFrames while the seat admits it.
func (bot *popBot) cheat(ctx context.Context, c *client.Client, wsURL string, res *botResult) *client.Client {
	rate := c.Welcome().TickRate
	period := time.Second / time.Duration(rate)
	seq := c.Welcome().LastInputSeq
	send := func(in *arbiterv1.Input) bool {
		res.inputs++
		return clienttest.Send(c, &arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: in}}) == nil
	}
	view := func() uint32 {
		bot.mu.Lock()
		defer bot.mu.Unlock()
		return bot.tick
	}
	var (
		floodStart time.Time // the flood's first tick
		flooded    int64     // inputs the flood has sent
	)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return c
		case <-c.Done():
			if bot.b.Cheat != CheatBadFrames || c.MatchEnd() != nil {
				return c
			}
			nc, err := bot.dial(ctx, wsURL)
			var he *client.HandshakeError
			if errors.As(err, &he) && he.StatusCode == http.StatusUnauthorized {
				res.closed = "kicked, rejoin refused (401)" // by a cheat kick, on this connection or while away
				return nil
			}
			if err != nil {
				return c
			}
			c = nc
			continue
		case <-tick.C:
		}
		switch bot.b.Cheat {
		case CheatFlood:
			// Ten inputs a tick of wall-clock time, however late this
			// goroutine gets to run: a flood that a loaded machine slowed
			// below the frame-rate limit would not be one.
			if floodStart.IsZero() {
				floodStart = time.Now()
			}
			due := int64(time.Since(floodStart)/period+1) * 10
			for n := 0; flooded < due && n < 200; n++ {
				seq++
				flooded++
				if !send(&arbiterv1.Input{Seq: seq, MoveX: 1000, ViewTick: view()}) {
					break
				}
			}
		case CheatLongVector:
			seq++
			send(&arbiterv1.Input{Seq: seq, MoveX: 1500, ViewTick: view()})
		case CheatFutureView:
			seq++
			send(&arbiterv1.Input{Seq: seq, MoveX: 1000, ViewTick: view() + 100})
		case CheatReplay:
			seq++
			send(&arbiterv1.Input{Seq: seq, MoveX: 1000, ViewTick: view()})
			send(&arbiterv1.Input{Seq: seq, MoveX: 1000, ViewTick: view()})
			if seq > 10 {
				send(&arbiterv1.Input{Seq: seq - 10, MoveX: 1000, ViewTick: view()})
			}
		case CheatBadFrames:
			_ = clienttest.SendRaw(c, []byte{0xff, 0xff, 0xff})
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s) > 80 {
		s = s[i+2:]
	}
	return s
}

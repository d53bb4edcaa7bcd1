package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netem"
	"golang.org/x/sync/errgroup"
)

// roomSize is how many players a room of each mode holds.
var roomSize = map[string]int{"ffa": 10, "duel": 2}

// Config is one benchmark run. Only BaseURL and Clients are required.
type Config struct {
	// BaseURL is the running server, "http://host:port". Every request and
	// WebSocket goes there, and nowhere else.
	BaseURL string
	// Clients is the number of bot players, N. It must not leave a lone
	// ticket behind (N mod the room size ≠ 1), which would never match.
	Clients int
	// Duration is the measurement window; the published figures use at
	// least 20 s.
	// Default 20 s.
	Duration time.Duration
	// Warmup is how long everyone plays after the last join and before the
	// window opens. Default 2 s; negative means none.
	Warmup time.Duration
	// Mode is the game mode to queue in. Default "ffa".
	Mode string
	// TickRate is the rate the server is expected to run at; if set, a
	// Welcome with another rate fails the run. The rate used in the
	// figures is always the server's own (from Welcome).
	TickRate int
	// Progress, if not nil, receives one line a second while the run goes
	// on. It is written from one goroutine at a time.
	Progress io.Writer
	// Concurrency bounds how many clients join at once (sign-up, ticket,
	// long-poll, connect). It should be at least the room size, so that
	// rooms fill without waiting for --ffa-wait. Default 64.
	Concurrency int
	// Link shapes each direction of every client's connection (latency,
	// jitter); the zero Link is the bare loopback.
	Link netem.Link
	// Unpaced makes the bots send on a fixed ticker at the tick rate
	// instead of when the client library's pacing says an input is due:
	// the baseline that shows what pacing buys.
	Unpaced bool
	// FullSnapshots makes the bots ask for full snapshots instead of the
	// client library's default, deltas (docs/protocol.md, "Delta
	// snapshots"): the baseline of the bytes per client.
	FullSnapshots bool
	// CPUProfile, if not nil, receives a CPU profile (runtime/pprof) of
	// the generator over the measurement window only: where the bots'
	// own time goes, without the join's.
	CPUProfile io.Writer
}

// Report is what one run measured, over the window only. Durations are in
// nanoseconds in JSON.
type Report struct {
	Mode    string `json:"mode"`
	Clients int    `json:"clients"`
	// Snapshots is the encoding the server granted the bots (Welcome):
	// delta, full, or mixed if it granted some one and some the other.
	Snapshots string  `json:"snapshots"`
	TickRate  int     `json:"tick_rate"`      // the server's, from Welcome
	Window    float64 `json:"window_seconds"` // measured, between the two /metrics scrapes
	// ClientWindow is the window of the bots' own counters (Inputs,
	// TicksSeen, the per-client rates), between the two reads of them,
	// which fall inside Window: a scrape that a loaded machine slows
	// widens Window, not this.
	ClientWindow float64 `json:"client_window_seconds"`
	// JoinTime is how long it took every client to sign up, queue, be
	// matched and connect; Throttled counts the 429s waited out meanwhile,
	// Unavailable the 503s to a new ticket (matchmaking temporarily
	// unavailable).
	JoinTime    time.Duration `json:"join_time_ns"`
	Throttled   uint64        `json:"throttled"`
	Unavailable uint64        `json:"unavailable"`
	// Dropped counts clients whose connection ended before the window
	// closed (a match ending, a kick); Notes says why.
	Dropped int `json:"dropped"`

	// Inputs were sent in the window; Acks of them were acknowledged in it
	// and timed: from the send to the first snapshot whose own entity has
	// last_input_seq ≥ the input's seq.
	Inputs uint64 `json:"inputs"`
	// Starved counts ticks that applied no input of a bot although it
	// was sending (its input arrived late); Surplus counts inputs the
	// server dropped unapplied (a backlog too long). Both as the bots'
	// pacing saw them in their snapshots (client.PacerStats).
	Starved uint64 `json:"starved_ticks"`
	Surplus uint64 `json:"surplus_inputs"`
	// TicksSeen is how far the bots saw their rooms' tick counters go in
	// the window, and Taken how far their own last_input_seq went in the
	// same snapshots (each bot's newest at the window's two ends), summed
	// over the bots: the ticks the room ran for them, and the inputs it
	// took in those ticks (applied, or dropped as surplus). A room that
	// falls behind skips ticks (it never runs more than a few back to
	// back), so on a busy machine TicksSeen is less than clients × tick
	// rate × window, and so are the inputs of a client that sends one
	// per tick. Both come from the server's snapshots, so they agree on
	// the window however late the snapshots arrive.
	TicksSeen uint64 `json:"ticks_seen"`
	Taken     uint64 `json:"inputs_taken"`
	// HeldBack counts the inputs the bots' pacing held back past their
	// due time (client.PacerStats.HeldBack): too many were
	// unacknowledged.
	HeldBack uint64 `json:"held_back"`
	// SenderLost counts the inputs the generator never sent because its
	// sending goroutine got to a bot more than a tick period late (its
	// machine was busy): lost time, which neither the pacing nor a fixed
	// ticker makes up. It counts those lost before the inputs of Taken,
	// so that it covers the same ticks.
	SenderLost uint64        `json:"sender_lost"`
	Acks       uint64        `json:"acks"`
	AckP50     time.Duration `json:"ack_p50_ns"`
	AckP99     time.Duration `json:"ack_p99_ns"`
	AckMax     time.Duration `json:"ack_max_ns"`

	// Snapshots received per client per second: the mean, and the slowest
	// client's.
	SnapshotsPerClientSec    float64 `json:"snapshots_per_client_sec"`
	MinSnapshotsPerClientSec float64 `json:"min_snapshots_per_client_sec"`
	// BytesPerClientSec is downstream bytes per client per second as read
	// from the sockets: whole WebSocket frames (headers, pings and all),
	// not counting TCP/IP headers.
	BytesPerClientSec float64 `json:"bytes_per_client_sec"`
	// Corrections counts acknowledged inputs whose predicted position was
	// not the server's (client.PredictionStats.Corrections).
	Corrections uint64 `json:"corrections"`

	// Server side, from /metrics. CPUPerClientTick is Δprocess_cpu_seconds
	// / (N × T × Window), in µs; ServerCores is the same CPU time per
	// second of window, in cores: near 1 with the server pinned to one
	// core, CPUPerClientTick is only a ceiling (10⁶ / (N × T)), not a
	// measure of the work. RSS is at the window's end.
	ServerCPU        float64       `json:"server_cpu_seconds"`
	ServerCores      float64       `json:"server_cpu_cores"`
	CPUPerClientTick float64       `json:"cpu_us_per_client_tick"`
	RSS              float64       `json:"rss_bytes"`
	Ticks            uint64        `json:"ticks"` // room ticks in the window, all rooms
	TickP99          time.Duration `json:"tick_p99_ns"`
	Overruns         uint64        `json:"overruns"`
	// Skipped counts the ticks the rooms did not run in the window: a
	// room that falls behind (a busy machine) runs a few ticks back to
	// back and skips the rest, so Ticks + Skipped is what the tick rate
	// asked for.
	Skipped uint64 `json:"skipped_ticks"`

	// GeneratorCPU is the load generator's own CPU use in the window, in
	// cores (1 = one core busy). Near the number of cores it may pin to,
	// the generator, not the server, limits the figures.
	GeneratorCPU float64 `json:"generator_cpu_cores"`

	// AckParts splits the acknowledgement latencies into the parts the
	// generator can see (bench/README.md, "Input→ack latency").
	AckParts AckBreakdown `json:"ack_parts"`

	Notes []string `json:"notes,omitempty"`
}

// Errors Run returns (wrapped).
var (
	// ErrUnreachable: nothing answered at BaseURL.
	ErrUnreachable = errors.New("bench: server unreachable")
	// ErrTickRate: the server runs at another rate than Config.TickRate.
	ErrTickRate = errors.New("bench: unexpected tick rate")
)

func (cfg Config) withDefaults() (Config, *url.URL, error) {
	if cfg.Duration == 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = 2 * time.Second
	}
	cfg.Warmup = max(cfg.Warmup, 0)
	if cfg.Mode == "" {
		cfg.Mode = "ffa"
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	u, err := parseBase(cfg.BaseURL)
	if err != nil {
		return cfg, nil, err
	}
	size, ok := roomSize[cfg.Mode]
	switch {
	case !ok:
		return cfg, nil, fmt.Errorf("bench: mode %q: want ffa or duel", cfg.Mode)
	case cfg.Clients < 2:
		return cfg, nil, fmt.Errorf("bench: %d clients: want at least 2", cfg.Clients)
	case cfg.Clients%size == 1:
		return cfg, nil, fmt.Errorf("bench: %d clients would leave one alone in a %s room of %d, which never starts", cfg.Clients, cfg.Mode, size)
	case cfg.Duration < 0:
		return cfg, nil, fmt.Errorf("bench: duration %v: must be positive", cfg.Duration)
	}
	return cfg, u, nil
}

// run is the state of one Run.
type run struct {
	cfg  Config
	api  *lobby
	rec  recorder
	bots []atomic.Pointer[bot] // set as clients connect
	// senders send the bots' inputs, bot i by senders[i mod len].
	senders []*sender
	// joined counts connected clients; phase names what the run is doing,
	// for the progress line.
	joined atomic.Int64
	phase  atomic.Pointer[string]
	// tickRate is the server's, from the first Welcome.
	tickRate atomic.Int64
}

// Run plays cfg.Clients bots against the server at cfg.BaseURL (see the
// package doc) and reports what it measured in the window. It blocks until
// the run is over or ctx ends, and it closes every client it opened before
// returning. Server-side figures need the process collector (Linux).
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	hc := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}}
	defer hc.CloseIdleConnections()
	api, err := newLobby(base, hc)
	if err != nil {
		return Report{}, err
	}
	r := &run{
		cfg:  cfg,
		api:  api,
		rec:  recorder{base: time.Now()},
		bots: make([]atomic.Pointer[bot], cfg.Clients),
	}
	r.setPhase("join")
	r.rec.lat.Store(new(histogram)) // warmup: recorded, then thrown away

	if err := r.api.health(ctx); err != nil {
		if isUnreachable(err) {
			return Report{}, fmt.Errorf("%w at %s: %w", ErrUnreachable, cfg.BaseURL, err)
		}
		return Report{}, fmt.Errorf("bench: server at %s not healthy: %w", cfg.BaseURL, err)
	}
	metricsURL := base.String() + "/metrics"
	if _, err := scrape(ctx, hc, metricsURL); err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}

	// Progress runs until Run returns.
	progCtx, stopProgress := context.WithCancel(ctx)
	var progress sync.WaitGroup
	if cfg.Progress != nil {
		progress.Go(func() { r.progress(progCtx) })
	}
	defer func() { stopProgress(); progress.Wait() }()

	// Bots play until playCtx ends, their inputs sent by one sender per
	// P; then every client is closed.
	playCtx, stopPlay := context.WithCancel(ctx)
	var players sync.WaitGroup
	defer func() {
		stopPlay()
		players.Wait()
		r.closeAll()
	}()
	r.senders = make([]*sender, runtime.GOMAXPROCS(0))
	for i := range r.senders {
		s := newSender(!cfg.Unpaced)
		r.senders[i] = s
		players.Go(func() { s.run(playCtx) })
	}

	joinStart := time.Now()
	if err := r.joinAll(ctx); err != nil {
		return Report{}, err
	}
	rep := Report{
		Mode:        cfg.Mode,
		Clients:     cfg.Clients,
		TickRate:    int(r.tickRate.Load()),
		JoinTime:    time.Since(joinStart),
		Throttled:   r.api.throttled.Load(),
		Unavailable: r.api.unavailable.Load(),
	}

	r.setPhase("warmup")
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return Report{}, err
	}

	// The window.
	r.setPhase("measure")
	s0, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	c0 := r.counters()
	window := new(histogram)
	parts := newAckParts(rep.TickRate)
	sched0 := readSched()
	r.rec.from.Store(r.rec.since())
	r.rec.parts.Store(parts)
	r.rec.lat.Store(window)
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return Report{}, fmt.Errorf("bench: cpu profile: %w", err)
		}
	}
	err = sleep(ctx, cfg.Duration)
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return Report{}, err
	}
	r.rec.lat.Store(nil)
	r.rec.parts.Store(nil)
	sched := subSched(sched0, readSched())
	c1 := r.counters()
	s1, err := scrape(ctx, hc, metricsURL)
	if err != nil {
		return Report{}, fmt.Errorf("bench: %w", err)
	}
	r.setPhase("done")

	r.fill(&rep, window, c0, c1, s0, s1)
	rep.AckParts = parts.breakdown(sched)
	if rep.Acks > 0 {
		rep.Notes = append(rep.Notes, rep.AckParts.note(rep.Acks))
	}
	return rep, nil
}

// joinAll brings every client in, at most cfg.Concurrency at a time, and
// hands each one to a sender as soon as it is connected.
func (r *run) joinAll(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.Concurrency)
	size := roomSize[r.cfg.Mode]
	for i := range r.cfg.Clients {
		g.Go(func() error {
			wsURL, err := r.api.join(gctx, fmt.Sprintf("bench-%d", i), r.cfg.Mode)
			if err != nil {
				return fmt.Errorf("bench: client %d: join: %w", i, err)
			}
			dctx, cancel := context.WithTimeout(gctx, 15*time.Second)
			defer cancel()
			b := newBot(&r.rec, i/size)
			if err := b.dial(dctx, wsURL, r.cfg.Link, r.cfg.FullSnapshots); err != nil {
				var he *client.HandshakeError
				switch {
				case errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests:
					return fmt.Errorf("bench: client %d: connect: the server refuses more WebSockets from this address (start it with --max-conns-per-ip %d or more): %w", i, r.cfg.Clients, err)
				case errors.As(err, &he) && he.StatusCode == http.StatusServiceUnavailable:
					return fmt.Errorf("bench: client %d: connect: the server is full (start it with --max-conns %d or more): %w", i, r.cfg.Clients, err)
				}
				return fmt.Errorf("bench: client %d: connect: %w", i, err)
			}
			r.bots[i].Store(b)
			rate := b.c.Welcome().TickRate
			r.tickRate.CompareAndSwap(0, int64(rate))
			if want := r.cfg.TickRate; want != 0 && rate != want {
				return fmt.Errorf("%w: the server ticks at %d Hz, want %d", ErrTickRate, rate, want)
			}
			r.joined.Add(1)
			r.senders[i%len(r.senders)].add(b)
			return nil
		})
	}
	return g.Wait()
}

// closeAll closes every connected client, a few at a time.
func (r *run) closeAll() {
	var g errgroup.Group
	g.SetLimit(r.cfg.Concurrency)
	for i := range r.bots {
		if b := r.bots[i].Load(); b != nil {
			g.Go(func() error { return b.c.Close() })
		}
	}
	_ = g.Wait() // a close error changes nothing: the run is over
}

// counters is every bot's counters at one moment.
type counters struct {
	cpu                                                     time.Duration // the generator's own CPU time so far
	at                                                      time.Time
	snapshots, bytes, inputs, starved, surplus, corrections []uint64
	ticks, acks, lost, held                                 []uint64
}

func (r *run) counters() counters {
	n := len(r.bots)
	c := counters{
		cpu:         selfCPU(),
		at:          time.Now(),
		snapshots:   make([]uint64, n),
		bytes:       make([]uint64, n),
		inputs:      make([]uint64, n),
		starved:     make([]uint64, n),
		surplus:     make([]uint64, n),
		corrections: make([]uint64, n),
		ticks:       make([]uint64, n),
		acks:        make([]uint64, n),
		lost:        make([]uint64, n),
		held:        make([]uint64, n),
	}
	for i := range r.bots {
		b := r.bots[i].Load()
		if b == nil {
			continue
		}
		c.snapshots[i] = b.snapshots.Load()
		c.bytes[i] = b.bytes.Load()
		c.inputs[i] = b.inputs.Load()
		ps := b.c.PacingStats()
		c.starved[i], c.surplus[i], c.held[i] = ps.Starved, ps.Dropped, ps.HeldBack
		tick, ack := seenTickAck(b.seen.Load())
		c.ticks[i], c.acks[i] = uint64(tick), uint64(ack)
		if lost, ok := b.lostBy(ack); ok {
			c.lost[i] = lost
		} else if ack == 0 {
			c.lost[i] = 0
		} else {
			c.lost[i] = b.lost.Load() // a seq not this sender's: an estimate
		}
		c.corrections[i] = b.c.PredictionError().Corrections
	}
	return c
}

// fill computes the Report's figures from the window's two ends.
func (r *run) fill(rep *Report, lat *histogram, c0, c1 counters, s0, s1 serverSample) {
	n := float64(rep.Clients)
	clientSecs := c1.at.Sub(c0.at).Seconds()
	rep.ClientWindow = clientSecs
	rep.Window = s1.At.Sub(s0.At).Seconds()

	var snaps, bytes uint64
	minSnaps := -1.0
	deltas := 0
	for i := range r.bots {
		if b := r.bots[i].Load(); b != nil && b.c.Welcome().DeltaSnapshots() {
			deltas++
		}
	}
	switch deltas {
	case 0:
		rep.Snapshots = "full"
	case len(r.bots):
		rep.Snapshots = "delta"
	default:
		rep.Snapshots = "mixed"
	}
	for i := range c0.snapshots {
		ds := c1.snapshots[i] - c0.snapshots[i]
		snaps += ds
		bytes += c1.bytes[i] - c0.bytes[i]
		rep.Inputs += c1.inputs[i] - c0.inputs[i]
		rep.Starved += c1.starved[i] - c0.starved[i]
		rep.Surplus += c1.surplus[i] - c0.surplus[i]
		rep.Corrections += c1.corrections[i] - c0.corrections[i]
		rep.TicksSeen += c1.ticks[i] - c0.ticks[i]
		rep.Taken += c1.acks[i] - c0.acks[i]
		rep.HeldBack += c1.held[i] - c0.held[i]
		rep.SenderLost += c1.lost[i] - c0.lost[i]
		if rate := float64(ds) / clientSecs; minSnaps < 0 || rate < minSnaps {
			minSnaps = rate
		}
	}
	rep.SnapshotsPerClientSec = float64(snaps) / n / clientSecs
	rep.MinSnapshotsPerClientSec = minSnaps
	rep.BytesPerClientSec = float64(bytes) / n / clientSecs
	rep.GeneratorCPU = (c1.cpu - c0.cpu).Seconds() / clientSecs
	rep.Acks = lat.Count()
	rep.AckP50, rep.AckP99, rep.AckMax = lat.Quantile(0.50), lat.Quantile(0.99), lat.Max()

	rep.ServerCPU = s1.CPU - s0.CPU
	if rep.TickRate > 0 && rep.Window > 0 {
		rep.CPUPerClientTick = rep.ServerCPU / (n * float64(rep.TickRate) * rep.Window) * 1e6
	}
	if rep.Window > 0 {
		rep.ServerCores = rep.ServerCPU / rep.Window
	}
	if !s1.HasCPU {
		rep.Notes = append(rep.Notes, "the server exports no process_cpu_seconds_total (not Linux?): no CPU figure")
	}
	rep.RSS = s1.RSS
	ticks := deltaBuckets(s0.Tick, s1.Tick)
	if len(ticks) > 0 {
		rep.Ticks = uint64(ticks[len(ticks)-1].Count)
		if q := promQuantile(0.99, ticks); q == q { // not NaN
			rep.TickP99 = time.Duration(q * float64(time.Second))
		}
	}
	rep.Overruns = uint64(max(s1.Overruns-s0.Overruns, 0))
	rep.Skipped = uint64(max(s1.Skipped-s0.Skipped, 0))

	var why string
	for i := range r.bots {
		b := r.bots[i].Load()
		if b == nil {
			continue
		}
		select {
		case <-b.c.Done():
			rep.Dropped++
			if why == "" {
				if ce := b.c.CloseError(); ce != nil {
					why = ce.Error()
				}
			}
		default:
		}
	}
	if rep.Dropped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d clients lost their connection before the window closed (first: %s); is the server's --match-duration longer than the run?", rep.Dropped, why))
	}
}

func (r *run) setPhase(p string) { r.phase.Store(&p) }

// progress writes one line a second until ctx ends.
func (r *run) progress(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	var lastSnaps uint64
	lastAt := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var snaps uint64
			playing := 0
			for i := range r.bots {
				b := r.bots[i].Load()
				if b == nil {
					continue
				}
				s := b.snapshots.Load()
				snaps += s
				select {
				case <-b.c.Done():
				default:
					if s > 0 {
						playing++
					}
				}
			}
			rate := float64(snaps-lastSnaps) / now.Sub(lastAt).Seconds()
			lastSnaps, lastAt = snaps, now
			p99 := "-"
			if h := r.rec.lat.Load(); h != nil && h.Count() > 0 {
				p99 = fmtDuration(h.Quantile(0.99))
			}
			fmt.Fprintf(r.cfg.Progress, "%5.0fs %-7s joined %d/%d playing %d  snapshots/s %.0f  ack p99 %s\n",
				now.Sub(start).Seconds(), *r.phase.Load(), r.joined.Load(), r.cfg.Clients, playing, rate, p99)
		}
	}
}

// sleep waits d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

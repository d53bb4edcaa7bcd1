package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/chess"
)

// config is everything the server can be told at start.
type config struct {
	Addr            string
	PublicURL       string
	CORSOrigins     string // comma-separated origins, checked by corsOrigins
	TickRate        int
	TickPhases      int
	TickReads       bool
	MatchDuration   time.Duration
	ChessClock      chess.Clock
	FFAWait         time.Duration
	JoinTimeout     time.Duration
	Grace           time.Duration
	IdleTimeout     time.Duration
	MaxFrame        int
	SendBuffer      int
	FrameRate       int
	MaxConns        int
	MaxConnsPerIP   int
	GuestRate       float64
	GuestBurst      int
	WriteTimeout    time.Duration
	TokenSecret     string
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	RedisURL        string
	RedisPrefix     string
	DatabaseURL     string
	DatabaseSchema  string
	Archivers       int
	NodeTTL         time.Duration
	DebugAddr       string

	// The rating flags override what each mode's game declares (its
	// match.Mode) in every mode; unset, each mode keeps its own.
	Ratings        string // mode=system pairs, e.g. "duel=elo,ffa=glicko2"; empty: none
	EloKNew        override[float64]
	EloK           override[float64]
	EloNewGames    override[int]
	GlickoTau      override[float64]
	WindowStart    float64
	WindowStep     float64
	WindowInterval time.Duration
	WindowMax      float64
}

// parseConfig reads flags from args, each defaulting to its ARBITER_ twin in
// the environment. Any invalid value is an error naming the flag.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("arbiter", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", ":8080", "listen address")
	fs.StringVar(&c.PublicURL, "public-url", "", "base URL advertised in ws_url, e.g. https://play.example.com (default: the request's host); servers sharing a --redis-url each need their own, where the players they match are sent")
	fs.StringVar(&c.CORSOrigins, "cors-origins", "", "comma-separated origins of web pages, scheme://host[:port] such as https://game.example.com, that may call the REST API and open game WebSockets from a browser; the page this server serves itself is always allowed, any other page is refused with 403 (default: none)")
	fs.IntVar(&c.TickRate, "tick-rate", 30, "simulation ticks per second, 20–60, for every mode")
	fs.IntVar(&c.TickPhases, "tick-phases", 0, "if > 0, rooms tick together, on this many instants per tick period: less CPU, snapshots leave later in rooms late in each burst (default: 0, each room ticks from its own start)")
	fs.BoolVar(&c.TickReads, "tick-reads", true, "read the WebSockets of tick-driven matches (the arena) at their ticks, with one non-blocking read per client per tick, and those of event-driven matches (chess) with one epoll reactor for the server (Linux), rather than with a goroutine per connection: less CPU, fewer goroutines; false reads every connection with a goroutine of its own")
	fs.DurationVar(&c.MatchDuration, "match-duration", 0, "time limit of every mode that has one (default: each mode's own; the arena's 120s)")
	c.ChessClock = chess.DefaultClock
	fs.Func("chess-clock", "chess time control, base+increment: each player's time, and what each move adds to it (default 3m+2s)", func(s string) error {
		clock, err := chess.ParseClock(s)
		if err == nil {
			c.ChessClock = clock
		}
		return err
	})
	fs.DurationVar(&c.FFAWait, "ffa-wait", 0, "how long a mode that may start short of players (ffa) searches before it does; 0: each mode's own (ffa: 10s)")
	fs.DurationVar(&c.JoinTimeout, "join-timeout", 15*time.Second, "how long a new match waits for all players to connect")
	fs.DurationVar(&c.Grace, "grace", 15*time.Second, "how long a disconnected player may stay away before forfeiting")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 15*time.Second, "drop WebSocket connections silent for this long")
	fs.IntVar(&c.MaxFrame, "max-frame", 4096, "largest client frame in bytes")
	fs.IntVar(&c.SendBuffer, "send-buffer", 0, "kernel send buffer per WebSocket in bytes; smaller finds slow consumers sooner (default: the OS's)")
	fs.IntVar(&c.FrameRate, "frame-rate", 0, "frames per second a WebSocket client may send before it is kicked for flooding, with bursts of three seconds' worth after a network stall (default: 5 × tick rate, at least 150: above a browser sending one input per frame at 144 Hz)")
	fs.Float64Var(&c.GuestRate, "guest-rate", 1, "guest sign-ups per second per client IP (60/min); raise for load tests from one host")
	fs.IntVar(&c.GuestBurst, "guest-burst", 20, "guest sign-ups a client IP may make back to back")
	fs.IntVar(&c.MaxConns, "max-conns", 10000, "most WebSocket connections in total (503 beyond)")
	fs.IntVar(&c.MaxConnsPerIP, "max-conns-per-ip", 16, "most WebSocket connections per client IP, IPv6 per /64 (429 beyond)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", 5*time.Second, "close a WebSocket client that takes longer than this to accept queued bytes")
	fs.StringVar(&c.TokenSecret, "token-secret", "", "HMAC secret for player and join tokens; servers sharing a --redis-url must all use the same one (default: random; tokens die with the process)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&c.RedisURL, "redis-url", "", "Redis for live state, e.g. redis://127.0.0.1:6379/0; the query may set go-redis options, e.g. ?pool_size=200 (the pool defaults to 100 connections, opened as needed) (default: in memory)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", "arbiter:", "prefix of every Redis key, to share one Redis between deployments")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "Postgres for the durable archive, e.g. postgres://arbiter@127.0.0.1:5432/arbiter (default: none; migrations run at start)")
	fs.IntVar(&c.Archivers, "archivers", 2, "archivers moving results from Redis to Postgres in parallel (with both stores)")
	fs.StringVar(&c.DatabaseSchema, "database-schema", "public", "Postgres schema holding the archive's tables")
	fs.DurationVar(&c.NodeTTL, "node-ttl", 15*time.Second, "with Redis: a server silent this long is presumed dead, and a peer takes over its matches (chess games resume, others end aborted); set the same on every server")
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it private (default: off)")
	fs.TextVar(&c.LogLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&c.Ratings, "ratings", "", "rating system per mode, elo or glicko2, as mode=system pairs, e.g. ffa=glicko2 (default: each mode's own; the arena's are elo)")
	fs.Var(&c.EloKNew, "elo-k-new", "Elo K for a player's first --elo-new-games games in a mode, in every mode (default: each mode's own; the arena's 40)")
	fs.Var(&c.EloK, "elo-k", "Elo K after that, in every mode (default: each mode's own; the arena's 20)")
	fs.Var(&c.EloNewGames, "elo-new-games", "games a player counts as new in a mode, in every mode (default: each mode's own; the arena's 30)")
	fs.Var(&c.GlickoTau, "glicko-tau", "Glicko-2 system constant τ (0.3–1.2 is usual), in every mode (default: each mode's own; the arena's 0.5)")
	fs.Float64Var(&c.WindowStart, "window-start", 100, "rating gap a matchmaking ticket accepts at once")
	fs.DurationVar(&c.WindowInterval, "window-interval", 5*time.Second, "how often a ticket's accepted gap widens")
	fs.Float64Var(&c.WindowStep, "window-step", 50, "how much the accepted gap widens each --window-interval")
	fs.Float64Var(&c.WindowMax, "window-max", 0, "largest accepted gap (0: no cap)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: arbiter [flags]\n\nArbiter is an authoritative multiplayer game server. Every flag can also be set\nthrough the environment variable shown in brackets; a flag wins over its variable.\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && !strings.Contains(f.Usage, "(default") {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s (%s)\n    \t%s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}

	// Environment twins first, so that explicit flags override them.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("invalid %s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	// Parse silently: a bad flag is one line from the caller, and only
	// --help prints the usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usageOut)
			fs.Usage()
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.validate()
}

func envName(flagName string) string {
	return "ARBITER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (c config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.TickRate >= 20 && c.TickRate <= 60, "--tick-rate %d: must be between 20 and 60", c.TickRate)
	check(c.TickPhases >= 0 && c.TickPhases <= 1000, "--tick-phases %d: must be between 0 and 1000", c.TickPhases)
	check(c.MatchDuration >= 0, "--match-duration %v: must not be negative", c.MatchDuration)
	check(c.MatchDuration == 0 || c.MatchDuration >= time.Second, "--match-duration %v: must be at least 1s", c.MatchDuration)
	check(c.FFAWait >= 0, "--ffa-wait %v: must not be negative", c.FFAWait)
	check(c.JoinTimeout > 0, "--join-timeout %v: must be positive", c.JoinTimeout)
	check(c.Grace >= 0, "--grace %v: must not be negative", c.Grace)
	check(c.IdleTimeout >= time.Second, "--idle-timeout %v: must be at least 1s", c.IdleTimeout)
	check(c.MaxFrame >= 64 && c.MaxFrame <= 1<<20, "--max-frame %d: must be between 64 and 1048576", c.MaxFrame)
	check(c.GuestRate > 0 && c.GuestBurst > 0, "--guest-rate and --guest-burst must be positive")
	check(c.FrameRate >= 0, "--frame-rate %d: must not be negative", c.FrameRate)
	check(c.MaxConns > 0 && c.MaxConnsPerIP > 0, "--max-conns and --max-conns-per-ip must be positive")
	check(c.SendBuffer >= 0, "--send-buffer %d: must not be negative", c.SendBuffer)
	check(c.WriteTimeout >= 100*time.Millisecond, "--write-timeout %v: must be at least 100ms", c.WriteTimeout)
	check(c.ShutdownTimeout > 0, "--shutdown-timeout %v: must be positive", c.ShutdownTimeout)
	positive := func(o override[float64]) bool { return !o.set || (o.v > 0 && !math.IsInf(o.v, 1)) }
	check(positive(c.EloKNew) && positive(c.EloK) && (!c.EloNewGames.set || c.EloNewGames.v >= 0), "--elo-k-new, --elo-k must be positive and --elo-new-games not negative")
	check(!c.GlickoTau.set || (c.GlickoTau.v > 0 && c.GlickoTau.v <= 2), "--glicko-tau %v: must be in (0, 2]", c.GlickoTau.v)
	check(c.WindowStart >= 0 && c.WindowStep >= 0 && c.WindowInterval >= 0 && c.WindowMax >= 0, "--window-*: must not be negative")
	if _, err := c.ratingSystems(); err != nil {
		errs = append(errs, err)
	}
	if _, err := api.ParseOrigins(c.CORSOrigins); err != nil {
		errs = append(errs, fmt.Errorf("--cors-origins: %w", err))
	}
	check(c.RedisPrefix != "", "--redis-prefix: must not be empty")
	check(c.Archivers >= 1 && c.Archivers <= 64, "--archivers %d: must be between 1 and 64", c.Archivers)
	check(c.NodeTTL >= time.Second && c.NodeTTL <= 10*time.Minute, "--node-ttl %v: must be between 1s and 10m", c.NodeTTL)
	if c.RedisURL != "" {
		_, err := url.Parse(c.RedisURL)
		check(err == nil && strings.HasPrefix(c.RedisURL, "redis"), "--redis-url: want redis://host:port/db or rediss://…")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		check(err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss") && u.Host != "",
			"--public-url %q: must be an absolute http(s) or ws(s) URL", c.PublicURL)
	}
	return errors.Join(errs...)
}

// corsOrigins parses --cors-origins into the browser origin policy, with
// --public-url's origin as the server's own.
func (c config) corsOrigins() (*api.Origins, error) {
	listed, err := api.ParseOrigins(c.CORSOrigins)
	if err != nil {
		return nil, fmt.Errorf("--cors-origins: %w", err)
	}
	o, err := api.NewOrigins(listed, c.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("--public-url: %w", err)
	}
	return o, nil
}

// ratingSystems parses --ratings into mode → system.
func (c config) ratingSystems() (map[string]string, error) {
	out := make(map[string]string)
	if strings.TrimSpace(c.Ratings) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(c.Ratings, ",") {
		mode, system, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || mode == "" || (system != "elo" && system != "glicko2") {
			return nil, fmt.Errorf("--ratings %q: want mode=elo or mode=glicko2 pairs, separated by commas", c.Ratings)
		}
		out[mode] = system
	}
	return out, nil
}

// override is the value of a flag that, when set, overrides in every mode
// a rule each mode's game declares (match.Mode); unset, each mode keeps its
// own. It is a flag.Value.
type override[T int | float64] struct {
	v   T
	set bool
}

// String returns the value, or "" when unset.
func (o *override[T]) String() string {
	if o == nil || !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

// Set parses s as the flag's value.
func (o *override[T]) Set(s string) error {
	var v T
	var err error
	switch p := any(&v).(type) {
	case *int:
		*p, err = strconv.Atoi(s)
	case *float64:
		*p, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return errors.New("not a number")
	}
	o.v, o.set = v, true
	return nil
}

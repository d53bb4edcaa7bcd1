package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"golang.org/x/time/rate"
)

// Limits of the API.
const (
	// MaxBodyBytes is the largest request body accepted; larger ones are
	// answered with 413.
	MaxBodyBytes = 64 << 10
	// MaxWait is the longest long-poll a ticket GET may ask for.
	MaxWait = 30 * time.Second

	readyTimeout = 2 * time.Second
)

// Matchmaker is what the handlers need of the matchmaker;
// *matchmaker.Matchmaker satisfies it. Implementations must be safe for
// concurrent use, and Wait must return when its ctx ends.
type Matchmaker interface {
	// Mode reports whether name is a configured mode; the leaderboard
	// route accepts exactly these.
	Mode(name string) (match.Mode, bool)
	Enqueue(ctx context.Context, playerID, mode string) (matchmaker.Ticket, error)
	Ticket(ctx context.Context, id, playerID string) (matchmaker.Ticket, error)
	Wait(ctx context.Context, id, playerID string) (matchmaker.Ticket, error)
	Cancel(ctx context.Context, id, playerID string) error
}

// Players is the player store; persistence.Memory satisfies it.
// Implementations must be safe for concurrent use.
type Players interface {
	// CreatePlayer stores a new player.
	CreatePlayer(ctx context.Context, id, name string, createdAt time.Time) error
	// PlayerName returns a player's name; found is false if there is no
	// such player, which is not an error.
	PlayerName(ctx context.Context, id string) (name string, found bool, err error)
}

// Config configures a Server. The zero value of every field means its
// default.
type Config struct {
	// PublicURL is the advertised base of the server, such as
	// "https://game.example.com" (an http(s) or ws(s) URL, optionally with
	// a path prefix): ws_url is built on it, with http→ws and https→wss.
	// Default: the request's Host, with ws:// (wss:// over TLS).
	PublicURL string
	// PlayerTokenTTL is how long the bearer token of a guest stays valid.
	// Default 30 days.
	PlayerTokenTTL time.Duration
	// GuestRate and GuestBurst are the token bucket that limits guest
	// sign-ups per client IP (IPv6 clients per /64). Default 1/s (60 a
	// minute) with bursts of 20.
	GuestRate  rate.Limit
	GuestBurst int
	// MaxClients bounds how many clients' buckets the sign-up limiter
	// remembers. Default 10000.
	MaxClients int
	// PlayerRate and PlayerBurst are the token bucket that limits each
	// authenticated player's requests over every bearer route together; a
	// long-poll counts once, however long it waits. Requests with a missing
	// or bad token are answered 401 before they reach it. Default 10/s with
	// bursts of 40; rate.Inf turns the limit off.
	PlayerRate  rate.Limit
	PlayerBurst int
	// MaxPlayers bounds how many players' buckets the per-player limiter
	// remembers. Default 100000.
	MaxPlayers int
	// Ratings serves the ratings of GET /v1/players/{id} and the
	// leaderboards. Default nil: nobody has a rating yet and every
	// leaderboard is empty.
	Ratings RatingsReader
	// Matches serves GET /v1/matches/{id}, and tells where a matched
	// ticket's match runs now (another server may have taken it over).
	// Default nil: no match is found.
	Matches MatchReader
	// JoinTTL is how long a join token that GET /v1/matches/{id} gives a
	// player of a running match of mode stays valid. Default 15 minutes.
	JoinTTL func(mode string) time.Duration
	// Ready is the readiness check of GET /readyz: nil means ready, an error
	// names what is unreachable or not ready yet. Called with a short
	// deadline. The error's text goes to the log only; if an error in its
	// chain has a method PublicReason() string, that reason is the 503's
	// message (a live store being re-warmed says so). Default: always
	// ready.
	Ready func(ctx context.Context) error
	// Origins is the browser origin policy: a request whose Origin header
	// it refuses is answered 403 origin_not_allowed before it is routed,
	// and an allowed one gets the CORS headers (preflights included) that
	// let the page read the answer. Requests without an Origin are not
	// concerned. Default nil: only the server's own origin (PublicURL's,
	// or the request's Host) is allowed. Pass the same policy to the game
	// WebSockets (netcode.Config.CheckOrigin).
	Origins *Origins
	// Logger receives request failures. Default slog.Default().
	Logger *slog.Logger
	// Now is the source of time for token expiry and rate limits. Default
	// time.Now.
	Now func() time.Time
}

// Stats counts what the API refused at its door; safe to read at any time.
type Stats struct {
	// RefusedOrigin counts requests answered 403 origin_not_allowed,
	// preflights included.
	RefusedOrigin atomic.Uint64
}

// Server is the REST API. It is an http.Handler, safe for concurrent use,
// and starts nothing: serve it with an http.Server.
type Server struct {
	// Stats is updated as requests are refused.
	Stats Stats

	cfg     Config
	mm      Matchmaker
	players Players
	tokens  *match.Tokens
	log     *slog.Logger
	mux     *http.ServeMux
	guests  *limiter // per client IP, on sign-up
	callers *limiter // per player, on every bearer route
	wsBase  string   // scheme://host[/prefix] of ws_url, from PublicURL; empty: from the request
	methods string   // the route table's methods, for Access-Control-Allow-Methods
}

// New returns a Server over the given matchmaker, player store and token
// signer. It fails only if cfg.PublicURL is not a usable base URL.
func New(cfg Config, mm Matchmaker, players Players, tokens *match.Tokens) (*Server, error) {
	cfg.PlayerTokenTTL = cmp.Or(cfg.PlayerTokenTTL, 30*24*time.Hour)
	cfg.GuestRate = cmp.Or(cfg.GuestRate, rate.Every(time.Second))
	cfg.GuestBurst = cmp.Or(cfg.GuestBurst, 20)
	cfg.MaxClients = cmp.Or(cfg.MaxClients, 10000)
	cfg.PlayerRate = cmp.Or(cfg.PlayerRate, 10)
	cfg.PlayerBurst = cmp.Or(cfg.PlayerBurst, 40)
	cfg.MaxPlayers = cmp.Or(cfg.MaxPlayers, 100000)
	if cfg.JoinTTL == nil {
		cfg.JoinTTL = func(string) time.Duration { return 15 * time.Minute }
	}
	if cfg.Ready == nil {
		cfg.Ready = func(context.Context) error { return nil }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Origins == nil {
		o, err := NewOrigins(nil, cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		cfg.Origins = o
	}
	s := &Server{
		cfg:     cfg,
		mm:      mm,
		players: players,
		tokens:  tokens,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
		guests:  newLimiter(cfg.GuestRate, cfg.GuestBurst, cfg.MaxClients),
		callers: newLimiter(cfg.PlayerRate, cfg.PlayerBurst, cfg.MaxPlayers),
	}
	if cfg.PublicURL != "" {
		base, err := wsBase(cfg.PublicURL)
		if err != nil {
			return nil, err
		}
		s.wsBase = base
	}
	var methods []string
	for _, rt := range s.routes() {
		if !slices.Contains(methods, rt.method) {
			methods = append(methods, rt.method)
		}
		h := rt.public
		if rt.authed() {
			h = s.auth(rt.player)
		}
		s.mux.HandleFunc(rt.method+" "+rt.path, h)
	}
	slices.Sort(methods)
	s.methods = strings.Join(methods, ", ")
	return s, nil
}

// wsBase turns PublicURL into the scheme, host and path prefix of ws_url.
func wsBase(public string) (string, error) {
	u, err := url.Parse(public)
	if err != nil {
		return "", fmt.Errorf("api: public URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("api: public URL %q: scheme must be http, https, ws or wss", public)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("api: public URL %q: want scheme://host[:port][/prefix]", public)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// ServeHTTP routes r. Unknown routes get 404 and known routes with another
// method 405 (with Allow), both in the JSON error shape; a panicking
// handler gets 500. A request from a browser page the origin policy
// refuses gets 403 before it is routed, and a preflight of an allowed one
// 204 (see cors).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.cors(w, r) {
		return
	}
	rw := &recorder{ResponseWriter: w}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { // net/http's own way to abort a response: let it through
			panic(v)
		}
		s.log.Error("api: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
		if !rw.wroteHeader {
			writeError(rw, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	// An empty pattern means the mux would answer 404 or 405 itself, in
	// text/plain: let it decide which, then answer in JSON.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		miss := &routeMiss{h: make(http.Header)}
		s.mux.ServeHTTP(miss, r)
		if miss.code == http.StatusMethodNotAllowed {
			rw.Header().Set("Allow", miss.h.Get("Allow"))
			writeError(rw, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" not allowed here")
			return
		}
		writeError(rw, http.StatusNotFound, "not_found", "no such route")
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// recorder notes whether the header was written, so that the panic handler
// does not write a second one.
type recorder struct {
	http.ResponseWriter
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	r.wroteHeader = true
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// routeMiss swallows the mux's own 404 and 405 answers, keeping the status
// and headers.
type routeMiss struct {
	h    http.Header
	code int
}

func (m *routeMiss) Header() http.Header { return m.h }

func (m *routeMiss) WriteHeader(code int) {
	if m.code == 0 {
		m.code = code
	}
}

func (m *routeMiss) Write(p []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	return len(p), nil
}

// authedFunc is a handler that runs for an authenticated player.
type authedFunc func(w http.ResponseWriter, r *http.Request, playerID string)

// auth requires a valid bearer token, takes a token from its player's rate
// limit bucket and passes the player on.
func (s *Server) auth(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="arbiter"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}
		player, err := s.tokens.VerifyPlayer(tok)
		if err != nil {
			msg := "invalid bearer token"
			if errors.Is(err, match.ErrTokenExpired) {
				msg = "bearer token expired"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="arbiter", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		if ok, retry := s.callers.allow(player, s.cfg.Now()); !ok {
			tooManyRequests(w, retry, "too many requests from this player; retry later")
			return
		}
		h(w, r, player)
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

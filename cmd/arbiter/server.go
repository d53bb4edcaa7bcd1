package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/netcode"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/arbiter-gg/arbiter/web"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// server is the whole of Arbiter wired together: built by newServer, which
// starts nothing, and run by run.
type server struct {
	cfg     config
	log     *slog.Logger
	tokens  *match.Tokens
	stores  *stores
	ledger  *match.Ledger
	manager *match.Manager
	mm      *matchmaker.Matchmaker
	net     *netcode.Server
	http    *http.Server
	metrics *metrics
}

func newServer(cfg config, log *slog.Logger) (*server, error) {
	reg, err := register(cfg, games(cfg))
	if err != nil {
		return nil, err
	}
	modes := reg.modes
	st, err := openStores(cfg, log)
	if err != nil {
		return nil, err
	}
	secret := []byte(cfg.TokenSecret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		log.Warn("no --token-secret set: using a random one, so player and join tokens will not survive a restart (nor be accepted by other servers sharing the Redis)")
	}
	if st.pool != nil {
		if cfg.PublicURL == "" {
			log.Warn("matchmaking queues are shared through Redis but --public-url is not set: players who queued on another server and are matched here will be sent to the address they asked that server for; set each server's own --public-url")
		}
		log.Info("matchmaking queues are shared with every server on the Redis")
	}

	s := &server{cfg: cfg, log: log, tokens: match.NewTokens(secret), metrics: newMetrics(modes), stores: st}
	store := st.store
	// Each mode brings its rating parameters; a mode that leaves them zero
	// is rated with the rating package's defaults.
	s.ledger = match.NewLedger(store, modes, rating.DefaultElo(), rating.DefaultGlicko2())

	var mm *matchmaker.Matchmaker // set below; rooms report their ends to it
	var checkpoints match.Checkpointer
	if st.checkpoints != nil {
		checkpoints = st.checkpoints
	}
	manager, err := match.NewManager(match.Config{
		Room: match.RoomConfig{
			TickRate:    cfg.TickRate,
			TickPhases:  cfg.TickPhases,
			JoinTimeout: cfg.JoinTimeout,
			Grace:       cfg.Grace,
			Observer:    s.metrics.ticks,
		},
		Modes:  modes,
		Games:  reg.games,
		Tokens: s.tokens,
		Logger: log,
		Ledger: s.ledger,
		Events: store,
		OnEnd:  func(res match.Result) { mm.MatchEnded(res) },

		Checkpoints: checkpoints,
		LiveGames:   st.games,
	})
	if err != nil {
		st.close()
		return nil, err
	}
	if err := s.endOrphans(manager); err != nil {
		log.Error("matches the previous process left running are not all ended; the next start tries again", "err", err)
	}
	mmCfg := matchmaker.Config{
		Modes:       modes,
		JoinTTL:     manager.JoinExpiry,
		Logger:      log,
		Rating:      s.rating,
		Windows:     reg.windows,
		ObserveWait: s.metrics.observeWait,
	}
	if st.pool != nil {
		mmCfg.Pool, mmCfg.Server = st.pool, cfg.PublicURL
	}
	mm = matchmaker.New(mmCfg, manager, s.tokens)
	s.manager, s.mm = manager, mm

	// One origin policy for the REST API and the game WebSockets: a page
	// that may call the one may open the other.
	origins, err := cfg.corsOrigins()
	if err != nil {
		st.close()
		return nil, err
	}
	s.net = netcode.NewServer(netcode.Config{
		MaxFrame:      cfg.MaxFrame,
		IdleTimeout:   cfg.IdleTimeout,
		WriteTimeout:  cfg.WriteTimeout,
		SendBuffer:    cfg.SendBuffer,
		FrameRate:     cmp.Or(cfg.FrameRate, max(150, 5*cfg.TickRate)),
		MaxConns:      cfg.MaxConns,
		MaxConnsPerIP: cfg.MaxConnsPerIP,
		CheckOrigin:   origins.Allowed,
		Logger:        log,

		DisableTickReads: !cfg.TickReads,
	}, admitter{manager})

	reader := matchReader{m: manager, store: store, node: nodeName(cfg)}
	if st.checkpoints != nil {
		reader.directory = st.checkpoints
	}
	rest, err := api.New(api.Config{
		PublicURL:  cfg.PublicURL,
		Logger:     log,
		GuestRate:  rate.Limit(cfg.GuestRate),
		GuestBurst: cfg.GuestBurst,
		Ready:      st.ready,
		Ratings:    store,
		Matches:    reader,
		JoinTTL: func(mode string) time.Duration {
			return manager.JoinExpiry(modes[mode]) // an unknown mode: the untimed bound
		},
		Origins: origins,
	}, mm, store, s.tokens)
	if err != nil {
		st.close()
		return nil, err
	}
	s.metrics.watch(manager, mm, s.net, rest, st)

	// The browser demo page (web/dist, embedded): its own few paths, "/"
	// among them; every other path is the API's, whose 404s and 405s stay
	// its JSON errors.
	site, err := web.New()
	if err != nil {
		st.close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/play", s.net)
	mux.Handle("GET /metrics", s.metrics.handler(log)) // unauthenticated: restrict it at the proxy (see metrics.go)
	for _, p := range site.Patterns() {
		mux.Handle(p, site)
	}
	mux.Handle("/", rest)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      45 * time.Second, // above the 30 s long-poll maximum
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// run serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting requests, ends every room (players are closed with 1001), closes
// the remaining WebSockets and waits for every goroutine, all within the
// shutdown timeout.
func (s *server) run(ctx context.Context, ln net.Listener) error {
	s.log.Info("arbiter listening", "addr", ln.Addr().String(), "tick_rate", s.cfg.TickRate)
	g, gctx := errgroup.WithContext(ctx)
	// The match directory's writer stops after the rooms, so that the
	// ends of the matches shutdown aborts leave the directory.
	cpCtx, stopCheckpoints := context.WithCancel(context.WithoutCancel(gctx))
	defer stopCheckpoints()
	g.Go(func() error {
		defer stopCheckpoints()
		return s.manager.Run(gctx)
	})
	if cps := s.stores.checkpoints; cps != nil {
		g.Go(func() error { return cps.Run(cpCtx) })
		g.Go(func() error { s.watchPeers(gctx); return nil })
	}
	g.Go(func() error { return s.mm.Run(gctx) })
	if w := s.stores.warmer; w != nil {
		g.Go(func() error { return w.Run(gctx) })
	}
	for _, a := range s.stores.archivers {
		// What the archivers have not written when they stop (the results
		// of the rooms that shutdown ends among them) waits in Redis for
		// the next start.
		g.Go(func() error { return a.Run(gctx) })
	}
	if s.cfg.DebugAddr != "" {
		g.Go(func() error { return serveDebug(gctx, s.cfg.DebugAddr, s.log) })
	}
	g.Go(func() error {
		if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		herr := s.http.Shutdown(sctx)
		nerr := s.net.Shutdown(sctx)
		return errors.Join(herr, nerr)
	})
	err := g.Wait()
	s.stores.close()
	s.log.Info("stopped")
	return err
}

// rating is the matchmaker's view of a player's rating in mode: the stored
// one, or the mode's starting rating for a newcomer.
func (s *server) rating(ctx context.Context, playerID, mode string) (float64, error) {
	r, ok, err := s.stores.Rating(ctx, playerID, mode)
	if err != nil {
		return 0, err
	}
	if !ok {
		return s.ledger.Start(mode).Rating, nil
	}
	return r.Rating, nil
}

// endOrphans takes over the matches a previous process left running in the
// match directory (it crashed, or stopped before it could end them), and
// those of peers that died while this one was down (see adopt). It runs
// before this process creates a room.
func (s *server) endOrphans(manager *match.Manager) error {
	if s.stores.checkpoints == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeOpenTimeout)
	defer cancel()
	found, err := s.stores.checkpoints.Orphans(ctx)
	if err != nil {
		return err
	}
	return s.adopt(ctx, manager, found)
}

// watchPeers takes over, every third of --node-ttl until ctx ends, the
// matches of the peers on the same Redis that have died (their heartbeat
// lapsed), so that a chess game outlives its server even if nobody
// restarts it: see adopt.
func (s *server) watchPeers(ctx context.Context) {
	period := max(s.cfg.NodeTTL/3, 100*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	retry := match.NewRetrier("watch for dead peers", match.RetrierConfig{
		Backoff: match.Backoff{Min: period, Max: period},
		Logger:  s.log,
	})
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		found, err := s.stores.checkpoints.Abandoned(ctx)
		if err == nil && len(found) > 0 {
			s.log.Warn("taking over the matches of a server that stopped answering", "matches", len(found))
			err = s.adopt(ctx, s.manager, found)
		}
		switch {
		case err == nil:
			retry.Succeeded()
		case ctx.Err() == nil:
			retry.Failed(err)
		}
	}
}

// adopt runs or ends matches this node has just claimed from the match
// directory: a game whose live state is in Redis and whose game can be
// restored (chess) is resumed here (match.Manager.Resume), its players
// reconnecting with the ws_url GET /v1/matches/{id} now gives; every other
// is recorded from its last checkpoint, aborted (see match.OrphanResult),
// and its players may queue again at once.
func (s *server) adopt(ctx context.Context, manager *match.Manager, found []match.Checkpoint) error {
	var orphans []match.Checkpoint
	for _, cp := range found {
		switch err := s.resume(ctx, manager, cp); {
		case err == nil:
			continue
		case errors.Is(err, match.ErrClosed):
			// Shutting down: the match stays in the directory under this
			// node, for whoever outlives it.
			continue
		case !errors.Is(err, errNotResumable):
			s.log.Warn("could not resume a match left by a stopped server; ending it", "match", cp.MatchID, "err", err)
		}
		orphans = append(orphans, cp)
	}
	n, err := manager.EndOrphans(ctx, orphans)
	if n > 0 {
		s.log.Warn("ended matches a stopped server left running", "matches", n)
	}
	if s.stores.pool != nil {
		// Their players may queue again at once, rather than when the
		// matches' time would have been up.
		for _, cp := range orphans[:n] {
			players := make([]string, len(cp.Players))
			for i, p := range cp.Players {
				players[i] = p.PlayerID
			}
			if ferr := s.stores.pool.Free(ctx, cp.MatchID, players); ferr != nil {
				return errors.Join(err, ferr)
			}
		}
	}
	return err
}

// errNotResumable: the match has no live state to resume from (an arena
// match, or a game whose state expired).
var errNotResumable = errors.New("no live state to resume from")

// resume resumes the orphaned match cp here if its live state is in Redis
// and its game can be restored.
func (s *server) resume(ctx context.Context, manager *match.Manager, cp match.Checkpoint) error {
	if s.stores.loadGame == nil {
		return errNotResumable
	}
	g, found, err := s.stores.loadGame(ctx, cp.MatchID)
	switch {
	case err != nil:
		return fmt.Errorf("read the live state: %w", err)
	case !found:
		return errNotResumable
	}
	return manager.Resume(g, cp.CreatedAt)
}

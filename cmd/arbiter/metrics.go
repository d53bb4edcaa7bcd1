package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/api"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/netcode"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus metrics, served at GET /metrics on the main listener (docs/rest.md).
//
// The endpoint has no authentication, like /healthz: it reveals load and
// traffic but no player data. Operators should keep it off the public
// internet — block /metrics at the reverse proxy or load balancer and let
// only the Prometheus scraper through.
//
// Two kinds of metric live here. Histograms (tick duration and lateness,
// matchmaking waits) are observed as things happen, through the hooks match
// and matchmaker offer. Everything else is read at scrape time from the
// counters the packages already keep (match.Manager.Stats,
// netcode.Server.Stats, ...) by serverCollector, so the hot paths pay
// nothing for metrics beyond the atomic adds they do anyway.

// Histogram buckets, in seconds.
var (
	// tickBuckets are fine-grained from 10 µs to 10 ms, where a healthy
	// tick's work lies (a 10-player arena tick is a few µs of work plus
	// the snapshot's fan-out), then coarse up to a whole 60 Hz period and beyond.
	tickBuckets = []float64{
		0.00001, 0.00002, 0.00003, 0.00005, 0.000075,
		0.0001, 0.0002, 0.0003, 0.0005, 0.00075,
		0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
		0.01, 0.0167, 0.025, 0.05, 0.1,
	}
	// latenessBuckets: a tick starts a timer's wake-up late (tens of µs)
	// when all is well; a period or more late when the loop stalls.
	latenessBuckets = []float64{
		0.00005, 0.0001, 0.0002, 0.0005,
		0.001, 0.002, 0.005, 0.01, 0.0167, 0.025, 0.05, 0.1, 0.25, 1,
	}
	// waitBuckets: matchmaking waits, from instant to the ticket TTL.
	waitBuckets = []float64{0.1, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}
)

// metrics is the server's Prometheus registry and the observers it hands to
// match and matchmaker. It uses its own registry, not the global default, so
// that tests can run several servers in one process.
type metrics struct {
	reg   *prometheus.Registry
	ticks tickMetrics
	waits *prometheus.HistogramVec
	// waitBy holds waits' child per configured mode, resolved once so that
	// observeWait does no label lookup. Read-only after newMetrics.
	waitBy map[string]prometheus.Observer
}

// newMetrics returns the registry with the Go and process collectors and
// the histograms; watch adds the rest once the server's parts exist.
func newMetrics(modes map[string]match.Mode) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ticks: tickMetrics{
			duration: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "arbiter_tick_duration_seconds",
				Help:    "Time a room took to run one tick: inputs, world step, snapshot encoding and fan-out to the players' sockets.",
				Buckets: tickBuckets,
			}),
			lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "arbiter_tick_lateness_seconds",
				Help:    "How long after its deadline each tick started.",
				Buckets: latenessBuckets,
			}),
			actions: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name:    "arbiter_action_duration_seconds",
				Help:    "Time from an action's arrival (a chess move) to its answer handed to the players' connections: the new State, or Rejected.",
				Buckets: tickBuckets,
			}),
		},
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "arbiter_matchmaking_wait_seconds",
			Help:    "How long matched tickets searched, by mode.",
			Buckets: waitBuckets,
		}, []string{"mode"}),
		waitBy: make(map[string]prometheus.Observer, len(modes)),
	}
	for name := range modes {
		m.waitBy[name] = m.waits.WithLabelValues(name)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.ticks.duration, m.ticks.lateness, m.ticks.actions, m.waits,
	)
	return m
}

// observeWait is the matchmaker's Config.ObserveWait.
func (m *metrics) observeWait(mode string, waited time.Duration) {
	o, ok := m.waitBy[mode]
	if !ok {
		o = m.waits.WithLabelValues(mode)
	}
	o.Observe(waited.Seconds())
}

// watch registers the scrape-time collectors over the server's parts.
func (m *metrics) watch(manager *match.Manager, mm *matchmaker.Matchmaker, net *netcode.Server, rest *api.Server, st *stores) {
	m.reg.MustRegister(newServerCollector(manager, mm, net, rest), storeCollector{st})
}

// handler serves the registry in the Prometheus text (or OpenMetrics)
// format. A collector failing does not fail the scrape: what could be
// gathered is served and the error is logged and counted.
func (m *metrics) handler(log *slog.Logger) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return promhttp.InstrumentMetricHandler(m.reg, h)
}

// tickMetrics is the rooms' match.TickObserver: one pair of histograms
// shared by every room (histograms are safe for concurrent use). Observing
// does not allocate.
type tickMetrics struct {
	duration, lateness prometheus.Histogram
	actions            prometheus.Histogram
}

// ObserveAction implements match.ActionObserver.
func (t tickMetrics) ObserveAction(latency time.Duration) {
	t.actions.Observe(latency.Seconds())
}

// ObserveTick implements match.TickObserver.
func (t tickMetrics) ObserveTick(duration, lateness time.Duration) {
	t.duration.Observe(duration.Seconds())
	t.lateness.Observe(lateness.Seconds())
}

// serverCollector reads the server's counters at scrape time. Each value is
// read atomically, but a scrape is not one consistent snapshot of all of
// them, which Prometheus does not need.
type serverCollector struct {
	manager *match.Manager
	mm      *matchmaker.Matchmaker
	net     *netcode.Server
	rest    *api.Server
	// reasons is the protocol's close vocabulary, every reason netcode
	// counts a session's end under: each is reported, even at zero.
	reasons []arbiterv1.CloseReason
}

func newServerCollector(manager *match.Manager, mm *matchmaker.Matchmaker, net *netcode.Server, rest *api.Server) *serverCollector {
	return &serverCollector{manager: manager, mm: mm, net: net, rest: rest, reasons: arbiterv1.CloseReasons()}
}

var (
	descRooms = prometheus.NewDesc("arbiter_rooms",
		"Rooms in the match directory, by status: waiting for players or running.", []string{"status"}, nil)
	descTicks = prometheus.NewDesc("arbiter_ticks_total",
		"Ticks run by all rooms.", nil, nil)
	descOverruns = prometheus.NewDesc("arbiter_tick_overruns_total",
		"Tick-loop wake-ups that found more than one tick due (the loop fell behind).", nil, nil)
	descSkipped = prometheus.NewDesc("arbiter_ticks_skipped_total",
		"Ticks dropped because a room fell further behind than its catch-up cap.", nil, nil)
	descInputs = prometheus.NewDesc("arbiter_inputs_total",
		"Player inputs by outcome: applied, invalid (failed the game's validation: a violation), stale (seq not above the last processed, or repeated: ignored) or surplus (dropped unapplied, oldest first, to keep the player's backlog short: never a violation).",
		[]string{"result"}, nil)
	descSaveFailures = prometheus.NewDesc("arbiter_game_save_failures_total",
		"Changes of an event game (a chess move) the live store did not save: it failed, or did not answer within the room's save timeout (2 s). Each was sent to the players anyway; the game goes on, without that change's durability.", nil, nil)
	descKicks = prometheus.NewDesc("arbiter_kicks_total",
		"Players removed from a match for cheating.", nil, nil)
	descSnapFrames = prometheus.NewDesc("arbiter_snapshot_frames_total",
		"Snapshot frames offered to connected players (one per player per tick); a newer one replaces one not yet written.", nil, nil)
	descSnapBytes = prometheus.NewDesc("arbiter_snapshot_bytes_total",
		"Bytes of the snapshot frames offered to connected players, each player's counted in its encoding: full, or the delta from the previous tick for a player who asked for deltas.", nil, nil)
	descSnapKeys = prometheus.NewDesc("arbiter_snapshot_keys_total",
		"Snapshots written to connections that take deltas as keys (the whole state, from nothing) rather than deltas: on a connection's first snapshot, and after the server replaced snapshots the client did not take in time.", nil, nil)
	descTickReads = prometheus.NewDesc("arbiter_ws_tick_reads_total",
		"Connections whose socket their match took over to read it at its ticks (--tick-reads), handed back since or not.", nil, nil)
	descWriters = prometheus.NewDesc("arbiter_ws_writers",
		"WebSocket sessions' writer goroutines running now. A session has one only while a frame must wait to be written (its socket full, frames queued behind others, a close); most frames are written at once by the goroutine that sends them.", nil, nil)
	descWriterStarts = prometheus.NewDesc("arbiter_ws_writer_starts_total",
		"Writer goroutines started for WebSocket sessions: times a frame had to wait to be written.", nil, nil)
	descReactorReads = prometheus.NewDesc("arbiter_ws_reactor_reads_total",
		"Connections of event-driven matches (chess) read from their first byte by the server's epoll reactor rather than by a goroutine each (--tick-reads; Linux), handed back since or not.", nil, nil)
	descEventsDropped = prometheus.NewDesc("arbiter_anticheat_events_dropped_total",
		"Anti-cheat events lost because the queue to the store was full.", nil, nil)
	descSettled = prometheus.NewDesc("arbiter_ratings_settled_total",
		"Match results recorded and rated by the ledger.", nil, nil)
	descSettleErrors = prometheus.NewDesc("arbiter_ratings_settle_errors_total",
		"Match results the ledger failed to record at the match's end; they went out without rating changes and were queued to be recorded again.", nil, nil)
	descResettled = prometheus.NewDesc("arbiter_ratings_resettled_total",
		"Queued match results recorded on a later try.", nil, nil)
	descSettleLost = prometheus.NewDesc("arbiter_ratings_settle_lost_total",
		"Match results never recorded: the retry queue was full, or the server stopped first.", nil, nil)
	descClaims = prometheus.NewDesc("arbiter_matchmaking_claims_total",
		"Groups this server tried to claim from the queue shared through Redis: won, or lost because a ticket was already taken, cancelled or expired.",
		[]string{"result"}, nil)
	descTakeovers = prometheus.NewDesc("arbiter_matchmaking_takeovers_total",
		"Groups left to the server of their newest ticket and claimed here after it did not within a second.", nil, nil)
	descQueue = prometheus.NewDesc("arbiter_matchmaking_queue_tickets",
		"Tickets searching in the matchmaking queue, by mode.", []string{"mode"}, nil)
	descSessions = prometheus.NewDesc("arbiter_ws_sessions",
		"WebSocket game sessions open now, closing ones included (a closing session reads and discards for up to a second, until the client has closed too).", nil, nil)
	descUpgrades = prometheus.NewDesc("arbiter_ws_upgrades_total",
		"WebSocket upgrade requests to /v1/play by result: accepted; refused with 401 (missing or bad join token); refused_per_ip with 429 (too many connections from the address); refused_full with 503 (connection cap reached); refused_origin with 403 (a browser page whose origin is neither listed in --cors-origins nor the server's own).",
		[]string{"result"}, nil)
	descCloses = prometheus.NewDesc("arbiter_ws_closes_total",
		"WebSocket sessions closed, by reason ("+string(arbiterv1.CloseSlowConsumer)+": the client did not take its bytes fast enough).",
		[]string{"reason"}, nil)
	descOriginRefused = prometheus.NewDesc("arbiter_http_origin_refused_total",
		"REST requests answered 403 origin_not_allowed, preflights included: from a browser page whose origin is neither listed in --cors-origins nor the server's own. WebSocket upgrades refused so are in arbiter_ws_upgrades_total{result=\"refused_origin\"}.", nil, nil)
	descPending = prometheus.NewDesc("arbiter_ws_pending_send_bytes",
		"Bytes queued to WebSocket sessions and not yet written.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descRooms, descTicks, descOverruns, descSkipped, descInputs, descSaveFailures, descKicks,
		descSnapFrames, descSnapBytes, descSnapKeys, descTickReads, descReactorReads, descWriters, descWriterStarts, descEventsDropped, descSettled, descSettleErrors, descResettled, descSettleLost,
		descQueue, descClaims, descTakeovers, descSessions, descUpgrades, descCloses, descPending, descOriginRefused,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	waiting, running := c.manager.RoomsByStatus()
	gauge(descRooms, float64(waiting), match.StatusWaiting)
	gauge(descRooms, float64(running), match.StatusRunning)
	st := &c.manager.Stats
	counter(descTicks, st.Ticks.Load())
	counter(descOverruns, st.Overruns.Load())
	counter(descSkipped, st.Skipped.Load())
	counter(descInputs, st.InputsApplied.Load(), "applied")
	counter(descInputs, st.InputsInvalid.Load(), "invalid")
	counter(descInputs, st.InputsStale.Load(), "stale")
	counter(descInputs, st.InputsSurplus.Load(), "surplus")
	counter(descSaveFailures, st.SaveErrors.Load())
	counter(descKicks, st.Kicks.Load())
	counter(descSnapFrames, st.SnapshotFrames.Load())
	counter(descSnapBytes, st.SnapshotBytes.Load())
	counter(descEventsDropped, c.manager.EventsDropped.Load())
	counter(descSettled, c.manager.Settled.Load())
	counter(descSettleErrors, c.manager.SettleErrors.Load())
	counter(descResettled, c.manager.Resettled.Load())
	counter(descSettleLost, c.manager.SettleLost.Load())

	counter(descClaims, c.mm.ClaimsWon.Load(), "won")
	counter(descClaims, c.mm.ClaimsLost.Load(), "lost")
	counter(descTakeovers, c.mm.Takeovers.Load())
	for mode, n := range c.mm.QueueSizes() {
		gauge(descQueue, float64(n), mode)
	}

	ns := &c.net.Stats
	gauge(descSessions, float64(ns.Active.Load()))
	counter(descSnapKeys, ns.SnapshotKeys.Load())
	counter(descTickReads, ns.TickReads.Load())
	gauge(descWriters, float64(ns.Writers.Load()))
	counter(descWriterStarts, ns.WriterStarts.Load())
	counter(descReactorReads, ns.ReactorReads.Load())
	counter(descUpgrades, ns.Accepted.Load(), "accepted")
	counter(descUpgrades, ns.Refused.Load(), "refused")
	counter(descUpgrades, ns.RefusedPerIP.Load(), "refused_per_ip")
	counter(descUpgrades, ns.RefusedFull.Load(), "refused_full")
	counter(descUpgrades, ns.RefusedOrigin.Load(), "refused_origin")
	counter(descOriginRefused, c.rest.Stats.RefusedOrigin.Load())
	for _, r := range c.reasons {
		counter(descCloses, ns.Closes(r), r.String())
	}
	gauge(descPending, float64(c.net.PendingBytes()))
}

var (
	descStoreUp = prometheus.NewDesc("arbiter_store_up",
		"Whether the live store was ready at scrape time (1) or not (0): it answered a ping and, with Postgres behind Redis, Redis was not being re-warmed after losing its data.", nil, nil)
	descRewarms = prometheus.NewDesc("arbiter_store_rewarms_total",
		"Times Redis was found to have lost its data while the server ran (its warm marker gone) and was warmed again from Postgres: detected, completed, or attempts that failed (retried).",
		[]string{"result"}, nil)
	descBacklog = prometheus.NewDesc("arbiter_archive_backlog_records",
		"Records (players, match results, anti-cheat events) waiting in Redis for the Postgres archive.", nil, nil)
	descArchived = prometheus.NewDesc("arbiter_archiver_records_total",
		"Records the archivers wrote to Postgres and acknowledged.", nil, nil)
	descArchiveBatches = prometheus.NewDesc("arbiter_archiver_batches_total",
		"Transactions the archivers committed.", nil, nil)
	descArchiveFailures = prometheus.NewDesc("arbiter_archiver_failures_total",
		"Failed archiver reads, writes and acknowledgements; each is retried after a backoff.", nil, nil)
	descArchiveReclaimed = prometheus.NewDesc("arbiter_archiver_reclaimed_total",
		"Records taken over from an archiver that died before acknowledging them.", nil, nil)
	descArchiveDead = prometheus.NewDesc("arbiter_archiver_dead_letters_total",
		"Undecodable records moved to the dead-letter stream.", nil, nil)
	descCheckpoints = prometheus.NewDesc("arbiter_checkpoints_total",
		"Match checkpoints by outcome: written to Redis; superseded by a newer one of the same match before being written; dropped because too many matches were waiting.",
		[]string{"result"}, nil)
	descCheckpointFailures = prometheus.NewDesc("arbiter_checkpoint_flush_failures_total",
		"Checkpoint flushes Redis refused; their checkpoints are written at the next flush.", nil, nil)
	descGameSaves = prometheus.NewDesc("arbiter_game_saves_total",
		"Live-game saves (a chess move's state) by outcome: answered by Redis (written, or refused because another server took the game over); refused at once because 10,000 saves were waiting.",
		[]string{"result"}, nil)
	descGameSavePipelines = prometheus.NewDesc("arbiter_game_save_pipelines_total",
		"Pipelines the live-game save writer sent to Redis; answered saves / pipelines is the mean batch.", nil, nil)
)

// storeProbeTimeout bounds the store pings a scrape makes.
const storeProbeTimeout = time.Second

// storeCollector reports the stores: whether the live store is ready, the
// archive backlog in Redis, the archiver's counters and the re-warms.
type storeCollector struct{ st *stores }

// Describe implements prometheus.Collector.
func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreUp, descBacklog, descArchived, descArchiveBatches, descArchiveFailures, descArchiveReclaimed, descArchiveDead, descCheckpoints, descCheckpointFailures, descGameSaves, descGameSavePipelines, descRewarms} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), storeProbeTimeout)
	defer cancel()
	up := 1.0
	if c.st.ready(ctx) != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
	if c.st.backlog != nil && up == 1 {
		if n, err := c.st.backlog(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(n))
		}
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if cp := c.st.checkpoints; cp != nil {
		counter(descCheckpoints, cp.Stats.Written.Load(), "written")
		counter(descCheckpoints, cp.Stats.Superseded.Load(), "superseded")
		counter(descCheckpoints, cp.Stats.Dropped.Load(), "dropped")
		counter(descCheckpointFailures, cp.Stats.Failures.Load())
		counter(descGameSaves, cp.Stats.GameSaves.Load(), "answered")
		counter(descGameSaves, cp.Stats.SavesRefused.Load(), "refused")
		counter(descGameSavePipelines, cp.Stats.SaveBatches.Load())
	}
	if w := c.st.warmer; w != nil {
		counter(descRewarms, w.Stats.Detected.Load(), "detected")
		counter(descRewarms, w.Stats.Rewarmed.Load(), "completed")
		counter(descRewarms, w.Stats.Failures.Load(), "failed")
	}
	if len(c.st.archivers) > 0 {
		var archived, batches, failures, reclaimed, dead uint64
		for _, a := range c.st.archivers {
			archived += a.Stats.Archived.Load()
			batches += a.Stats.Batches.Load()
			failures += a.Stats.Failures.Load()
			reclaimed += a.Stats.Reclaimed.Load()
			dead += a.Stats.DeadLettered.Load()
		}
		counter(descArchived, archived)
		counter(descArchiveBatches, batches)
		counter(descArchiveFailures, failures)
		counter(descArchiveReclaimed, reclaimed)
		counter(descArchiveDead, dead)
	}
}

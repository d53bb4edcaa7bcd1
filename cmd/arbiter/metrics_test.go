package main

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one parsed GET /metrics.
type scrape map[string]*dto.MetricFamily

func (ts *testServer) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: status %d, Content-Type %q; want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value returns the sample of family name whose labels include the given
// name, value pairs: a counter's or gauge's value, a histogram's count.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	mf, ok := s[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// must is value for a sample that has to be there.
func (s scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.value(name, labels...)
	if !ok {
		t.Fatalf("/metrics has no %s%v", name, labels)
	}
	return v
}

// pollMetrics scrapes until cond holds, failing after timeout.
func (ts *testServer) pollMetrics(t *testing.T, what string, timeout time.Duration, cond func(scrape) bool) scrape {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := ts.scrape(t)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics: %s not reached within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond) // polling the server's counters
	}
}

// TestMetrics plays a duel against the real server and checks what GET
// /metrics reports before, during and after it.
func TestMetrics(t *testing.T) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "3s")

	before := ts.scrape(t)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "arbiter_tick_duration_seconds"} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	// Every reason of the protocol's vocabulary is reported, even at zero.
	for _, r := range arbiterv1.CloseReasons() {
		if v, ok := before.value("arbiter_ws_closes_total", "reason", r.String()); !ok || v != 0 {
			t.Errorf("arbiter_ws_closes_total{reason=%q} = %v, %v; want 0, true", r, v, ok)
		}
	}
	if got := before.must(t, "arbiter_tick_duration_seconds"); got != 0 {
		t.Errorf("tick duration count before any match = %v, want 0", got)
	}

	alice, bob := ts.guest(t, "alice"), ts.guest(t, "bob")
	tickets := ts.queue(t, "duel", alice, bob)
	players := []*player{connect(t, tickets[0].WSURL, 0), connect(t, tickets[1].WSURL, 0)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Go(func() { p.play(stop, i*3) })
	}
	defer wg.Wait()
	defer close(stop)

	// During play: the room runs, both sessions are open, and the tick
	// histogram moves between two scrapes.
	during := ts.pollMetrics(t, "a running room with inputs applied", 5*time.Second, func(s scrape) bool {
		running, _ := s.value("arbiter_rooms", "status", "running")
		applied, _ := s.value("arbiter_inputs_total", "result", "applied")
		return running == 1 && applied > 0
	})
	if got := during.must(t, "arbiter_ws_sessions"); got != 2 {
		t.Errorf("arbiter_ws_sessions = %v during play, want 2", got)
	}
	ticks := during.must(t, "arbiter_tick_duration_seconds")
	if ticks == 0 {
		t.Errorf("tick duration count = 0 while a room runs")
	}
	// A scrape reads the two histograms one after the other while the room
	// ticks: they may differ by a tick or two here, and must agree once
	// the room has stopped (checked below).
	if got := during.must(t, "arbiter_tick_lateness_seconds"); got < ticks-2 || got > ticks+2 {
		t.Errorf("tick lateness count = %v, duration count = %v; want within 2 of each other", got, ticks)
	}
	if got := during.must(t, "arbiter_snapshot_bytes_total"); got <= 0 {
		t.Errorf("arbiter_snapshot_bytes_total = %v, want > 0", got)
	}
	if got := during.must(t, "arbiter_matchmaking_wait_seconds", "mode", "duel"); got != 2 {
		t.Errorf("matchmaking wait count for duel = %v, want 2", got)
	}
	ts.pollMetrics(t, "the tick count moving", 5*time.Second, func(s scrape) bool {
		v, _ := s.value("arbiter_tick_duration_seconds")
		return v > ticks
	})

	// After the match: no rooms, both sessions closed as match_over, the
	// result rated. A close is counted when it begins; the session stays
	// open until the client has closed too (or the linger passed). The
	// writers the closes started have ended.
	after := ts.pollMetrics(t, "the match over, its sessions closed and their writers ended", 10*time.Second, func(s scrape) bool {
		closed, _ := s.value("arbiter_ws_closes_total", "reason", "match_over")
		open, _ := s.value("arbiter_ws_sessions")
		writers, ok := s.value("arbiter_ws_writers")
		return closed == 2 && open == 0 && ok && writers == 0
	})
	if d, l := after.must(t, "arbiter_tick_duration_seconds"), after.must(t, "arbiter_tick_lateness_seconds"); d != l {
		t.Errorf("after the match: tick duration count = %v, lateness count = %v; want equal", d, l)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"arbiter_rooms", []string{"status", "running"}, 0},
		{"arbiter_rooms", []string{"status", "waiting"}, 0},
		{"arbiter_ws_sessions", nil, 0},
		{"arbiter_ws_upgrades_total", []string{"result", "accepted"}, 2},
		{"arbiter_ws_upgrades_total", []string{"result", "refused_full"}, 0},
		{"arbiter_ratings_settled_total", nil, 1},
		{"arbiter_ratings_settle_errors_total", nil, 0},
		{"arbiter_matchmaking_queue_tickets", []string{"mode", "duel"}, 0},
		{"arbiter_kicks_total", nil, 0},
		{"arbiter_game_save_failures_total", nil, 0},
		{"arbiter_inputs_total", []string{"result", "invalid"}, 0},
		{"arbiter_anticheat_events_dropped_total", nil, 0},
		{"arbiter_ws_tick_reads_total", nil, 2},    // the arena reads both players at its ticks
		{"arbiter_ws_reactor_reads_total", nil, 0}, // and the reactor none
	} {
		if got := after.must(t, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	frames, bytes := after.must(t, "arbiter_snapshot_frames_total"), after.must(t, "arbiter_snapshot_bytes_total")
	if ticks := after.must(t, "arbiter_ticks_total"); frames < ticks || frames > 2*ticks || bytes < frames {
		t.Errorf("snapshot frames %v, bytes %v after %v ticks; want frames in [ticks, 2·ticks], bytes ≥ frames", frames, bytes, ticks)
	}
	// Both players take deltas (the client library's default): a key
	// each to begin with, deltas after that unless a snapshot was skipped.
	if keys := after.must(t, "arbiter_snapshot_keys_total"); keys < 2 || keys > frames/2 {
		t.Errorf("arbiter_snapshot_keys_total = %v of %v snapshots; want the two players' first, and few more", keys, frames)
	}

	problems, err := testutil.GatherAndLint(ts.metrics.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestObserversDoNotAllocate: the tick observer runs on every tick of every
// room, and the wait observer under the matchmaker's lock.
func TestObserversDoNotAllocate(t *testing.T) {
	m := newMetrics(mustRegister(t).modes)
	var obs match.TickObserver = m.ticks
	if n := testing.AllocsPerRun(1000, func() { obs.ObserveTick(1500*time.Microsecond, 20*time.Microsecond) }); n != 0 {
		t.Errorf("ObserveTick allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { m.observeWait("duel", 3*time.Second) }); n != 0 {
		t.Errorf("observeWait allocates %v times per call, want 0", n)
	}
}

// TestStoreMetrics: on Redis and Postgres, /metrics shows the live store
// up, the archive backlog draining as the archiver writes, and the match
// directory's checkpoints.
func TestStoreMetrics(t *testing.T) {
	ts := startServer(t, storeArgs(t, storeBoth)...)
	ts.guest(t, "alice")
	ts.guest(t, "bob")
	if _, err := ts.manager.Create("duel", []string{"alice", "bob"}); err != nil { // a waiting room checkpoints at once
		t.Fatal(err)
	}
	s := ts.pollMetrics(t, "two players archived and a checkpoint written", 10*time.Second, func(s scrape) bool {
		archived, _ := s.value("arbiter_archiver_records_total")
		backlog, _ := s.value("arbiter_archive_backlog_records")
		written, _ := s.value("arbiter_checkpoints_total", "result", "written")
		return archived >= 2 && backlog == 0 && written >= 1
	})
	if got := s.must(t, "arbiter_store_up"); got != 1 {
		t.Errorf("arbiter_store_up = %v, want 1", got)
	}
	if got := s.must(t, "arbiter_archiver_failures_total"); got != 0 {
		t.Errorf("arbiter_archiver_failures_total = %v, want 0", got)
	}
	problems, err := testutil.GatherAndLint(ts.metrics.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

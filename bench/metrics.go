package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The server metrics a Report is built from (cmd/arbiter/metrics.go).
const (
	metricCPU      = "process_cpu_seconds_total"        // utime+stime, seconds
	metricRSS      = "process_resident_memory_bytes"    // gauge
	metricTick     = "arbiter_tick_duration_seconds"    // histogram over every room's ticks
	metricAction   = "arbiter_action_duration_seconds"  // histogram: an action's arrival to its answer handed to the connections
	metricOverruns = "arbiter_tick_overruns_total"      // counter
	metricSkipped  = "arbiter_ticks_skipped_total"      // counter: ticks a room that fell behind did not run
	metricInputs   = "arbiter_inputs_total"             // counter, by result
	metricKicks    = "arbiter_kicks_total"              // counter
	metricCloses   = "arbiter_ws_closes_total"          // counter, by reason
	metricSaveFail = "arbiter_game_save_failures_total" // counter: event-game changes not saved
)

// serverSample is one scrape of the server's /metrics.
type serverSample struct {
	At      time.Time
	CPU     float64 // seconds of CPU since the process started
	RSS     float64 // bytes
	Tick    []promBucket
	TickSum float64 // seconds
	// Action is the histogram of every action's arrival (a chess move) to
	// its answer handed to the players' connections, all rooms together.
	Action   []promBucket
	Overruns float64
	Skipped  float64
	HasCPU   bool // the process collector is there (Linux only)

	Kicks float64
	// SaveFailures counts the moves the live store did not save (in
	// time); HasSaveFailures says whether the server exports the count.
	SaveFailures    float64
	HasSaveFailures bool
	Inputs          map[string]float64 // by result: applied, invalid, stale, surplus
	Closes          map[string]float64 // WebSocket closes by reason
}

// scrape fetches and parses url (the server's /metrics).
func scrape(ctx context.Context, hc *http.Client, url string) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverSample{}, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := hc.Do(req)
	if err != nil {
		return serverSample{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverSample{}, fmt.Errorf("scrape %s: status %s", url, resp.Status)
	}
	s, err := parseMetrics(resp.Body)
	if err != nil {
		return serverSample{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	s.At = time.Now()
	return s, nil
}

// parseMetrics reads the Prometheus text format and keeps what a Report
// needs. Missing metrics are left zero (HasCPU says whether the process
// collector answered).
func parseMetrics(r io.Reader) (serverSample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return serverSample{}, err
	}
	var s serverSample
	if v, ok := scalar(fams[metricCPU]); ok {
		s.CPU, s.HasCPU = v, true
	}
	s.RSS, _ = scalar(fams[metricRSS])
	s.Overruns, _ = scalar(fams[metricOverruns])
	s.Skipped, _ = scalar(fams[metricSkipped])
	s.Kicks, _ = scalar(fams[metricKicks])
	s.SaveFailures, s.HasSaveFailures = scalar(fams[metricSaveFail])
	s.Inputs = byLabel(fams[metricInputs], "result")
	s.Closes = byLabel(fams[metricCloses], "reason")
	s.Tick, s.TickSum = histogramBuckets(fams[metricTick])
	s.Action, _ = histogramBuckets(fams[metricAction])
	return s, nil
}

// histogramBuckets returns the cumulative buckets of a histogram family's
// single (or first) series, ending with +Inf, and its sum; nil if the
// family is missing.
func histogramBuckets(f *dto.MetricFamily) ([]promBucket, float64) {
	if f == nil || len(f.GetMetric()) == 0 {
		return nil, 0
	}
	h := f.GetMetric()[0].GetHistogram()
	var out []promBucket
	for _, b := range h.GetBucket() {
		out = append(out, promBucket{UpperBound: b.GetUpperBound(), Count: float64(b.GetCumulativeCount())})
	}
	if n := len(out); n == 0 || !math.IsInf(out[n-1].UpperBound, 1) {
		out = append(out, promBucket{UpperBound: math.Inf(1), Count: float64(h.GetSampleCount())})
	}
	return out, h.GetSampleSum()
}

// scalar returns the value of a counter, gauge or untyped family's single
// (or first) series.
func scalar(f *dto.MetricFamily) (float64, bool) {
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, false
	}
	m := f.GetMetric()[0]
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	case m.Untyped != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// byLabel returns a counter family's values by the value of one label.
func byLabel(f *dto.MetricFamily, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

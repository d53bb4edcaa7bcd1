package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBucketOfBounds(t *testing.T) {
	for _, v := range []int64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 33_333_333, 1 << 39, 1<<40 - 1} {
		i := bucketOf(v)
		lo, hi := bucketBounds(i)
		if v < lo || v >= hi {
			t.Errorf("bucketOf(%d) = %d with bounds [%d, %d), want v inside", v, i, lo, hi)
		}
		if v >= subCount && float64(hi-lo) > float64(v)/subCount {
			t.Errorf("bucket of %d is %d wide, want ≤ v/%d", v, hi-lo, subCount)
		}
	}
	if got := bucketOf(math.MaxInt64); got != numBuckets-1 {
		t.Errorf("bucketOf(MaxInt64) = %d, want the last bucket %d", got, numBuckets-1)
	}
	if got := bucketOf(-5); got != 0 {
		t.Errorf("bucketOf(-5) = %d, want 0", got)
	}
	// Buckets tile the line: each starts where the one before ends.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketBounds(i - 1)
		if lo, _ := bucketBounds(i); lo != prevHi {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, prevHi)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		give []time.Duration
		q    float64
		want time.Duration
	}{
		{name: "empty", give: nil, q: 0.5, want: 0},
		{name: "one", give: []time.Duration{33 * ms}, q: 0.99, want: 33 * ms},
		{name: "median of 1..100", give: seq(1, 100, ms), q: 0.5, want: 50 * ms},
		{name: "p99 of 1..100", give: seq(1, 100, ms), q: 0.99, want: 99 * ms},
		{name: "p100 is the max", give: seq(1, 100, ms), q: 1, want: 100 * ms},
		{name: "p0 is the min", give: seq(1, 100, ms), q: 0, want: 1 * ms},
		{name: "tiny values are exact", give: []time.Duration{3, 3, 7}, q: 0.5, want: 3},
		{name: "outlier in the tail", give: append(slices.Repeat([]time.Duration{10 * ms}, 99), time.Second), q: 0.99, want: 10 * ms},
	}
	for _, tt := range tests {
		var h histogram
		for _, d := range tt.give {
			h.Record(d)
		}
		got := h.Quantile(tt.q)
		if !near(got, tt.want, 1.0/64) {
			t.Errorf("%s: Quantile(%v) = %v, want %v ± 1.6%%", tt.name, tt.q, got, tt.want)
		}
	}
}

// TestHistogramVsSort compares quantiles with the exact ones of a sorted
// sample.
func TestHistogramVsSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	xs := make([]time.Duration, 10000)
	for i := range xs {
		xs[i] = time.Duration(r.ExpFloat64() * float64(20*time.Millisecond))
		h.Record(xs[i])
	}
	slices.Sort(xs)
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99, 0.999} {
		want := xs[int(math.Ceil(q*float64(len(xs))))-1]
		if got := h.Quantile(q); !near(got, want, 1.0/64) {
			t.Errorf("Quantile(%v) = %v, want %v ± 1.6%%", q, got, want)
		}
	}
	if h.Max() != xs[len(xs)-1] || h.Count() != uint64(len(xs)) {
		t.Errorf("Max, Count = %v, %d; want %v, %d", h.Max(), h.Count(), xs[len(xs)-1], len(xs))
	}
}

func TestHistogramRecordAllocs(t *testing.T) {
	var h histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(33 * time.Millisecond) }); n != 0 {
		t.Errorf("Record allocates %v times, want 0", n)
	}
}

func TestPromQuantile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		give []promBucket
		q    float64
		want float64
	}{
		{name: "empty", give: nil, q: 0.99, want: math.NaN()},
		{name: "no observations", give: []promBucket{{1, 0}, {inf, 0}}, q: 0.5, want: math.NaN()},
		{name: "first bucket starts at 0", give: []promBucket{{0.001, 10}, {inf, 10}}, q: 0.5, want: 0.0005},
		{name: "interpolates inside a bucket", give: []promBucket{{1, 50}, {2, 100}, {inf, 100}}, q: 0.75, want: 1.5},
		{name: "exact bucket edge", give: []promBucket{{1, 50}, {2, 100}, {inf, 100}}, q: 0.5, want: 1},
		{name: "in +Inf: highest finite bound", give: []promBucket{{1, 50}, {2, 60}, {inf, 100}}, q: 0.99, want: 2},
		{name: "unsorted input", give: []promBucket{{inf, 100}, {2, 100}, {1, 50}}, q: 0.75, want: 1.5},
		{name: "skips empty buckets", give: []promBucket{{1, 0}, {2, 0}, {4, 10}, {inf, 10}}, q: 0.5, want: 3},
	}
	for _, tt := range tests {
		got := promQuantile(tt.q, tt.give)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9) {
			t.Errorf("%s: promQuantile(%v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
	}
}

func TestPromBeyond(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		give []promBucket
		q    float64
		want bool
	}{
		{name: "empty", give: nil, q: 0.99, want: false},
		{name: "no observations", give: []promBucket{{1, 0}, {inf, 0}}, q: 0.99, want: false},
		{name: "inside", give: []promBucket{{1, 50}, {2, 100}, {inf, 100}}, q: 0.99, want: false},
		{name: "at the largest bound", give: []promBucket{{1, 50}, {2, 99}, {inf, 100}}, q: 0.99, want: false},
		{name: "beyond", give: []promBucket{{1, 50}, {2, 98}, {inf, 100}}, q: 0.99, want: true},
		{name: "median beyond", give: []promBucket{{1, 10}, {2, 40}, {inf, 100}}, q: 0.5, want: true},
		{name: "unsorted", give: []promBucket{{inf, 100}, {2, 98}, {1, 50}}, q: 0.99, want: true},
	}
	for _, tt := range tests {
		if got := promBeyond(tt.q, tt.give); got != tt.want {
			t.Errorf("%s: promBeyond(%v, %v) = %v, want %v", tt.name, tt.q, tt.give, got, tt.want)
		}
	}
}

func TestPromMaxBound(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		give []promBucket
		want float64
	}{
		{name: "empty", give: nil, want: math.NaN()},
		{name: "no observations", give: []promBucket{{1, 0}, {inf, 0}}, want: math.NaN()},
		{name: "highest non-empty bucket", give: []promBucket{{1, 5}, {2, 9}, {4, 9}, {inf, 9}}, want: 2},
		{name: "beyond every finite bound", give: []promBucket{{1, 5}, {2, 9}, {inf, 10}}, want: inf},
		{name: "unsorted input", give: []promBucket{{inf, 9}, {4, 9}, {2, 9}, {1, 5}}, want: 2},
	}
	for _, tt := range tests {
		got := promMaxBound(tt.give)
		if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && got != tt.want) {
			t.Errorf("%s: promMaxBound = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDeltaBuckets(t *testing.T) {
	inf := math.Inf(1)
	start := []promBucket{{1, 5}, {2, 8}, {inf, 10}}
	end := []promBucket{{1, 15}, {2, 28}, {4, 3}, {inf, 40}}
	want := []promBucket{{1, 10}, {2, 20}, {4, 3}, {inf, 30}}
	if got := deltaBuckets(start, end); !slices.Equal(got, want) {
		t.Errorf("deltaBuckets = %v, want %v", got, want)
	}
}

func TestParseMetrics(t *testing.T) {
	const text = `# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.6e+07
# TYPE arbiter_tick_overruns_total counter
arbiter_tick_overruns_total 3
# TYPE arbiter_tick_duration_seconds histogram
arbiter_tick_duration_seconds_bucket{le="0.001"} 90
arbiter_tick_duration_seconds_bucket{le="0.002"} 99
arbiter_tick_duration_seconds_bucket{le="+Inf"} 100
arbiter_tick_duration_seconds_sum 0.1
arbiter_tick_duration_seconds_count 100
# TYPE arbiter_action_duration_seconds histogram
arbiter_action_duration_seconds_bucket{le="0.0001"} 7
arbiter_action_duration_seconds_bucket{le="+Inf"} 8
arbiter_action_duration_seconds_sum 0.01
arbiter_action_duration_seconds_count 8
# TYPE arbiter_game_save_failures_total counter
arbiter_game_save_failures_total 2
`
	s, err := parseMetrics(stringsReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasCPU || s.CPU != 12.5 || s.RSS != 16e6 || s.Overruns != 3 || s.TickSum != 0.1 {
		t.Errorf("parseMetrics = %+v, want CPU 12.5, RSS 16e6, overruns 3, sum 0.1", s)
	}
	want := []promBucket{{0.001, 90}, {0.002, 99}, {math.Inf(1), 100}}
	if !slices.Equal(s.Tick, want) {
		t.Errorf("tick buckets = %v, want %v", s.Tick, want)
	}
	if !s.HasSaveFailures || s.SaveFailures != 2 {
		t.Errorf("save failures = %v (exported %v), want 2", s.SaveFailures, s.HasSaveFailures)
	}
	if want := []promBucket{{0.0001, 7}, {math.Inf(1), 8}}; !slices.Equal(s.Action, want) {
		t.Errorf("action buckets = %v, want %v", s.Action, want)
	}
}

func seq(from, to int, unit time.Duration) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*unit)
	}
	return out
}

// near reports whether got is within rel of want (relative), or both zero.
func near(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

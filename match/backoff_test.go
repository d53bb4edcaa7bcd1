package match

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// logRecorder is a slog.Handler that keeps what it handles, one line per
// record: "LEVEL msg key=value …".
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	level slog.Level
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// Lines returns the records so far and forgets them.
func (h *logRecorder) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.lines
	h.lines = nil
	return out
}

func pinned(r float64) func() float64 { return func() float64 { return r } }

func TestBackoffNext(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name string
		give Backoff
		want []time.Duration
	}{
		{"doubles up to max", Backoff{Min: 100 * ms, Max: time.Second}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"zero value", Backoff{}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second}},
		{"max below min", Backoff{Min: time.Second, Max: ms}, []time.Duration{time.Second, time.Second}},
		{"max not a doubling of min", Backoff{Min: 3 * ms, Max: 10 * ms}, []time.Duration{3 * ms, 6 * ms, 10 * ms, 10 * ms}},
		{"equal jitter, top draw", Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 0.5, Rand: pinned(0)}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 400 * ms}},
		{"equal jitter, mid draw", Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 0.5, Rand: pinned(0.5)}, []time.Duration{75 * ms, 150 * ms, 300 * ms, 300 * ms}},
		{"full jitter", Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 1, Rand: pinned(0.75)}, []time.Duration{25 * ms, 50 * ms, 100 * ms, 100 * ms}},
		{"jitter clamped to 1", Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: 7, Rand: pinned(0.75)}, []time.Duration{25 * ms, 50 * ms, 100 * ms, 100 * ms}},
		{"negative jitter is none", Backoff{Min: 100 * ms, Max: 400 * ms, Jitter: -1, Rand: pinned(0.75)}, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"huge max does not overflow", Backoff{Min: time.Duration(1) << 61, Max: time.Duration(1<<63 - 1)}, []time.Duration{1 << 61, 1 << 62, 1<<63 - 1, 1<<63 - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.give
			var got []time.Duration
			for range tt.want {
				got = append(got, b.Next())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Next() sequence (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackoffJitterBounds: with the real random source every wait lies
// within [(1−Jitter)·wait, wait] of the unjittered sequence.
func TestBackoffJitterBounds(t *testing.T) {
	for _, jitter := range []float64{0.25, 0.5, 1} {
		b := Backoff{Min: 10 * time.Millisecond, Max: time.Second, Jitter: jitter}
		ref := Backoff{Min: 10 * time.Millisecond, Max: time.Second}
		for i := range 200 {
			if i%20 == 0 {
				b.Reset()
				ref.Reset()
			}
			got, base := b.Next(), ref.Next()
			if lo := time.Duration((1 - jitter) * float64(base)); got < lo || got > base {
				t.Fatalf("jitter %v, attempt %d: Next() = %v, want within [%v, %v]", jitter, i, got, lo, base)
			}
		}
	}
}

func TestBackoffReset(t *testing.T) {
	b := Backoff{Min: time.Millisecond, Max: time.Second}
	for range 5 {
		b.Next()
	}
	b.Reset()
	if got := b.Next(); got != time.Millisecond {
		t.Errorf("Next() after Reset = %v, want %v", got, time.Millisecond)
	}
}

// TestRetrierLogsStateChanges: a long outage logs its start, a reminder a
// minute, and its end; every other attempt only at debug level, which the
// recorder here does not take.
func TestRetrierLogsStateChanges(t *testing.T) {
	clock := newFakeClock()
	rec := &logRecorder{level: slog.LevelInfo}
	r := NewRetrier("writer", RetrierConfig{
		Backoff: Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second},
		Clock:   clock,
		Logger:  slog.New(rec),
	})
	down := errors.New("connection refused")

	r.Succeeded() // healthy: nothing to say
	if lines := rec.Lines(); len(lines) != 0 {
		t.Fatalf("Succeeded while healthy logged %q", lines)
	}

	// 150 s of outage, retrying as told: 100ms, 200ms, …, then 5s each.
	var attempts int
	for start := clock.Now(); clock.Now().Sub(start) < 150*time.Second; attempts++ {
		wait := r.Failed(down)
		if !r.Failing() {
			t.Fatal("Failing() = false after Failed")
		}
		clock.Advance(wait)
	}
	want := []string{
		"WARN writer: failing; will retry retry_in=100ms err=connection refused",
		// 100ms … 3.2s (6.3s in all), then 5s each: the first reminder is
		// due at the attempt at ≥ 60s (6.3 + 11×5 = 61.3s, attempt 18),
		// the second at ≥ 121.3s (attempt 30).
		"WARN writer: still failing for=1m1.3s attempts=18 retry_in=5s err=connection refused",
		"WARN writer: still failing for=2m1.3s attempts=30 retry_in=5s err=connection refused",
	}
	if diff := cmp.Diff(want, rec.Lines()); diff != "" {
		t.Errorf("outage logs (-want +got):\n%s", diff)
	}

	r.Succeeded()
	r.Succeeded()
	want = []string{fmt.Sprintf("INFO writer: recovered after=%v failed_attempts=%d", 151300*time.Millisecond, attempts)}
	if diff := cmp.Diff(want, rec.Lines()); diff != "" {
		t.Errorf("recovery logs (-want +got):\n%s", diff)
	}
	if r.Failing() {
		t.Error("Failing() = true after Succeeded")
	}

	// The next outage starts again from Min and is logged again.
	if got := r.Failed(down); got != 100*time.Millisecond {
		t.Errorf("first wait of a new outage = %v, want 100ms", got)
	}
	if lines := rec.Lines(); len(lines) != 1 || !strings.HasPrefix(lines[0], "WARN writer: failing") {
		t.Errorf("new outage logged %q, want one failing line", lines)
	}
}

// TestRetrierDebugEveryAttempt: at debug level every attempt between the
// state changes is logged too.
func TestRetrierDebugEveryAttempt(t *testing.T) {
	clock := newFakeClock()
	rec := &logRecorder{level: slog.LevelDebug}
	r := NewRetrier("writer", RetrierConfig{Backoff: Backoff{Min: time.Second, Max: time.Second}, Clock: clock, Logger: slog.New(rec)})
	for range 3 {
		clock.Advance(r.Failed(errors.New("down")))
	}
	r.Succeeded()
	want := []string{
		"WARN writer: failing; will retry retry_in=1s err=down",
		"DEBUG writer: attempt failed attempts=2 retry_in=1s err=down",
		"DEBUG writer: attempt failed attempts=3 retry_in=1s err=down",
		"INFO writer: recovered after=3s failed_attempts=3",
	}
	if diff := cmp.Diff(want, rec.Lines()); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
}

// TestRetrierWait: Wait runs on the injected clock, and gives up when its
// context ends.
func TestRetrierWait(t *testing.T) {
	clock := newFakeClock()
	r := NewRetrier("writer", RetrierConfig{Clock: clock, Logger: discardLogger()})

	done := make(chan bool, 1)
	go func() { done <- r.Wait(t.Context(), time.Hour) }()
	clock.WaitArmed(1)
	clock.Advance(time.Hour)
	if !<-done {
		t.Error("Wait = false after its time passed, want true")
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- r.Wait(ctx, time.Hour) }()
	clock.WaitArmed(2)
	cancel()
	if <-done {
		t.Error("Wait = true after its context ended, want false")
	}
}

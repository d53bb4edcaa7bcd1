package match

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flakySettler fails its first failures calls, then records results.
type flakySettler struct {
	mu       sync.Mutex
	failures int
	settled  []string
	done     chan string
}

func (f *flakySettler) Settle(_ context.Context, res Result) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		return res, errors.New("store unreachable")
	}
	f.settled = append(f.settled, res.MatchID)
	f.done <- res.MatchID
	return res, nil
}

// TestResettle: a result the ledger fails to record at its room's end (a
// store outage) goes out unrated, is retried in the background until the
// store takes it, and is counted; one still queued when the manager stops
// is counted as lost.
func TestResettle(t *testing.T) {
	ledger := &flakySettler{failures: 3, done: make(chan string, 4)}
	m, err := NewManager(Config{Tokens: NewTokens([]byte("k")), Logger: discardLogger(), Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	if got := m.settle(Result{MatchID: "m1"}); got.MatchID != "m1" {
		t.Fatalf("settle = %+v", got)
	}
	if got := <-ledger.done; got != "m1" {
		t.Errorf("recorded %q, want m1", got)
	}
	// The retry counts its success just after the ledger returns.
	for deadline := time.Now().Add(5 * time.Second); m.Resettled.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // polling a counter
	}
	if m.SettleErrors.Load() != 1 || m.Resettled.Load() != 1 || m.Settled.Load() != 0 {
		t.Errorf("SettleErrors, Resettled, Settled = %d, %d, %d; want 1, 1, 0", m.SettleErrors.Load(), m.Resettled.Load(), m.Settled.Load())
	}

	// The store goes down for good: a result waits, and is lost at stop.
	ledger.mu.Lock()
	ledger.failures = 1 << 30
	ledger.mu.Unlock()
	m.settle(Result{MatchID: "m2"})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := m.SettleLost.Load(); got != 1 {
		t.Errorf("SettleLost = %d, want 1", got)
	}
	if len(ledger.settled) != 1 {
		t.Errorf("recorded %v, want only m1", ledger.settled)
	}
}

// outageSettler refuses results until its clock reaches up, then records
// them.
type outageSettler struct {
	clock *fakeClock
	up    time.Time
	done  chan string
}

func (o *outageSettler) Settle(_ context.Context, res Result) (Result, error) {
	if o.clock.Now().Before(o.up) {
		return res, errors.New("store unreachable")
	}
	o.done <- res.MatchID
	return res, nil
}

// TestResettleLogsOutageOnce: results queued during a 15 s store outage
// are retried on the injected clock; the outage is logged when it starts
// and when it ends, not at every attempt, and every result gets through.
func TestResettleLogsOutageOnce(t *testing.T) {
	clock := newFakeClock()
	ledger := &outageSettler{clock: clock, up: clock.Now().Add(15 * time.Second), done: make(chan string, 3)}
	rec := &logRecorder{level: slog.LevelInfo}
	m, err := NewManager(Config{Tokens: NewTokens([]byte("k")), Logger: slog.New(rec), Ledger: ledger, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for _, id := range []string{"m1", "m2", "m3"} {
		m.settle(Result{MatchID: id})
	}

	// Fire every retry's timer until the store is back.
	for armed := 1; clock.Now().Before(ledger.up); armed++ {
		clock.WaitArmed(armed)
		clock.FireNext()
	}
	var got []string
	for range 3 {
		got = append(got, <-ledger.done)
	}
	if !slices.Equal(got, []string{"m1", "m2", "m3"}) {
		t.Errorf("recorded %v, want m1 m2 m3 in order", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if n := m.Resettled.Load(); n != 3 {
		t.Errorf("Resettled = %d, want 3", n)
	}

	count := map[string]int{}
	lines := rec.Lines()
	for _, l := range lines {
		for _, msg := range []string{"result not settled", "result resettler: failing", "result resettler: still failing", "result resettler: recovered", "result settled after a retry"} {
			if strings.Contains(l, msg) {
				count[msg]++
			}
		}
	}
	want := map[string]int{
		"result not settled":           3, // one per match, at its end
		"result resettler: failing":    1,
		"result resettler: recovered":  1,
		"result settled after a retry": 3, // one per match
	}
	if diff := cmp.Diff(want, count); diff != "" || len(lines) != 8 {
		t.Errorf("log lines by message (-want +got):\n%s\nall lines:\n%s", diff, strings.Join(lines, "\n"))
	}
}

package match

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
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

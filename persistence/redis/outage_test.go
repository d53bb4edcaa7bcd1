package redis

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps what it handles at Info and
// above, one line per record: "LEVEL msg key=value …".
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

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

// checkOutageLogged asserts that lines are exactly one line starting with
// "WARN "+loop+": failing" followed by one starting with
// "INFO "+loop+": recovered": an outage logged when it starts and when it
// ends, and nothing in between.
func checkOutageLogged(t *testing.T, loop string, lines []string) {
	t.Helper()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "WARN "+loop+": failing") || !strings.HasPrefix(lines[1], "INFO "+loop+": recovered") {
		t.Errorf("outage logged %d lines, want the failure then the recovery:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// waitFor polls cond every 10ms until it holds, failing the test after
// within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // polling
	}
}

// withoutClientRetries turns off the Redis client's own retries in rawURL,
// so that a command to a Redis that is cut off fails at once rather than
// after about a second of retrying.
func withoutClientRetries(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("Redis URL: %v", err)
	}
	q := u.Query()
	q.Set("max_retries", "-1")
	u.RawQuery = q.Encode()
	return u.String()
}

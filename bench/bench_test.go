package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// startServer builds cmd/arbiter and runs it on a loopback port with limits
// opened up for one-host load, returning its base URL. The process is
// killed when the test ends.
func startServer(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "arbiter")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/arbiter-gg/arbiter/cmd/arbiter").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{
		"--addr", "127.0.0.1:0", "--token-secret", "bench-test",
		"--guest-rate", "1000", "--guest-burst", "1000", "--max-conns-per-ip", "1000",
		"--match-duration", "2m",
	}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"} // no ARBITER_ variables from the caller
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	addrRE := regexp.MustCompile(`msg="arbiter listening" addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	var addr string
	var logged []string
	for addr == "" && lines.Scan() {
		logged = append(logged, lines.Text())
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no listening line in the log:\n%s", strings.Join(logged, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }() // keep the pipe drained
	return "http://" + addr
}

// TestRun plays 20 clients (two ffa rooms) against the real server binary,
// paced by the client library and on a fixed ticker, and checks that every
// figure of the report is sane.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary; skipped with -short")
	}
	base := startServer(t, "--tick-rate", "30")
	for _, unpaced := range []bool{false, true} {
		name := "paced"
		if unpaced {
			name = "unpaced"
		}
		t.Run(name, func(t *testing.T) { testRun(t, base, unpaced) })
	}
}

func testRun(t *testing.T, base string, unpaced bool) {
	const tickRate = 30 // the server's
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var progress strings.Builder
	before := runtime.NumGoroutine()
	rep, err := Run(ctx, Config{
		BaseURL:  base,
		Clients:  20,
		Duration: 3 * time.Second,
		Warmup:   500 * time.Millisecond,
		TickRate: tickRate,
		Progress: &progress,
		Unpaced:  unpaced,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("report: %+v", rep)
	// Run leaves nothing behind: every client closed, every goroutine done.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines after Run, %d before", runtime.NumGoroutine(), before)
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the runtime
	}
	period := time.Second / tickRate

	if rep.Clients != 20 || rep.Dropped != 0 || rep.TickRate != tickRate {
		t.Errorf("clients %d, dropped %d, tick rate %d; want 20, 0, %d", rep.Clients, rep.Dropped, rep.TickRate, tickRate)
	}
	// The window runs between two /metrics scrapes, which a loaded machine
	// can slow; the point is that it is at least what was asked and ends.
	if rep.Window < 2.9 || rep.Window > 10 {
		t.Errorf("window = %.2fs, want 3s (at most 10s on a loaded machine)", rep.Window)
	}
	checkRates(t, rep)
	if rep.Inputs == 0 || rep.Acks == 0 {
		t.Errorf("inputs %d, timed acks %d; want both > 0", rep.Inputs, rep.Acks)
	}
	// Paced, no input arrives in a tick that already has one: the server
	// drops none, and the prediction stays exact. (A fixed ticker drifts
	// against the server's ticks, and two inputs meet now and then.)
	if !unpaced && rep.Corrections != 0 {
		t.Errorf("%d prediction corrections, want 0 (paced honest clients on loopback)", rep.Corrections)
	}
	if rep.AckP50 <= 0 || rep.AckP50 >= 10*period {
		t.Errorf("ack p50 = %v, want in (0, %v)", rep.AckP50, 10*period)
	}
	if rep.AckP99 < rep.AckP50 || rep.AckMax < rep.AckP99 {
		t.Errorf("ack p50 %v, p99 %v, max %v: want increasing", rep.AckP50, rep.AckP99, rep.AckMax)
	}
	// Every timed acknowledgement is split into its parts (but for a few
	// at the window's edges, where the two are switched one after the
	// other).
	ap := rep.AckParts
	if split := ap.Early + ap.OnTime + ap.LateOne + ap.LateMore; split > rep.Acks || split < rep.Acks*95/100 {
		t.Errorf("%d acknowledgements split into parts, want ≈ %d (all timed)", split, rep.Acks)
	}
	if !unpaced && ap.OnTime < rep.Acks/2 {
		t.Errorf("%d of %d acknowledgements at the tick the pacing aimed at, want most (paced on loopback)", ap.OnTime, rep.Acks)
	}
	// (No upper bound: a loaded machine delays snapshots by seconds.)
	if ap.DeliveryP50 > ap.DeliveryP99 || ap.DeliveryP99 > ap.DeliveryMax || ap.DeliveryMax <= 0 {
		t.Errorf("delivery p50 %v, p99 %v, max %v: want increasing, the max above 0", ap.DeliveryP50, ap.DeliveryP99, ap.DeliveryMax)
	}
	if rep.BytesPerClientSec <= 0 {
		t.Errorf("bytes/client/s = %v, want > 0", rep.BytesPerClientSec)
	}
	if rep.CPUPerClientTick <= 0 {
		t.Errorf("CPU µs/client-tick = %v, want > 0", rep.CPUPerClientTick)
	}
	if rep.RSS <= 0 {
		t.Errorf("RSS = %v, want > 0", rep.RSS)
	}
	// Two rooms (and the previous subtest's, until they end), 30 ticks a
	// second each, for ≈ 3 s: each tick run, or skipped by a room that
	// fell behind on a busy machine (and counted).
	if want := 2 * tickRate * 3; rep.Ticks+rep.Skipped < uint64(want)*8/10 {
		t.Errorf("ticks %d + skipped %d, want ≈ %d", rep.Ticks, rep.Skipped, want)
	}
	if rep.TickP99 <= 0 {
		t.Errorf("tick p99 = %v, want > 0", rep.TickP99)
	}
	if !strings.Contains(progress.String(), "joined 20/20") {
		t.Errorf("progress lines do not show every client joined:\n%s", progress.String())
	}
}

// checkRates checks the snapshots and inputs of a Run against the ticks
// the bots saw their rooms run in the window, not against the nominal tick
// rate over the wall-clock window: on a busy machine (CI runs every
// package's tests at once on two cores) a room that falls behind skips the
// ticks it cannot catch up (it runs at most MaxCatchUp back to back), the
// generator's own goroutines wake late, and a stall straddling either end
// of the window moves a burst of counts in or out of it, so that rates per
// second fall well below the tick rate while every tick still gets its
// snapshot and its input. What the test is about is that: one snapshot per
// tick the room ran, and one input per tick, paced or not — counted in the
// server's ticks (Report.TicksSeen, Report.Taken), save the ticks whose
// input came late (starved) or was never sent because the generator's
// machine held it up (Report.SenderLost: lost time, which neither the
// pacing nor a fixed ticker makes up, as a real client's frame loop would
// not: a burst would be dropped as surplus).
func checkRates(t *testing.T, rep Report) {
	t.Helper()
	n := uint64(rep.Clients)
	// Per bot, what the window's two ends may leave unmatched: a tick
	// whose snapshot was counted and not yet its starvation, or the like.
	slack := 2 * n
	snaps := uint64(math.Round(rep.SnapshotsPerClientSec * float64(n) * rep.ClientWindow))
	if rep.TicksSeen == 0 || snaps > rep.TicksSeen+n || snaps < rep.TicksSeen*9/10 {
		t.Errorf("%d snapshots for %d ticks seen, want one per tick (a few may be coalesced, newest wins)", snaps, rep.TicksSeen)
	}
	applied := rep.Taken - min(rep.Surplus, rep.Taken)
	// Never more than one input per tick (the server applies no more).
	if applied > rep.TicksSeen+slack {
		t.Errorf("%d inputs applied in %d ticks seen, want at most one per tick", applied, rep.TicksSeen)
	}
	// Every tick seen has its input: applied, or come late (starved,
	// counted by the pacing), or never sent because the generator woke
	// too late. (Lost time can outnumber the ticks it cost: when the
	// whole machine stalls, the room skips those ticks too.)
	if got := applied + rep.Starved + rep.SenderLost; got+slack < rep.TicksSeen {
		t.Errorf("inputs applied %d + starved %d + lost %d = %d, want ≥ %d, the ticks seen: one input per tick",
			applied, rep.Starved, rep.SenderLost, got, rep.TicksSeen)
	}
	// Starvation is a late input, the pacing's rare miss (and a fixed
	// ticker's drift), not a way of sending: an input every other tick
	// would starve every other tick.
	if rep.Starved*10 > rep.TicksSeen {
		t.Errorf("%d starved ticks of %d seen, want at most one in ten", rep.Starved, rep.TicksSeen)
	}
}

// TestRunUnreachable: nothing listening is ErrUnreachable, at once.
func TestRunUnreachable(t *testing.T) {
	_, err := Run(t.Context(), Config{BaseURL: "http://127.0.0.1:1", Clients: 10})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Run against a closed port = %v, want ErrUnreachable", err)
	}
}

// TestConfigInvalid: a config that cannot work fails before any request.
func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		give Config
		want string
	}{
		{give: Config{BaseURL: "127.0.0.1:8080", Clients: 10}, want: "want http://host:port"},
		{give: Config{BaseURL: "http://x", Clients: 1}, want: "at least 2"},
		{give: Config{BaseURL: "http://x", Clients: 21}, want: "alone"},
		{give: Config{BaseURL: "http://x", Clients: 10, Mode: "chess"}, want: "mode"},
	}
	for _, tt := range tests {
		_, err := Run(t.Context(), tt.give)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", tt.give, err, tt.want)
		}
	}
}

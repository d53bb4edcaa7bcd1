package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// nodeDuelDir is the minimal JavaScript client of docs/clients.md.
var nodeDuelDir = filepath.Join("..", "..", "docs", "examples", "node-duel")

// TestNodeDuelExample runs docs/examples/node-duel against the real binary,
// as docs/clients.md tells a newcomer to: two guests sign up, queue for a
// duel, play it to its end with one input per tick, and print the result.
// It holds the example to what the page promises: both connections end with
// MatchEnd, Kick match_over and close 1000, and the example's own
// prediction (the arena's integer movement, written in JavaScript from
// docs/arena.md) matched the server's position for every input it could
// check.
//
// It needs node and the example's node_modules. Without node it skips
// (fails under ARBITER_REQUIRE_SERVICES=1); without node_modules it runs
// `npm ci` in the example's folder under ARBITER_REQUIRE_SERVICES=1 and
// skips otherwise, so that a plain `go test ./...` never reaches the
// network.
func TestNodeDuelExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node; skipped with -short")
	}
	require := os.Getenv("ARBITER_REQUIRE_SERVICES") == "1"
	node, err := exec.LookPath("node")
	if err != nil {
		if require {
			t.Fatalf("node not found (%v): ARBITER_REQUIRE_SERVICES=1 requires it for docs/examples/node-duel", err)
		}
		t.Skip("node not found: docs/examples/node-duel not run (install Node 20)")
	}
	if _, err := os.Stat(filepath.Join(nodeDuelDir, "node_modules")); errors.Is(err, fs.ErrNotExist) {
		if !require {
			t.Skip("docs/examples/node-duel/node_modules missing: run `npm ci` there, or set ARBITER_REQUIRE_SERVICES=1 to let the test do it")
		}
		npmCI(t)
	}

	srv := startBinary(t, buildBinary(t), nil, "--addr", "127.0.0.1:0", "--match-duration", "5s")
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "duel.js", "http://"+srv.addr)
	cmd.Dir = nodeDuelDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node duel.js: %v\n%s", err, out)
	}

	for _, name := range []string{"alice", "bob"} {
		closed := regexp.MustCompile(name + `: closed 1000 match_over; kick match_over;`)
		if !closed.Match(out) {
			t.Errorf("%s: no line %q in the output:\n%s", name, closed, out)
		}
		m := regexp.MustCompile(name + `: prediction checked (\d+) inputs, (\d+) off`).FindSubmatch(out)
		if m == nil {
			t.Errorf("%s: no prediction line in the output:\n%s", name, out)
			continue
		}
		checked, _ := strconv.Atoi(string(m[1]))
		off, _ := strconv.Atoi(string(m[2]))
		// 5 s at 30 Hz is 150 ticks; a dead entity's ticks are not checked.
		if checked < 50 || off != 0 {
			t.Errorf("%s: prediction checked %d inputs, %d off; want ≥ 50 checked, 0 off:\n%s", name, checked, off, out)
		}
		result := regexp.MustCompile(`  ` + name + ` \(entity \d\): score \d+, placement [12], rating 1500\.0 → \d+\.\d`)
		if !result.Match(out) {
			t.Errorf("%s: no result line %q in the output:\n%s", name, result, out)
		}
	}
}

// npmCI installs the example's dependencies from its package-lock.json.
func npmCI(t *testing.T) {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm not found (%v): cannot install docs/examples/node-duel's dependencies", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDuelDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", nodeDuelDir, err, out)
	}
}

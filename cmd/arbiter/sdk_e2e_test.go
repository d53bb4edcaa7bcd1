package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// sdkDir is the TypeScript SDK's package, from this package's directory.
const sdkDir = "../../sdk/ts"

// TestSDK runs the TypeScript SDK's tests (sdk/ts: its unit tests, and its
// integration tests, which play a duel with paced inputs in each snapshot
// encoding, resume a dropped socket on delta snapshots and play chess to
// checkmate through the SDK's public API) with
// Node against a real server started here, so that go test ./... holds the
// SDK to the server. It compiles the SDK into a directory of its own under
// sdk/ts (where Node finds its node_modules), not into dist/, so that two
// runs at once do not write the same files.
//
// It skips, naming what is missing, when Node (≥ 20) is not installed or
// the SDK's npm dependencies are not and cannot be (npm ci, once, under a
// lock); with ARBITER_REQUIRE_SERVICES=1 it fails instead.
func TestSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tsc and node against a server; skipped with -short")
	}
	node := requireNode(t)
	sdk, err := filepath.Abs(sdkDir)
	if err != nil {
		t.Fatal(err)
	}
	ensureNodeModules(t, sdk)

	ts := startServer(t, "--match-duration", "5s")
	out, err := os.MkdirTemp(sdk, ".e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(out) })

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	tsc := filepath.Join(sdk, "node_modules", "typescript", "bin", "tsc")
	if b, err := runNode(ctx, sdk, nil, node, tsc, "-p", "tsconfig.json", "--outDir", out); err != nil {
		t.Fatalf("tsc: %v\n%s", err, b)
	}
	b, err := runNode(ctx, sdk, []string{"ARBITER_URL=" + ts.base}, node, "--test", "--test-reporter=spec", filepath.Join(out, "test")+string(filepath.Separator))
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, b)
	}
	if testing.Verbose() {
		t.Logf("node --test:\n%s", b)
	}
	// The integration tests must have run, not skipped: the server is here.
	for _, name := range []string{
		"a duel, both players' inputs paced, to MatchEnd, with delta snapshots",
		"a duel, both players' inputs paced, to MatchEnd, with full snapshots",
		"a dropped socket is resumed",
		"chess: a refused move, then fool's mate to checkmate",
	} {
		if !regexp.MustCompile(`(?m)^\s*✔ ` + regexp.QuoteMeta(name)).Match(b) {
			t.Fatalf("node --test: the integration test %q did not run:\n%s", name, b)
		}
	}
}

// skipOrFail skips the test with why, or fails it under
// ARBITER_REQUIRE_SERVICES=1.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("ARBITER_REQUIRE_SERVICES") == "1" {
		t.Fatalf("%s, and ARBITER_REQUIRE_SERVICES=1", why)
	}
	t.Skip(why)
}

// requireNode returns the path of node, if it is installed and at least
// version 20.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not found: the TypeScript SDK's tests need Node ≥ 20")
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		skipOrFail(t, "node --version: "+err.Error())
	}
	m := regexp.MustCompile(`^v(\d+)\.`).FindSubmatch(v)
	if m == nil {
		skipOrFail(t, "node --version said "+string(bytes.TrimSpace(v)))
	}
	if major, _ := strconv.Atoi(string(m[1])); major < 20 {
		skipOrFail(t, "node "+string(bytes.TrimSpace(v))+": the TypeScript SDK needs Node ≥ 20")
	}
	return node
}

// ensureNodeModules installs the SDK's locked npm dependencies (npm ci)
// if sdk/ts has none, or older than package-lock.json (a checkout that
// changed the dependencies), holding a lock on package-lock.json so that
// two runs at once do not install over each other.
func ensureNodeModules(t *testing.T, sdk string) {
	t.Helper()
	installed := func() bool {
		if _, err := os.Stat(filepath.Join(sdk, "node_modules", "typescript", "bin", "tsc")); err != nil {
			return false
		}
		// npm writes its own copy of the lock when it installs.
		hidden, err := os.Stat(filepath.Join(sdk, "node_modules", ".package-lock.json"))
		if err != nil {
			return false
		}
		lock, err := os.Stat(filepath.Join(sdk, "package-lock.json"))
		return err == nil && !lock.ModTime().After(hidden.ModTime())
	}
	if installed() {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skipOrFail(t, "sdk/ts/node_modules is missing and npm is not installed (run npm ci in sdk/ts)")
	}
	lock, err := os.Open(filepath.Join(sdk, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock package-lock.json: %v", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if installed() {
		return // another run installed them meanwhile
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = sdk
	if b, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "npm ci in sdk/ts: "+err.Error()+"\n"+string(b))
	}
}

// runNode runs node with args in dir (env added to the test's own), and
// returns its combined output. When ctx ends it kills the whole process
// group: node --test runs each test file in a child process.
func runNode(ctx context.Context, dir string, env []string, node string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out.Bytes(), err
}

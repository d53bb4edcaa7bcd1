//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadmeTour runs the shell block of README.md's tour as a script, as a
// reader pasting it would, with the freshly built binary in place of
// `go run ./cmd/arbiter` on a free PORT: it must start the server, wait for
// it, sign up two guests, queue them, and end printing both tickets
// matched to the same match. The test owns the server the script starts:
// a line it appends stops it (and its exit status is checked), and the
// script runs in a process group of its own that is killed if anything is
// left.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	var missing []string
	for _, tool := range []string{"bash", "curl", "sed", "seq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		if os.Getenv("ARBITER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("the README tour needs %s, not found (ARBITER_REQUIRE_SERVICES=1)", strings.Join(missing, ", "))
		}
		t.Skipf("the README tour needs %s, not found", strings.Join(missing, ", "))
	}

	const goRun = "go run ./cmd/arbiter"
	block := readmeBlock(t, "sh")
	if n := strings.Count(block, goRun); n != 1 {
		t.Fatalf("README.md's tour says %q %d times, want once:\n%s", goRun, n, block)
	}
	bin := buildBinary(t)
	script := strings.Replace(block, goRun, "'"+bin+"'", 1) +
		// The tour leaves its server running in the background ($! is
		// still its PID: command substitutions do not change it); the test
		// stops it and waits for it, as its parent.
		"\nkill -TERM $! && wait $!\necho \"server exit: $?\"\n"
	dir := t.TempDir()
	scriptFile := filepath.Join(dir, "tour.sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", scriptFile)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, fmt.Sprintf("PORT=%d", freePort(t))}
	// A file rather than a pipe: the server inherits it, and Wait would
	// wait for a pipe's every writer.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }) // whatever is left, on any path
	runErr := cmd.Wait()
	output, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatalf("the tour: %v\n%s", runErr, output)
	}

	// The tickets it printed: searching (echo "$KA"), then both matched.
	var searching int
	var matched []ticket
	for line := range strings.Lines(string(output)) {
		if !strings.HasPrefix(line, "{") {
			continue // the server's log
		}
		var tk ticket
		if err := json.Unmarshal([]byte(line), &tk); err != nil {
			t.Errorf("the tour printed %q: %v", line, err)
			continue
		}
		switch tk.Status {
		case "searching":
			searching++
		case "matched":
			matched = append(matched, tk)
		default:
			t.Errorf("the tour printed a ticket %+v", tk)
		}
	}
	switch {
	case searching != 1 || len(matched) != 2:
		t.Errorf("the tour printed %d searching and %d matched tickets, want 1 and 2", searching, len(matched))
	case matched[0].MatchID == "" || matched[0].MatchID != matched[1].MatchID:
		t.Errorf("matched tickets' match IDs %q and %q, want the same", matched[0].MatchID, matched[1].MatchID)
	case matched[0].TicketID == matched[1].TicketID:
		t.Errorf("both matched tickets are %s, want the two players' own", matched[0].TicketID)
	}
	for _, tk := range matched {
		if !strings.HasPrefix(tk.WSURL, "ws://localhost:") || tk.JoinToken == "" {
			t.Errorf("matched ticket %+v: want a ws://localhost: ws_url and a join token", tk)
		}
	}
	if !strings.Contains(string(output), "server exit: 0\n") {
		t.Errorf("the server the tour started did not stop cleanly on SIGTERM")
	}
	if t.Failed() {
		t.Logf("the tour's output:\n%s", output)
	}
	// Nothing of the process group is left running.
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the tour's process group is still there after it ended (kill -0: %v)", err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

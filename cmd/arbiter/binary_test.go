package main

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/arbiter once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "arbiter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryServesAndStops runs the real binary on its embedded default (no
// Redis, no Postgres): /healthz answers within seconds, and SIGTERM stops it
// with exit code 0.
func TestBinaryServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
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
	if !strings.Contains(strings.Join(logged, "\n"), "nothing is durable") {
		t.Errorf("the log does not say that nothing is durable:\n%s", strings.Join(logged, "\n"))
	}
	go func() {
		for lines.Scan() {
		}
	}()

	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not OK within 5s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling the fresh process
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15s of SIGTERM")
	}
}

// TestBinaryInvalidConfig: invalid configuration is one clear line on
// stderr and exit code 2.
func TestBinaryInvalidConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := buildBinary(t)
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{args: []string{"--tick-rate", "61"}, want: "--tick-rate 61"},
		{env: []string{"ARBITER_TICK_RATE=10"}, want: "--tick-rate 10"},
		{env: []string{"ARBITER_MATCH_DURATION=forever"}, want: "ARBITER_MATCH_DURATION"},
		{args: []string{"--no-such-flag"}, want: "no-such-flag"},
		{args: []string{"--ratings", "chess=elo"}, want: "unknown mode"},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, tt.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v %v: exit %v, want 2", tt.args, tt.env, err)
		}
		if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n") + 1; lines != 1 {
			t.Errorf("%v %v: %d lines on stderr, want one:\n%s", tt.args, tt.env, lines, stderr.String())
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v %v: stderr %q, want it to name %q", tt.args, tt.env, stderr.String(), tt.want)
		}
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

// binary is a server process started by startBinary.
type binary struct {
	cmd    *exec.Cmd
	addr   string   // host:port it listens on
	logged []string // its log up to the listening line
}

// startBinary runs bin with args and env (and nothing from the caller's
// environment) and waits for its listening line. The process is killed
// when the test ends, if still running.
func startBinary(t *testing.T, bin string, env []string, args ...string) *binary {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &binary{cmd: cmd}
	var reader sync.WaitGroup
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); reader.Wait() })

	addrRE := regexp.MustCompile(`msg="arbiter listening" addr=(\S+)`)
	lines := bufio.NewScanner(stderr)
	for b.addr == "" && lines.Scan() {
		b.logged = append(b.logged, lines.Text())
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			b.addr = m[1]
		}
	}
	if b.addr == "" {
		t.Fatalf("no listening line in the log:\n%s", strings.Join(b.logged, "\n"))
	}
	reader.Go(func() {
		for lines.Scan() { // keep the pipe drained until the process exits
		}
	})
	return b
}

// waitOK polls url until it answers 200, for at most 5 s.
func waitOK(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not OK within 5s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a fresh process
	}
}

// TestBinaryServesAndStops runs the real binary on its embedded default (no
// Redis, no Postgres): /healthz answers within seconds, and SIGTERM stops it
// with exit code 0.
func TestBinaryServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	b := startBinary(t, buildBinary(t), nil, "--addr", "127.0.0.1:0")
	cmd, addr := b.cmd, b.addr
	if !strings.Contains(strings.Join(b.logged, "\n"), "nothing is durable") {
		t.Errorf("the log does not say that nothing is durable:\n%s", strings.Join(b.logged, "\n"))
	}

	waitOK(t, "http://"+addr+"/healthz")

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
		{args: []string{"--ratings", "go=elo"}, want: "unknown mode"},
		{args: []string{"--redis-url", "localhost:6379"}, want: "--redis-url"},
		{args: []string{"--cors-origins", "*"}, want: "--cors-origins"},
		{env: []string{"ARBITER_CORS_ORIGINS=https://game.example.com/"}, want: "--cors-origins"},
		{env: []string{"ARBITER_REDIS_URL=redis://127.0.0.1:1/0"}, want: "127.0.0.1:1"},
		{env: []string{"ARBITER_DATABASE_URL=postgres://postgres:hunter2@127.0.0.1:1/test"}, want: "127.0.0.1"},
	}
	for _, tt := range tests {
		// Every case must fail at start; a server that started instead is
		// killed rather than left to hang the test.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(tt.args, "--addr", "127.0.0.1:0")...)
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
		if strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("%v %v: stderr shows the database password: %q", tt.args, tt.env, stderr.String())
		}
		if !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v %v: stderr %q, want it to name %q", tt.args, tt.env, stderr.String(), tt.want)
		}
	}
}

package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// PrivateRedis is a redis-server of the test's own, on a free loopback
// port, for a test that must kill or restart Redis, which it must never do
// to the shared one. It keeps nothing on disk, so a restart brings it back
// empty. Its methods must be called from the test's goroutine.
type PrivateRedis struct {
	t    testing.TB
	bin  string
	dir  string // its working directory, where it saves nothing
	port int
	proc *redisProcess
}

// redisProcess is one run of redis-server. done is closed when it has
// exited; out collects what it printed.
type redisProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// NewPrivateRedis starts a private redis-server and returns once it
// answers; the test's cleanup kills it. The test is skipped if redis-server
// is not installed, and fails if ARBITER_REQUIRE_SERVICES=1.
func NewPrivateRedis(t testing.TB) *PrivateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("ARBITER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("redis-server not found and ARBITER_REQUIRE_SERVICES=1: %v", err)
		}
		t.Skipf("redis-server not found: skipping a test that restarts a Redis of its own (%v)", err)
	}
	r := &PrivateRedis{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(r.kill) // before the directory goes
	// The free port is found by closing a listener on it, so another
	// process may take it first: try a few.
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		r.port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if err = r.start(); err == nil {
			return r
		}
		if attempt == 2 {
			t.Fatalf("start a private redis-server: %v", err)
		}
	}
}

// Addr is the server's host:port.
func (r *PrivateRedis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// URL is the server's URL, database 0.
func (r *PrivateRedis) URL() string { return "redis://" + r.Addr() + "/0" }

// Restart kills the server (SIGKILL, as a crash would) and starts it again,
// empty, on the same port; it returns once the new one answers.
func (r *PrivateRedis) Restart() {
	r.t.Helper()
	r.kill()
	if err := r.start(); err != nil {
		r.t.Fatalf("restart the private redis-server: %v", err)
	}
}

// start runs redis-server on r.port and waits until it answers PING.
func (r *PrivateRedis) start() error {
	out := &syncBuffer{}
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &redisProcess{cmd: cmd, done: make(chan struct{}), out: out}
	go func() { // ends when the process does; kill waits for it
		_ = cmd.Wait()
		close(p.done)
	}()
	r.proc = p

	rdb := goredis.NewClient(&goredis.Options{Addr: r.Addr(), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			r.proc = nil
			return fmt.Errorf("redis-server exited at start: %s", bytes.TrimSpace(out.Bytes()))
		default:
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server not answering after 10 s: %v\n%s", err, out.Bytes())
		}
		time.Sleep(10 * time.Millisecond) // polling a starting process
	}
}

// kill stops the running server, if any, and waits until it has exited.
func (r *PrivateRedis) kill() {
	if r.proc == nil {
		return
	}
	_ = r.proc.cmd.Process.Kill()
	<-r.proc.done
	r.proc = nil
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

package netcode

import (
	"bytes"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
)

// bareSession returns a session of srv on a real loopback connection whose
// goroutines are not started, nor ever are (srv is made withoutWriters):
// the test plays the writer (broken) and the read loop (handler.OnClose)
// itself, in the order it chooses. Each must be called at most once, as
// gws and writeLoop do.
func bareSession(t *testing.T, srv *Server) *Session {
	t.Helper()
	withoutWriters(srv)
	conns := make(chan *gws.Conn, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := gws.NewUpgrader(&gws.BuiltinEventHandler{}, nil).Upgrade(w, r)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			close(conns)
			return
		}
		conns <- conn
	}))
	t.Cleanup(hs.Close)
	client, _, err := gws.NewClient(&gws.BuiltinEventHandler{}, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(hs.URL, "http")})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = client.NetConn().Close() })
	conn := <-conns
	if conn == nil {
		t.FailNow()
	}
	t.Cleanup(func() { _ = conn.NetConn().Close() })

	sock := newSocket(conn.NetConn())
	sock.linger = srv.cfg.Linger
	s := newSession(srv, conn, sock, &fakeSeat{detach: make(chan struct{}, 1)})
	s.slot = clientKey(conn.RemoteAddr().String())
	srv.acquire(s.slot)
	conn.Session().Store(sessionKey, s)
	srv.track(s)
	srv.wg.Done() // track counted a read loop: the test plays it
	srv.Stats.Active.Add(1)
	s.touch(time.Now())
	return s
}

// withoutWriters makes srv start no writer goroutines, for tests of
// sessions without a connection, which play the writer themselves:
// s.mu.writing then says whether one would have been started (see
// writerWoken). It returns srv.
func withoutWriters(srv *Server) *Server {
	srv.startWriter = func(*Session) {}
	return srv
}

// writerWoken reports whether a writer would have been started for s, on a
// server withoutWriters, since the last call, and forgets it: the next
// frame that must wait starts one afresh.
func (s *Session) writerWoken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.mu.writing
	s.mu.writing = false
	return w
}

// TestEndReasonAgreed: when a session ends, the writer (broken) and the read
// loop (OnClose) both learn of it and race to say why. Whichever comes
// first, its reason is the one counted and the one the other inherits; in
// particular a write timeout seen first by the read loop is a slow
// consumer, never the empty reason.
func TestEndReasonAgreed(t *testing.T) {
	// What a write past its deadline returns, and a reset connection.
	timeout := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	reset := &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	readLoop := func(err error) func(*Session) {
		return func(s *Session) { (&handler{srv: s.srv}).OnClose(s.conn, err) }
	}
	writer := func(err error) func(*Session) { return func(s *Session) { s.broken(err) } }
	asked := func(r arbiterv1.CloseReason) func(*Session) {
		return func(s *Session) { s.Close(r, "test") }
	}

	tests := []struct {
		name  string
		steps []func(*Session) // in order; the first one decides
		want  arbiterv1.CloseReason
	}{
		{"write timeout, read loop first", []func(*Session){readLoop(timeout), writer(timeout)}, arbiterv1.CloseSlowConsumer},
		{"write timeout, writer first", []func(*Session){writer(timeout), readLoop(timeout)}, arbiterv1.CloseSlowConsumer},
		{"client close frame, then a failed write", []func(*Session){readLoop(&gws.CloseError{Code: 1000}), writer(reset)}, arbiterv1.CloseClientClosed},
		{"reset connection, writer first", []func(*Session){writer(reset), readLoop(timeout)}, arbiterv1.CloseNetwork},
		{"asked-for close cut short", []func(*Session){asked(arbiterv1.CloseMatchOver), writer(timeout), readLoop(timeout)}, arbiterv1.CloseMatchOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewServer(Config{Linger: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fakeAdmitter{})
			s := bareSession(t, srv)
			for i, step := range tt.steps {
				step(s)
				s.mu.Lock()
				closing, reason := s.mu.closing, s.mu.reason
				s.mu.Unlock()
				if !closing || reason != tt.want {
					t.Fatalf("after step %d: closing %v, reason %v; want closing, %v", i+1, closing, reason, tt.want)
				}
			}
			if got := closeCounts(srv); len(got) != 1 || got[tt.want] != 1 {
				t.Errorf("closes counted = %v, want {%v: 1}", got, tt.want)
			}
		})
	}
}

// TestEndReasonAgreedConcurrently is TestEndReasonAgreed's first two cases
// with the writer and the read loop running at once, as they do when a write
// times out: every session is counted once, as a slow consumer.
func TestEndReasonAgreedConcurrently(t *testing.T) {
	const sessions = 50
	timeout := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	srv := NewServer(Config{MaxConnsPerIP: -1, Linger: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fakeAdmitter{})
	for range sessions {
		s := bareSession(t, srv)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; s.broken(timeout) })
		wg.Go(func() { <-start; (&handler{srv: srv}).OnClose(s.conn, timeout) })
		close(start)
		wg.Wait()
	}
	if got := closeCounts(srv); len(got) != 1 || got[arbiterv1.CloseSlowConsumer] != sessions {
		t.Errorf("closes counted = %v, want {%v: %d}", got, arbiterv1.CloseSlowConsumer, sessions)
	}
}

// closeCounts returns the non-zero close counts of srv by reason.
func closeCounts(srv *Server) map[arbiterv1.CloseReason]uint64 {
	srv.Stats.closes.Lock()
	defer srv.Stats.closes.Unlock()
	return maps.Clone(srv.Stats.closes.n)
}

// TestSessionStore: the connections' session storage keeps the Session
// under sessionKey, as gws's map would, and nothing else.
func TestSessionStore(t *testing.T) {
	st := new(sessionStore)
	s := &Session{}
	if v, ok := st.Load(sessionKey); ok || v != nil || st.Len() != 0 {
		t.Fatalf("empty store: Load = %v, %v; Len = %d", v, ok, st.Len())
	}
	st.Store("other", s)
	st.Store(sessionKey, "not a session")
	if st.Len() != 0 {
		t.Fatal("the store kept a value that is not the Session under sessionKey")
	}
	st.Store(sessionKey, s)
	if v, ok := st.Load(sessionKey); !ok || v != s || st.Len() != 1 {
		t.Fatalf("Load = %v, %v; Len = %d; want the session", v, ok, st.Len())
	}
	if _, ok := st.Load("other"); ok {
		t.Error("Load of another key found something")
	}
	var seen []string
	st.Range(func(k string, v any) bool { seen = append(seen, k); return v == s })
	if len(seen) != 1 || seen[0] != sessionKey {
		t.Errorf("Range visited %v, want [%s]", seen, sessionKey)
	}
	st.Delete(sessionKey)
	if _, ok := st.Load(sessionKey); ok || st.Len() != 0 {
		t.Error("the session survived Delete")
	}
}

// TestGwsCloseAfterClose: when gws closes a connection on its own (a frame
// too big, a malformed one) just after Close decided the session's end —
// a protocol breaker kicked by its match at that moment —, the frame that
// goes out is Close's Kick and close frame, not gws's (TestHostileClient
// saw gws's 1009 without a Kick under load); the session's own close frame
// and an end Close did not decide go as they are.
func TestGwsCloseAfterClose(t *testing.T) {
	const msg = "test"
	reason := arbiterv1.CloseCheat
	closeFrame := func(code uint16, r string) []byte { return appendCloseFrame(nil, code, r) }
	kick := kickMessage(reason, msg)
	kickThenClose := appendCloseFrame(append(appendFrameHeader(nil, len(kick)), kick...), reason.Code(), string(reason))
	tests := []struct {
		name     string
		close    bool   // Close(reason) first; otherwise the read side ended it
		take     bool   // the writer took the Kick already
		code     uint16 // the close frame being written
		want     []byte // nil: written as it is
		wantKick bool   // the Kick still queued afterwards
	}{
		{"gws's too-big close after Close", true, false, arbiterv1.CloseTooBig.Code(), kickThenClose, false},
		{"gws's malformed-frame close after Close", true, false, arbiterv1.CloseProtocol.Code(), kickThenClose, false},
		{"gws's close after the writer took the Kick", true, true, arbiterv1.CloseTooBig.Code(), closeFrame(reason.Code(), string(reason)), false},
		{"the session's own close frame", true, false, reason.Code(), nil, true},
		{"gws's close when the read side ended it", false, false, arbiterv1.CloseTooBig.Code(), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewServer(Config{Linger: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fakeAdmitter{})
			s := bareSession(t, srv) // no writer runs: the Kick stays queued
			if tt.close {
				s.Close(reason, msg)
			} else {
				s.end(arbiterv1.CloseNetwork)
			}
			if tt.take {
				s.mu.Lock()
				s.takeLocked(nil, new([]byte))
				s.mu.Unlock()
			}
			got := s.gwsClose(tt.code)
			if !bytes.Equal(got, tt.want) {
				t.Errorf("gwsClose(%d) = %q, want %q", tt.code, got, tt.want)
			}
			s.mu.Lock()
			queued := len(s.mu.queue)
			s.mu.Unlock()
			if wantQueued := map[bool]int{true: 1, false: 0}[tt.wantKick]; queued != wantQueued {
				t.Errorf("%d frames queued afterwards, want %d", queued, wantQueued)
			}
		})
	}
}

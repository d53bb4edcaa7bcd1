package netcode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lxzan/gws"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// socketPair returns a socket over the server end of a loopback TCP
// connection, and the client end. buf > 0 sets both ends' kernel buffers
// (the server's send, the client's receive), small so that a client that
// does not read fills them quickly. Both ends close when t ends.
func socketPair(t *testing.T, buf int) (*socket, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	if buf > 0 {
		_ = server.(*net.TCPConn).SetWriteBuffer(buf)
		_ = client.(*net.TCPConn).SetReadBuffer(buf)
	}
	return newSocket(server), client.(*net.TCPConn)
}

// recordingConn is a net.Conn that keeps what is written to it.
type recordingConn struct {
	net.Conn // nil: only the methods below are called
	buf      bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error)      { return c.buf.Write(p) }
func (c *recordingConn) SetDeadline(time.Time) error      { return nil }
func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordingConn) Close() error                     { return nil }

// TestFrameHeaderMatchesGws: the frame tryFrame writes is byte for byte the
// frame gws writes for the same payload, at every length encoding (7-bit,
// 16-bit, 64-bit) and on both sides of each boundary.
func TestFrameHeaderMatchesGws(t *testing.T) {
	rec := &recordingConn{}
	req, _ := http.NewRequest(http.MethodGet, "/v1/play", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	conn, err := gws.NewUpgrader(&gws.BuiltinEventHandler{}, nil).UpgradeFromConn(rec, bufio.NewReader(bytes.NewReader(nil)), req)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for _, n := range []int{0, 1, 125, 126, 127, 300, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{byte(n)}, n)
		rec.buf.Reset()
		if err := conn.WriteMessage(gws.OpcodeBinary, payload); err != nil {
			t.Fatalf("gws write %d bytes: %v", n, err)
		}
		ours := append(appendFrameHeader(nil, n), payload...)
		if !bytes.Equal(ours, rec.buf.Bytes()) {
			t.Errorf("payload of %d bytes: header % x, gws's % x", n, ours[:min(len(ours), 10)], rec.buf.Bytes()[:min(rec.buf.Len(), 10)])
		}
	}
}

// TestTailGoesFirst: a client that stops reading fills the socket; the
// frame tryFrame is writing when the kernel stops taking bytes is cut, and
// its end (the tail) goes out before anything written after it. Once the
// client reads again it receives every frame whole, in order, then what
// was written through Write: nothing lost, doubled or interleaved.
func TestTailGoesFirst(t *testing.T) {
	sock, client := socketPair(t, 4096)
	var want bytes.Buffer
	tail := false
	for i := 0; !tail; i++ {
		if i == 100 {
			t.Fatal("100 frames written without one being cut")
		}
		// Frames bigger than both buffers: the kernel takes the first
		// in part.
		payload := bytes.Repeat([]byte(fmt.Sprintf("frame %05d;", i)), 4000)
		switch sock.tryFrame(gws.OpcodeBinary, payload) {
		case frameSent:
			want.Write(appendFrameHeader(nil, len(payload)))
			want.Write(payload)
		case frameTail:
			want.Write(appendFrameHeader(nil, len(payload)))
			want.Write(payload)
			tail = true
		case frameDeferred:
			// The buffer was exactly full: nothing of it went out.
		}
	}
	if sock.pending.Load() == 0 {
		t.Error("a tail is kept but Pending does not count it")
	}
	if got := sock.tryFrame(gws.OpcodeBinary, []byte("overtaker")); got != frameDeferred {
		t.Fatalf("tryFrame with a tail waiting = %v, want frameDeferred", got)
	}

	last := []byte("written after the tail")
	want.Write(last)
	wrote := make(chan error, 1)
	go func() { // blocks until the client reads
		_, err := sock.Write(last)
		wrote <- err
	}()
	got := make([]byte, want.Len())
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("read %d bytes: %v", want.Len(), err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("Write: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("the stream differs from what was written at byte %d of %d", i, want.Len())
	}
	if n := sock.pending.Load(); n != 0 {
		t.Errorf("Pending counts %d tail bytes after the flush", n)
	}
}

// fastPathCase is a state a session may be in when a frame is sent, and
// whether a frame sent then must be left to the writer (deferred) rather
// than written at once: the fast path must never overtake what waits.
type fastPathCase struct {
	name     string
	prepare  func(s *Session)
	deferred bool
}

// fastPathCases are the states TestSendSnapshotFastPath and
// TestSendFastPath send in; ts is the snapshot left waiting in one.
func fastPathCases(ts arbiterv1.TickSnapshot) []fastPathCase {
	return []fastPathCase{
		{"idle", func(*Session) {}, false},
		{"frame queued", func(s *Session) { s.enqueue(frame{op: gws.OpcodeBinary, b: welcomeFrame}); s.writerWoken() }, true},
		{"writer busy", func(s *Session) { s.mu.writing, s.mu.inflight = true, true }, true},
		{"snapshot waiting", func(s *Session) { s.mu.snapshot, s.mu.offered = snapshotOffer{snap: ts}, true }, true},
	}
}

// TestSendSnapshotFastPath: a snapshot offered when nothing waits is
// written at once, without starting a writer; one offered behind a queued
// frame, or while the writer holds frames it took, waits for the writer, so
// that it cannot overtake them (a Welcome must precede the first snapshot).
func TestSendSnapshotFastPath(t *testing.T) {
	srv := withoutWriters(NewServer(Config{Logger: discard()}, nil))
	ts := benchTick()
	full := ts.Full
	for _, tt := range fastPathCases(ts) {
		t.Run(tt.name, func(t *testing.T) {
			sock, client := socketPair(t, 0)
			s := newSession(srv, nil, sock, &fakeSeat{})
			tt.prepare(s)
			s.SendSnapshot(ts, benchOwn)
			woken := s.writerWoken()
			s.mu.Lock()
			waiting := s.mu.offered
			s.mu.Unlock()
			if waiting != tt.deferred || woken != tt.deferred {
				t.Fatalf("snapshot left for the writer: %v, writer started: %v; want %v", waiting, woken, tt.deferred)
			}
			if tt.deferred {
				return
			}
			want := append(appendFrameHeader(nil, len(full)), full...)
			got := make([]byte, len(want))
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("client read % x…, %v; want the framed snapshot", got[:4], err)
			}
		})
	}
}

// TestSendFastPath: a message sent when nothing waits is written at once,
// without starting a writer (an event-driven room's answer); one sent
// behind a queued frame, a snapshot left for the writer, or while the
// writer holds frames it took, is queued behind them, in order.
func TestSendFastPath(t *testing.T) {
	srv := withoutWriters(NewServer(Config{Logger: discard()}, nil))
	ts := benchTick()
	msg := []byte("state after a move")
	for _, tt := range fastPathCases(ts) {
		t.Run(tt.name, func(t *testing.T) {
			sock, client := socketPair(t, 0)
			s := newSession(srv, nil, sock, &fakeSeat{})
			tt.prepare(s)
			queued := len(s.mu.queue)
			s.Send(msg)
			woken := s.writerWoken()
			s.mu.Lock()
			queue := append([]frame(nil), s.mu.queue...)
			s.mu.Unlock()
			if (len(queue) > queued) != tt.deferred || woken != tt.deferred {
				t.Fatalf("message queued: %v, writer started: %v; want %v", len(queue) > queued, woken, tt.deferred)
			}
			if tt.deferred {
				if last := queue[len(queue)-1]; !bytes.Equal(last.b, msg) {
					t.Fatalf("last queued frame %q, want the message after the others", last.b)
				}
				return
			}
			want := append(appendFrameHeader(nil, len(msg)), msg...)
			got := make([]byte, len(want))
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(client, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("client read %q, %v; want the framed message", got, err)
			}
		})
	}
}

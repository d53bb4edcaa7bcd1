package netcode

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

// TestIdleSessionsHaveNoWriter: connected sessions with nothing waiting to
// be written have no writer goroutine — fifty of them add fifty goroutines
// (their read loops) and a few, not a hundred —; a burst of frames that
// must wait (pongs, which are always queued) starts writers, and once it
// is written they are gone again.
func TestIdleSessionsHaveNoWriter(t *testing.T) { forReadModes(t, testIdleSessionsHaveNoWriter) }

func testIdleSessionsHaveNoWriter(t *testing.T, arrival bool) {
	const (
		sessions = 50
		slack    = 10 // goroutines that come and go besides the sessions' (timers, the test server's)
		pings    = 5  // per client, in the burst
	)
	seats := make([]string, sessions)
	for i := range seats {
		seats[i] = fmt.Sprint("s", i)
	}
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, MaxConnsPerIP: -1, IdleTimeout: time.Minute}, seats...)
	base := runtime.NumGoroutine() // the test server's and its poller's are in
	clients := make([]*rawClient, sessions)
	for i, seat := range seats {
		clients[i] = dialRaw(t, url, seat) // a raw client has no goroutine of its own
		clients[i].next(t)                 // Welcome
		adm[seat].waitPolled(t, arrival)
	}
	idle := func(what string) {
		t.Helper()
		checkFor(t, 5*time.Second, func() error {
			n := runtime.NumGoroutine() - base
			w := countGoroutines("netcode.(*Session).writeLoop")
			if w != 0 || srv.Stats.Writers.Load() != 0 || n > sessions+slack {
				return fmt.Errorf("%s: %d goroutines more than before %d idle sessions (want at most %d), %d of them writers (Stats.Writers %d)",
					what, n, sessions, sessions+slack, w, srv.Stats.Writers.Load())
			}
			return nil
		})
	}
	idle("connected")

	starts := srv.Stats.WriterStarts.Load()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for i := range pings {
				if _, err := c.conn.Write(maskedFrame(gws.OpcodePing, []byte{byte(i)})); err != nil {
					t.Errorf("client write: %v", err)
					return
				}
			}
			for got := 0; got < pings; {
				op, p, err := c.readFrame()
				if err != nil {
					t.Errorf("reading the pongs: %v", err)
					return
				}
				if op != gws.OpcodePong {
					continue // a ping of the server's
				}
				if len(p) != 1 || int(p[0]) != got {
					t.Errorf("pong %d carries %v, want [%d]: pongs out of order", got, p, got)
				}
				got++
			}
		})
	}
	wg.Wait()
	if n := srv.Stats.WriterStarts.Load() - starts; n == 0 {
		t.Error("the pongs started no writer: they were not queued")
	}
	idle("after the burst")
}

// TestPingsWithoutWriter: with no other traffic, the server pings every
// PingInterval (never sooner: after five pings at least five intervals
// have passed since the connection), and each ping, with nothing waiting
// before it, is written at once by the session's timer: no writer is
// started.
func TestPingsWithoutWriter(t *testing.T) { forReadModes(t, testPingsWithoutWriter) }

func testPingsWithoutWriter(t *testing.T, arrival bool) {
	const (
		interval = 20 * time.Millisecond
		pings    = 5
	)
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, PingInterval: interval, IdleTimeout: time.Minute}, "p")
	start := time.Now()
	c := dialRaw(t, url, "p")
	c.next(t) // Welcome
	// Once polled the socket's lock is the writers' alone: a ping cannot
	// find it taken by the poller's request and be deferred.
	adm["p"].waitPolled(t, arrival)
	starts := srv.Stats.WriterStarts.Load()
	for got := 0; got < pings; {
		op, _, err := c.readFrame()
		if err != nil {
			t.Fatalf("waiting for ping %d: %v", got+1, err)
		}
		if op != gws.OpcodePing {
			t.Fatalf("frame with opcode %d, want only pings", op)
		}
		got++
	}
	// A timer never fires early, so this bound cannot fail on a slow machine.
	if d := time.Since(start); d < pings*interval {
		t.Errorf("%d pings within %v, want one per %v at most", pings, d, interval)
	}
	if n := srv.Stats.WriterStarts.Load() - starts; n != 0 {
		t.Errorf("%d writers started for pings with nothing waiting, want 0", n)
	}
}

// TestPingWaits: a ping due while frames wait is left to the writer (once,
// however often the timer fires meanwhile) and written before the frames
// it takes with it; a closing session's timer is stopped, and a timer
// function that ran anyway pings no more and re-arms nothing.
func TestPingWaits(t *testing.T) {
	srv := withoutWriters(NewServer(Config{Logger: discard(), PingInterval: time.Hour}, nil))
	sock, _ := socketPair(t, 0)
	s := newSession(srv, nil, sock, &fakeSeat{})
	s.startPings()
	s.enqueue(frame{op: gws.OpcodeBinary, b: welcomeFrame})
	s.ping()
	s.ping()
	if !s.writerWoken() {
		t.Fatal("no writer started for the frame and the ping")
	}
	s.mu.Lock()
	due, queued := s.mu.pingDue, len(s.mu.queue)
	batch := s.batch[:0]
	if due {
		batch = append(batch, frame{op: gws.OpcodePing}) // as writeLoop takes them
	}
	batch = s.takeLocked(batch, &s.msg)
	s.mu.pingDue = false
	s.mu.Unlock()
	if !due || queued != 1 {
		t.Fatalf("ping due %v, %d frames queued; want the ping due once and the Welcome queued", due, queued)
	}
	if len(batch) != 2 || batch[0].op != gws.OpcodePing || string(batch[1].b) != string(welcomeFrame) {
		t.Fatalf("the writer takes %v, want the ping then the Welcome", batch)
	}

	s.Close(arbiterv1.CloseMatchOver, "over")
	s.mu.Lock()
	stopped := !s.mu.pinger.Stop() // false: it was stopped already
	s.mu.Unlock()
	if !stopped {
		t.Error("the ping timer still ran after Close")
	}
	s.ping() // a timer function that fired as the close began
	s.mu.Lock()
	due, rearmed := s.mu.pingDue, s.mu.pinger.Stop()
	s.mu.Unlock()
	if due || rearmed {
		t.Errorf("after Close, the timer's function left a ping due (%v) or re-armed the timer (%v)", due, rearmed)
	}
}

// TestWriterOrder: with a match sending messages and snapshots on one
// goroutine, a client's pings answered with pongs (control frames, always
// queued) and a Close under way at once, and a client that at first does
// not read, so that frames wait, tails are cut and writers start: every
// frame reaches the client whole and in order — messages all of them, in
// the order sent; snapshots in the order offered, never before a message
// sent ahead of them; pongs in the order of the pings —, the Kick is the
// last message and the close frame follows it, and every message sent
// before the close began arrives.
func TestWriterOrder(t *testing.T) { forReadModes(t, testWriterOrder) }

func testWriterOrder(t *testing.T, arrival bool) {
	const (
		rounds  = 1000 // of a message then a snapshot
		readAt  = 200  // the client starts reading after this many rounds
		closeAt = 700  // the close begins after this many rounds
		pings   = 100
	)
	srv, adm, url := newTestServer(t, Config{
		DisableTickReads: arrival, SendBuffer: 4096, MaxQueue: 4 * rounds, MaxBehind: 4 * rounds,
		WriteTimeout: time.Minute, IdleTimeout: time.Minute,
	}, "p")
	c := dialRaw(t, url, "p")
	c.next(t) // Welcome
	adm["p"].waitPolled(t, arrival)
	s := adm["p"].sess()
	starts := srv.Stats.WriterStarts.Load()

	// Entities make snapshots big enough (~3 KB) for the rounds before the
	// client reads to fill both sockets' buffers, and to cut tails. (The
	// client's receive buffer is left as it is: a tiny one makes TCP wait
	// for its persist timer, and the close's grace runs out.)
	var ents []*arbiterv1.Entity
	for i := range uint32(200) {
		ents = append(ents, &arbiterv1.Entity{Id: i + 1, X: int32(1000 * i), Y: int32(7000 * i), Hp: 100})
	}
	read, closeNow := make(chan struct{}), make(chan struct{})
	var sentBeforeClose int // rounds whose message was sent before Close began
	var wg sync.WaitGroup
	wg.Go(func() { // the match
		for i := 1; i <= rounds; i++ {
			s.Send(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Pong{Pong: &arbiterv1.Pong{ClientTime: uint64(i)}}}))
			s.SendSnapshot(fullOnly(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: uint32(i), Entities: ents}}})), arbiterv1.Ack{})
			switch i {
			case readAt:
				close(read)
			case closeAt:
				close(closeNow)
			}
		}
	})
	wg.Go(func() { // the close, once closeAt rounds are sent
		<-closeNow
		s.Close(arbiterv1.CloseMatchOver, "over")
		sentBeforeClose = closeAt
	})
	wg.Go(func() { // the client's pings
		for i := range pings {
			if _, err := c.conn.Write(maskedFrame(gws.OpcodePing, []byte(strconv.Itoa(i)))); err != nil {
				return // the server closed: the rest goes unanswered
			}
		}
	})

	<-read
	var lastMsg, lastTick, pongs int
	kicked := false
	for {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("after message %d, snapshot %d, %d pongs: %v", lastMsg, lastTick, pongs, err)
		}
		switch op {
		case gws.OpcodePing:
			continue
		case gws.OpcodePong:
			if string(p) != strconv.Itoa(pongs) {
				t.Fatalf("pong %q after %d pongs: out of order", p, pongs)
			}
			pongs++
			continue
		case gws.OpcodeCloseConnection:
			if len(p) < 2 || binary.BigEndian.Uint16(p) != arbiterv1.CloseMatchOver.Code() || !kicked {
				t.Fatalf("close frame % x, Kick before it: %v; want %d match_over after the Kick", p, kicked, arbiterv1.CloseMatchOver.Code())
			}
		case gws.OpcodeBinary:
			var m arbiterv1.ServerMessage
			if err := proto.Unmarshal(p, &m); err != nil {
				t.Fatalf("after message %d, snapshot %d: a frame that does not decode (%v): frames cut or interleaved", lastMsg, lastTick, err)
			}
			switch {
			case kicked:
				t.Fatalf("%v after the Kick", &m)
			case m.GetKick() != nil:
				kicked = true
			case m.GetPong() != nil:
				if n := int(m.GetPong().GetClientTime()); n != lastMsg+1 {
					t.Fatalf("message %d after message %d", n, lastMsg)
				}
				lastMsg++
			case m.GetSnapshot() != nil:
				tick := int(m.GetSnapshot().GetTick())
				if tick <= lastTick || tick > lastMsg {
					t.Fatalf("snapshot %d after snapshot %d and message %d: want it after both", tick, lastTick, lastMsg)
				}
				lastTick = tick
			default:
				t.Fatalf("unexpected message %v", &m)
			}
			continue
		default:
			t.Fatalf("frame with opcode %d", op)
		}
		break
	}
	wg.Wait()
	if lastMsg < sentBeforeClose {
		t.Errorf("%d messages arrived, want at least the %d sent before the close", lastMsg, sentBeforeClose)
	}
	if n := srv.Stats.WriterStarts.Load() - starts; n == 0 {
		t.Error("no writer started: no frame had to wait, the test did not test the writer")
	}
	if got := srv.Stats.Closes(arbiterv1.CloseMatchOver); got != 1 {
		t.Errorf("Closes(match_over) = %d, want 1", got)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := srv.Stats.Writers.Load(); n != 0 {
			return fmt.Errorf("%d writers still running after the close", n)
		}
		return nil
	})
	t.Logf("%d messages, last snapshot %d, %d pongs, %d writers started", lastMsg, lastTick, pongs, srv.Stats.WriterStarts.Load()-starts)
}

// TestTailThenQueued: a snapshot the kernel took only part of leaves its
// tail to a writer started for it; a message sent meanwhile is queued
// behind the tail, and the client receives the snapshots whole, then the
// message.
func TestTailThenQueued(t *testing.T) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: true, SendBuffer: 4096, MaxBehind: 1 << 20, WriteTimeout: time.Minute}, "p")
	c := dialRaw(t, url, "p") // reads nothing until the tail is cut
	s := checkSession(t, adm["p"])
	starts := srv.Stats.WriterStarts.Load()
	big := make([]byte, 100<<10) // more than the client's receive buffer
	sent := 0
	for s.sock.pending.Load() == 0 {
		if sent == 20 {
			t.Fatal("20 snapshots of 100 KiB written whole to a client that does not read")
		}
		sent++
		big[0] = byte(sent)
		s.SendSnapshot(fullOnly(bytes.Clone(big)), arbiterv1.Ack{})
	}
	s.Send([]byte("after the tail"))
	if n := srv.Stats.WriterStarts.Load() - starts; n == 0 {
		t.Fatal("a tail was cut and no writer started")
	}
	c.next(t) // Welcome
	for i := 1; i <= sent; i++ {
		op, p, err := c.readFrame()
		if err != nil || op != gws.OpcodeBinary || len(p) != len(big) || p[0] != byte(i) {
			t.Fatalf("frame %d: opcode %d, %d bytes starting %d, %v; want snapshot %d whole", i, op, len(p), p[0], err, i)
		}
	}
	if op, p, err := c.readFrame(); err != nil || op != gws.OpcodeBinary || string(p) != "after the tail" {
		t.Fatalf("after the snapshots: opcode %d, %q, %v; want the message", op, p, err)
	}
}

// checkSession waits for the seat's session and returns it.
func checkSession(t *testing.T, seat *fakeSeat) *Session {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		if seat.sess() == nil {
			return errors.New("no session attached")
		}
		return nil
	})
	return seat.sess()
}

// TestShutdownEndsWriters: Shutdown returns once every session goroutine
// has ended, writers blocked on clients that do not read included — a
// close cuts their write short (closeGrace), not WriteTimeout — and
// leaves no goroutine behind.
func TestShutdownEndsWriters(t *testing.T) {
	const stalled, idle = 5, 5
	before := runtime.NumGoroutine()
	adm := fakeAdmitter{}
	for i := range stalled + idle {
		adm[fmt.Sprint("s", i)] = &fakeSeat{detach: make(chan struct{}, 1)}
	}
	srv := NewServer(Config{
		Logger: discard(), MaxConnsPerIP: -1, SendBuffer: 4096, MaxBehind: 1 << 20,
		WriteTimeout: time.Hour, IdleTimeout: time.Hour, Linger: 50 * time.Millisecond, DisableTickReads: true,
	}, adm)
	hs := httptest.NewServer(srv)
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/play?token="
	var clients []*rawClient
	for i := range stalled + idle {
		c := dialRaw(t, url, fmt.Sprint("s", i))
		if i < stalled {
			_ = c.conn.(*net.TCPConn).SetReadBuffer(2048)
		} else {
			c.next(t) // Welcome; then nothing
		}
		clients = append(clients, c)
	}
	var stalledSessions []*Session
	for i := range stalled {
		stalledSessions = append(stalledSessions, checkSession(t, adm[fmt.Sprint("s", i)]))
	}
	big := fullOnly(make([]byte, 64<<10))
	checkFor(t, 10*time.Second, func() error {
		for _, s := range stalledSessions {
			s.SendSnapshot(big, arbiterv1.Ack{})
		}
		if n := srv.Stats.Writers.Load(); n < stalled {
			return fmt.Errorf("%d writers running, want one per stalled client (%d)", n, stalled)
		}
		return nil
	})

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := srv.Stats.Writers.Load(); n != 0 {
		t.Errorf("%d writers running after Shutdown returned", n)
	}
	if n := countGoroutines("netcode.(*Session).writeLoop"); n != 0 {
		t.Errorf("%d writer goroutines after Shutdown returned", n)
	}
	for i, c := range clients {
		if i >= stalled { // the idle ones read their Kick and close frame
			if code, reason, kick := c.closed(t); code != arbiterv1.CloseShutdown.Code() || reason != string(arbiterv1.CloseShutdown) || kick != reason {
				t.Errorf("idle client %d: close %d %q after Kick %q, want %d shutdown after a Kick", i, code, reason, kick, arbiterv1.CloseShutdown.Code())
			}
		}
		_ = c.conn.Close()
	}
	hs.Close()
	checkFor(t, 5*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines after Shutdown, %d before", n, before)
		}
		return nil
	})
}

// TestWriterStartAllocs: starting a writer — one that finds nothing to
// write and ends — allocates at most twice: the goroutine's closures (the
// method value and the WaitGroup's wrapper). The fast path, which starts
// none, allocates nothing (TestSnapshotWriteAllocs).
func TestWriterStartAllocs(t *testing.T) {
	srv := NewServer(Config{Logger: discard()}, nil)
	s := newSession(srv, nil, newSocket(nil), &fakeSeat{})
	n := testing.AllocsPerRun(1000, func() {
		s.mu.Lock()
		s.wakeLocked()
		s.mu.Unlock()
		srv.wg.Wait()
	})
	if n > 2 {
		t.Errorf("a writer's start allocates %v times, want at most 2", n)
	}
	t.Logf("a writer's start allocates %v times", n)
	if got := srv.Stats.WriterStarts.Load(); got != 1001 {
		t.Errorf("WriterStarts = %d, want 1001", got)
	}
	if s.mu.writing || srv.Stats.Writers.Load() != 0 {
		t.Errorf("writing %v, Writers %d after the writers ended; want false, 0", s.mu.writing, srv.Stats.Writers.Load())
	}
}

package netcode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netem"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

// fakeSeat stands in for a match seat.
type fakeSeat struct {
	mu         sync.Mutex
	inputs     []uint32                // seqs received
	violations []arbiterv1.CloseReason // reported
	session    *Session
	detach     chan struct{}
	// polls counts newTestServer's polls of the session; manual keeps
	// its poller away (the test polls).
	polls  atomic.Int64
	manual atomic.Bool
	// event makes the seat an EventSeat's event-driven one: the server's
	// reactor reads its sessions. Set before the client dials.
	event atomic.Bool
	// actions are the seqs of the actions received; arrived is signalled
	// after every input or action.
	actions []uint32
	arrived chan struct{}
}

func (f *fakeSeat) EventDriven() bool { return f.event.Load() }

// arrival signals that an input or an action arrived.
func (f *fakeSeat) arrival() {
	select {
	case f.arrived <- struct{}{}:
	default:
	}
}

func (f *fakeSeat) Violation(reason arbiterv1.CloseReason) {
	f.mu.Lock()
	f.violations = append(f.violations, reason)
	f.mu.Unlock()
}

func (f *fakeSeat) reported() []arbiterv1.CloseReason {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]arbiterv1.CloseReason(nil), f.violations...)
}

func (f *fakeSeat) Attach(s *Session) error {
	f.mu.Lock()
	f.session = s
	f.mu.Unlock()
	s.Send(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{MatchId: "m", EntityId: 1, TickRate: 30}}}))
	return nil
}

func (f *fakeSeat) Detach(*Session) {
	select {
	case f.detach <- struct{}{}:
	default:
	}
}

func (f *fakeSeat) Input(in *arbiterv1.Input) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in.GetSeq())
	f.mu.Unlock()
	f.arrival()
}

func (f *fakeSeat) Action(seq uint32, _ []byte) {
	f.mu.Lock()
	f.actions = append(f.actions, seq)
	f.mu.Unlock()
	f.arrival()
}

func (f *fakeSeat) actionSeqs() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.actions...)
}

func (f *fakeSeat) Tick() uint32 { return 77 }

func (f *fakeSeat) sess() *Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.session
}

// readModes are the three ways a session's socket is read: at the ticks
// of its match (newTestServer's poller stands for the room), by the
// server's reactor for an event-driven seat, and as frames arrive, by
// gws's read goroutine (Config.DisableTickReads).
var readModes = []struct {
	name    string
	arrival bool // Config.DisableTickReads
	event   bool // newTestServer's seats are event-driven (eventSeats)
}{{"tick reads", false, false}, {"reactor reads", false, true}, {"arrival reads", true, false}}

// eventSeats makes newTestServer's seats event-driven (fakeSeat.event),
// for forReadModes' reactor mode. Tests do not run in parallel.
var eventSeats bool

// forReadModes runs f once in each read mode, as subtests. f's arrival
// is the mode's; in the reactor mode the seats are event-driven.
func forReadModes(t *testing.T, f func(t *testing.T, arrival bool)) {
	for _, m := range readModes {
		t.Run(m.name, func(t *testing.T) {
			eventSeats = m.event
			defer func() { eventSeats = false }()
			f(t, m.arrival)
		})
	}
}

// waitPolled waits until the seat's session is read by the poller, unless
// arrival: then it only checks that it never is.
func (f *fakeSeat) waitPolled(t *testing.T, arrival bool) {
	t.Helper()
	s := f.sess()
	if s == nil {
		t.Fatal("no session attached")
	}
	if arrival {
		if p := s.sock.phase.Load(); p != phaseGws {
			t.Fatalf("with tick reads disabled, the socket is in phase %d", p)
		}
		return
	}
	checkFor(t, 5*time.Second, func() error {
		if p := s.sock.phase.Load(); p != phasePolled {
			return fmt.Errorf("the socket is in phase %d, want polled (%d)", p, phasePolled)
		}
		return nil
	})
}

type fakeAdmitter map[string]*fakeSeat

func (a fakeAdmitter) Admit(token string) (Seat, error) {
	if s, ok := a[token]; ok {
		return s, nil
	}
	return nil, errors.New("no such seat")
}

func encode(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// newTestServer starts a Server on loopback whose admitter knows the
// seats named, and a poller that stands for their tick-driven room: every
// 2 ms it polls each seat's session (Session.Poll), which reads the socket
// unless cfg disables tick reads.
func newTestServer(t *testing.T, cfg Config, seats ...string) (*Server, fakeAdmitter, string) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	adm := fakeAdmitter{}
	for _, s := range seats {
		adm[s] = &fakeSeat{detach: make(chan struct{}, 1), arrived: make(chan struct{}, 1)}
		adm[s].event.Store(eventSeats)
	}
	srv := NewServer(cfg, adm)
	hs := httptest.NewServer(srv)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, seat := range adm {
				if s := seat.sess(); s != nil && !seat.manual.Load() {
					s.Poll(time.Now())
					seat.polls.Add(1)
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-stopped
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
		// Every connection slot comes back. A refused upgrade releases its
		// slot after gws has answered, so this may take a moment.
		checkFor(t, 5*time.Second, func() error {
			if n := srv.heldSlots(); n != 0 {
				return fmt.Errorf("%d connection slots still held after Shutdown", n)
			}
			return nil
		})
	})
	return srv, adm, "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/play?token="
}

// testClient is a raw gws client that records everything it receives.
type testClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	msgs   chan *arbiterv1.ServerMessage
	closed chan struct{}
	err    error // set before closed is closed
	stall  chan struct{}
}

func dial(t *testing.T, url string, rcvBuf int) *testClient {
	t.Helper()
	c, _, err := tryDial(t, url, rcvBuf)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

// tryDial is dial that returns the failure, with the HTTP status of a
// refused upgrade (0 if none was read).
func tryDial(t *testing.T, url string, rcvBuf int) (*testClient, int, error) {
	t.Helper()
	c := &testClient{msgs: make(chan *arbiterv1.ServerMessage, 4096), closed: make(chan struct{})}
	opt := &gws.ClientOption{Addr: url}
	var conn *gws.Conn
	var resp *http.Response
	var err error
	if rcvBuf > 0 {
		raw, derr := net.Dial("tcp", hostOf(url))
		if derr != nil {
			t.Fatal(derr)
		}
		_ = raw.(*net.TCPConn).SetReadBuffer(rcvBuf)
		conn, resp, err = gws.NewClientFromConn(c, opt, raw)
	} else {
		conn, resp, err = gws.NewClient(c, opt)
	}
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, status, err
	}
	c.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close(); <-c.closed })
	return c, 0, nil
}

// hostOf returns the host:port of a test server URL.
func hostOf(url string) string {
	return strings.TrimPrefix(strings.SplitN(url, "/v1", 2)[0], "ws://")
}

func (c *testClient) OnClose(_ *gws.Conn, err error) { c.err = err; close(c.closed) }

func (c *testClient) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	if c.stall != nil {
		<-c.stall
	}
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(msg.Bytes(), &m); err == nil {
		c.msgs <- &m
	}
}

func (c *testClient) next(t *testing.T) *arbiterv1.ServerMessage {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

// waitClose returns the close code and reason the server sent.
func (c *testClient) waitClose(t *testing.T) (uint16, string) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed within 10s")
	}
	var ce *gws.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code, string(ce.Reason)
	}
	return 0, fmt.Sprint(c.err)
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	srv, _, url := newTestServer(t, Config{}, "good")
	for _, tok := range []string{"", "forged"} {
		resp, err := http.Get(strings.Replace(url, "ws://", "http://", 1) + tok)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"code":"unauthorized"`) {
			t.Errorf("token %q: %d %s, want 401 with a JSON error", tok, resp.StatusCode, body)
		}
	}
	if got := srv.Stats.Refused.Load(); got != 2 {
		t.Errorf("Refused = %d, want 2", got)
	}
}

func TestWelcomeInputPing(t *testing.T) { forReadModes(t, testWelcomeInputPing) }

func testWelcomeInputPing(t *testing.T, arrival bool) {
	_, adm, url := newTestServer(t, Config{DisableTickReads: arrival}, "good")
	c := dial(t, url+"good", 0)
	if w := c.next(t).GetWelcome(); w.GetMatchId() != "m" {
		t.Fatalf("first message = %v, want Welcome", w)
	}
	adm["good"].waitPolled(t, arrival)
	for seq := uint32(1); seq <= 3; seq++ {
		_ = c.conn.WriteMessage(gws.OpcodeBinary, encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{Seq: seq}}}))
	}
	_ = c.conn.WriteMessage(gws.OpcodeBinary, encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Ping{Ping: &arbiterv1.Ping{ClientTime: 1234}}}))
	pong := c.next(t).GetPong()
	if pong.GetClientTime() != 1234 || pong.GetTick() != 77 {
		t.Errorf("pong = %v, want client_time 1234, tick 77", pong)
	}
	seat := adm["good"]
	seat.mu.Lock()
	got := fmt.Sprint(seat.inputs)
	seat.mu.Unlock()
	if got != "[1 2 3]" { // inputs precede the ping on one connection
		t.Errorf("seat received %s, want [1 2 3]", got)
	}
}

// TestHostileFrames: each bad frame gets a Kick with the reason word and the
// close code of docs/protocol.md — also those gws refuses on its own, at the frame
// header — and is reported to the seat as the player's violation, whether
// the socket is read at ticks (the poller hands it back to gws) or on
// arrival.
func TestHostileFrames(t *testing.T) {
	unmasked := maskedFrame(gws.OpcodeBinary, inputFrame(1))
	unmasked[1] &^= 0x80 // a client frame must be masked
	unmasked = append(unmasked[:2], unmasked[6:]...)
	tests := []struct {
		name       string
		frame      []byte
		wantCode   uint16
		wantReason string
	}{
		{"text frame", maskedFrame(gws.OpcodeText, []byte("hello")), 1003, "text_frame"},
		{"garbage", maskedFrame(gws.OpcodeBinary, []byte{0xff, 0xff, 0xff, 0xff}), 1007, "bad_frame"},
		{"empty message", maskedFrame(gws.OpcodeBinary, nil), 1007, "bad_frame"},
		{"unknown field only", maskedFrame(gws.OpcodeBinary, []byte{0x78, 0x01}), 1007, "bad_frame"},
		{"unmasked frame", unmasked, 1007, "bad_frame"},
		{"over MaxFrame", maskedFrame(gws.OpcodeBinary, make([]byte, 5000)), 1009, "too_big"},
		{"1 MiB", maskedFrame(gws.OpcodeBinary, make([]byte, 1<<20)), 1009, "too_big"},
		{"reserved opcode", maskedFrame(gws.Opcode(3), []byte{1}), 1007, "bad_frame"},
		{"continuation first", maskedFrame(gws.OpcodeContinuation, inputFrame(1)), 1007, "bad_frame"},
	}
	for _, m := range readModes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				_, adm, url := newTestServer(t, Config{DisableTickReads: m.arrival}, "good")
				c := dial(t, url+"good", 0)
				c.next(t) // Welcome
				adm["good"].waitPolled(t, m.arrival)
				// Written raw, off the client's gws connection: a gws write
				// failing would close the client with that error before it
				// reads the close frame.
				go func() { _, _ = c.conn.NetConn().Write(tt.frame) }()
				code, reason := c.waitClose(t)
				if code != tt.wantCode || reason != tt.wantReason {
					t.Errorf("close = %d %q, want %d %q", code, reason, tt.wantCode, tt.wantReason)
				}
				select {
				case m := <-c.msgs:
					if m.GetKick().GetReason() != tt.wantReason {
						t.Errorf("last message = %v, want Kick %q", m, tt.wantReason)
					}
				default:
					t.Errorf("no Kick before the close")
				}
				checkFor(t, 5*time.Second, func() error {
					if got := fmt.Sprint(adm["good"].reported()); got != "["+tt.wantReason+"]" {
						return fmt.Errorf("violations reported to the seat: %s, want [%s]", got, tt.wantReason)
					}
					return nil
				})
			})
		}
	}
}

// TestSlowConsumer: a client that stops reading is closed as a slow
// consumer while another keeps receiving, and offering snapshots never
// blocks.
func TestSlowConsumer(t *testing.T) { forReadModes(t, testSlowConsumer) }

func testSlowConsumer(t *testing.T, arrival bool) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, SendBuffer: 4096, WriteTimeout: 500 * time.Millisecond, MaxBehind: 30}, "slow", "fast")
	slow := dial(t, url+"slow", 2048)
	slow.next(t)
	slow.stall = make(chan struct{})
	defer close(slow.stall)
	fast := dial(t, url+"fast", 0)
	fast.next(t)
	adm["slow"].waitPolled(t, arrival)
	adm["fast"].waitPolled(t, arrival)
	snapshot := make([]byte, 1000)
	deadline := time.Now().Add(20 * time.Second)
	sent := 0
	for srv.Stats.Closes(arbiterv1.CloseSlowConsumer) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("slow consumer not closed within 20s")
		}
		start := time.Now()
		adm["slow"].sess().SendSnapshot(fullOnly(snapshot), arbiterv1.Ack{})
		adm["fast"].sess().SendSnapshot(fullOnly(snapshot), arbiterv1.Ack{})
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("SendSnapshot blocked for %v", d)
		}
		sent++
		time.Sleep(5 * time.Millisecond) // the pace of a 200 Hz tick, not synchronisation
		for len(fast.msgs) > 0 {
			<-fast.msgs
		}
	}
	select {
	case <-fast.closed:
		t.Fatal("the healthy client was closed too")
	default:
	}
	// The healthy client still gets what is sent next.
	adm["fast"].sess().SendSnapshot(fullOnly(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 9999}}})), arbiterv1.Ack{})
	for {
		if m := fast.next(t); m.GetSnapshot().GetTick() == 9999 {
			break
		}
	}
	t.Logf("slow consumer closed after %d snapshots", sent)
}

func TestShutdownClosesWith1001(t *testing.T) { forReadModes(t, testShutdownClosesWith1001) }

func testShutdownClosesWith1001(t *testing.T, arrival bool) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival}, "good")
	c := dial(t, url+"good", 0)
	c.next(t)
	adm["good"].waitPolled(t, arrival)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if code, reason := c.waitClose(t); code != 1001 || reason != "shutdown" {
		t.Errorf("close = %d %q, want 1001 shutdown", code, reason)
	}
	if n := srv.Stats.Active.Load(); n != 0 {
		t.Errorf("Active = %d after Shutdown, want 0", n)
	}
}

// TestIdleTimeout: a client silent past the idle timeout is dropped — told
// so with Kick idle and 1001, which leaves it free to come back — and
// nothing is counted against the player.
func TestIdleTimeout(t *testing.T) { forReadModes(t, testIdleTimeout) }

func testIdleTimeout(t *testing.T, arrival bool) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, IdleTimeout: 300 * time.Millisecond, PingInterval: time.Hour}, "good")
	c := dial(t, url+"good", 0) // sends nothing, and is never pinged
	c.next(t)                   // Welcome
	adm["good"].waitPolled(t, arrival)
	select {
	case <-adm["good"].detach:
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection not dropped")
	}
	if code, reason := c.waitClose(t); code != 1001 || reason != "idle" {
		t.Errorf("close = %d %q, want 1001 idle", code, reason)
	}
	var last *arbiterv1.ServerMessage
	for len(c.msgs) > 0 {
		last = <-c.msgs
	}
	if last.GetKick().GetReason() != "idle" {
		t.Errorf("last message = %v, want Kick idle", last)
	}
	if got := srv.Stats.Closes(arbiterv1.CloseIdle); got != 1 {
		t.Errorf("Closes(idle) = %d, want 1", got)
	}
	if v := adm["good"].reported(); len(v) != 0 {
		t.Errorf("violations reported for an idle client: %v", v)
	}
}

// TestKickAlwaysArrives: the Kick and the close frame reach the client
// every time, also when the client is still writing as the server closes —
// after a refused 1 MiB frame, during a flood — so that closing the socket
// at once would make the kernel answer the unread bytes with a reset, fail
// the client's write and end its connection before it reads the close
// frame (docs/protocol.md "Closing"). The client writes as a client library does,
// through its WebSocket connection, which a failed write closes.
func TestKickAlwaysArrives(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		send       func(c *gws.Conn) // until it fails
		wantCode   uint16
		wantReason string
	}{
		{"1 MiB frame", Config{}, func(c *gws.Conn) { _ = c.WriteMessage(gws.OpcodeBinary, make([]byte, 1<<20)) }, 1009, "too_big"},
		{"flood", Config{FrameRate: 10, FrameBurst: 5}, func(c *gws.Conn) {
			for seq := uint32(1); c.WriteMessage(gws.OpcodeBinary, inputFrame(seq)) == nil && seq < 1e6; seq++ {
			}
		}, 1008, "input_flood"},
	}
	for _, m := range readModes {
		for _, tt := range tests {
			for _, via := range []string{"loopback", "proxy"} {
				t.Run(m.name+"/"+tt.name+" over "+via, func(t *testing.T) {
					cfg := tt.cfg
					cfg.DisableTickReads = m.arrival
					testKickArrives(t, cfg, via, tt.send, tt.wantCode, tt.wantReason)
				})
			}
		}
	}
}

// testKickArrives is one case of TestKickAlwaysArrives.
func testKickArrives(t *testing.T, cfg Config, via string, send func(c *gws.Conn), wantCode uint16, wantReason string) {
	const tries = 100
	_, adm, url := newTestServer(t, cfg, "p")
	if via == "proxy" {
		// A real link between the two: latency, jitter, and a proxy that
		// passes on half-closes and resets.
		link := netem.Link{Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 7}
		proxy, err := netem.Listen(hostOf(url), link, link)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = proxy.Close() })
		url = strings.Replace(url, hostOf(url), proxy.Addr(), 1)
	}
	for try := range tries {
		c := dial(t, url+"p", 0)
		c.next(t) // Welcome
		adm["p"].waitPolled(t, cfg.DisableTickReads)
		go send(c.conn)
		code, reason := c.waitClose(t)
		var kick *arbiterv1.Kick
		for len(c.msgs) > 0 {
			kick = (<-c.msgs).GetKick()
		}
		if code != wantCode || reason != wantReason || kick.GetReason() != wantReason {
			t.Fatalf("try %d: close %d %q after Kick %v; want %d %q after a Kick", try+1, code, reason, kick, wantCode, wantReason)
		}
	}
}

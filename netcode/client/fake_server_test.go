package client

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// Identities the fake server hands out.
const (
	fakeToken    = "good-token"
	fakeSelf     = 1 // the connection's entity
	fakeOther    = 2 // a bot walking right 100 centi-units a tick
	fakeMatchID  = "m-1"
	fakePlayerID = "p-1"
)

var fakeStart = sim.Vec{X: 20000, Y: 20000}

// fakeServer is a minimal Arbiter match server speaking the real protocol
// over real loopback WebSockets. Its ticks are driven by the test (Step), so
// everything is deterministic: it applies at most one queued input per tick,
// in seq order, and sends a snapshot every tick, as docs/protocol.md requires.
type fakeServer struct {
	t        *testing.T
	srv      *httptest.Server
	tickRate int
	// firstMessage, if set, replaces the Welcome (for hostile-server tests).
	firstMessage *arbiterv1.ServerMessage
	// silent makes the server send nothing, not even the Welcome.
	silent bool
	// drop names a seq the server drops without applying (as if over
	// budget), acknowledging it all the same.
	drop uint32
	// lastInputSeq, if set, is the highest seq the player sent before
	// this server's connections (an earlier page, before a reload): every
	// connection starts with it received and processed, and its Welcome
	// says so.
	lastInputSeq uint32
	// game, if set, is the Welcome's game: a game played with actions
	// unless it is "arena". The fake plays no game: it records the actions
	// it receives, and the test answers them (state, rejected).
	game string
	// lastActionSeq is lastInputSeq for actions: the highest action seq
	// received before this server's connections.
	lastActionSeq uint32
	// refuse, if set, is asked for every play request, with its number
	// (from 1), before the token is checked: a non-zero HTTP status refuses
	// the request with it.
	refuse func(request int) int
	// resume makes a connection continue the previous connection's match
	// state (tick, position, queued inputs, last processed seq) and replace
	// it (close 4000), as the real server does for a second connection
	// with the same token.
	resume bool
	// reject, if set, is called for every upgraded connection with the
	// request's number; if it returns true, it has dealt with the
	// connection (kicked it, cut it, sent its own Welcome) and the server
	// sends no Welcome.
	reject func(request int, fc *fakeConn) bool
	// fullOnly plays a server older than delta snapshots: it ignores a
	// client's snapshots=delta and says nothing of the encoding in its
	// Welcome. Otherwise it sends deltas to a client that asks, as the
	// real server does.
	fullOnly bool
	// hits makes the other entity lose hp and score as ticks go by.
	hits bool

	conns chan *fakeConn // every accepted connection, for the test to take

	mu struct {
		sync.Mutex
		all      []*fakeConn
		requests int  // play requests received
		closed   bool // set by close; no connection is registered after
	}
	wg sync.WaitGroup // the connections' readers
}

// newFakeServer starts a fake server; configure runs before it accepts. The
// server and all its connections are shut down when the test ends.
func newFakeServer(t *testing.T, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, tickRate: 60, conns: make(chan *fakeConn, 16)}
	if configure != nil {
		configure(fs)
	}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serveHTTP))
	t.Cleanup(fs.close)
	return fs
}

// url returns the play URL for token.
func (fs *fakeServer) url(token string) string {
	return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/v1/play?token=" + token
}

func (fs *fakeServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	fs.mu.requests++
	n := fs.mu.requests
	fs.mu.Unlock()
	if fs.refuse != nil {
		if status := fs.refuse(n); status != 0 {
			http.Error(w, `{"error":{"code":"refused","message":"refused by the test"}}`, status)
			return
		}
	}
	if r.URL.Path != "/v1/play" || r.URL.Query().Get("token") != fakeToken {
		http.Error(w, `{"error":{"code":"unauthorized","message":"bad token"}}`, http.StatusUnauthorized)
		return
	}
	fc := &fakeConn{fs: fs, closed: make(chan struct{})}
	fc.asked = r.URL.Query().Get("snapshots")
	fc.delta = fc.asked == "delta" && !fs.fullOnly
	fc.mu.pos = fakeStart
	fc.mu.processed, fc.mu.queuedSeq = fs.lastInputSeq, fs.lastInputSeq
	fc.mu.actionSeq = fs.lastActionSeq
	var replaced *fakeConn
	if fs.resume {
		fs.mu.Lock()
		if n := len(fs.mu.all); n > 0 {
			replaced = fs.mu.all[n-1]
		}
		fs.mu.Unlock()
	}
	if replaced != nil {
		replaced.mu.Lock()
		fc.mu.tick, fc.mu.pos = replaced.mu.tick, replaced.mu.pos
		fc.mu.processed = max(fc.mu.processed, replaced.mu.processed)
		fc.mu.queue, fc.mu.queuedSeq = replaced.mu.queue, max(fc.mu.queuedSeq, replaced.mu.queuedSeq)
		fc.mu.actionSeq = max(fc.mu.actionSeq, replaced.mu.actionSeq)
		replaced.mu.queue = nil
		replaced.mu.Unlock()
	}
	ws, err := gws.NewUpgrader(fc, &gws.ServerOption{}).Upgrade(w, r)
	if err != nil {
		fs.t.Errorf("fake server: upgrade: %v", err)
		return
	}
	fc.ws = ws
	first := fs.firstMessage
	if first == nil {
		first = &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
			MatchId: fakeMatchID, EntityId: fakeSelf, TickRate: uint32(fs.tickRate),
			Tick: fc.mu.tick, PlayerId: fakePlayerID, Mode: "duel", LastInputSeq: fc.mu.queuedSeq,
			Game: fs.game, LastActionSeq: fc.mu.actionSeq, Snapshots: fc.encoding(),
		}}}
	}
	rejected := fs.reject != nil && fs.reject(n, fc)
	if !fs.silent && !rejected {
		fc.send(first)
	}
	if replaced != nil && !rejected {
		_ = replaced.ws.WriteClose(4000, []byte("replaced")) // fails if it has ended: fine
	}
	// Upgraded connections are hijacked, so the httptest server's Close
	// does not wait for this handler: register under fs.mu, so that close
	// either sees the connection or makes the handler drop it, and never
	// Waits while a reader is being added.
	fs.mu.Lock()
	if fs.mu.closed {
		fs.mu.Unlock()
		_ = ws.NetConn().Close()
		return
	}
	fs.mu.all = append(fs.mu.all, fc)
	fs.wg.Go(ws.ReadLoop)
	fs.mu.Unlock()
	fs.conns <- fc
}

// close stops accepting, drops every connection and waits for their readers.
func (fs *fakeServer) close() {
	fs.srv.Close()
	fs.mu.Lock()
	fs.mu.closed = true
	for _, fc := range fs.mu.all {
		_ = fc.ws.NetConn().Close()
	}
	fs.mu.Unlock()
	fs.wg.Wait()
}

// accept returns the next connection the server accepted.
func (fs *fakeServer) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case fc := <-fs.conns:
		return fc
	case <-time.After(5 * time.Second):
		t.Fatal("fake server accepted no connection")
		return nil
	}
}

// fakeConn is the server side of one connection. It implements gws.Event.
type fakeConn struct {
	fs     *fakeServer
	ws     *gws.Conn
	closed chan struct{} // closed by OnClose
	asked  string        // the URL's snapshots parameter
	delta  bool          // snapshots go out as deltas

	mu struct {
		sync.Mutex
		tick      uint32
		pos       sim.Vec
		queue     []sim.Input
		received  int         // inputs received
		inputs    []sim.Input // every input received, in order
		queuedSeq uint32      // highest seq queued
		processed uint32      // last_input_seq
		viewTicks []sim.Tick
		closeErr  error
		deaf      bool // inputs and actions are lost on the way: not counted, not queued

		actions   []*arbiterv1.Action // every action received, in order
		actionSeq uint32              // the highest action seq received

		// The last snapshot sent: the next delta's base. sentTick 0: none
		// on this connection yet.
		sent     []*arbiterv1.Entity
		sentTick uint32
		enc      arbiterv1.DeltaEncoder
		// snapshots is every snapshot sent, as a full one.
		snapshots []*arbiterv1.Snapshot
	}
}

// encoding is what the connection's Welcome says of its snapshots.
func (fc *fakeConn) encoding() arbiterv1.SnapshotEncoding {
	switch {
	case fc.delta:
		return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	case fc.fs.fullOnly:
		return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_UNSPECIFIED
	}
	return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
}

// sentSnapshots returns every snapshot sent, as full ones.
func (fc *fakeConn) sentSnapshots() []*arbiterv1.Snapshot {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.Clone(fc.mu.snapshots)
}

// deafen makes the connection lose every input from now on, as a dying
// network path does.
func (fc *fakeConn) deafen() {
	fc.mu.Lock()
	fc.mu.deaf = true
	fc.mu.Unlock()
}

// state sends a State.
func (fc *fakeConn) state(version, lastActionSeq uint32, payload string) {
	fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_State{State: &arbiterv1.State{
		Version: version, LastActionSeq: lastActionSeq, Payload: []byte(payload),
	}}})
}

// rejected sends a Rejected.
func (fc *fakeConn) rejected(seq uint32, reason string) {
	fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Rejected{Rejected: &arbiterv1.Rejected{
		Seq: seq, Reason: reason, Message: "refused by the test",
	}}})
}

// actionsReceived returns the seq and payload of every action received, as
// "seq:payload".
func (fc *fakeConn) actionsReceived() []string {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out []string
	for _, a := range fc.mu.actions {
		out = append(out, fmt.Sprintf("%d:%s", a.GetSeq(), a.GetPayload()))
	}
	return out
}

// cut drops the connection without a close frame.
func (fc *fakeConn) cut() { _ = fc.ws.NetConn().Close() }

func (fc *fakeConn) send(m *arbiterv1.ServerMessage) {
	b, err := proto.Marshal(m)
	if err != nil {
		fc.fs.t.Errorf("fake server: encode: %v", err)
		return
	}
	_ = fc.ws.WriteMessage(gws.OpcodeBinary, b) // a closed client is not the fake's concern
}

// step runs one server tick: applies the oldest queued input, if any, and
// sends the snapshot, with the inputs still queued as the backlog. It
// returns the tick.
func (fc *fakeConn) step() uint32 {
	fc.mu.Lock()
	fc.mu.tick++
	if len(fc.mu.queue) > 0 {
		in := fc.mu.queue[0]
		fc.mu.queue = fc.mu.queue[1:]
		if in.Seq != fc.fs.drop && sim.Validate(in) == sim.ViolationNone {
			fc.mu.pos = sim.Move(fc.mu.pos, in, fc.fs.tickRate)
		}
		fc.mu.processed = in.Seq
	}
	tick := fc.mu.tick
	snap := &arbiterv1.Snapshot{Tick: tick, Entities: []*arbiterv1.Entity{
		{Id: fakeSelf, X: fc.mu.pos.X, Y: fc.mu.pos.Y, Hp: 100, LastInputSeq: fc.mu.processed, InputBacklog: uint32(len(fc.mu.queue))},
		{Id: fakeOther, X: otherX(tick), Y: 40000, Hp: 100, Score: 3},
	}}
	if fc.fs.hits {
		snap.Entities[1].Hp, snap.Entities[1].Score = 100-tick%50, 3+tick/20
	}
	fc.mu.snapshots = append(fc.mu.snapshots, snap)
	if !fc.delta {
		fc.mu.Unlock()
		fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: snap}})
		return tick
	}
	// Every snapshot is written, in order: each is a delta from the one
	// before, but the connection's first.
	body := fc.mu.enc.AppendBody(nil, tick, fc.mu.sentTick, fc.mu.sent, snap.Entities)
	own := arbiterv1.Ack{LastInputSeq: fc.mu.processed, InputBacklog: uint32(len(fc.mu.queue))}
	fc.mu.sent, fc.mu.sentTick = snap.Entities, tick
	fc.mu.Unlock()
	fc.sendRaw(arbiterv1.AppendDeltaMessage(nil, body, own))
	return tick
}

// sendRaw sends an encoded ServerMessage.
func (fc *fakeConn) sendRaw(b []byte) {
	_ = fc.ws.WriteMessage(gws.OpcodeBinary, b) // a closed client is not the fake's concern
}

// otherX is where the fake's bot stands at tick.
func otherX(tick uint32) int32 { return 30000 + int32(tick)*100 }

// kick sends a Kick and closes with code and reason, as the server does.
func (fc *fakeConn) kick(code uint16, reason, message string) {
	fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Kick{Kick: &arbiterv1.Kick{Reason: reason, Message: message}}})
	_ = fc.ws.WriteClose(code, []byte(reason))
}

// requests returns the number of play requests the server has received.
func (fs *fakeServer) requests() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.mu.requests
}

func (fc *fakeConn) received() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.mu.received
}

func (fc *fakeConn) position() sim.Vec {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.mu.pos
}

// closeCode waits for the connection to end and returns the close code the
// client sent, or 0 if it sent none.
func (fc *fakeConn) closeCode(t *testing.T) uint16 {
	t.Helper()
	select {
	case <-fc.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("fake server: connection did not end")
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var ce *gws.CloseError
	if errors.As(fc.mu.closeErr, &ce) {
		return ce.Code
	}
	return 0
}

func (fc *fakeConn) OnOpen(*gws.Conn) {}

func (fc *fakeConn) OnClose(_ *gws.Conn, err error) {
	fc.mu.Lock()
	fc.mu.closeErr = err
	fc.mu.Unlock()
	close(fc.closed)
}

func (fc *fakeConn) OnPing(socket *gws.Conn, payload []byte) { _ = socket.WritePong(payload) }

func (fc *fakeConn) OnPong(*gws.Conn, []byte) {}

func (fc *fakeConn) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	var m arbiterv1.ClientMessage
	if msg.Opcode != gws.OpcodeBinary {
		fc.kick(1003, "text_frame", "binary frames only")
		return
	}
	if err := proto.Unmarshal(msg.Bytes(), &m); err != nil {
		fc.kick(1007, "bad_frame", err.Error())
		return
	}
	switch k := m.Kind.(type) {
	case *arbiterv1.ClientMessage_Input:
		in := sim.Input{
			Seq: k.Input.GetSeq(), MoveX: k.Input.GetMoveX(), MoveY: k.Input.GetMoveY(),
			Buttons: k.Input.GetButtons(), AimX: k.Input.GetAimX(), AimY: k.Input.GetAimY(),
			ViewTick: sim.Tick(k.Input.GetViewTick()),
		}
		fc.mu.Lock()
		if fc.mu.deaf {
			fc.mu.Unlock()
			return
		}
		fc.mu.received++
		fc.mu.inputs = append(fc.mu.inputs, in)
		fc.mu.viewTicks = append(fc.mu.viewTicks, in.ViewTick)
		if in.Seq > fc.mu.queuedSeq {
			fc.mu.queue = append(fc.mu.queue, in)
			fc.mu.queuedSeq = in.Seq
		}
		fc.mu.Unlock()
	case *arbiterv1.ClientMessage_Action:
		fc.mu.Lock()
		if !fc.mu.deaf {
			fc.mu.actions = append(fc.mu.actions, k.Action)
			fc.mu.actionSeq = max(fc.mu.actionSeq, k.Action.GetSeq())
		}
		fc.mu.Unlock()
	case *arbiterv1.ClientMessage_Ping:
		fc.mu.Lock()
		tick := fc.mu.tick
		fc.mu.Unlock()
		fc.send(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Pong{Pong: &arbiterv1.Pong{
			ClientTime: k.Ping.GetClientTime(), Tick: tick,
		}}})
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// timeout. Polling, not sleeping, is the synchronisation: the sleep only
// paces the polls.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkNoLeaks fails the test if, once every other cleanup has run, more
// goroutines are running than when it was called. Call it first in a test, so
// that its cleanup runs last. Tests using it must not run in parallel.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines running after the test, %d before:\n%s", n, before, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// fakeClock is an injectable Options.Now that stands still until advanced.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock on by d.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

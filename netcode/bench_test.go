package netcode

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/arena"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

// validatingSeat is a Seat that validates every input against an arena
// world as it arrives, converting it the way match.Seat.Input does. It
// stands for the room's side of the input path without the room.
type validatingSeat struct {
	world   match.TickWorld
	entity  match.EntityID
	inputs  int // inputs handed over
	invalid int // inputs the world rejected
}

func (v *validatingSeat) Attach(*Session) error           { return nil }
func (v *validatingSeat) Detach(*Session)                 {}
func (v *validatingSeat) Violation(arbiterv1.CloseReason) {}
func (v *validatingSeat) Tick() uint32                    { return 0 }
func (v *validatingSeat) Action(uint32, []byte)           {}

func (v *validatingSeat) Input(in *arbiterv1.Input) {
	v.inputs++
	if err := v.world.Validate(v.entity, match.Input{
		Seq: in.GetSeq(), MoveX: in.GetMoveX(), MoveY: in.GetMoveY(), Buttons: in.GetButtons(),
		AimX: in.GetAimX(), AimY: in.GetAimY(), ViewTick: in.GetViewTick(),
	}); err != nil {
		v.invalid++
	}
}

// benchInputFrame is a typical client Input frame: moving, aiming and
// firing, seq and view tick in the thousands (a few minutes into a match).
func benchInputFrame(seq, viewTick uint32) []byte {
	b, err := proto.Marshal(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{
		Seq: seq, MoveX: 707, MoveY: -707, Buttons: sim.ButtonFire, AimX: 40000, AimY: -25000, ViewTick: viewTick,
	}}})
	if err != nil {
		panic(err)
	}
	return b
}

// inputBench is the input hot path with no socket: a session whose seat
// validates against an arena world of ffa size.
type inputBench struct {
	sess  *Session
	seat  *validatingSeat
	world match.TickWorld
	ents  []match.EntityID
	frame []byte
}

func newInputBench(tb testing.TB) *inputBench {
	tb.Helper()
	w, err := arena.Game{}.NewWorld(match.WorldConfig{Mode: "ffa", TickRate: 30, Players: 10})
	if err != nil {
		tb.Fatal(err)
	}
	world := w.(match.TickWorld)
	ib := &inputBench{world: world}
	for range 10 {
		ib.ents = append(ib.ents, world.Join())
	}
	for range 3000 { // some minutes of play: view ticks in the thousands are valid
		world.Step(nil)
	}
	ib.seat = &validatingSeat{world: world}
	ib.sess = newSession(withoutWriters(NewServer(Config{Logger: discard()}, nil)), nil, newSocket(nil), ib.seat)
	ib.frame = benchInputFrame(3000, 2998)
	return ib
}

// input runs input number i through handleFrame: one input per entity per
// tick, as the room takes them, and an empty Step after every round, which
// refills the input budgets as a tick does. The Step is thus part of the
// cost: a tenth of an empty ten-entity tick per input.
func (ib *inputBench) input(i int) {
	ib.seat.entity = ib.ents[i%len(ib.ents)]
	if _, msg, ok := handleFrame(ib.sess, true, ib.frame); !ok {
		panic("handleFrame refused the frame: " + msg)
	}
	if i%len(ib.ents) == len(ib.ents)-1 {
		ib.world.Step(nil)
	}
}

// BenchmarkInputDecodeValidate measures one client Input frame from the
// bytes gws hands the server to the world's verdict: handleFrame (size
// check, proto.Unmarshal into the session's reused ClientMessage, dispatch)
// and arena's World.Validate.
func BenchmarkInputDecodeValidate(b *testing.B) {
	ib := newInputBench(b)
	b.SetBytes(int64(len(ib.frame)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ib.input(i)
		i++
	}
	if ib.seat.invalid > 0 {
		b.Fatalf("%d of %d inputs rejected: the benchmark must measure the accepting path", ib.seat.invalid, i)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// benchTick returns a room's tick as the room encodes it (TickSnapshot):
// sixteen entities in mid-match — a ~300-byte full snapshot — each of
// which moved a step since the tick before, the delta's base.
func benchTick() arbiterv1.TickSnapshot {
	var prev, cur []*arbiterv1.Entity
	for i := range uint32(16) {
		e := &arbiterv1.Entity{
			Id: i + 1, X: int32(10000 + 7919*i), Y: int32(90000 - 6131*i), Hp: 40 + 6*i, Score: i, LastInputSeq: 5390 + i,
		}
		prev = append(prev, e)
		cur = append(cur, &arbiterv1.Entity{Id: e.Id, X: e.X + 471, Y: e.Y - 471, Hp: e.Hp, Score: e.Score, LastInputSeq: e.LastInputSeq + 1})
	}
	full, err := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 5401, Entities: cur}}})
	if err != nil {
		panic(err)
	}
	var enc arbiterv1.DeltaEncoder
	return arbiterv1.TickSnapshot{
		Tick: 5401, Full: full, Base: 5400,
		Key:   enc.AppendBody(nil, 5401, 0, nil, cur),
		Delta: enc.AppendBody(nil, 5401, 5400, prev, cur),
	}
}

// benchOwn is a player's acknowledgements in benchTick.
var benchOwn = arbiterv1.Ack{LastInputSeq: 5391, InputBacklog: 1}

// nextTick returns ts as the next tick: the same bytes, numbered one
// later, its delta from ts — the transport reads only the numbers. A
// session offered the ticks so made writes deltas, as in a match.
func nextTick(ts arbiterv1.TickSnapshot) arbiterv1.TickSnapshot {
	ts.Tick, ts.Base = ts.Tick+1, ts.Tick
	return ts
}

// fullOnly is a snapshot with only a full message: what the tests of a
// full session need.
func fullOnly(b []byte) arbiterv1.TickSnapshot { return arbiterv1.TickSnapshot{Full: b} }

// fanout counts frames received by all the clients of a BenchmarkFanout
// run: left is set to the number expected, and done is signalled by the
// client that receives the last.
type fanout struct {
	left atomic.Int64
	done chan struct{}

	mu       sync.Mutex
	sessions []*Session
}

func (f *fanout) expect(n int) { f.left.Store(int64(n)) }

func (f *fanout) received() {
	if f.left.Add(-1) == 0 {
		f.done <- struct{}{}
	}
}

// Admit gives every connection a seat of its own that records its session
// and sends it a Welcome, which the client counts.
func (f *fanout) Admit(string) (Seat, error) { return fanoutSeat{f}, nil }

type fanoutSeat struct{ f *fanout }

var welcomeFrame = func() []byte {
	b, _ := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{MatchId: "m", TickRate: 30}}})
	return b
}()

func (s fanoutSeat) Attach(sess *Session) error {
	s.f.mu.Lock()
	s.f.sessions = append(s.f.sessions, sess)
	s.f.mu.Unlock()
	sess.Send(welcomeFrame)
	return nil
}
func (fanoutSeat) Detach(*Session)                 {}
func (fanoutSeat) Violation(arbiterv1.CloseReason) {}
func (fanoutSeat) Input(*arbiterv1.Input)          {}
func (fanoutSeat) Tick() uint32                    { return 0 }
func (fanoutSeat) Action(uint32, []byte)           {}

// fanoutClient reads and discards; it only counts.
type fanoutClient struct {
	gws.BuiltinEventHandler
	f      *fanout
	closed chan struct{}
}

func (c *fanoutClient) OnMessage(_ *gws.Conn, msg *gws.Message) {
	msg.Close()
	c.f.received()
}

func (c *fanoutClient) OnClose(*gws.Conn, error) { close(c.closed) }

// startFanout starts a Server on loopback with n connected gws clients,
// which ask for the snapshots encoding given (full or delta), and returns
// the n sessions once every client has its Welcome. Everything is torn
// down when b ends.
func startFanout(b *testing.B, n int, snapshots string) (*fanout, []*Session) {
	b.Helper()
	f := &fanout{done: make(chan struct{}, 1)}
	srv := NewServer(Config{
		Logger:        discard(),
		IdleTimeout:   time.Hour, // no pings during the run
		MaxConnsPerIP: -1,
		MaxConns:      -1,
	}, f)
	hs := httptest.NewServer(srv)
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/play?token=t&snapshots=" + snapshots
	var clients []*fanoutClient
	var conns []*gws.Conn
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
		for i, c := range conns {
			_ = c.NetConn().Close()
			<-clients[i].closed
		}
		hs.Close()
	})
	f.expect(n) // the Welcomes
	for range n {
		c := &fanoutClient{f: f, closed: make(chan struct{})}
		conn, _, err := gws.NewClient(c, &gws.ClientOption{Addr: url})
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		clients, conns = append(clients, c), append(conns, conn)
		go conn.ReadLoop()
	}
	select {
	case <-f.done:
	case <-time.After(10 * time.Second):
		b.Fatalf("only %d of %d clients welcomed within 10s", n-int(f.left.Load()), n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f, f.sessions
}

// BenchmarkFanout measures delivering one tick's snapshot to n real
// WebSocket connections over loopback: one iteration offers the tick to
// every session (SendSnapshot, as the room does) and ends when every
// client has read it. With snapshots=full each client gets the ~300-byte
// full message; with snapshots=delta its delta message, the shared delta
// body and its own acknowledgements (the ticks follow each other, so
// every one after the first is a delta). It includes the server's writers
// and the clients' readers, all in this process, so allocs/op counts both
// sides. ns/conn is ns/op divided by n; MB/s counts the bytes of all n
// messages.
func BenchmarkFanout(b *testing.B) {
	for _, snapshots := range []string{"full", "delta"} {
		for _, n := range []int{10, 100} {
			b.Run(fmt.Sprintf("snapshots=%s/conns=%d", snapshots, n), func(b *testing.B) {
				f, sessions := startFanout(b, n, snapshots)
				ts := benchTick()
				size := len(ts.Full)
				if snapshots == "delta" {
					size = arbiterv1.DeltaMessageSize(ts.Delta, benchOwn)
				}
				b.SetBytes(int64(size * n))
				b.ReportAllocs()
				for b.Loop() {
					f.expect(n)
					ts = nextTick(ts)
					for _, s := range sessions {
						s.SendSnapshot(ts, benchOwn)
					}
					<-f.done
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/conn")
			})
		}
	}
}

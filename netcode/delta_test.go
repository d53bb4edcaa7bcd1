package netcode

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

// TestSnapshotChoice: what a session writes for a snapshot is decided
// when it is written — by the fast path, or by the writer taking the slot
// — from the last snapshot written: a full session always writes the
// full message; a delta session the delta when its base was written last,
// and the key on its first snapshot, after the slot replaced one unsent,
// and on the room's first tick, which has no delta. Every offer here is
// deferred (the socket has no descriptor), so the steps decide when the
// writer takes the slot.
func TestSnapshotChoice(t *testing.T) {
	// Steps: a number offers that tick (its delta from the tick before,
	// none for tick 1); "take" is the writer taking the slot.
	const take = 0
	tests := []struct {
		name  string
		delta bool
		noKey uint32 // the snapshots up to this tick come without key and delta
		give  []uint32
		want  []string // what each take wrote
	}{
		{"full session", false, 0, []uint32{5, take, 6, take, 8, take}, []string{"full 5", "full 6", "full 8"}},
		{"first snapshot", true, 0, []uint32{5, take}, []string{"key 5"}},
		{"consecutive", true, 0, []uint32{5, take, 6, take, 7, take}, []string{"key 5", "delta 6", "delta 7"}},
		{"slot replaced", true, 0, []uint32{5, take, 6, 7, take, 8, take}, []string{"key 5", "key 7", "delta 8"}},
		{"room's first tick", true, 0, []uint32{1, take, 2, take}, []string{"key 1", "delta 2"}},
		{"nothing offered", true, 0, []uint32{take, 5, take}, []string{"key 5"}},
		{"no key offered", true, 6, []uint32{5, take, 6, take, 7, take}, []string{"full 5", "full 6", "delta 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := withoutWriters(NewServer(Config{Logger: discard()}, nil))
			s := newSession(srv, nil, newSocket(nil), &fakeSeat{})
			s.delta = tt.delta
			base := benchTick()
			full := bytes.Clone(base.Full)
			var got []string
			var msg []byte // the writer's buffer, reused from take to take
			for _, step := range tt.give {
				if step != take {
					ts := base
					ts.Tick, ts.Base = step, step-1
					if step == 1 {
						ts.Delta, ts.Base = nil, 0
					}
					if step <= tt.noKey {
						ts.Key, ts.Delta, ts.Base = nil, nil, 0
					}
					s.SendSnapshot(ts, benchOwn)
					continue
				}
				keys := srv.Stats.SnapshotKeys.Load()
				s.mu.Lock()
				batch := s.takeLocked(nil, &msg)
				written := s.mu.written
				s.mu.Unlock()
				for _, f := range batch {
					got = append(got, describe(t, f.b, srv.Stats.SnapshotKeys.Load() > keys, written))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("written %q, want %q", got, tt.want)
			}
			if !bytes.Equal(base.Full, full) {
				t.Error("the shared full message was written into")
			}
		})
	}
}

// describe names a snapshot message a session wrote for tick: full, key
// or delta; key is whether the session counted a key.
func describe(t *testing.T, b []byte, key bool, tick uint32) string {
	t.Helper()
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("written message does not decode: %v", err)
	}
	d := m.GetSnapshotDelta()
	switch {
	case m.GetSnapshot() != nil:
		return fmt.Sprintf("full %d", tick)
	case d == nil:
		t.Fatalf("written message is a %T, not a snapshot", m.GetKind())
	case d.GetLastInputSeq() != benchOwn.LastInputSeq || d.GetInputBacklog() != benchOwn.InputBacklog:
		t.Fatalf("written message carries acknowledgements %d/%d, want the player's %+v", d.GetLastInputSeq(), d.GetInputBacklog(), benchOwn)
	case d.GetBaseTick() == 0 && key:
		return fmt.Sprintf("key %d", tick)
	case d.GetBaseTick() != 0 && !key:
		return fmt.Sprintf("delta %d", tick)
	}
	t.Fatalf("written message from base %d, and a key counted: %v", d.GetBaseTick(), key)
	return ""
}

// streamWorld is a random room for TestDeltaStream: entities that move,
// get hit, score, join and leave.
type streamWorld struct {
	rng    *rand.Rand
	ents   []*arbiterv1.Entity
	nextID uint32
	enc    arbiterv1.DeltaEncoder
}

// tick returns the room's next tick as the room encodes it, and the
// entities it has.
func (w *streamWorld) tick(tick uint32) (arbiterv1.TickSnapshot, []*arbiterv1.Entity) {
	prev := w.ents
	w.ents = nil
	for _, e := range prev {
		if w.rng.IntN(200) == 0 {
			continue // left
		}
		n := &arbiterv1.Entity{Id: e.Id, X: e.X, Y: e.Y, Hp: e.Hp, Score: e.Score, LastInputSeq: e.LastInputSeq + 1}
		if w.rng.IntN(4) > 0 {
			n.X += w.rng.Int32N(1333) - 666
			n.Y += w.rng.Int32N(1333) - 666
		}
		if w.rng.IntN(20) == 0 {
			n.Hp = uint32(w.rng.IntN(101))
			n.Score++
		}
		w.ents = append(w.ents, n)
	}
	for len(w.ents) < 3 || w.rng.IntN(100) == 0 {
		w.nextID++
		w.ents = append(w.ents, &arbiterv1.Entity{Id: w.nextID, X: w.rng.Int32N(100001), Y: w.rng.Int32N(100001), Hp: 100})
	}
	full, err := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: tick, Entities: w.ents}}})
	if err != nil {
		panic(err)
	}
	ts := arbiterv1.TickSnapshot{Tick: tick, Full: full, Key: w.enc.AppendBody(nil, tick, 0, nil, w.ents)}
	if tick > 1 {
		ts.Delta, ts.Base = w.enc.AppendBody(nil, tick, tick-1, prev, w.ents), tick-1
	}
	return ts, w.ents
}

// deltaClient is a client of delta snapshots: it applies every one to
// the last, as a client library does, and holds the result to the room's
// snapshot of that tick. gate, while closed, holds its reader up before
// the next message: the server's buffers fill and its slot replaces
// snapshots unsent.
type deltaClient struct {
	gws.BuiltinEventHandler
	self   uint32
	truth  *sync.Map   // tick → []*arbiterv1.Entity
	ticks  chan uint32 // every tick decoded
	closed chan struct{}

	mu struct {
		sync.Mutex
		gate         chan struct{} // nil: open
		last         *arbiterv1.Snapshot
		keys, deltas int
		err          error // the first thing wrong
	}
}

func (c *deltaClient) OnClose(*gws.Conn, error) { close(c.closed) }

func (c *deltaClient) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	c.mu.Lock()
	gate := c.mu.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	var m arbiterv1.ServerMessage
	err := proto.Unmarshal(msg.Bytes(), &m)
	c.mu.Lock()
	defer c.mu.Unlock()
	d := m.GetSnapshotDelta()
	switch {
	case err != nil:
		c.fail(fmt.Errorf("undecodable message: %w", err))
	case m.GetWelcome() != nil:
	case m.GetSnapshot() != nil:
		c.fail(errors.New("a full snapshot on a delta connection"))
	case d == nil:
		c.fail(fmt.Errorf("unexpected %T", m.GetKind()))
	default:
		got, err := arbiterv1.ApplyDelta(c.mu.last, d, c.self)
		if err != nil {
			c.fail(fmt.Errorf("tick %d: %w", d.GetTick(), err))
			return
		}
		v, _ := c.truth.Load(got.GetTick())
		want, _ := v.([]*arbiterv1.Entity)
		if !sameEntities(want, got.GetEntities(), c.self) {
			c.fail(fmt.Errorf("tick %d: decoded %v, want %v", got.GetTick(), got.GetEntities(), want))
		}
		if d.GetBaseTick() == 0 {
			c.mu.keys++
		} else {
			c.mu.deltas++
		}
		c.mu.last = got
		c.ticks <- got.GetTick()
	}
}

func (c *deltaClient) fail(err error) {
	if c.mu.err == nil {
		c.mu.err = err
	}
}

// sameEntities reports whether got is want as a delta connection of self
// decodes it: the same entities, acknowledgements only on self.
func sameEntities(want, got []*arbiterv1.Entity, self uint32) bool {
	return slices.EqualFunc(want, got, func(w, g *arbiterv1.Entity) bool {
		seq := w.LastInputSeq
		if w.Id != self {
			seq = 0
		}
		return w.Id == g.Id && w.X == g.X && w.Y == g.Y && w.Hp == g.Hp && w.Score == g.Score &&
			seq == g.LastInputSeq && g.InputBacklog == 0
	})
}

// TestDeltaStream: a delta session over a real connection, offered a
// random room's ticks (joins, leaves, moves, hits), sometimes while its
// client holds its reads up so that the socket fills and the slot
// replaces snapshots unsent, and resumed on new connections: after every
// message the client, applying it to its last snapshot, has exactly the
// room's snapshot of that tick, its own acknowledgements included. It
// gets keys (each connection's first, and after every hold-up) and deltas
// (everything else).
func TestDeltaStream(t *testing.T) {
	_, adm, url := newTestServer(t, Config{SendBuffer: 4096, MaxBehind: 1 << 20}, "p")
	w := &streamWorld{rng: rand.New(rand.NewPCG(3, 4))}
	var truth sync.Map
	tick := uint32(0)
	var sess *Session
	for conn := range 3 {
		c := &deltaClient{self: 2, truth: &truth, ticks: make(chan uint32, 4096), closed: make(chan struct{})}
		raw, err := net.Dial("tcp", hostOf(url))
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.(*net.TCPConn).SetReadBuffer(2048) // a hold-up soon fills the socket
		gc, _, err := gws.NewClientFromConn(c, &gws.ClientOption{Addr: url + "p&snapshots=delta"}, raw)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		go gc.ReadLoop()
		prev := sess
		checkFor(t, 5*time.Second, func() error {
			if sess = adm["p"].sess(); sess == prev || !sess.delta {
				return errors.New("no new delta session attached")
			}
			return nil
		})
		for round := range 6 {
			held := round%2 == 1
			if held {
				c.mu.Lock()
				c.mu.gate = make(chan struct{})
				c.mu.Unlock()
			}
			for range 400 {
				tick++
				ts, ents := w.tick(tick)
				truth.Store(tick, ents)
				sess.SendSnapshot(ts, arbiterv1.Ack{LastInputSeq: ackOf(ents, c.self)})
				if !held { // at the client's pace: nothing skipped
					waitTick(t, c, tick)
				}
			}
			if held {
				c.mu.Lock()
				close(c.mu.gate)
				c.mu.gate = nil
				c.mu.Unlock()
				waitTick(t, c, tick)
			}
		}
		_ = gc.NetConn().Close() // the player comes back on a new connection
		<-c.closed
		c.mu.Lock()
		err, keys, deltas := c.mu.err, c.mu.keys, c.mu.deltas
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("connection %d: %v", conn, err)
		}
		t.Logf("connection %d: %d keys, %d deltas", conn, keys, deltas)
		if keys < 2 || deltas < 3*400-1 {
			t.Errorf("connection %d: %d keys and %d deltas; want the first key, one after each hold-up, and deltas otherwise", conn, keys, deltas)
		}
	}
}

// waitTick waits until c has decoded tick.
func waitTick(t *testing.T, c *deltaClient, tick uint32) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-c.ticks:
			if got == tick {
				return
			}
		case <-timeout:
			t.Fatalf("the client did not decode tick %d within 10s", tick)
		}
	}
}

func ackOf(ents []*arbiterv1.Entity, self uint32) uint32 {
	for _, e := range ents {
		if e.Id == self {
			return e.LastInputSeq
		}
	}
	return 0
}

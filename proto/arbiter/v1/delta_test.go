package arbiterv1_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// deltaWorld is a random room for the delta property test: entities that
// move (a step, or a jump anywhere, extremes included), lose hp, score,
// join (anywhere in the order), leave and change places, and players
// whose acknowledgements move on.
type deltaWorld struct {
	rng    *rand.Rand
	ents   []*arbiterv1.Entity
	nextID uint32
}

func (w *deltaWorld) join() {
	w.nextID++
	e := &arbiterv1.Entity{Id: w.nextID, X: w.rng.Int32N(100001), Y: w.rng.Int32N(100001), Hp: 100}
	i := len(w.ents)
	if w.rng.IntN(4) == 0 {
		i = w.rng.IntN(len(w.ents) + 1)
	}
	w.ents = slices.Insert(w.ents, i, e)
}

// step returns the world's entities after one more tick, as new messages:
// the previous tick's stay as they were.
func (w *deltaWorld) step() []*arbiterv1.Entity {
	next := make([]*arbiterv1.Entity, len(w.ents))
	for i, e := range w.ents {
		n := cloneEntity(e)
		switch r := w.rng.IntN(100); {
		case r < 70: // a step of at most 666 per axis: 200 units/s at 30 Hz
			n.X += w.rng.Int32N(1333) - 666
			n.Y += w.rng.Int32N(1333) - 666
		case r < 72: // a respawn
			n.X, n.Y = w.rng.Int32N(100001), w.rng.Int32N(100001)
		case r < 73: // anywhere an int32 reaches: the differences wrap
			n.X, n.Y = int32(w.rng.Uint32()), []int32{math.MinInt32, math.MaxInt32, 0}[w.rng.IntN(3)]
		}
		if w.rng.IntN(10) == 0 {
			n.Hp = uint32(w.rng.IntN(101))
		}
		if w.rng.IntN(20) == 0 {
			n.Score += uint32(w.rng.IntN(3))
		}
		if w.rng.IntN(3) > 0 {
			n.LastInputSeq += uint32(w.rng.IntN(3))
		}
		n.InputBacklog = uint32(max(w.rng.IntN(8)-4, 0))
		next[i] = n
	}
	w.ents = next
	switch r := w.rng.IntN(100); {
	case r < 5 && len(w.ents) < 16:
		w.join()
	case r < 10 && len(w.ents) > 0:
		i := w.rng.IntN(len(w.ents))
		w.ents = slices.Delete(w.ents, i, i+1)
	case r < 12 && len(w.ents) > 1:
		i, j := w.rng.IntN(len(w.ents)), w.rng.IntN(len(w.ents))
		w.ents[i], w.ents[j] = w.ents[j], w.ents[i]
	}
	return w.ents
}

// ownView is what a delta connection of entity self decodes: the full
// snapshot, with only self's acknowledgements.
func ownView(tick uint32, ents []*arbiterv1.Entity, self uint32) *arbiterv1.Snapshot {
	s := &arbiterv1.Snapshot{Tick: tick}
	for _, e := range ents {
		c := cloneEntity(e)
		if c.Id != self {
			c.LastInputSeq, c.InputBacklog = 0, 0
		}
		s.Entities = append(s.Entities, c)
	}
	return s
}

// cloneEntity and sameSnapshot are proto.Clone and proto.Equal for the
// test's messages, without reflection: the property test makes hundreds
// of thousands of them, and must stay quick under the race detector.
func cloneEntity(e *arbiterv1.Entity) *arbiterv1.Entity {
	return &arbiterv1.Entity{Id: e.Id, X: e.X, Y: e.Y, Hp: e.Hp, Score: e.Score, LastInputSeq: e.LastInputSeq, InputBacklog: e.InputBacklog}
}

func sameSnapshot(a, b *arbiterv1.Snapshot) bool {
	return a.GetTick() == b.GetTick() && slices.EqualFunc(a.GetEntities(), b.GetEntities(), func(x, y *arbiterv1.Entity) bool {
		return x.Id == y.Id && x.X == y.X && x.Y == y.Y && x.Hp == y.Hp && x.Score == y.Score &&
			x.LastInputSeq == y.LastInputSeq && x.InputBacklog == y.InputBacklog
	})
}

func ackOf(ents []*arbiterv1.Entity, self uint32) arbiterv1.Ack {
	for _, e := range ents {
		if e.GetId() == self {
			return arbiterv1.Ack{LastInputSeq: e.GetLastInputSeq(), InputBacklog: e.GetInputBacklog()}
		}
	}
	return arbiterv1.Ack{}
}

// decodeDelta decodes one connection's message as a client does.
func decodeDelta(t testing.TB, msg []byte) *arbiterv1.SnapshotDelta {
	t.Helper()
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(msg, &m); err != nil {
		t.Fatalf("decode delta message: %v", err)
	}
	d := m.GetSnapshotDelta()
	if d == nil {
		t.Fatalf("message %v is not a snapshot_delta", m.GetKind())
	}
	return d
}

// TestDeltaProperty: whatever a room does (joins, leaves, reorders,
// moves of any size, hp and scores) and whatever becomes of a
// connection's snapshots (skipped in its newest-wins slot, a resume on a
// new connection), a client applying what it receives has exactly the
// room's snapshot — its own acknowledgements included, nobody else's —
// after every snapshot. The server's side chooses as the transport does:
// the delta when the connection's last snapshot is the delta's base, the
// key otherwise.
func TestDeltaProperty(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			w := &deltaWorld{rng: rng}
			for range rng.IntN(11) {
				w.join()
			}
			self := uint32(rng.IntN(12) + 1)
			var enc arbiterv1.DeltaEncoder
			var prev []*arbiterv1.Entity
			var written uint32           // the tick the server last wrote to the connection
			var last *arbiterv1.Snapshot // the client's last snapshot
			keys, deltas := 0, 0
			for tick := uint32(1); tick <= 250; tick++ {
				cur := w.step()
				ts := arbiterv1.TickSnapshot{Tick: tick, Key: enc.AppendBody(nil, tick, 0, nil, cur)}
				if tick > 1 {
					ts.Delta, ts.Base = enc.AppendBody(nil, tick, tick-1, prev, cur), tick-1
				}
				prev = cur
				switch r := rng.IntN(100); {
				case r < 10: // overwritten in the slot: never written
					continue
				case r < 12: // the client resumes on a new connection
					written, last = 0, nil
				}
				body := ts.Key
				if ts.Delta != nil && ts.Base == written {
					body = ts.Delta
					deltas++
				} else {
					keys++
				}
				own := ackOf(cur, self)
				msg := arbiterv1.AppendDeltaMessage(nil, body, own)
				if n := arbiterv1.DeltaMessageSize(body, own); n != len(msg) {
					t.Fatalf("tick %d: DeltaMessageSize = %d, want %d", tick, n, len(msg))
				}
				written = tick
				got, err := arbiterv1.ApplyDelta(last, decodeDelta(t, msg), self)
				if err != nil {
					t.Fatalf("tick %d: ApplyDelta: %v", tick, err)
				}
				if want := ownView(tick, cur, self); !sameSnapshot(want, got) {
					t.Fatalf("tick %d: decoded snapshot differs from the room's (-want +got):\n%s", tick, cmp.Diff(want, got, protocmp.Transform()))
				}
				last = got
			}
			if keys == 0 || deltas == 0 {
				t.Errorf("%d keys, %d deltas: the run did not exercise both", keys, deltas)
			}
		})
	}
}

// TestApplyDeltaErrors: a delta that does not fit its base is refused,
// and the base is left as it was.
func TestApplyDeltaErrors(t *testing.T) {
	base := &arbiterv1.Snapshot{Tick: 7, Entities: []*arbiterv1.Entity{{Id: 1, X: 5}, {Id: 2, Hp: 9}}}
	tests := []struct {
		name string
		base *arbiterv1.Snapshot
		give *arbiterv1.SnapshotDelta
		want error
	}{
		{"no base", nil, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7}, arbiterv1.ErrDeltaBase},
		{"other base", base, &arbiterv1.SnapshotDelta{Tick: 9, BaseTick: 8}, arbiterv1.ErrDeltaBase},
		{"removed out of range", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{2}}, arbiterv1.ErrBadDelta},
		{"removed twice", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{0, 0}}, arbiterv1.ErrBadDelta},
		{"removed out of order", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{1, 0}}, arbiterv1.ErrBadDelta},
		{"moved not triples", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{0, 1}}, arbiterv1.ErrBadDelta},
		{"moved negative index", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{-1, 1, 1}}, arbiterv1.ErrBadDelta},
		{"moved a removed entity", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{1}, Moved: []int32{1, 1, 1}}, arbiterv1.ErrBadDelta},
		{"moved an added entity", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Added: []*arbiterv1.Entity{{Id: 3}}, Moved: []int32{2, 1, 1}}, arbiterv1.ErrBadDelta},
		{"hp not pairs", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Hp: []uint32{0}}, arbiterv1.ErrBadDelta},
		{"score out of range", base, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Score: []uint32{2, 1}}, arbiterv1.ErrBadDelta},
		{"key with changes", nil, &arbiterv1.SnapshotDelta{Tick: 8, Hp: []uint32{0, 1}}, arbiterv1.ErrBadDelta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was := proto.Clone(base)
			got, err := arbiterv1.ApplyDelta(tt.base, tt.give, 1)
			if !errors.Is(err, tt.want) || got != nil {
				t.Errorf("ApplyDelta(%v) = %v, %v; want nil, %v", tt.give, got, err, tt.want)
			}
			if !proto.Equal(base, was) {
				t.Errorf("ApplyDelta changed its base: %v, want %v", base, was)
			}
		})
	}
}

// TestDeltaSize holds the format to what it is for: a tick of a
// ten-player room where everyone moved a step costs each client about a
// third of the full snapshot, and a tick where nothing changed only the
// header and the client's own acknowledgement.
func TestDeltaSize(t *testing.T) {
	var prev, cur []*arbiterv1.Entity
	for i := range uint32(10) {
		e := &arbiterv1.Entity{Id: i + 1, X: int32(1000 + 9001*i), Y: int32(99000 - 7001*i), Hp: 100 - 7*i, Score: i % 4,
			LastInputSeq: 5400 + i, InputBacklog: i % 2}
		prev = append(prev, e)
		n := proto.CloneOf(e)
		n.X, n.Y, n.LastInputSeq = n.X+471, n.Y-471, n.LastInputSeq+1 // a diagonal step at 30 Hz
		cur = append(cur, n)
	}
	var enc arbiterv1.DeltaEncoder
	full, err := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 5401, Entities: cur}}})
	if err != nil {
		t.Fatal(err)
	}
	own := arbiterv1.Ack{LastInputSeq: 5401}
	moved := arbiterv1.DeltaMessageSize(enc.AppendBody(nil, 5401, 5400, prev, cur), own)
	still := arbiterv1.DeltaMessageSize(enc.AppendBody(nil, 5401, 5400, cur, cur), own)
	key := arbiterv1.DeltaMessageSize(enc.AppendBody(nil, 5401, 0, nil, cur), own)
	t.Logf("full %d B, key %d B, all moved %d B, none moved %d B", len(full), key, moved, still)
	if moved > 70 || moved*2 > len(full) {
		t.Errorf("a delta where all ten moved is %d bytes (full %d); want at most 70", moved, len(full))
	}
	if still > 16 {
		t.Errorf("a delta where nothing changed is %d bytes, want at most 16", still)
	}
	if key >= len(full) {
		t.Errorf("a key is %d bytes, want less than the full snapshot's %d", key, len(full))
	}
}

// TestDeltaEncoderAllocs: once its scratch has grown, encoding a delta
// body into a buffer with room allocates nothing.
func TestDeltaEncoderAllocs(t *testing.T) {
	w := &deltaWorld{rng: rand.New(rand.NewPCG(1, 2))}
	for range 10 {
		w.join()
	}
	prev := slices.Clone(w.ents)
	cur := w.step()
	var enc arbiterv1.DeltaEncoder
	buf := make([]byte, 0, 4096)
	enc.AppendBody(buf, 2, 1, prev, cur)
	if n := testing.AllocsPerRun(100, func() {
		buf = enc.AppendBody(buf[:0], 2, 1, prev, cur)
		buf = enc.AppendBody(buf, 2, 0, nil, cur)
		buf = arbiterv1.AppendDeltaMessage(buf, buf[:8], arbiterv1.Ack{LastInputSeq: 9})
	}); n != 0 {
		t.Errorf("encoding allocates %v times, want 0", n)
	}
}

// FuzzApplyDelta feeds ApplyDelta any base and any delta that decode as
// protobuf. It must never panic, and whatever it accepts obeys the
// format: the kept entities, then the added ones. And the encoder can say
// it again: the delta DeltaEncoder makes from the base to the result,
// applied to the base, gives the result back.
func FuzzApplyDelta(f *testing.F) {
	base := &arbiterv1.Snapshot{Tick: 41, Entities: []*arbiterv1.Entity{
		{Id: 1, X: 100, Y: 200, Hp: 100, LastInputSeq: 9}, {Id: 2, X: -5, Y: math.MaxInt32, Hp: 75, Score: 3}, {Id: 3, X: 50000, Y: 50000},
	}}
	next := &arbiterv1.Snapshot{Tick: 42, Entities: []*arbiterv1.Entity{
		{Id: 1, X: 566, Y: -271, Hp: 100}, {Id: 3, X: 50000, Y: 50000, Score: 1}, {Id: 4, X: 7, Y: 8, Hp: 100}, {Id: 2, X: 0, Y: math.MinInt32, Hp: 50},
	}}
	var enc arbiterv1.DeltaEncoder
	add := func(b *arbiterv1.Snapshot, body []byte, own arbiterv1.Ack, self uint32) {
		bb, err := proto.Marshal(b)
		if err != nil {
			f.Fatal(err)
		}
		var m arbiterv1.ServerMessage
		if err := proto.Unmarshal(arbiterv1.AppendDeltaMessage(nil, body, own), &m); err != nil {
			f.Fatal(err)
		}
		db, err := proto.Marshal(m.GetSnapshotDelta())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bb, db, self)
	}
	add(base, enc.AppendBody(nil, 42, 41, base.Entities, next.Entities), arbiterv1.Ack{LastInputSeq: 12, InputBacklog: 1}, 1)
	add(base, enc.AppendBody(nil, 42, 0, nil, next.Entities), arbiterv1.Ack{LastInputSeq: 12}, 4)
	add(next, enc.AppendBody(nil, 43, 42, next.Entities, base.Entities), arbiterv1.Ack{}, 2)
	add(base, enc.AppendBody(nil, 42, 41, base.Entities, nil), arbiterv1.Ack{}, 0)
	f.Add([]byte{}, []byte{0x10, 0x01, 0x1a, 0x02, 0x00, 0x00}, uint32(0))
	f.Fuzz(func(t *testing.T, baseBytes, deltaBytes []byte, self uint32) {
		var b arbiterv1.Snapshot
		var d arbiterv1.SnapshotDelta
		if proto.Unmarshal(baseBytes, &b) != nil || proto.Unmarshal(deltaBytes, &d) != nil {
			return
		}
		if len(b.GetEntities()) > 1024 || len(d.GetAdded()) > 1024 {
			return // a client bounds the entities of a snapshot before it applies a delta
		}
		was := proto.Clone(&b)
		got, err := arbiterv1.ApplyDelta(&b, &d, self)
		if !proto.Equal(&b, was) {
			t.Fatalf("ApplyDelta changed its base")
		}
		if err != nil {
			if got != nil || !(errors.Is(err, arbiterv1.ErrDeltaBase) || errors.Is(err, arbiterv1.ErrBadDelta)) {
				t.Fatalf("ApplyDelta = %v, %v; want nil and one of the package's errors", got, err)
			}
			return
		}
		from := b.GetEntities()
		if d.GetBaseTick() == 0 {
			from = nil
		}
		kept := len(from) - len(d.GetRemoved())
		if got.GetTick() != d.GetTick() || len(got.GetEntities()) != kept+len(d.GetAdded()) {
			t.Fatalf("ApplyDelta gave tick %d with %d entities; want tick %d with %d kept and %d added",
				got.GetTick(), len(got.GetEntities()), d.GetTick(), kept, len(d.GetAdded()))
		}
		for i, a := range d.GetAdded() {
			if e := got.GetEntities()[kept+i]; e.GetId() != a.GetId() || e.GetX() != a.GetX() || e.GetHp() != a.GetHp() {
				t.Fatalf("entity %d = %v, want added %v", kept+i, e, a)
			}
		}
		for _, e := range got.GetEntities() {
			if e.GetId() != self && (e.GetLastInputSeq() != 0 || e.GetInputBacklog() != 0) {
				t.Fatalf("entity %v carries acknowledgements; only self (%d) may", e, self)
			}
		}
		own := arbiterv1.Ack{LastInputSeq: d.GetLastInputSeq(), InputBacklog: d.GetInputBacklog()}
		again := decodeDelta(t, arbiterv1.AppendDeltaMessage(nil, enc.AppendBody(nil, got.GetTick(), d.GetBaseTick(), from, got.GetEntities()), own))
		re, err := arbiterv1.ApplyDelta(&b, again, self)
		if err != nil {
			t.Fatalf("the encoder's delta from the base to the result: ApplyDelta: %v", err)
		}
		if diff := cmp.Diff(got, re, protocmp.Transform()); diff != "" {
			t.Fatalf("the encoder's delta from the base to the result does not give it back (-got +again):\n%s", diff)
		}
	})
}

// The worked example of docs/protocol.md ("Delta snapshots").
func ExampleApplyDelta() {
	base := &arbiterv1.Snapshot{Tick: 41, Entities: []*arbiterv1.Entity{
		{Id: 1, X: 100, Y: 200, Hp: 100}, {Id: 2, X: 50, Y: 50, Hp: 75, Score: 3}, {Id: 3, X: 9, Y: 9, Hp: 100},
	}}
	d := &arbiterv1.SnapshotDelta{
		Tick: 42, BaseTick: 41, Removed: []uint32{1}, Added: []*arbiterv1.Entity{{Id: 4, X: 7, Y: 8, Hp: 100}},
		Moved: []int32{0, 466, -471}, Hp: []uint32{1, 50}, LastInputSeq: 12,
	}
	s, err := arbiterv1.ApplyDelta(base, d, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("tick", s.GetTick())
	for _, e := range s.GetEntities() {
		fmt.Printf("id %d, x %d, y %d, hp %d, score %d, last_input_seq %d\n", e.GetId(), e.GetX(), e.GetY(), e.GetHp(), e.GetScore(), e.GetLastInputSeq())
	}
	// Output:
	// tick 42
	// id 1, x 566, y -271, hp 100, score 0, last_input_seq 12
	// id 3, x 9, y 9, hp 50, score 0, last_input_seq 0
	// id 4, x 7, y 8, hp 100, score 0, last_input_seq 0
}

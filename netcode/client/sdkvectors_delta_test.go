package client

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// --- Delta snapshots: what the TypeScript SDK's applyDelta and Session
// must decode exactly as arbiterv1.ApplyDelta does (sdk/ts/test/delta.test.ts).
//
// Streams are delta connections as the server writes them: a random room
// encoded each tick with arbiterv1.DeltaEncoder, the delta when the
// connection's last snapshot is its base and the key otherwise, with
// snapshots skipped (replaced in the connection's newest-wins slot),
// resumes on a new connection, the occasional full Snapshot (a new base),
// and repeated fields sometimes unpacked. Each frame comes with the
// snapshot the Go client has after it. Cases are single deltas against a
// given base — the malformed ones Go refuses, named, and random ones near
// the format's edges with Go's verdict, a snapshot or an error.

type deltaFile struct {
	Comment string        `json:"comment"`
	Streams []deltaStream `json:"streams"`
	Cases   []deltaCase   `json:"cases"`
}

// deltaStream is one player's frames, across connections.
type deltaStream struct {
	Name string `json:"name"`
	// Self is the Welcome's entity_id: the entity whose acknowledgements
	// the deltas carry.
	Self   uint32       `json:"self"`
	Frames []deltaFrame `json:"frames"`
}

// deltaFrame is one ServerMessage (a snapshot_delta, or a snapshot on a
// delta connection) and the Snapshot the Go client has after it.
type deltaFrame struct {
	// Resume: the frame is the first of a new connection (no base).
	Resume bool      `json:"resume,omitempty"`
	Hex    string    `json:"hex"`
	Want   deltaSnap `json:"want"`
}

// deltaCase is one ServerMessage carrying a snapshot_delta, applied to
// Base (null: no snapshot yet) by a client whose entity is Self: Want, or
// Error ("base" for arbiterv1.ErrDeltaBase, "malformed" for ErrBadDelta).
type deltaCase struct {
	Name  string     `json:"name"`
	Base  *deltaSnap `json:"base"`
	Self  uint32     `json:"self"`
	Hex   string     `json:"hex"`
	Want  *deltaSnap `json:"want,omitempty"`
	Error string     `json:"error,omitempty"`
}

// deltaSnap is a Snapshot: its tick, and per entity id, x, y, hp, score,
// last_input_seq, input_backlog.
type deltaSnap struct {
	Tick     uint32     `json:"tick"`
	Entities [][7]int64 `json:"entities"`
}

func toDeltaSnap(s *arbiterv1.Snapshot) deltaSnap {
	out := deltaSnap{Tick: s.GetTick(), Entities: [][7]int64{}}
	for _, e := range s.GetEntities() {
		out.Entities = append(out.Entities, [7]int64{int64(e.GetId()), int64(e.GetX()), int64(e.GetY()),
			int64(e.GetHp()), int64(e.GetScore()), int64(e.GetLastInputSeq()), int64(e.GetInputBacklog())})
	}
	return out
}

// vectorRoom is a random room: entities that walk, respawn, jump to
// int32 extremes (the differences wrap), lose hp, score, join anywhere in
// the order, leave and change places; players whose acknowledgements move
// on. Each step returns new messages: the previous tick's stay as they
// were.
type vectorRoom struct {
	rng     *splitmix
	ents    []*arbiterv1.Entity
	nextID  uint32
	max     int  // entities at most
	extreme bool // numbers near the limits of their types
	fixed   bool // nobody joins, leaves or changes places
}

func (r *vectorRoom) join() {
	r.nextID++
	e := &arbiterv1.Entity{Id: r.nextID, X: int32(r.rng.between(0, 100000)), Y: int32(r.rng.between(0, 100000)), Hp: 100}
	if r.extreme {
		e.Id = math.MaxUint32 - r.nextID
		e.Hp, e.Score, e.LastInputSeq = math.MaxUint32-uint32(r.rng.intn(3)), math.MaxUint32-uint32(r.rng.intn(5)), math.MaxUint32-1000
	}
	i := len(r.ents)
	if r.rng.pct(25) {
		i = r.rng.intn(len(r.ents) + 1)
	}
	r.ents = slices.Insert(r.ents, i, e)
}

func (r *vectorRoom) step() []*arbiterv1.Entity {
	next := make([]*arbiterv1.Entity, len(r.ents))
	for i, e := range r.ents {
		n := &arbiterv1.Entity{Id: e.Id, X: e.X, Y: e.Y, Hp: e.Hp, Score: e.Score, LastInputSeq: e.LastInputSeq, InputBacklog: e.InputBacklog}
		switch p := r.rng.intn(100); {
		case p < 70: // a step of at most 666 per axis: 200 units/s at 30 Hz
			n.X = int32(uint32(n.X) + uint32(r.rng.between(-666, 666)))
			n.Y = int32(uint32(n.Y) + uint32(r.rng.between(-666, 666)))
		case p < 73: // a respawn
			n.X, n.Y = int32(r.rng.between(0, 100000)), int32(r.rng.between(0, 100000))
		case p < 75 || (r.extreme && p < 90): // anywhere an int32 reaches
			n.X = int32(uint32(r.rng.next()))
			n.Y = []int32{math.MinInt32, math.MaxInt32, 0, -1}[r.rng.intn(4)]
		}
		if r.rng.pct(10) {
			n.Hp = uint32(r.rng.intn(101))
			if r.extreme {
				n.Hp = uint32(r.rng.next())
			}
		}
		if r.rng.pct(5) {
			n.Score += uint32(r.rng.intn(3)) // wraps past the uint32 limit in the extreme room
		}
		if r.rng.pct(66) {
			n.LastInputSeq += uint32(r.rng.intn(3))
		}
		n.InputBacklog = uint32(max(r.rng.intn(8)-4, 0))
		next[i] = n
	}
	r.ents = next
	if r.fixed {
		return r.ents
	}
	switch p := r.rng.intn(100); {
	case p < 6 && len(r.ents) < r.max:
		r.join()
	case p < 11 && len(r.ents) > 0:
		i := r.rng.intn(len(r.ents))
		r.ents = slices.Delete(r.ents, i, i+1)
	case p < 14 && len(r.ents) > 1:
		i, j := r.rng.intn(len(r.ents)), r.rng.intn(len(r.ents))
		r.ents[i], r.ents[j] = r.ents[j], r.ents[i]
	}
	return r.ents
}

// deltaAck is what a delta connection of self gets of its own entity.
func deltaAck(ents []*arbiterv1.Entity, self uint32) arbiterv1.Ack {
	for _, e := range ents {
		if e.GetId() == self {
			return arbiterv1.Ack{LastInputSeq: e.GetLastInputSeq(), InputBacklog: e.GetInputBacklog()}
		}
	}
	return arbiterv1.Ack{}
}

// ownSnapshot is the room's snapshot as a delta connection of self
// decodes it: only self's acknowledgements.
func ownSnapshot(tick uint32, ents []*arbiterv1.Entity, self uint32) *arbiterv1.Snapshot {
	s := &arbiterv1.Snapshot{Tick: tick}
	for _, e := range ents {
		c := proto.CloneOf(e)
		if c.Id != self {
			c.LastInputSeq, c.InputBacklog = 0, 0
		}
		s.Entities = append(s.Entities, c)
	}
	return s
}

// unpackedDelta encodes m's snapshot_delta with its repeated numbers
// unpacked, one tag each, as protobuf allows an encoder to and requires a
// decoder to accept.
func unpackedDelta(d *arbiterv1.SnapshotDelta) []byte {
	var b []byte
	varint := func(num protowire.Number, v uint64) {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	varint(arbiterv1.FieldSnapshotDeltaTick, uint64(d.GetTick()))
	if d.GetBaseTick() != 0 {
		varint(arbiterv1.FieldSnapshotDeltaBaseTick, uint64(d.GetBaseTick()))
	}
	for _, r := range d.GetRemoved() {
		varint(arbiterv1.FieldSnapshotDeltaRemoved, uint64(r))
	}
	for _, a := range d.GetAdded() {
		ab, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
		if err != nil {
			panic(err) // a message this test built
		}
		b = protowire.AppendTag(b, arbiterv1.FieldSnapshotDeltaAdded, protowire.BytesType)
		b = protowire.AppendBytes(b, ab)
	}
	for _, v := range d.GetMoved() {
		varint(arbiterv1.FieldSnapshotDeltaMoved, protowire.EncodeZigZag(int64(v)))
	}
	for _, v := range d.GetHp() {
		varint(arbiterv1.FieldSnapshotDeltaHP, uint64(v))
	}
	for _, v := range d.GetScore() {
		varint(arbiterv1.FieldSnapshotDeltaScore, uint64(v))
	}
	varint(arbiterv1.FieldSnapshotDeltaLastInputSeq, uint64(d.GetLastInputSeq()))
	varint(arbiterv1.FieldSnapshotDeltaInputBacklog, uint64(d.GetInputBacklog()))
	msg := protowire.AppendTag(nil, arbiterv1.FieldServerMessageSnapshotDelta, protowire.BytesType)
	return protowire.AppendBytes(msg, b)
}

// deltaErrorWord names ApplyDelta's error for the vectors.
func deltaErrorWord(t *testing.T, err error) string {
	t.Helper()
	switch {
	case errors.Is(err, arbiterv1.ErrDeltaBase):
		return "base"
	case errors.Is(err, arbiterv1.ErrBadDelta):
		return "malformed"
	}
	t.Fatalf("ApplyDelta: %v, not one of its errors", err)
	return ""
}

func marshalServer(t *testing.T, m *arbiterv1.ServerMessage) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeServer(t *testing.T, b []byte) *arbiterv1.ServerMessage {
	t.Helper()
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return &m
}

// deltaStreamVectors plays one room for ticks ticks, as a connection of
// self receives it.
func deltaStreamVectors(t *testing.T, name string, rng *splitmix, room *vectorRoom, joins int, self uint32, ticks int) deltaStream {
	t.Helper()
	for range joins {
		room.join()
	}
	st := deltaStream{Name: name, Self: self}
	var enc arbiterv1.DeltaEncoder
	var prev []*arbiterv1.Entity
	var written uint32 // the tick the server last wrote to the connection
	var last *arbiterv1.Snapshot
	resume := false
	count := map[string]int{}
	for tick := uint32(1); tick <= uint32(ticks); tick++ {
		cur := room.step()
		key := enc.AppendBody(nil, tick, 0, nil, cur)
		var delta []byte
		if tick > 1 {
			delta = enc.AppendBody(nil, tick, tick-1, prev, cur)
		}
		prev = cur
		switch p := rng.intn(100); {
		case p < 10: // replaced in the slot before the writer took it: never written
			count["skipped"]++
			continue
		case p < 14: // the client resumes on a new connection
			written, last, resume = 0, nil, true
			count["resumes"]++
		}
		var msg []byte
		switch {
		case rng.pct(6): // a full snapshot: a new base, every acknowledgement
			msg = marshalServer(t, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: tick, Entities: cur}}})
			count["full"]++
		case delta != nil && written == tick-1:
			msg = arbiterv1.AppendDeltaMessage(nil, delta, deltaAck(cur, self))
			count["deltas"]++
		default:
			msg = arbiterv1.AppendDeltaMessage(nil, key, deltaAck(cur, self))
			count["keys"]++
		}
		m := decodeServer(t, msg)
		var got *arbiterv1.Snapshot
		if d := m.GetSnapshotDelta(); d != nil {
			if rng.pct(8) {
				msg = unpackedDelta(d)
				count["unpacked"]++
			}
			var err error
			if got, err = arbiterv1.ApplyDelta(last, d, self); err != nil {
				t.Fatalf("%s, tick %d: ApplyDelta: %v", name, tick, err)
			}
			if want := ownSnapshot(tick, cur, self); !proto.Equal(got, want) {
				t.Fatalf("%s, tick %d: ApplyDelta = %v, want the room's %v", name, tick, got, want)
			}
		} else {
			got = m.GetSnapshot()
		}
		written, last = tick, got
		st.Frames = append(st.Frames, deltaFrame{Resume: resume, Hex: hex.EncodeToString(msg), Want: toDeltaSnap(got)})
		resume = false
	}
	for _, k := range []string{"skipped", "resumes", "full", "deltas", "keys", "unpacked"} {
		if count[k] == 0 {
			t.Fatalf("%s: no %s in %v: the stream does not exercise them all (change its seed or length)", name, k, count)
		}
	}
	return st
}

func deltaVectors(t *testing.T) any {
	rng := splitmix(5)
	f := deltaFile{Comment: vectorsHeader}
	f.Streams = append(f.Streams,
		deltaStreamVectors(t, "a duel at 30 Hz", &rng, &vectorRoom{rng: &rng, max: 2, fixed: true}, 2, 2, 90),
		deltaStreamVectors(t, "ffa: joins, leaves, reorders", &rng, &vectorRoom{rng: &rng, max: 10}, 7, 3, 110),
		deltaStreamVectors(t, "numbers at their limits", &rng, &vectorRoom{rng: &rng, max: 4, extreme: true}, 3, math.MaxUint32-2, 70),
		deltaStreamVectors(t, "a room that empties and fills", &rng, &vectorRoom{rng: &rng, max: 3}, 0, 1, 80),
	)

	base := &arbiterv1.Snapshot{Tick: 7, Entities: []*arbiterv1.Entity{
		{Id: 1, X: 5, Y: -5, Hp: 100, LastInputSeq: 4, InputBacklog: 1}, {Id: 2, X: math.MaxInt32, Y: math.MinInt32, Hp: 9, Score: 3, LastInputSeq: 8},
	}}
	add := func(name string, b *arbiterv1.Snapshot, self uint32, d *arbiterv1.SnapshotDelta) {
		c := deltaCase{Name: name, Self: self, Hex: hex.EncodeToString(marshalServer(t, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_SnapshotDelta{SnapshotDelta: d}}))}
		if b != nil {
			s := toDeltaSnap(b)
			c.Base = &s
		}
		got, err := arbiterv1.ApplyDelta(b, d, self)
		if err != nil {
			c.Error = deltaErrorWord(t, err)
		} else {
			s := toDeltaSnap(got)
			c.Want = &s
		}
		f.Cases = append(f.Cases, c)
	}
	// Named: everything TestApplyDeltaErrors refuses, and the edges Go accepts.
	add("no base", nil, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7})
	add("other base", base, 1, &arbiterv1.SnapshotDelta{Tick: 9, BaseTick: 8})
	add("removed out of range", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{2}})
	add("removed far out of range", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{math.MaxUint32}})
	add("removed twice", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{0, 0}})
	add("removed out of order", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{1, 0}})
	add("moved not triples", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{0, 1}})
	add("moved negative index", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{-1, 1, 1}})
	add("moved a removed entity", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{1}, Moved: []int32{1, 1, 1}})
	add("moved an added entity", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Added: []*arbiterv1.Entity{{Id: 3}}, Moved: []int32{2, 1, 1}})
	add("hp not pairs", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Hp: []uint32{0}})
	add("hp of an added entity", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Added: []*arbiterv1.Entity{{Id: 3}}, Hp: []uint32{2, 1}})
	add("score out of range", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Score: []uint32{2, 1}})
	add("score index past uint31", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Score: []uint32{math.MaxUint32, 1}})
	add("key with changes", nil, 1, &arbiterv1.SnapshotDelta{Tick: 8, Hp: []uint32{0, 1}})
	add("key with removals", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, Removed: []uint32{0}})
	add("key ignores its base", base, 2, &arbiterv1.SnapshotDelta{Tick: 3, Added: []*arbiterv1.Entity{{Id: 2, X: -1, Hp: 1, LastInputSeq: 99, InputBacklog: 9}}, LastInputSeq: 5, InputBacklog: 2})
	add("empty key", nil, 1, &arbiterv1.SnapshotDelta{})
	add("moves wrap", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{1, 1, -1, 0, math.MinInt32, math.MaxInt32}})
	add("a kept entity changed twice, the last wins", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Moved: []int32{0, 1, 1, 0, 2, 2}, Hp: []uint32{0, 5, 0, 6}, Score: []uint32{1, math.MaxUint32, 1, 4}})
	add("everything removed, others added", base, 1, &arbiterv1.SnapshotDelta{Tick: 8, BaseTick: 7, Removed: []uint32{0, 1}, Added: []*arbiterv1.Entity{{Id: 1, X: 1}, {Id: 1, X: 2}}, LastInputSeq: 3})
	add("self 0 and entity 0", &arbiterv1.Snapshot{Tick: 1, Entities: []*arbiterv1.Entity{{Id: 0, X: 1}}}, 0, &arbiterv1.SnapshotDelta{Tick: 2, BaseTick: 1, LastInputSeq: 1, InputBacklog: 1})
	add("tick goes back", base, 1, &arbiterv1.SnapshotDelta{Tick: 3, BaseTick: 7})
	add("the worked example of docs/protocol.md", &arbiterv1.Snapshot{Tick: 41, Entities: []*arbiterv1.Entity{
		{Id: 1, X: 100, Y: 200, Hp: 100}, {Id: 2, X: 50, Y: 50, Hp: 75, Score: 3}, {Id: 3, X: 9, Y: 9, Hp: 100},
	}}, 1, &arbiterv1.SnapshotDelta{
		Tick: 42, BaseTick: 41, Removed: []uint32{1}, Added: []*arbiterv1.Entity{{Id: 4, X: 7, Y: 8, Hp: 100}},
		Moved: []int32{0, 466, -471}, Hp: []uint32{1, 50}, LastInputSeq: 12,
	})

	// Random: deltas near the edges of the format against random bases;
	// some Go accepts, most it refuses.
	index := func(n int) uint32 { // mostly in range
		if n > 0 && rng.pct(85) {
			return uint32(rng.intn(n))
		}
		return uint32(rng.between(0, int64(n)+1))
	}
	for i := range 70 {
		var b *arbiterv1.Snapshot
		if !rng.pct(10) {
			b = &arbiterv1.Snapshot{Tick: uint32(rng.between(1, 50))}
			for j := range rng.intn(5) {
				b.Entities = append(b.Entities, &arbiterv1.Entity{Id: uint32(j + 1), X: int32(rng.between(-3, 3)), Y: int32(rng.next()), Hp: uint32(rng.intn(101)), LastInputSeq: uint32(rng.intn(9))})
			}
		}
		n := 0
		d := &arbiterv1.SnapshotDelta{Tick: uint32(rng.between(1, 60)), LastInputSeq: uint32(rng.intn(50)), InputBacklog: uint32(rng.intn(3))}
		switch p := rng.intn(10); {
		case p < 7 && b != nil:
			d.BaseTick, n = b.Tick, len(b.Entities)
		case p < 8:
			d.BaseTick = uint32(rng.between(1, 50))
			if b != nil {
				n = len(b.Entities)
			}
		}
		for j := 0; j < n; j++ {
			if rng.pct(20) {
				d.Removed = append(d.Removed, uint32(j))
			}
		}
		if rng.pct(15) && len(d.Removed) > 0 { // out of order, repeated or out of range
			d.Removed = append(d.Removed, index(n))
		}
		for range rng.intn(3) {
			d.Added = append(d.Added, &arbiterv1.Entity{Id: uint32(rng.intn(8)), X: int32(rng.next()), Hp: uint32(rng.intn(101)), Score: uint32(rng.intn(4)), LastInputSeq: uint32(rng.intn(2))})
		}
		kept := n - len(d.Removed)
		for range rng.intn(3) {
			d.Moved = append(d.Moved, int32(index(kept)), int32(rng.next()), int32(rng.between(-700, 700)))
		}
		if rng.pct(10) {
			d.Moved = append(d.Moved, int32(rng.between(-1, 1)))
		}
		for range rng.intn(3) {
			d.Hp = append(d.Hp, index(kept), uint32(rng.intn(101)))
		}
		for range rng.intn(2) {
			d.Score = append(d.Score, index(kept), uint32(rng.next()))
		}
		if rng.pct(10) {
			d.Score = append(d.Score, 0)
		}
		self := uint32(rng.intn(6))
		add(fmt.Sprintf("random %d", i), b, self, d)
	}
	return f
}

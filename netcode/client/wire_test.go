package client

import (
	"bytes"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// TestInputFrame: appendInputFrame writes byte for byte what proto.Marshal
// writes for the ClientMessage carrying the Input, zero fields, extremes
// and all.
func TestInputFrame(t *testing.T) {
	edges := []int64{0, 1, -1, 63, -64, 64, 1000, -1000, math.MaxInt32, math.MinInt32}
	uedges := []uint64{0, 1, 127, 128, 16383, 16384, math.MaxUint32}
	rng := splitmix(11)
	pick := func(s []int64) int32 {
		if rng.pct(50) {
			return int32(s[rng.intn(len(s))])
		}
		return int32(uint32(rng.next()))
	}
	upick := func() uint32 {
		if rng.pct(50) {
			return uint32(uedges[rng.intn(len(uedges))])
		}
		return uint32(rng.next())
	}
	ins := []*arbiterv1.Input{{}, {Seq: 1}, {MoveX: -1}, {ViewTick: math.MaxUint32}}
	for range 2000 {
		ins = append(ins, &arbiterv1.Input{
			Seq: upick(), MoveX: pick(edges), MoveY: pick(edges), Buttons: upick(),
			AimX: pick(edges), AimY: pick(edges), ViewTick: upick(),
		})
	}
	for _, in := range ins {
		want, err := proto.Marshal(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: in}})
		if err != nil {
			t.Fatal(err)
		}
		prefix := []byte{0xAA}
		got := appendInputFrame(prefix, in)
		if !bytes.Equal(got[1:], want) || got[0] != 0xAA {
			t.Fatalf("input %v: got %x, want %x after the prefix", in, got, want)
		}
	}
}

// snapshotFrames returns frames the fast decoder must take: the benchmark
// room's deltas and full snapshots, a delta with its numbers unpacked,
// and the corner cases of the encoding.
func snapshotFrames(tb testing.TB) [][]byte {
	tb.Helper()
	var frames [][]byte
	for _, full := range []bool{false, true} {
		frames = append(frames, benchStream(tb, full, 40)...)
	}
	d := &arbiterv1.SnapshotDelta{
		Tick: 9, BaseTick: 8, Removed: []uint32{0, 3}, Moved: []int32{0, -1, math.MinInt32, 2, math.MaxInt32, 0},
		Hp: []uint32{1, math.MaxUint32}, Score: []uint32{0, 5}, LastInputSeq: 77, InputBacklog: 2,
		Added: []*arbiterv1.Entity{{Id: 9, X: -5, Y: 5, Hp: 100}, {}},
	}
	frames = append(frames,
		unpackedDelta(d),
		mustMarshal(tb, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_SnapshotDelta{SnapshotDelta: d}}),
		mustMarshal(tb, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_SnapshotDelta{SnapshotDelta: &arbiterv1.SnapshotDelta{}}}),
		mustMarshal(tb, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{}}}),
		mustMarshal(tb, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{
			Tick: math.MaxUint32, Entities: []*arbiterv1.Entity{{Id: 1, X: math.MinInt32, Y: math.MaxInt32, LastInputSeq: 3, InputBacklog: 1}, {}},
		}}}),
	)
	// A field given twice: the last one wins, the repeated ones add up.
	twice := protowire.AppendTag(nil, arbiterv1.FieldSnapshotDeltaTick, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 5)
	twice = protowire.AppendTag(twice, arbiterv1.FieldSnapshotDeltaTick, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 6)
	twice = protowire.AppendTag(twice, arbiterv1.FieldSnapshotDeltaHP, protowire.BytesType)
	twice = protowire.AppendBytes(twice, []byte{0, 50})
	twice = protowire.AppendTag(twice, arbiterv1.FieldSnapshotDeltaHP, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 1)
	twice = protowire.AppendTag(twice, arbiterv1.FieldSnapshotDeltaHP, protowire.VarintType)
	twice = protowire.AppendVarint(twice, 1<<40) // truncated to 32 bits, as protobuf does
	frames = append(frames, protowire.AppendBytes(protowire.AppendTag(nil, arbiterv1.FieldServerMessageSnapshotDelta, protowire.BytesType), twice))
	return frames
}

// protoDecode is the general path's decoding of a snapshot frame.
func protoDecode(frame []byte) (*arbiterv1.Snapshot, *arbiterv1.SnapshotDelta, error) {
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(frame, &m); err != nil {
		return nil, nil, err
	}
	return m.GetSnapshot(), m.GetSnapshotDelta(), nil
}

// checkFrame fails if the fast decoder takes frame and decodes it
// otherwise than proto.Unmarshal, or if it declines a frame that must
// take.
func checkFrame(t *testing.T, fd *frameDecoder, frame []byte, mustTake bool) {
	t.Helper()
	s, d, ok := fd.decode(frame)
	if !ok {
		if mustTake {
			t.Fatalf("frame %x: the fast decoder declines it", frame)
		}
		return
	}
	ws, wd, err := protoDecode(frame)
	switch {
	case err != nil:
		t.Fatalf("frame %x: the fast decoder takes what proto.Unmarshal refuses (%v)", frame, err)
	case (s == nil) == (d == nil):
		t.Fatalf("frame %x: the fast decoder returns snapshot %v and delta %v", frame, s, d)
	case s != nil && !proto.Equal(s, ws):
		t.Fatalf("frame %x: snapshot\n%v\nwant\n%v", frame, s, ws)
	case d != nil && !proto.Equal(d, wd):
		t.Fatalf("frame %x: delta\n%v\nwant\n%v", frame, d, wd)
	}
}

// TestSnapshotFrame: the fast decoder takes the snapshot frames servers
// send, and decodes them exactly as proto.Unmarshal does, one after the
// other with the same buffers.
func TestSnapshotFrame(t *testing.T) {
	var fd frameDecoder
	for _, frame := range snapshotFrames(t) {
		checkFrame(t, &fd, frame, true)
	}
}

// TestSnapshotFrameDeclined: the fast decoder leaves to proto.Unmarshal
// every frame it does not take as is, well-formed or not, and a Client
// still handles them as it did.
func TestSnapshotFrameDeclined(t *testing.T) {
	delta := mustMarshal(t, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_SnapshotDelta{SnapshotDelta: &arbiterv1.SnapshotDelta{Tick: 1}}})
	unknown := protowire.AppendTag(nil, 99, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1)
	entityUnknown := protowire.AppendTag(nil, arbiterv1.FieldEntityID, protowire.VarintType)
	entityUnknown = protowire.AppendVarint(entityUnknown, 1)
	entityUnknown = append(entityUnknown, unknown...)
	withAdded := protowire.AppendTag(nil, arbiterv1.FieldSnapshotDeltaTick, protowire.VarintType)
	withAdded = protowire.AppendVarint(withAdded, 1)
	withAdded = protowire.AppendTag(withAdded, arbiterv1.FieldSnapshotDeltaAdded, protowire.BytesType)
	withAdded = protowire.AppendBytes(withAdded, entityUnknown)
	wrap := func(num protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), body)
	}
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"welcome", mustMarshal(t, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{EntityId: 1}}})},
		{"two deltas", append(slicesClone(delta), delta...)},
		{"unknown top-level field", append(slicesClone(delta), unknown...)},
		{"unknown delta field", wrap(arbiterv1.FieldServerMessageSnapshotDelta, unknown)},
		{"unknown entity field", wrap(arbiterv1.FieldServerMessageSnapshotDelta, withAdded)},
		{"tick of the wrong wire type", wrap(arbiterv1.FieldServerMessageSnapshotDelta, protowire.AppendBytes(protowire.AppendTag(nil, arbiterv1.FieldSnapshotDeltaTick, protowire.BytesType), nil))},
		{"truncated", delta[:len(delta)-1]},
		{"overlong varint", wrap(arbiterv1.FieldServerMessageSnapshotDelta, append(protowire.AppendTag(nil, arbiterv1.FieldSnapshotDeltaTick, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))},
		{"bad packed", wrap(arbiterv1.FieldServerMessageSnapshotDelta, protowire.AppendBytes(protowire.AppendTag(nil, arbiterv1.FieldSnapshotDeltaMoved, protowire.BytesType), []byte{0x80}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fd frameDecoder
			if _, _, ok := fd.decode(tt.frame); ok {
				t.Fatalf("frame %x: the fast decoder takes it", tt.frame)
			}
		})
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

// FuzzSnapshotFrame: whatever the frame, the fast decoder either declines
// it or decodes it exactly as proto.Unmarshal does, and never panics.
func FuzzSnapshotFrame(f *testing.F) {
	for _, frame := range snapshotFrames(f) {
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var fd frameDecoder
		checkFrame(t, &fd, frame, false)
		// Again with buffers a previous frame left behind.
		checkFrame(t, &fd, frame, false)
	})
}

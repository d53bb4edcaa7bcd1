package match

import (
	"fmt"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// benchPeer is a Peer that drops everything; it remembers only the size of
// the last full snapshot offered, without allocating.
type benchPeer struct{ snapshot int }

func (*benchPeer) Send([]byte)                                              {}
func (p *benchPeer) SendSnapshot(s arbiterv1.TickSnapshot, _ arbiterv1.Ack) { p.snapshot = len(s.Full) }
func (*benchPeer) Close(arbiterv1.CloseReason, string)                      {}

// benchDeltaPeer is a benchPeer whose connection asked for delta
// snapshots.
type benchDeltaPeer struct{ benchPeer }

func (*benchDeltaPeer) SnapshotEncoding() arbiterv1.SnapshotEncoding {
	return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
}

// benchRoom returns a room of n seats on the fake game, each attached to a
// benchPeer, with entity states spread as in a match under way: positions
// across the arena, hp and scores varied, seqs in the thousands. Zero
// fields cost nothing on the wire, so a fresh world would understate the
// snapshot.
func benchRoom(tb testing.TB, n int) (*Room, []*benchPeer) {
	tb.Helper()
	world, _ := (&fakeGame{}).NewWorld(WorldConfig{})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("player-%d", i)
	}
	cfg := RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 10 * time.Second, MaxCatchUp: 3, InboxSize: 4}
	r := newRoom("m1", Mode{Name: "ffa", Players: n, Duration: time.Hour}, cfg, world, ids, newFakeClock(), discardLogger(), nil)
	ents := world.(*fakeWorld).ents
	peers := make([]*benchPeer, n)
	for i, p := range r.players {
		e := &ents[p.entity-1]
		e.X, e.Y = int32(1000+(7919*i)%98000), int32(99000-(6131*i)%98000)
		e.HP, e.Score = uint32(10+(37*i)%91), uint32(i%13)
		p.lastSeq.Store(uint32(5400 + i))
		peers[i] = new(benchPeer)
		if err := seat(r, i).Attach(peers[i]); err != nil {
			tb.Fatal(err)
		}
	}
	r.tick.Store(5400)
	r.state.Store(stateRunning)
	return r, peers
}

// BenchmarkSnapshotEncode measures the snapshot half of a tick with no
// inputs pending: Room.step with every seat attached, which builds the
// Snapshot from the world's entities (every one of which moved since the
// last tick), encodes it once into a fresh buffer and offers the same
// bytes to every peer with its own acknowledgements. With full peers only
// it encodes the full message; with delta peers, the key and the delta
// from the previous tick too. MB/s counts one full snapshot's bytes.
func BenchmarkSnapshotEncode(b *testing.B) {
	for _, snapshots := range []string{"full", "delta"} {
		for _, n := range []int{10, 100} {
			b.Run(fmt.Sprintf("snapshots=%s/entities=%d", snapshots, n), func(b *testing.B) {
				r, peers := benchRoom(b, n)
				first := peers[0]
				if snapshots == "delta" {
					for i := range r.players {
						p := &benchDeltaPeer{}
						if err := seat(r, i).Attach(p); err != nil {
							b.Fatal(err)
						}
						if i == 0 {
							first = &p.benchPeer
						}
					}
				}
				ents := r.tw.(*fakeWorld).ents
				move := func() {
					for i := range ents {
						ents[i].X, ents[i].Y = ents[i].X+471, ents[i].Y-471
					}
				}
				r.step()
				b.SetBytes(int64(first.snapshot))
				b.ReportAllocs()
				for b.Loop() {
					move()
					r.step()
				}
			})
		}
	}
}

// BenchmarkSeatInput measures queueing one decoded input on a seat, as the
// transport does for every Input frame (on the room goroutine, for a
// polled peer).
func BenchmarkSeatInput(b *testing.B) {
	r, _ := benchRoom(b, 10)
	s := seat(r, 0)
	in := &arbiterv1.Input{MoveX: 707, MoveY: -707, Buttons: 1, AimX: 40000, AimY: -25000, ViewTick: 5398}
	b.ReportAllocs()
	seq := uint32(6000)
	for b.Loop() {
		seq++
		in.Seq = seq
		s.Input(in)
		drainInbox(s.p)
	}
}

// drainInbox empties p's input buffer, as the room's take does over ticks.
func drainInbox(p *player) {
	p.mu.Lock()
	p.mu.inbox = p.mu.inbox[:0]
	p.mu.Unlock()
}

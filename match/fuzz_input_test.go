package match

import (
	"testing"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// FuzzInputPipeline drives one seat with arbitrary arrivals — seqs in any
// order, repeated, in bursts, before and after the start — and ticks, and
// checks the input semantics of docs/protocol.md whatever the client does: at most one
// input applied per tick, applied seqs strictly increasing, last_input_seq
// never going back and never below an applied seq, the backlog bounded and
// reported, every input accounted for once, and nothing valid ever scored
// as a violation. Seeds are in testdata/fuzz/FuzzInputPipeline.
func FuzzInputPipeline(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0, 0, 0})
	f.Add([]byte{0x80, 5, 4, 3, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0})
	f.Add([]byte{200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 0, 1, 0, 0x7f, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var applied []uint32
		g := &fakeGame{}
		r := testRoom(t, g, newFakeClock(), 1, 1<<40, nil)
		world := r.world.(*fakeWorld)
		peer := newFakePeer()
		s := seat(r, 0)
		if err := s.Attach(peer); err != nil {
			t.Fatal(err)
		}
		// Each step of the world records the seqs it applied: fakeWorld
		// moves by MoveX, which carries the seq.
		lastX, lastAck, sent := int32(0), uint32(0), 0
		for i, op := range ops {
			switch {
			case op == 0: // a tick
				r.state.Store(stateRunning)
				r.step()
				e := world.ents[0]
				if e.X != lastX {
					seq := uint32(e.X - lastX)
					if n := len(applied); n > 0 && seq <= applied[n-1] {
						t.Fatalf("op %d: applied seq %d after %d", i, seq, applied[n-1])
					}
					applied = append(applied, seq)
					lastX = e.X
				}
				snap := peer.lastSnapshot(t).GetEntities()[0]
				ack, backlog := snap.GetLastInputSeq(), snap.GetInputBacklog()
				if ack < lastAck || (len(applied) > 0 && ack < applied[len(applied)-1]) {
					t.Fatalf("op %d: last_input_seq %d after %d (applied %v)", i, ack, lastAck, applied)
				}
				if int(backlog) > r.cfg.InboxSize {
					t.Fatalf("op %d: backlog %d beyond the inbox of %d", i, backlog, r.cfg.InboxSize)
				}
				lastAck = ack
			default: // an arrival: seq from the byte, bursts of repeats for high bytes
				seq := uint32(op & 0x7f)
				if op&0x80 != 0 {
					seq += uint32(i) // later arrivals, larger seqs
				}
				sent++
				s.Input(&arbiterv1.Input{Seq: seq, MoveX: int32(seq)})
			}
		}
		st := &r.Stats
		if got := int(st.InputsApplied.Load() + st.InputsStale.Load() + st.InputsSurplus.Load() + st.InputsInvalid.Load()); got > sent {
			t.Fatalf("%d inputs accounted for, %d sent", got, sent)
		}
		if int(st.InputsApplied.Load()) != len(applied) {
			t.Fatalf("InputsApplied %d, but %d applied", st.InputsApplied.Load(), len(applied))
		}
		if len(r.players[0].violations) != 0 || peer.closed {
			t.Fatalf("valid inputs punished: %v (closed %v)", r.players[0].violations, peer.closed)
		}
	})
}

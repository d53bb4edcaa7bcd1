//go:build !race

// Allocation budgets of the transport's per-tick hot path. The race detector
// changes allocation counts, so these run only without it.

package netcode

import (
	"io"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// TestHandleFrameInputAllocs: an Input frame through handleFrame and
// arena's Validate allocates nothing: decodeClientMessage decodes into the
// session's reused Input (proto.Unmarshal allocated the oneof wrapper and
// the Input afresh for every frame).
func TestHandleFrameInputAllocs(t *testing.T) {
	ib := newInputBench(t)
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		ib.input(i)
		i++
	})
	if n != 0 {
		t.Errorf("an Input frame through handleFrame and Validate allocates %v times, want 0", n)
	}
	if ib.seat.invalid > 0 {
		t.Errorf("%d inputs rejected; the budget is for the accepting path", ib.seat.invalid)
	}
}

// TestSendSnapshotAllocs: offering a snapshot to a session allocates
// nothing, whether the slot is free or replaces one the writer has not
// taken, for a full session and a delta one. The server starts no writer
// goroutine (withoutWriters), and the test forgets each start so that
// every offer starts one afresh; TestWriterStartAllocs counts what a real
// start costs. Its socket has no descriptor, so the fast path always
// defers; see TestSnapshotWriteAllocs for the fast path and
// TestSnapshotTakeAllocs for the writer's side.
func TestSendSnapshotAllocs(t *testing.T) {
	for _, delta := range []bool{false, true} {
		s := newSession(withoutWriters(NewServer(Config{Logger: discard(), MaxBehind: 1 << 20}, nil)), nil, newSocket(nil), &validatingSeat{})
		s.delta = delta
		ts := benchTick()
		for _, tt := range []struct {
			name  string
			taken bool // the writer took the previous snapshot
		}{{"free", true}, {"replace", false}} {
			n := testing.AllocsPerRun(1000, func() {
				ts = nextTick(ts)
				s.SendSnapshot(ts, benchOwn)
				if !s.writerWoken() {
					t.Fatal("a deferred snapshot started no writer")
				}
				if tt.taken {
					s.mu.Lock()
					s.mu.snapshot, s.mu.offered, s.mu.behind = snapshotOffer{}, false, 0
					s.mu.Unlock()
				}
			})
			if n != 0 {
				t.Errorf("delta %v, %s: SendSnapshot allocates %v times, want 0", delta, tt.name, n)
			}
		}
		if s.mu.closing {
			t.Error("the session closed: the test did not exercise SendSnapshot's normal path")
		}
	}
}

// TestSnapshotWriteAllocs: a snapshot written at once by the fast path —
// for a delta session its message built in the session's buffer, then
// framed into the socket's buffer and written without blocking —
// allocates nothing. The ticks follow each other, so a delta session
// writes a delta every time after the first. The kernel's default
// loopback buffers hold every snapshot the test writes, whether the
// client has read it yet or not.
func TestSnapshotWriteAllocs(t *testing.T) {
	for _, delta := range []bool{false, true} {
		for _, polled := range []bool{false, true} {
			testSnapshotWriteAllocs(t, delta, polled)
		}
	}
}

// testSnapshotWriteAllocs is TestSnapshotWriteAllocs for a delta session
// or not, on a socket its match polls (written with a plain write(2)) or
// not.
func testSnapshotWriteAllocs(t *testing.T, delta, polled bool) {
	sock, client := socketPair(t, 0)
	go func() { _, _ = io.Copy(io.Discard, client) }()
	if polled {
		sock.pmu.Lock()
		sock.poll.wanted = true
		if !sock.detachLocked() {
			t.Fatal("the socket could not be taken over")
		}
		sock.pmu.Unlock()
		t.Cleanup(sock.abort) // the descriptor the poller took
	}
	srv := withoutWriters(NewServer(Config{Logger: discard(), MaxBehind: 1 << 20}, nil))
	s := newSession(srv, nil, sock, &validatingSeat{})
	s.delta = delta
	ts := benchTick()
	s.SendSnapshot(ts, benchOwn) // the buffers grow once
	written := 0
	n := testing.AllocsPerRun(1000, func() {
		ts = nextTick(ts)
		s.SendSnapshot(ts, benchOwn)
		s.mu.Lock()
		if !s.mu.offered {
			written++
		}
		s.mu.snapshot, s.mu.offered, s.mu.behind = snapshotOffer{}, false, 0
		s.mu.writing = false
		s.mu.Unlock()
	})
	if n != 0 {
		t.Errorf("delta %v, polled %v: SendSnapshot through the fast path allocates %v times, want 0", delta, polled, n)
	}
	if written < 1001 {
		t.Errorf("delta %v: only %d of 1001 snapshots took the fast path; the test measured the slow one too", delta, written)
	}
	if keys := srv.Stats.SnapshotKeys.Load(); delta && keys != 1 {
		t.Errorf("%d keys written, want 1 (the first snapshot): the test did not exercise the delta path", keys)
	}
	if p := sock.phase.Load(); polled && p != phasePolled {
		t.Errorf("the socket is in phase %d after the writes, want polled", p)
	}
}

// TestSnapshotTakeAllocs: the writer taking a deferred snapshot — for a
// delta session, building its message in the writer's reused buffer —
// allocates nothing.
func TestSnapshotTakeAllocs(t *testing.T) {
	for _, delta := range []bool{false, true} {
		srv := withoutWriters(NewServer(Config{Logger: discard(), MaxBehind: 1 << 20}, nil))
		s := newSession(srv, nil, newSocket(nil), &validatingSeat{})
		s.delta = delta
		ts := benchTick()
		var batch []frame
		var msg []byte
		take := func() {
			ts = nextTick(ts)
			s.SendSnapshot(ts, benchOwn)
			s.mu.Lock()
			s.mu.writing = false // taken: the next one starts a writer again
			batch = s.takeLocked(batch[:0], &msg)
			s.mu.Unlock()
		}
		take() // the buffers grow once
		if n := testing.AllocsPerRun(1000, take); n != 0 {
			t.Errorf("delta %v: the writer's take allocates %v times, want 0", delta, n)
		}
		if len(batch) != 1 {
			t.Fatalf("delta %v: the writer took %d frames, want the snapshot", delta, len(batch))
		}
		if keys := srv.Stats.SnapshotKeys.Load(); delta && keys != 1 {
			t.Errorf("%d keys written, want 1 (the first snapshot): the test did not exercise the delta path", keys)
		}
	}
}

// TestPollAllocs: a tick's poll of a polled socket — one non-blocking
// read(2) of the Input frame the client sent since the last tick, the
// frame unmasked in place, decoded and validated — allocates nothing.
func TestPollAllocs(t *testing.T) {
	ib := newInputBench(t)
	sock, client := socketPair(t, 0)
	s := newSession(ib.sess.srv, nil, sock, ib.seat)
	now := time.Now()
	s.touch(now)
	sock.pmu.Lock()
	sock.poll.wanted = true
	detached := sock.detachLocked()
	sock.pmu.Unlock()
	if !detached {
		t.Fatal("the socket could not be taken over")
	}
	t.Cleanup(sock.abort) // the descriptor the poller took
	frame := maskedFrame(gws.OpcodeBinary, ib.frame)
	key := len(frame) - len(ib.frame) - 4
	copy(frame[key:], []byte{0x5a, 0xc3, 0x0f, 0x96})
	unmask(frame[key+4:], frame[key:key+4])
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		if _, err := client.Write(frame); err != nil {
			t.Fatal(err)
		}
		ib.seat.entity = ib.ents[i%len(ib.ents)]
		now = now.Add(10 * time.Millisecond)
		s.Poll(now)
		if i%len(ib.ents) == len(ib.ents)-1 {
			ib.world.Step(nil)
		}
		i++
	})
	if n != 0 {
		t.Errorf("a poll reading one Input frame allocates %v times, want 0", n)
	}
	if p := sock.phase.Load(); p != phasePolled {
		t.Fatalf("the socket is in phase %d after the polls, want polled: the test measured a hand-back", p)
	}
	if ib.seat.inputs != i || ib.seat.invalid > 0 {
		t.Errorf("%d inputs reached the seat, %d rejected; want all %d accepted", ib.seat.inputs, ib.seat.invalid, i)
	}
}

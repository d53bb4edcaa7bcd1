//go:build !race

// Allocation budgets of the transport's per-tick hot path. The race detector
// changes allocation counts, so these run only without it.

package netcode

import (
	"io"
	"testing"
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
// taken. The session has no writer goroutine (it stays parked), and the
// test empties the wake-up channel so that every offer signals afresh. Its
// socket has no descriptor, so the fast path always defers; see
// TestSnapshotWriteAllocs for the fast path.
func TestSendSnapshotAllocs(t *testing.T) {
	s := newSession(NewServer(Config{Logger: discard(), MaxBehind: 1 << 20}, nil), nil, newSocket(nil), &validatingSeat{})
	frame := benchSnapshotFrame()
	for _, tt := range []struct {
		name  string
		taken bool // the writer took the previous snapshot
	}{{"free", true}, {"replace", false}} {
		n := testing.AllocsPerRun(1000, func() {
			s.SendSnapshot(frame)
			<-s.wake
			if tt.taken {
				s.mu.Lock()
				s.mu.snapshot, s.mu.behind = nil, 0
				s.mu.Unlock()
			}
		})
		if n != 0 {
			t.Errorf("%s: SendSnapshot allocates %v times, want 0", tt.name, n)
		}
	}
	if s.mu.closing {
		t.Error("the session closed: the test did not exercise SendSnapshot's normal path")
	}
}

// TestSnapshotWriteAllocs: a snapshot written at once by the fast path —
// framed into the socket's buffer and written without blocking — allocates
// nothing. The kernel's default loopback buffers hold every snapshot the
// test writes, whether the client has read it yet or not.
func TestSnapshotWriteAllocs(t *testing.T) {
	sock, client := socketPair(t, 0)
	go func() { _, _ = io.Copy(io.Discard, client) }()
	s := newSession(NewServer(Config{Logger: discard(), MaxBehind: 1 << 20}, nil), nil, sock, &validatingSeat{})
	frame := benchSnapshotFrame()
	s.SendSnapshot(frame) // the socket's buffer grows once
	written := 0
	n := testing.AllocsPerRun(1000, func() {
		s.SendSnapshot(frame)
		s.mu.Lock()
		if s.mu.snapshot == nil {
			written++
		}
		s.mu.snapshot, s.mu.behind = nil, 0
		s.mu.Unlock()
		select {
		case <-s.wake:
		default:
		}
	})
	if n != 0 {
		t.Errorf("SendSnapshot through the fast path allocates %v times, want 0", n)
	}
	if written < 1001 {
		t.Errorf("only %d of 1001 snapshots took the fast path; the test measured the slow one too", written)
	}
}

package netcode

import (
	"io"
	"log/slog"
	"testing"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"google.golang.org/protobuf/proto"
)

// recordingSeat keeps a copy of every input and action handed to it.
type recordingSeat struct {
	inputs  []*arbiterv1.Input
	actions []*arbiterv1.Action
}

func (r *recordingSeat) Attach(*Session) error           { return nil }
func (r *recordingSeat) Detach(*Session)                 {}
func (r *recordingSeat) Violation(arbiterv1.CloseReason) {}
func (r *recordingSeat) Input(in *arbiterv1.Input) {
	r.inputs = append(r.inputs, proto.Clone(in).(*arbiterv1.Input))
}
func (r *recordingSeat) Action(seq uint32, payload []byte) {
	r.actions = append(r.actions, &arbiterv1.Action{Seq: seq, Payload: append([]byte(nil), payload...)})
}
func (r *recordingSeat) Tick() uint32 { return 1234 }

// FuzzFrame feeds arbitrary client frames to handleFrame, the read side's
// decode and dispatch, without a socket. The session has no gws
// connection: handleFrame reports a close instead of closing, and one frame
// cannot fill the send queue, so nothing reaches the connection. Property:
// no panic, and a frame is either dispatched — an Input or an Action to the
// seat, a Ping answered with a queued Pong — or refused with text_frame, too_big or
// bad_frame, dispatching nothing.
func FuzzFrame(f *testing.F) {
	// Seeds are in testdata/fuzz/FuzzFrame. MaxFrame is small so the fuzzer
	// reaches too_big.
	const maxFrame = 256
	srv := withoutWriters(NewServer(Config{MaxFrame: maxFrame, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, fakeAdmitter{}))
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		seat := &recordingSeat{}
		s := newSession(srv, nil, newSocket(nil), seat)
		reason, message, ok := handleFrame(s, binary, data)
		frames, _ := s.Pending()
		s.mu.Lock()
		closing := s.mu.closing
		s.mu.Unlock()
		if closing {
			t.Fatal("handleFrame closed the session; it must only report the reason")
		}

		var want arbiterv1.ClientMessage
		decodeErr := proto.Unmarshal(data, &want)
		switch {
		case !binary:
			if ok || reason != arbiterv1.CloseTextFrame {
				t.Fatalf("text frame: handleFrame = %v, %v, want text_frame", reason, ok)
			}
		case len(data) > maxFrame:
			if ok || reason != arbiterv1.CloseTooBig {
				t.Fatalf("%d-byte frame: handleFrame = %v, %v, want too_big", len(data), reason, ok)
			}
		case decodeErr != nil || want.Kind == nil:
			if ok || reason != arbiterv1.CloseBadFrame {
				t.Fatalf("undecodable or empty frame: handleFrame = %v, %v, want bad_frame", reason, ok)
			}
		case want.GetInput() != nil:
			// The server keeps no unknown fields; the rest must agree.
			want.GetInput().ProtoReflect().SetUnknown(nil)
			if !ok || len(seat.inputs) != 1 || !proto.Equal(seat.inputs[0], want.GetInput()) || len(seat.actions) != 0 || frames != 0 {
				t.Fatalf("input %v: ok %v, seat got %v, %d frames queued; want it dispatched alone", want.GetInput(), ok, seat.inputs, frames)
			}
		case want.GetAction() != nil:
			a := want.GetAction()
			a.ProtoReflect().SetUnknown(nil)
			if len(a.Payload) == 0 {
				a.Payload = nil // the runtime keeps an empty payload as []byte{}; the server as nil
			}
			got := seat.actions
			if len(got) == 1 && len(got[0].Payload) == 0 {
				got[0].Payload = nil
			}
			if !ok || len(got) != 1 || !proto.Equal(got[0], a) || len(seat.inputs) != 0 || frames != 0 {
				t.Fatalf("action %v: ok %v, seat got %v, %d frames queued; want it dispatched alone", a, ok, got, frames)
			}
		case want.GetPing() != nil:
			if !ok || len(seat.inputs) != 0 || frames != 1 {
				t.Fatalf("ping: ok %v, %d inputs, %d frames queued; want one Pong", ok, len(seat.inputs), frames)
			}
			var pong arbiterv1.ServerMessage
			if err := proto.Unmarshal(s.mu.queue[0].b, &pong); err != nil ||
				pong.GetPong().GetClientTime() != want.GetPing().GetClientTime() || pong.GetPong().GetTick() != 1234 {
				t.Fatalf("ping %v answered with %v (%v)", want.GetPing(), &pong, err)
			}
		default:
			t.Fatalf("oracle missed a case: %v", &want)
		}
		if !ok {
			if message == "" {
				t.Error("close without a message")
			}
			if len(seat.inputs) != 0 || frames != 0 {
				t.Errorf("refused frame dispatched: %d inputs, %d frames queued", len(seat.inputs), frames)
			}
		}
	})
}

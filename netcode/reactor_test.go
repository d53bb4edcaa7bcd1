package netcode

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
)

// checkReader checks who reads s, a session just attached: the reactor
// from the first byte, with no gws read loop started, for an event-driven
// seat (where there is a reactor); otherwise not the reactor.
func checkReader(t *testing.T, srv *Server, s *Session, event bool) {
	t.Helper()
	if !event || !reactorSupported {
		if s.events {
			t.Error("a session of a tick-driven seat is read by the reactor")
		}
		return
	}
	if !s.events || srv.Stats.ReactorReads.Load() == 0 {
		t.Fatalf("event-driven session not read by the reactor (ReactorReads %d)", srv.Stats.ReactorReads.Load())
	}
	if got := srv.Stats.TickReads.Load(); got != 0 {
		t.Errorf("TickReads = %d for an event-driven session, want 0", got)
	}
	s.sock.pmu.Lock()
	started := s.sock.poll.startRead == nil
	s.sock.pmu.Unlock()
	if started && s.sock.phase.Load() == phasePolled {
		t.Error("the gws read loop of a session the reactor reads has started")
	}
}

// waitArrival waits for the seat to receive an input or an action.
func (f *fakeSeat) waitArrival(t *testing.T) {
	t.Helper()
	select {
	case <-f.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached the seat")
	}
}

// actionFrame is a client frame carrying the action seq.
func actionFrame(seq uint32) []byte {
	return maskedFrame(gws.OpcodeBinary, encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Action{Action: &arbiterv1.Action{Seq: seq, Payload: []byte("e2e4")}}}))
}

// TestReactorReads: the reactor reads an event-driven seat's socket from
// its first byte: each action reaches the seat on its own, without any
// poll or other frame to carry it, a Ping is answered, a WebSocket ping
// gets its pong, and the session has no gws read goroutine meanwhile.
func TestReactorReads(t *testing.T) {
	if !reactorSupported {
		t.Skip("no reactor on this platform: event-driven seats are read by gws")
	}
	srv, adm, url := newTestServer(t, Config{PingInterval: time.Hour}, "p")
	seat := adm["p"]
	seat.event.Store(true)
	seat.manual.Store(true) // no poller: nothing but the reactor reads
	c := dialRaw(t, url, "p")
	c.next(t) // Welcome
	s := seat.sess()
	if p := s.sock.phase.Load(); p != phasePolled {
		t.Fatalf("phase %d right after the upgrade, want polled (%d)", p, phasePolled)
	}
	checkReader(t, srv, s, true)
	for seq := uint32(1); seq <= 5; seq++ {
		c.write(t, actionFrame(seq))
		seat.waitArrival(t)
		if got, want := fmt.Sprint(seat.actionSeqs()), seqRange(1, seq); got != want {
			t.Fatalf("seat received actions %s, want %s", got, want)
		}
	}
	c.write(t, append(maskedFrame(gws.OpcodePing, []byte("xy")), maskedFrame(gws.OpcodeBinary, pingFrame(7))...))
	pong := false
	for !pong {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("no pong: %v", err)
		}
		pong = op == gws.OpcodePong && string(p) == "xy"
	}
	if got := c.next(t).GetPong(); got.GetClientTime() != 7 || got.GetTick() != 77 {
		t.Errorf("got %v, want Pong 7 at tick 77", got)
	}
	if p := s.sock.phase.Load(); p != phasePolled {
		t.Errorf("phase %d after actions and pings, want still polled (%d)", p, phasePolled)
	}
	if n := countGoroutines("gws.(*Conn).ReadLoop"); n != 0 {
		t.Errorf("%d gws read loops running, want 0", n)
	}
}

// countGoroutines returns how many goroutines have fn on their stack.
func countGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn+"(") {
			count++
		}
	}
	return count
}

// TestReactorGoroutines: n connected sessions of event-driven seats hold
// no gws read goroutine — the reactor, one for the server, reads them all —
// where with Config.DisableTickReads (the escape hatch: no reactor) each
// holds one; and Shutdown ends every session goroutine and the reactor.
func TestReactorGoroutines(t *testing.T) {
	if !reactorSupported {
		t.Skip("no reactor on this platform")
	}
	const n = 40
	tests := []struct {
		name             string
		disable          bool
		wantReadLoops    int
		wantReactors     int
		wantReactorReads uint64
	}{
		{"reactor", false, 0, 1, n},
		{"DisableTickReads", true, n, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprint("p", i)
			}
			srv, adm, url := newTestServer(t, Config{DisableTickReads: tt.disable, PingInterval: time.Hour, MaxConnsPerIP: -1}, names...)
			for _, name := range names {
				adm[name].event.Store(true)
				c := dialRaw(t, url, name)
				c.next(t) // Welcome
				c.write(t, actionFrame(1))
				adm[name].waitArrival(t)
			}
			checkFor(t, 5*time.Second, func() error {
				if got := countGoroutines("gws.(*Conn).ReadLoop"); got != tt.wantReadLoops {
					return fmt.Errorf("%d gws read loops for %d sessions, want %d", got, n, tt.wantReadLoops)
				}
				// Nothing waits to be written: no writer either, so a
				// session the reactor reads holds no goroutine at all.
				if got := countGoroutines("netcode.(*Session).writeLoop"); got != 0 {
					return fmt.Errorf("%d writers for %d idle sessions, want 0", got, n)
				}
				return nil
			})
			if got := countGoroutines("netcode.(*reactor).run"); got != tt.wantReactors {
				t.Errorf("%d reactors, want %d", got, tt.wantReactors)
			}
			if got := srv.Stats.ReactorReads.Load(); got != tt.wantReactorReads {
				t.Errorf("ReactorReads = %d, want %d", got, tt.wantReactorReads)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			for _, fn := range []string{"gws.(*Conn).ReadLoop", "netcode.(*Session).writeLoop", "netcode.(*reactor).run"} {
				if got := countGoroutines(fn); got != 0 {
					t.Errorf("%d goroutines in %s after Shutdown, want 0", got, fn)
				}
			}
			if got := srv.Stats.Closes(arbiterv1.CloseShutdown); got != n {
				t.Errorf("Closes(shutdown) = %d, want %d", got, n)
			}
			if got := srv.Stats.Active.Load(); got != 0 {
				t.Errorf("Active = %d after Shutdown, want 0", got)
			}
		})
	}
}

// TestReactorShutdownOutOfTime: a Shutdown whose context ends while the
// reactor's sessions still linger for their clients' close drops their
// connections, and still leaves no session goroutine nor the reactor.
func TestReactorShutdownOutOfTime(t *testing.T) {
	if !reactorSupported {
		t.Skip("no reactor on this platform")
	}
	names := []string{"p0", "p1", "p2"}
	srv, adm, url := newTestServer(t, Config{Linger: time.Minute, PingInterval: time.Hour}, names...)
	for _, name := range names {
		adm[name].event.Store(true)
		c := dialRaw(t, url, name)
		c.next(t) // Welcome; the client then never closes
	}
	if got := srv.Stats.ReactorReads.Load(); got != uint64(len(names)) {
		t.Fatalf("ReactorReads = %d, want %d", got, len(names))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // out of time from the start: the lingering sessions are dropped
	if err := srv.Shutdown(ctx); err != context.Canceled {
		t.Errorf("Shutdown = %v, want %v", err, context.Canceled)
	}
	for _, fn := range []string{"gws.(*Conn).ReadLoop", "netcode.(*Session).writeLoop", "netcode.(*reactor).run"} {
		if got := countGoroutines(fn); got != 0 {
			t.Errorf("%d goroutines in %s after Shutdown, want 0", got, fn)
		}
	}
	if got := srv.Stats.Active.Load(); got != 0 {
		t.Errorf("Active = %d after Shutdown, want 0", got)
	}
}

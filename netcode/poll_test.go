package netcode

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

// rawClient is a WebSocket client written by hand on a TCP connection, for
// tests that need frames no library sends: split across writes,
// fragmented, followed by the end of the stream.
type rawClient struct {
	conn net.Conn
	br   *bufio.Reader
}

// dialRaw opens a game connection for token by hand and returns it after
// the 101.
func dialRaw(t *testing.T, url, token string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	path := strings.TrimPrefix(url, "ws://"+hostOf(url))
	fmt.Fprintf(conn, "GET %s%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, token, hostOf(url))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status = %d, want 101", resp.StatusCode)
	}
	return &rawClient{conn: conn, br: br}
}

func (c *rawClient) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		t.Fatalf("client write: %v", err)
	}
}

// readFrame reads one server frame: its opcode and payload.
func (c *rawClient) readFrame() (gws.Opcode, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(c.br, p)
	return gws.Opcode(h[0] & 0x0F), p, err
}

// next returns the next server message, skipping pings and pongs.
func (c *rawClient) next(t *testing.T) *arbiterv1.ServerMessage {
	t.Helper()
	for {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("reading a message: %v", err)
		}
		switch op {
		case gws.OpcodePing, gws.OpcodePong:
			continue
		case gws.OpcodeBinary:
			var m arbiterv1.ServerMessage
			if err := proto.Unmarshal(p, &m); err != nil {
				t.Fatalf("undecodable message: %v", err)
			}
			return &m
		}
		t.Fatalf("frame with opcode %d, want a message", op)
	}
}

// closed reads until the server's close frame and returns its code and
// reason, and the Kick's reason if a Kick came before it.
func (c *rawClient) closed(t *testing.T) (code uint16, reason, kick string) {
	t.Helper()
	for {
		op, p, err := c.readFrame()
		if err != nil {
			t.Fatalf("reading until the close frame: %v", err)
		}
		switch op {
		case gws.OpcodeCloseConnection:
			if len(p) >= 2 {
				code, reason = binary.BigEndian.Uint16(p), string(p[2:])
			}
			return code, reason, kick
		case gws.OpcodeBinary:
			var m arbiterv1.ServerMessage
			if proto.Unmarshal(p, &m) == nil && m.GetKick() != nil {
				kick = m.GetKick().GetReason()
			}
		}
	}
}

// fragments returns payload as a fragmented binary message: a first frame
// and a final continuation, both masked.
func fragments(payload []byte) []byte {
	half := len(payload) / 2
	first := maskedFrame(gws.OpcodeBinary, payload[:half])
	first[0] &^= 0x80 // not final
	return append(first, maskedFrame(gws.OpcodeContinuation, payload[half:])...)
}

func inputFrames(from, to uint32) []byte {
	var b []byte
	for seq := from; seq <= to; seq++ {
		b = append(b, maskedFrame(gws.OpcodeBinary, inputFrame(seq))...)
	}
	return b
}

func seqRange(from, to uint32) string {
	var s []uint32
	for seq := from; seq <= to; seq++ {
		s = append(s, seq)
	}
	return fmt.Sprint(s)
}

// TestPollHandBack: with tick reads, the poller dispatches the data
// frames, pings and pongs it reads, and everything else hands the socket
// back to gws with the bytes it has not parsed — after the inputs it has
// dispatched, in order — and gws deals with it as it always does: the
// session then runs as if it had never been polled. The same with the
// reactor reading an event-driven seat's socket from its first byte, whose
// gws read loop starts only with the hand-back.
func TestPollHandBack(t *testing.T) {
	forPollers(t, testPollHandBack)
}

// pollers are the two pollers of a socket: its tick-driven room
// (newTestServer's poller stands for it) and, for an event-driven seat,
// the server's reactor.
var pollers = []struct {
	name  string
	event bool // fakeSeat.event
}{{"tick", false}, {"reactor", true}}

// forPollers runs f once with each poller, as subtests.
func forPollers(t *testing.T, f func(t *testing.T, event bool)) {
	for _, p := range pollers {
		t.Run(p.name, func(t *testing.T) { f(t, p.event) })
	}
}

func testPollHandBack(t *testing.T, event bool) {
	closeFrame := maskedFrame(gws.OpcodeCloseConnection, binary.BigEndian.AppendUint16(nil, 1000))
	tests := []struct {
		name string
		// act sends what follows the inputs 1–3 (in the same write, unless
		// it writes itself) or does what the server does.
		act func(t *testing.T, c *rawClient, seat *fakeSeat) []byte
		// wantCode and wantReason: the close frame expected, with a Kick
		// for a reason; 0: none, the session goes on.
		wantCode   uint16
		wantReason string
		wantSeqs   string
		wantPhase  int32 // the socket's phase after the act (if the session goes on)
		wantClose  arbiterv1.CloseReason
	}{
		{"close frame", func(*testing.T, *rawClient, *fakeSeat) []byte { return closeFrame },
			1000, "", seqRange(1, 3), phaseBack, arbiterv1.CloseClientClosed},
		{"text frame", func(*testing.T, *rawClient, *fakeSeat) []byte { return maskedFrame(gws.OpcodeText, []byte("hi")) },
			1003, "text_frame", seqRange(1, 3), phaseBack, arbiterv1.CloseTextFrame},
		{"over MaxFrame", func(*testing.T, *rawClient, *fakeSeat) []byte {
			return maskedFrame(gws.OpcodeBinary, make([]byte, 5000))
		}, 1009, "too_big", seqRange(1, 3), phaseBack, arbiterv1.CloseTooBig},
		{"fragmented input", func(*testing.T, *rawClient, *fakeSeat) []byte {
			return append(fragments(inputFrame(4)), inputFrames(5, 6)...)
		}, 0, "", seqRange(1, 6), phaseBack, ""},
		{"frame bigger than the poll buffer", func(*testing.T, *rawClient, *fakeSeat) []byte {
			action := encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Action{Action: &arbiterv1.Action{Seq: 1, Payload: make([]byte, 2*pollBufferSize)}}})
			return append(maskedFrame(gws.OpcodeBinary, action), inputFrames(4, 5)...)
		}, 0, "", seqRange(1, 5), phaseBack, ""},
		{"ping and pong", func(*testing.T, *rawClient, *fakeSeat) []byte {
			return append(append(maskedFrame(gws.OpcodePing, []byte("abc")), maskedFrame(gws.OpcodePong, nil)...), inputFrames(4, 4)...)
		}, 0, "", seqRange(1, 4), phasePolled, ""},
		{"frame split across ticks", func(t *testing.T, c *rawClient, seat *fakeSeat) []byte {
			f := inputFrames(4, 5)
			c.write(t, f[:5])
			waitPolls(t, seat, 2)
			c.write(t, f[5:len(f)-1])
			waitPolls(t, seat, 2)
			return f[len(f)-1:]
		}, 0, "", seqRange(1, 5), phasePolled, ""},
		{"end of stream", func(t *testing.T, c *rawClient, _ *fakeSeat) []byte {
			c.write(t, inputFrames(4, 4)[:3]) // and a frame cut short
			_ = c.conn.(*net.TCPConn).CloseWrite()
			return nil
		}, 0, "", seqRange(1, 3), phaseBack, arbiterv1.CloseNetwork},
		{"closed by the match", func(t *testing.T, _ *rawClient, seat *fakeSeat) []byte {
			seat.sess().Close(arbiterv1.CloseMatchOver, "the match is over")
			return nil
		}, 1000, "match_over", seqRange(1, 3), phaseBack, arbiterv1.CloseMatchOver},
		{"kicked mid-stream", func(t *testing.T, _ *rawClient, seat *fakeSeat) []byte {
			seat.sess().Close(arbiterv1.CloseCheat, "cheating")
			return inputFrames(4, 9) // read and discarded
		}, 1008, "cheat", seqRange(1, 3), phaseBack, arbiterv1.CloseCheat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, adm, url := newTestServer(t, Config{}, "p")
			adm["p"].event.Store(event)
			c := dialRaw(t, url, "p")
			c.next(t) // Welcome
			seat := adm["p"]
			seat.waitPolled(t, false)
			s := seat.sess()
			checkReader(t, srv, s, event)
			c.write(t, inputFrames(1, 3))
			checkFor(t, 5*time.Second, func() error {
				if got := fmt.Sprint(seat.seqs()); got != seqRange(1, 3) {
					return fmt.Errorf("seat received %s, want %s", got, seqRange(1, 3))
				}
				return nil
			})
			if more := tt.act(t, c, seat); len(more) > 0 {
				c.write(t, more)
			}
			if tt.wantCode != 0 {
				code, reason, kick := c.closed(t)
				if code != tt.wantCode || reason != tt.wantReason || kick != tt.wantReason {
					t.Errorf("close %d %q after Kick %q, want %d %q after the same Kick", code, reason, kick, tt.wantCode, tt.wantReason)
				}
			}
			checkFor(t, 5*time.Second, func() error {
				if got := fmt.Sprint(seat.seqs()); got != tt.wantSeqs {
					return fmt.Errorf("seat received %s, want %s", got, tt.wantSeqs)
				}
				if tt.wantClose != "" && srv.Stats.Closes(tt.wantClose) != 1 {
					return fmt.Errorf("closes: %v, want one %s", closeCounts(srv), tt.wantClose)
				}
				return nil
			})
			if tt.wantClose != "" {
				select {
				case <-seat.detach:
				case <-time.After(5 * time.Second):
					t.Fatal("the seat was not detached")
				}
				return
			}
			if p := s.sock.phase.Load(); p != tt.wantPhase {
				t.Errorf("phase %d after the act, want %d", p, tt.wantPhase)
			}
			if tt.name == "ping and pong" {
				for {
					op, p, err := c.readFrame()
					if err != nil {
						t.Fatalf("no pong: %v", err)
					}
					if op == gws.OpcodePong {
						if string(p) != "abc" {
							t.Errorf("pong carries %q, want the ping's abc", p)
						}
						break
					}
				}
			}
			// The session goes on, whoever reads it: an input and a
			// Ping get through, a snapshot comes back.
			c.write(t, append(inputFrames(100, 100), maskedFrame(gws.OpcodeBinary, pingFrame(7))...))
			if pong := c.next(t).GetPong(); pong.GetClientTime() != 7 {
				t.Errorf("got %v, want Pong 7", pong)
			}
			s.SendSnapshot(fullOnly(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 9}}})), arbiterv1.Ack{})
			if snap := c.next(t).GetSnapshot(); snap.GetTick() != 9 {
				t.Errorf("got %v, want Snapshot 9", snap)
			}
			if got, want := fmt.Sprint(seat.seqs()), strings.TrimSuffix(tt.wantSeqs, "]")+" 100]"; got != want {
				t.Errorf("seat received %s, want %s", got, want)
			}
			if v := seat.reported(); len(v) != 0 {
				t.Errorf("violations reported: %v", v)
			}
		})
	}
}

// waitPolls waits until the test server's poller has polled the seat's
// session n more times.
func waitPolls(t *testing.T, seat *fakeSeat, n int64) {
	t.Helper()
	from := seat.polls.Load()
	checkFor(t, 5*time.Second, func() error {
		if got := seat.polls.Load() - from; got < n {
			return fmt.Errorf("polled %d times, want %d", got, n)
		}
		return nil
	})
}

// TestPollSwitchMidStream: sessions whose clients send inputs back to back
// from the first moment are taken over by the poller between two frames,
// wherever in the stream that falls, and every input reaches the seat
// once, in order; then the server closes some of them while they are
// polled and their clients still send, and those closes arrive as they
// would without polling. Under the race detector this is also the test of
// the socket's two owners.
func TestPollSwitchMidStream(t *testing.T) {
	forPollers(t, testPollSwitchMidStream)
}

func testPollSwitchMidStream(t *testing.T, event bool) {
	const clients, inputs = 8, 400
	names := make([]string, clients)
	for i := range names {
		names[i] = fmt.Sprint("p", i)
	}
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait) // after the server's shutdown has ended every connection
	srv, adm, url := newTestServer(t, Config{FrameRate: -1}, names...)
	for i, name := range names {
		adm[name].event.Store(event)
		c := dialRaw(t, url, name)
		c.next(t) // Welcome
		seat := adm[name]
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() {
			// Inputs in writes of random sizes, cutting frames anywhere.
			stream := inputFrames(1, inputs)
			for len(stream) > 0 {
				n := min(len(stream), 1+rng.IntN(200))
				if _, err := c.conn.Write(stream[:n]); err != nil {
					t.Errorf("%s: write: %v", name, err)
					return
				}
				stream = stream[n:]
				if rng.IntN(4) == 0 {
					time.Sleep(time.Duration(rng.IntN(500)) * time.Microsecond) // spread over several polls
				}
			}
		})
		// Snapshots meanwhile, as a room sends them.
		wg.Go(func() {
			for tick := range uint32(50) {
				if s := seat.sess(); s != nil {
					s.SendSnapshot(fullOnly(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: tick}}})), arbiterv1.Ack{})
				}
				time.Sleep(time.Millisecond)
			}
		})
		wg.Go(func() { // the client reads everything
			for {
				if _, _, err := c.readFrame(); err != nil {
					return
				}
			}
		})
	}
	for _, name := range names {
		seat := adm[name]
		checkFor(t, 10*time.Second, func() error {
			if got, want := fmt.Sprint(seat.seqs()), seqRange(1, inputs); got != want {
				return fmt.Errorf("%s: seat received %d inputs (%.60s…), want 1…%d in order", name, len(seat.seqs()), got, inputs)
			}
			return nil
		})
	}
	if got := srv.Stats.TickReads.Load() + srv.Stats.ReactorReads.Load(); got == 0 {
		t.Error("no session was ever polled: the test exercised gws alone")
	}
	if event && srv.Stats.TickReads.Load() != 0 {
		t.Errorf("TickReads = %d with event-driven seats, want 0", srv.Stats.TickReads.Load())
	}
	for i, name := range names {
		if i%2 == 0 {
			adm[name].sess().Close(arbiterv1.CloseMatchOver, "the match is over")
		}
	}
	for i, name := range names {
		if i%2 == 0 {
			select {
			case <-adm[name].detach:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: closed by the server, not detached", name)
			}
		}
	}
	if got := srv.Stats.Closes(arbiterv1.CloseMatchOver); got != clients/2 {
		t.Errorf("Closes(match_over) = %d, want %d", got, clients/2)
	}
	for _, name := range names {
		if v := adm[name].reported(); len(v) != 0 {
			t.Errorf("%s: violations reported: %v", name, v)
		}
	}
}

// TestPollIdle: a polled session whose client goes silent is closed as
// idle — Kick idle, 1001 — by the poller handing the socket back with its
// deadline past, and nothing is counted against the player. The reactor,
// which no event wakes for a silent client, finds the deadline past at a
// sweep.
func TestPollIdle(t *testing.T) {
	forPollers(t, testPollIdle)
}

func testPollIdle(t *testing.T, event bool) {
	srv, adm, url := newTestServer(t, Config{IdleTimeout: 300 * time.Millisecond, PingInterval: time.Hour}, "p")
	adm["p"].event.Store(event)
	c := dialRaw(t, url, "p")
	c.next(t)
	adm["p"].waitPolled(t, false)
	c.write(t, inputFrames(1, 2))
	if code, reason, kick := c.closed(t); code != 1001 || reason != "idle" || kick != "idle" {
		t.Errorf("close %d %q after Kick %q, want 1001 idle after Kick idle", code, reason, kick)
	}
	checkFor(t, 5*time.Second, func() error {
		if got := srv.Stats.Closes(arbiterv1.CloseIdle); got != 1 {
			return fmt.Errorf("Closes(idle) = %d, want 1", got)
		}
		return nil
	})
	if v := adm["p"].reported(); len(v) != 0 {
		t.Errorf("violations reported for an idle client: %v", v)
	}
	if got := fmt.Sprint(adm["p"].seqs()); got != "[1 2]" {
		t.Errorf("seat received %s, want [1 2]", got)
	}
}

// TestParseClientFrame: the poller takes final binary frames up to the
// limit, pings and pongs up to 125 bytes, masked, without extension bits,
// at every length encoding; it waits for a frame that is not whole yet;
// everything else is refused (left to gws).
func TestParseClientFrame(t *testing.T) {
	withRSV := maskedFrame(gws.OpcodeBinary, []byte{1})
	withRSV[0] |= 0x40
	unmasked := maskedFrame(gws.OpcodeBinary, []byte{1})
	unmasked[1] &^= 0x80
	notFinal := maskedFrame(gws.OpcodeBinary, []byte{1})
	notFinal[0] &^= 0x80
	long16 := maskedFrame(gws.OpcodeBinary, make([]byte, 300))
	long64 := append([]byte{0x82, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 300)...)
	long64 = append(append(long64, 0, 0, 0, 0), make([]byte, 300)...)
	tests := []struct {
		name      string
		give      []byte
		wantHdr   int
		wantSize  int
		wantState int
	}{
		{"binary", maskedFrame(gws.OpcodeBinary, []byte{1, 2, 3}), 6, 3, frameWhole},
		{"empty binary", maskedFrame(gws.OpcodeBinary, nil), 6, 0, frameWhole},
		{"16-bit length", long16, 8, 300, frameWhole},
		{"64-bit length", long64, 14, 300, frameWhole},
		{"at the limit", maskedFrame(gws.OpcodeBinary, make([]byte, 400)), 8, 400, frameWhole},
		{"ping", maskedFrame(gws.OpcodePing, []byte("x")), 6, 1, frameWhole},
		{"pong", maskedFrame(gws.OpcodePong, nil), 6, 0, frameWhole},
		{"nothing", nil, 0, 0, frameIncomplete},
		{"one byte", long16[:1], 0, 0, frameIncomplete},
		{"length cut", long16[:3], 0, 0, frameIncomplete},
		{"64-bit length cut", long64[:9], 0, 0, frameIncomplete},
		{"payload cut", long16[:100], 8, 300, frameIncomplete},
		{"over the limit", maskedFrame(gws.OpcodeBinary, make([]byte, 401)), 0, 0, frameRefused},
		{"huge", append([]byte{0x82, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 1<<62)...), 0, 0, frameRefused},
		{"ping over 125", maskedFrame(gws.OpcodePing, make([]byte, 126)), 0, 0, frameRefused},
		{"text", maskedFrame(gws.OpcodeText, []byte("a")), 0, 0, frameRefused},
		{"close", maskedFrame(gws.OpcodeCloseConnection, nil), 0, 0, frameRefused},
		{"continuation", maskedFrame(gws.OpcodeContinuation, []byte{1}), 0, 0, frameRefused},
		{"reserved opcode", maskedFrame(gws.Opcode(11), nil), 0, 0, frameRefused},
		{"not final", notFinal, 0, 0, frameRefused},
		{"extension bit", withRSV, 0, 0, frameRefused},
		{"unmasked", unmasked, 0, 0, frameRefused},
	}
	for _, tt := range tests {
		_, hdr, size, state := parseClientFrame(tt.give, 400)
		if state != tt.wantState || (state != frameRefused && (hdr != tt.wantHdr || size != tt.wantSize)) {
			t.Errorf("%s: parseClientFrame = header %d, size %d, state %d; want %d, %d, %d", tt.name, hdr, size, state, tt.wantHdr, tt.wantSize, tt.wantState)
		}
	}
}

// TestFrameTracker: fed a stream in pieces of every size, the tracker is
// at a boundary exactly after each whole frame, except inside a fragmented
// message, and never again after a close frame.
func TestFrameTracker(t *testing.T) {
	var stream []byte
	var ends []int // stream offsets at which a boundary is expected
	add := func(b []byte, boundary bool) {
		stream = append(stream, b...)
		if boundary {
			ends = append(ends, len(stream))
		}
	}
	add(maskedFrame(gws.OpcodeBinary, inputFrame(1)), true)
	add(maskedFrame(gws.OpcodeBinary, make([]byte, 300)), true)
	add(maskedFrame(gws.OpcodePing, nil), true)
	frag := fragments(make([]byte, 10))
	add(frag[:11], false) // the first fragment
	add(maskedFrame(gws.OpcodePong, nil), false)
	add(frag[11:], true)
	long64 := append([]byte{0x82, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, 70000)...)
	add(append(append(long64, 1, 2, 3, 4), make([]byte, 70000)...), true)
	add(maskedFrame(gws.OpcodeBinary, nil), true)
	add(maskedFrame(gws.OpcodeCloseConnection, nil), false)
	add(maskedFrame(gws.OpcodeBinary, nil), false)

	for _, piece := range []int{1, 2, 3, 7, 64, 4096, len(stream)} {
		var tr frameTracker
		if !tr.boundary() {
			t.Fatal("a fresh tracker is not at a boundary")
		}
		next := 0
		for off := 0; off < len(stream); {
			n := min(piece, len(stream)-off)
			// Feed up to the next expected boundary at most, to check it.
			if next < len(ends) && off < ends[next] {
				n = min(n, ends[next]-off)
			}
			tr.feed(stream[off : off+n])
			off += n
			want := next < len(ends) && off == ends[next]
			if want {
				next++
			}
			if got := tr.boundary(); got != want {
				t.Fatalf("pieces of %d: boundary() = %v at offset %d, want %v", piece, got, off, want)
			}
		}
	}
}

// TestPollDetachWaitsForWriter: the poller's request is not granted while
// a writer holds the socket (a frame half written could not survive the
// connection's close); it is dropped, and granted once asked again after
// the writer is done.
func TestPollDetachWaitsForWriter(t *testing.T) {
	_, adm, url := newTestServer(t, Config{}, "p")
	adm["p"].manual.Store(true) // the test polls
	c := dialRaw(t, url, "p")
	c.next(t)
	s := adm["p"].sess()
	s.sock.mu.Lock() // a writer
	s.Poll(time.Now())
	checkFor(t, 5*time.Second, func() error {
		if s.sock.asked.Load() {
			return errors.New("the request still stands while a writer holds the socket")
		}
		return nil
	})
	if p := s.sock.phase.Load(); p != phaseGws {
		t.Fatalf("phase %d while a writer holds the socket, want gws (%d)", p, phaseGws)
	}
	s.sock.mu.Unlock()
	s.Poll(time.Now()) // asks again
	adm["p"].waitPolled(t, false)
	c.write(t, inputFrames(1, 2))
	checkFor(t, 5*time.Second, func() error {
		s.Poll(time.Now())
		if got := fmt.Sprint(adm["p"].seqs()); got != "[1 2]" {
			return fmt.Errorf("seat received %s, want [1 2]", got)
		}
		return nil
	})
}

// TestPollHandBackRace: a polled socket handed back by whichever comes
// first — the writer meeting a full socket, a close by the match, the
// client's close frame or the end of its stream, the poller — while the
// others are under way, again and again. Every session ends, once, with
// its slot released, and the race detector sees the socket's single owner
// at every moment.
func TestPollHandBackRace(t *testing.T) {
	const rounds = 40
	srv, adm, url := newTestServer(t, Config{SendBuffer: 4096, WriteTimeout: 200 * time.Millisecond, FrameRate: -1, Linger: 50 * time.Millisecond}, "p")
	big := fullOnly(make([]byte, 3000))
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 2))
		c := dialRaw(t, url, "p")
		c.next(t)
		seat := adm["p"]
		seat.waitPolled(t, false)
		s := seat.sess()
		inputs, end, snapshots, closes := uint32(rng.IntN(50)), rng.IntN(3), rng.IntN(40), rng.IntN(2) == 0
		var wg sync.WaitGroup
		wg.Go(func() { // the client sends inputs, then ends one way or another
			for seq := uint32(1); seq <= inputs; seq++ {
				if _, err := c.conn.Write(inputFrames(seq, seq)); err != nil {
					return
				}
			}
			switch end {
			case 0:
				_, _ = c.conn.Write(maskedFrame(gws.OpcodeCloseConnection, binary.BigEndian.AppendUint16(nil, 1000)))
			case 1:
				_ = c.conn.(*net.TCPConn).CloseWrite()
			}
		})
		wg.Go(func() { // the match offers snapshots the client never reads
			for range snapshots {
				s.SendSnapshot(big, arbiterv1.Ack{})
			}
			if closes {
				s.Close(arbiterv1.CloseMatchOver, "the match is over")
			}
		})
		wg.Wait()
		s.Close(arbiterv1.CloseMatchOver, "the match is over") // if nothing ended it yet
		select {
		case <-seat.detach:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the session never ended", round)
		}
		_ = c.conn.Close()
	}
	checkFor(t, 10*time.Second, func() error {
		if n := srv.Stats.Active.Load(); n != 0 {
			return fmt.Errorf("%d sessions still active", n)
		}
		if n := srv.heldSlots(); n != 0 {
			return fmt.Errorf("%d connection slots held", n)
		}
		return nil
	})
	total := uint64(0)
	for _, n := range closeCounts(srv) {
		total += n
	}
	if total != rounds {
		t.Errorf("%d session ends counted (%v), want %d", total, closeCounts(srv), rounds)
	}
	if got := srv.Stats.TickReads.Load(); got == 0 || got > rounds {
		t.Errorf("TickReads = %d, want some of the %d sessions (those the poller read before a hand-back)", got, rounds)
	}
}

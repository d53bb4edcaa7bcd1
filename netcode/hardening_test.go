package netcode

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// heldSlots returns the connection slots the server holds.
func (s *Server) heldSlots() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.conns
}

// checkFor polls f until it returns nil, failing the test with f's last
// error after timeout.
func checkFor(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// maskedFrame returns one client frame of any length, masked with key zero.
func maskedFrame(op gws.Opcode, payload []byte) []byte {
	b := []byte{0x80 | byte(op)}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	return append(append(b, 0, 0, 0, 0), payload...)
}

func inputFrame(seq uint32) []byte {
	return encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{Seq: seq}}})
}

func pingFrame(clientTime uint64) []byte {
	return encode(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Ping{Ping: &arbiterv1.Ping{ClientTime: clientTime}}})
}

func (f *fakeSeat) seqs() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.inputs...)
}

// TestFrameRateAllow drives the bucket with a synthetic clock.
func TestFrameRateAllow(t *testing.T) {
	srv := NewServer(Config{}, fakeAdmitter{})
	rate, burst := srv.cfg.FrameRate, srv.cfg.FrameBurst
	if rate != 300 || burst != 900 {
		t.Fatalf("defaults: FrameRate %d, FrameBurst %d; want 300, 900", rate, burst)
	}
	t0 := time.Now()

	// Honest senders are never refused: a browser sending one input per
	// frame at 144 Hz and pinging once a second; a client sending four
	// inputs per tick at 60 Hz whose link stalls for 3 s and then delivers
	// everything at once.
	s := newSession(srv, nil, newSocket(nil), &fakeSeat{})
	interval := time.Second / 144
	for i := range 144 * 20 {
		now := t0.Add(time.Duration(i) * interval)
		if !s.allow(now) || (i%144 == 0 && !s.allow(now)) {
			t.Fatalf("144 Hz frame %d refused", i)
		}
	}
	s = newSession(srv, nil, newSocket(nil), &fakeSeat{})
	interval = time.Second / 240
	sent := t0
	for i := range 240 * 10 {
		sent = t0.Add(time.Duration(i) * interval)
		arrive := sent
		if d := sent.Sub(t0); d >= 4*time.Second && d < 7*time.Second {
			arrive = t0.Add(7 * time.Second) // held by the stall, delivered at its end
		}
		if !s.allow(arrive) {
			t.Fatalf("4×60 Hz frame %d, sent at %v, refused after a 3 s stall", i, sent.Sub(t0))
		}
	}

	// After a quiet spell, a burst of FrameBurst frames at one instant
	// passes; one more does not, until 1/FrameRate has passed.
	now := t0.Add(time.Minute)
	for i := range burst {
		if !s.allow(now) {
			t.Fatalf("burst frame %d refused", i+1)
		}
	}
	if s.allow(now) {
		t.Fatalf("frame %d of a burst allowed, want refused", burst+1)
	}
	if !s.allow(now.Add(time.Second / time.Duration(rate))) {
		t.Fatal("frame 1/FrameRate after a full burst refused")
	}

	// Sustained, the limit is FrameRate.
	s.tat = time.Time{}
	allowed := 0
	for i := range 10 * 1000 { // 1000 frames/s for 10 s
		if s.allow(now.Add(time.Duration(i) * time.Millisecond)) {
			allowed++
		}
	}
	if want := burst + 10*rate; allowed < want-1 || allowed > want+1 {
		t.Errorf("allowed %d of 10000 frames over 10 s, want %d±1", allowed, want)
	}

	// Negative FrameRate disables the limit.
	off := newSession(NewServer(Config{FrameRate: -1}, fakeAdmitter{}), nil, newSocket(nil), &fakeSeat{})
	for i := range 1000 {
		if !off.allow(now) {
			t.Fatalf("frame %d refused with FrameRate -1", i)
		}
	}
}

func TestFrameRateAllowAllocs(t *testing.T) {
	s := newSession(NewServer(Config{}, fakeAdmitter{}), nil, newSocket(nil), &fakeSeat{})
	now := time.Now()
	if n := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		s.allow(now)
	}); n != 0 {
		t.Errorf("allow allocates %v times per frame, want 0", n)
	}
}

// TestInputFlood: a client over the frame-rate limit is kicked with
// input_flood and closed with 1008, its excess frames never reach the seat,
// and another session on the server carries on.
func TestInputFlood(t *testing.T) {
	const burst = 5
	tests := []struct {
		name  string
		frame []byte // sent 3·burst times in one write
	}{
		{"inputs", maskedFrame(gws.OpcodeBinary, inputFrame(1))},
		{"pings", maskedFrame(gws.OpcodePing, []byte("x"))},
	}
	for _, m := range readModes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				srv, adm, url := newTestServer(t, Config{DisableTickReads: m.arrival, FrameRate: 10, FrameBurst: burst}, "flood", "calm")
				calm := dial(t, url+"calm", 0)
				calm.next(t)
				flood := dial(t, url+"flood", 0)
				flood.next(t)
				adm["calm"].waitPolled(t, m.arrival)
				adm["flood"].waitPolled(t, m.arrival)

				// One write, so the client is done writing before the server
				// closes: a write failing afterwards would hide the close frame.
				var b []byte
				for range 3 * burst {
					b = append(b, tt.frame...)
				}
				if _, err := flood.conn.NetConn().Write(b); err != nil {
					t.Fatal(err)
				}
				if code, reason := flood.waitClose(t); code != 1008 || reason != "input_flood" {
					t.Errorf("close = %d %q, want 1008 input_flood", code, reason)
				}
				var kick *arbiterv1.Kick
				for len(flood.msgs) > 0 {
					kick = (<-flood.msgs).GetKick()
				}
				if kick.GetReason() != "input_flood" {
					t.Errorf("last message Kick = %v, want reason input_flood", kick)
				}
				if got := len(adm["flood"].seqs()); got > burst {
					t.Errorf("seat received %d inputs from a flood, want at most FrameBurst = %d", got, burst)
				}
				checkFor(t, 5*time.Second, func() error {
					if got := srv.Stats.Closes(arbiterv1.CloseInputFlood); got != 1 {
						return fmt.Errorf("Closes(input_flood) = %d, want 1", got)
					}
					if got := fmt.Sprint(adm["flood"].reported()); got != "[input_flood]" {
						return fmt.Errorf("violations reported: %s, want [input_flood]", got)
					}
					return nil
				})

				// The other session still sends and receives.
				_ = calm.conn.WriteMessage(gws.OpcodeBinary, inputFrame(7))
				_ = calm.conn.WriteMessage(gws.OpcodeBinary, pingFrame(42))
				if pong := calm.next(t).GetPong(); pong.GetClientTime() != 42 {
					t.Errorf("calm client got %v, want Pong 42", pong)
				}
				if got := fmt.Sprint(adm["calm"].seqs()); got != "[7]" {
					t.Errorf("calm seat received %s, want [7]", got)
				}
				adm["calm"].sess().SendSnapshot(fullOnly(encode(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 9}}})), arbiterv1.Ack{})
				if snap := calm.next(t).GetSnapshot(); snap.GetTick() != 9 {
					t.Errorf("calm client got %v, want Snapshot 9", snap)
				}
				select {
				case <-calm.closed:
					t.Error("the calm client was closed too")
				default:
				}
			})
		}
	}
}

// get makes a plain HTTP request to the play endpoint and returns the
// status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(strings.Replace(url, "ws://", "http://", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMaxConnsPerIP: past the cap, requests from the address are answered
// 429 before the token is looked at; a slot frees when a session ends, and
// when a request is refused or fails to upgrade.
func TestMaxConnsPerIP(t *testing.T) { forReadModes(t, testMaxConnsPerIP) }

func testMaxConnsPerIP(t *testing.T, arrival bool) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, MaxConnsPerIP: 2}, "a", "b", "c")
	a := dial(t, url+"a", 0)
	a.next(t)
	dial(t, url+"b", 0).next(t)
	adm["a"].waitPolled(t, arrival)

	if _, status, err := tryDial(t, url+"c", 0); status != http.StatusTooManyRequests {
		t.Errorf("third connection: status %d (%v), want 429", status, err)
	}
	// Refused before the token check: no token, still 429.
	if status, body := get(t, url); status != http.StatusTooManyRequests || !strings.Contains(body, `"code":"too_many_connections"`) {
		t.Errorf("GET without token at the cap = %d %s, want 429 too_many_connections", status, body)
	}
	if got := srv.Stats.RefusedPerIP.Load(); got != 2 {
		t.Errorf("RefusedPerIP = %d, want 2", got)
	}
	if got := srv.Stats.Refused.Load(); got != 0 {
		t.Errorf("Refused = %d, want 0: the token was never checked", got)
	}

	// A session ends: its slot frees.
	_ = a.conn.WriteClose(1000, nil)
	var c *testClient
	checkFor(t, 5*time.Second, func() error {
		var err error
		c, _, err = tryDial(t, url+"c", 0)
		return err
	})
	c.next(t)

	// Back at the cap. A refused token and a failed upgrade release the slot
	// they held: with one slot free they can be repeated.
	_ = c.conn.WriteClose(1000, nil)
	checkFor(t, 5*time.Second, func() error {
		if n := srv.heldSlots(); n != 1 {
			return fmt.Errorf("held slots = %d, want 1", n)
		}
		return nil
	})
	for range 3 {
		if status, _ := get(t, url+"forged"); status != http.StatusUnauthorized {
			t.Fatalf("forged token = %d, want 401", status)
		}
		if status, _ := get(t, url+"c"); status != http.StatusBadRequest { // no Upgrade header
			t.Fatalf("plain GET with a good token = %d, want 400 from the upgrader", status)
		}
		checkFor(t, 5*time.Second, func() error {
			if n := srv.heldSlots(); n != 1 {
				return fmt.Errorf("held slots = %d after refusals, want 1", n)
			}
			return nil
		})
	}
}

func TestMaxConns(t *testing.T) {
	srv, _, url := newTestServer(t, Config{MaxConns: 2, MaxConnsPerIP: -1}, "a", "b", "c")
	dial(t, url+"a", 0).next(t)
	dial(t, url+"b", 0).next(t)
	if _, status, err := tryDial(t, url+"c", 0); status != http.StatusServiceUnavailable {
		t.Errorf("third connection: status %d (%v), want 503", status, err)
	}
	if status, body := get(t, url+"c"); status != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"server_full"`) {
		t.Errorf("GET at the cap = %d %s, want 503 server_full", status, body)
	}
	if got := srv.Stats.RefusedFull.Load(); got != 2 {
		t.Errorf("RefusedFull = %d, want 2", got)
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"192.0.2.7:443", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:443", "192.0.2.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:9", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"@", "invalid Prefix"},
		{"", "invalid Prefix"},
	}
	for _, tt := range tests {
		if got := clientKey(tt.give).String(); got != tt.want {
			t.Errorf("clientKey(%q) = %s, want %s", tt.give, got, tt.want)
		}
	}
	if clientKey("[2001:db8:1:2::1]:1") == clientKey("[2001:db8:1:3::1]:1") {
		t.Error("different /64s share a key")
	}
}

// TestSilentClientReaped: a client that completes the upgrade and then
// sends nothing at all — no frames, no pongs to the server's pings — is
// dropped after IdleTimeout, and its slot freed.
func TestSilentClientReaped(t *testing.T) { forReadModes(t, testSilentClientReaped) }

func testSilentClientReaped(t *testing.T, arrival bool) {
	srv, adm, url := newTestServer(t, Config{DisableTickReads: arrival, IdleTimeout: 300 * time.Millisecond}, "silent")
	conn, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := strings.TrimPrefix(url, "ws://"+hostOf(url))
	fmt.Fprintf(conn, "GET %ssilent HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, hostOf(url))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade status = %d, want 101", resp.StatusCode)
	}
	select {
	case <-adm["silent"].detach:
	case <-time.After(5 * time.Second):
		t.Fatal("silent client not dropped within 5s")
	}
	// The server closed the socket: reading (Welcome, pings, close frame)
	// ends.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("reading until the server closes: %v", err)
	}
	if got := srv.Stats.Closes(arbiterv1.CloseIdle); got != 1 {
		var all []string
		for r, n := range closeCounts(srv) {
			all = append(all, fmt.Sprintf("%s=%d", r, n))
		}
		t.Errorf("Closes(idle) = %d, want 1 (closes: %v)", got, all)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := srv.heldSlots(); n != 0 {
			return fmt.Errorf("held slots = %d, want 0", n)
		}
		return nil
	})
}

// TestInputsReachOwnSeat: with two sessions on one server, every input a
// session decodes goes to the seat its token named, never the other.
func TestInputsReachOwnSeat(t *testing.T) { forReadModes(t, testInputsReachOwnSeat) }

func testInputsReachOwnSeat(t *testing.T, arrival bool) {
	_, adm, url := newTestServer(t, Config{DisableTickReads: arrival}, "a", "b")
	a := dial(t, url+"a", 0)
	a.next(t)
	b := dial(t, url+"b", 0)
	b.next(t)
	adm["a"].waitPolled(t, arrival)
	adm["b"].waitPolled(t, arrival)
	for i := uint32(1); i <= 5; i++ {
		_ = a.conn.WriteMessage(gws.OpcodeBinary, inputFrame(i))
		_ = b.conn.WriteMessage(gws.OpcodeBinary, inputFrame(100+i))
	}
	_ = a.conn.WriteMessage(gws.OpcodeBinary, pingFrame(1))
	_ = b.conn.WriteMessage(gws.OpcodeBinary, pingFrame(2))
	a.next(t) // Pong: the inputs before it have been handed over
	b.next(t)
	if got := fmt.Sprint(adm["a"].seqs()); got != "[1 2 3 4 5]" {
		t.Errorf("seat a received %s, want [1 2 3 4 5]", got)
	}
	if got := fmt.Sprint(adm["b"].seqs()); got != "[101 102 103 104 105]" {
		t.Errorf("seat b received %s, want [101 102 103 104 105]", got)
	}
}

// TestClientMessageNamesNoEntity guards the reason a client controls only
// its own entity: nothing a client sends can name a player or an entity,
// so the session's seat is the only possible target. A field like that
// added to the protocol must come with a check in netcode.
func TestClientMessageNamesNoEntity(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			name := strings.ToLower(string(fd.Name()))
			for _, bad := range []string{"entity", "player", "seat", "target", "match", "token"} {
				if strings.Contains(name, bad) {
					t.Errorf("client-sent field %s names a %s", fd.FullName(), bad)
				}
			}
			if fd.Message() != nil {
				walk(fd.Message())
			}
		}
	}
	walk((&arbiterv1.ClientMessage{}).ProtoReflect().Descriptor())
	if !seen["arbiter.v1.Input"] {
		t.Error("walk did not reach arbiter.v1.Input")
	}
}

package clienttest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/clienttest"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// frame is one WebSocket frame the server received.
type frame struct {
	text bool
	data []byte
}

// server is a match server that welcomes one client and reports every
// frame it receives. Its connection is the test's, to write to.
type server struct {
	gws.BuiltinEventHandler
	frames chan frame
	conn   chan *gws.Conn
}

func (s *server) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	s.frames <- frame{text: m.Opcode == gws.OpcodeText, data: append([]byte(nil), m.Bytes()...)}
}

// serve starts the server and returns its play URL. The server stops,
// and its reader returns, when the test ends.
func serve(t *testing.T) (*server, string) {
	t.Helper()
	s := &server{frames: make(chan frame, 16), conn: make(chan *gws.Conn, 1)}
	var readers sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := gws.NewUpgrader(s, &gws.ServerOption{}).Upgrade(w, r)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		// Before the Welcome, so that once Dial has returned the reader
		// is tracked and the connection is in s.conn for the cleanup.
		readers.Go(ws.ReadLoop)
		s.conn <- ws
		send(t, ws, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
			MatchId: "m", EntityId: 1, TickRate: 30, PlayerId: "p", Mode: "duel",
		}}})
	}))
	t.Cleanup(func() {
		hs.Close()
		select {
		case ws := <-s.conn:
			_ = ws.NetConn().Close()
		default:
		}
		readers.Wait()
	})
	return s, "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/play?token=t"
}

func send(t *testing.T, ws *gws.Conn, m *arbiterv1.ServerMessage) {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(gws.OpcodeBinary, b); err != nil {
		t.Errorf("server write: %v", err)
	}
}

func (s *server) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-s.frames:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("the server received no frame")
		return frame{}
	}
}

// TestSends: Send, SendRaw and SendText put exactly their frame on the wire.
func TestSends(t *testing.T) {
	s, url := serve(t)
	c, err := client.Dial(t.Context(), url, client.Options{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()

	// A replayed seq, which SendInput would never send.
	msg := &arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{Seq: 7, MoveX: 1500}}}
	for range 2 {
		if err := clienttest.Send(c, msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		f := s.next(t)
		var got arbiterv1.ClientMessage
		if err := proto.Unmarshal(f.data, &got); err != nil || f.text {
			t.Fatalf("Send put %+v on the wire (%v), want a binary frame of the message", f, err)
		}
		if diff := cmp.Diff(msg, &got, protocmp.Transform()); diff != "" {
			t.Errorf("Send: the server got (-want +got):\n%s", diff)
		}
	}
	if err := clienttest.SendRaw(c, []byte{0xff, 0xff}); err != nil {
		t.Fatalf("SendRaw: %v", err)
	}
	if f := s.next(t); f.text || string(f.data) != "\xff\xff" {
		t.Errorf("SendRaw put %+v on the wire, want binary ff ff", f)
	}
	if err := clienttest.SendText(c, "hello"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if f := s.next(t); !f.text || string(f.data) != "hello" {
		t.Errorf("SendText put %+v on the wire, want text hello", f)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := clienttest.Send(c, msg); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Send after Close = %v, want client.ErrClosed", err)
	}
}

// TestStallReads: a stalled client handles no message until ResumeReads.
func TestStallReads(t *testing.T) {
	s, url := serve(t)
	snaps := make(chan uint32, 4)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, client.Options{OnSnapshot: func(s *arbiterv1.Snapshot) { snaps <- s.GetTick() }})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	ws := <-s.conn
	s.conn <- ws // for the cleanup

	clienttest.StallReads(c)
	send(t, ws, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{Tick: 5}}})
	// A negative check needs a window: a working stall holds the
	// snapshot for ever, a broken one lets it through in microseconds.
	select {
	case tick := <-snaps:
		t.Fatalf("snapshot %d handled while reads were stalled", tick)
	case <-time.After(200 * time.Millisecond):
	}
	clienttest.ResumeReads(c)
	select {
	case tick := <-snaps:
		if tick != 5 {
			t.Errorf("snapshot after ResumeReads has tick %d, want 5", tick)
		}
	case <-ctx.Done():
		t.Fatal("no snapshot handled after ResumeReads")
	}
}

package client

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// offlineClient returns a Client with no connection, for feeding frames to
// handle directly.
func offlineClient(opts Options) *Client {
	return &Client{
		opts:     opts.withDefaults(),
		welcomed: make(chan struct{}),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
	}
}

func mustMarshal(t testing.TB, m *arbiterv1.ServerMessage) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzHandle feeds two arbitrary server frames to a fresh client: whatever
// they hold, the client must answer with a violation or update its state, and
// never panic.
func FuzzHandle(f *testing.F) {
	welcome := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
		MatchId: "m", EntityId: 1, TickRate: 30, Tick: 5, PlayerId: "p", Mode: "ffa",
	}}})
	snapshot := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{
		Tick: 6, Entities: []*arbiterv1.Entity{
			{Id: 1, X: 100, Y: 100, Hp: 100, LastInputSeq: 3},
			{Id: 2, X: -2147483648, Y: 2147483647, Hp: 4294967295, Score: 7},
		},
	}}})
	zeroRate := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{EntityId: 1}}})
	f.Add(welcome, snapshot)
	f.Add(welcome, welcome)
	f.Add(snapshot, welcome)
	f.Add(zeroRate, snapshot)
	f.Add([]byte{0xff, 0xff, 0xff}, snapshot)
	f.Add(welcome, []byte{0x12, 0x05, 0x08})
	f.Add([]byte{}, []byte{})
	kick := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Kick{Kick: &arbiterv1.Kick{Reason: "match_over"}}})
	f.Add(kick, snapshot) // a Kick may precede the Welcome; the client must stay usable
	f.Fuzz(func(t *testing.T, first, second []byte) {
		c := offlineClient(Options{OnSnapshot: func(*arbiterv1.Snapshot) {}})
		if v := c.handle(true, first); v != nil {
			if v.err == nil || v.code == 0 {
				t.Fatalf("handle(first) = %+v, want a close code and a cause", v)
			}
			return
		}
		select {
		case <-c.welcomed:
		default:
			// Only an announced close (Kick) may come before the Welcome.
			var m arbiterv1.ServerMessage
			if err := proto.Unmarshal(first, &m); err != nil || m.GetKick() == nil {
				t.Fatal("first frame accepted without a Welcome or a Kick")
			}
		}
		if v := c.handle(true, second); v != nil && (v.err == nil || v.code == 0) {
			t.Fatalf("handle(second) = %+v, want a close code and a cause", v)
		}
		now := time.Now()
		c.Predicted()
		c.Interpolated(now)
		c.RenderTick(now)
		c.PredictionError()
	})
}

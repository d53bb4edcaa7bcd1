package client

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// TestSnapshotEncodings: a Client asks for delta snapshots unless told
// otherwise (Options.FullSnapshots, or a URL that already chooses), and
// decodes whichever the server's Welcome announces — from a server older
// than deltas too. Either way OnSnapshot and LastSnapshot get every
// snapshot the server made, whole: with deltas, only the Client's own
// entity carries acknowledgements.
func TestSnapshotEncodings(t *testing.T) {
	tests := []struct {
		name      string
		full      bool   // Options.FullSnapshots
		query     string // added to the URL
		fullOnly  bool   // a server older than delta snapshots
		wantAsked string // the URL's snapshots parameter
		want      arbiterv1.SnapshotEncoding
	}{
		{"default", false, "", false, "delta", arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA},
		{"full asked", true, "", false, "", arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL},
		{"url chooses full", false, "&snapshots=full", false, "full", arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL},
		{"url chooses delta", true, "&snapshots=delta", false, "delta", arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA},
		{"server without deltas", false, "", true, "delta", arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_UNSPECIFIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkNoLeaks(t)
			fs := newFakeServer(t, func(fs *fakeServer) { fs.fullOnly, fs.hits = tt.fullOnly, true })
			var mu sync.Mutex
			var got []*arbiterv1.Snapshot
			c := dial(t, fs.url(fakeToken)+tt.query, Options{
				FullSnapshots: tt.full,
				OnSnapshot: func(s *arbiterv1.Snapshot) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, s)
				},
			})
			fc := fs.accept(t)
			if fc.asked != tt.wantAsked {
				t.Errorf("the URL asked for snapshots=%q, want %q", fc.asked, tt.wantAsked)
			}
			if w := c.Welcome(); w.Snapshots != tt.want || w.DeltaSnapshots() != (tt.want == arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA) {
				t.Errorf("Welcome().Snapshots = %v (delta %v), want %v", w.Snapshots, w.DeltaSnapshots(), tt.want)
			}
			for i := range 60 {
				if i%3 > 0 { // moves on two ticks of three
					if _, err := c.SendInput(sim.Input{MoveX: 1000, MoveY: int32(-300 * i % 1000)}); err != nil {
						t.Fatal(err)
					}
					sent := i - i/3
					waitFor(t, "the input to reach the server", func() bool { return fc.received() == sent })
				}
				waitForTick(t, c, fc.step())
			}
			var want []*arbiterv1.Snapshot
			for _, s := range fc.sentSnapshots() {
				s = proto.CloneOf(s)
				if c.Welcome().DeltaSnapshots() {
					for _, e := range s.Entities {
						if e.Id != fakeSelf {
							e.LastInputSeq, e.InputBacklog = 0, 0
						}
					}
				}
				want = append(want, s)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("snapshots handed to OnSnapshot (-the server's +got):\n%s", diff)
			}
			if last := c.LastSnapshot(); last != got[len(got)-1] {
				t.Errorf("LastSnapshot() = %v, want the last one handed over", last)
			}
		})
	}
}

// TestDeltaOnFullConnection: a delta on a connection whose Welcome did
// not announce deltas is the server breaking the protocol: 1002.
func TestDeltaOnFullConnection(t *testing.T) {
	checkNoLeaks(t)
	fs := newFakeServer(t, nil)
	c := dial(t, fs.url(fakeToken), Options{FullSnapshots: true})
	fc := fs.accept(t)
	waitForTick(t, c, fc.step())
	var enc arbiterv1.DeltaEncoder
	fc.sendRaw(arbiterv1.AppendDeltaMessage(nil, enc.AppendBody(nil, 2, 0, nil, nil), arbiterv1.Ack{}))
	ce := waitClosed(t, c)
	if ce.Code != 1002 || ce.Reason != arbiterv1.CloseProtocol || !errors.Is(ce, ErrProtocol) {
		t.Errorf("CloseError() = %+v, want a 1002 protocol close for ErrProtocol", ce)
	}
}

package client

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// benchRate, benchSelf and benchPlayers describe the room of the client
// benchmarks: the arena benchmark's (bench/README.md), ten players at 30 Hz.
const (
	benchRate    = 30
	benchSelf    = 3
	benchPlayers = 10
)

// benchStream returns ticks frames of a room of benchPlayers at benchRate
// as one connection of benchSelf receives them, deltas (the default) or
// full snapshots: everyone but benchSelf walks, a few get hit, and each
// frame acknowledges the input seq equal to its index plus one, none
// waiting. benchSelf stands still, so that a client sending it zero moves
// predicts it exactly.
func benchStream(tb testing.TB, full bool, ticks int) [][]byte {
	tb.Helper()
	ents := make([]*arbiterv1.Entity, benchPlayers)
	for i := range ents {
		ents[i] = &arbiterv1.Entity{Id: uint32(i + 1), X: int32(10000 + 3000*i), Y: 20000, Hp: 100}
	}
	var enc arbiterv1.DeltaEncoder
	var prev []*arbiterv1.Entity
	frames := make([][]byte, ticks)
	for k := range ticks {
		tick := uint32(k + 1)
		cur := make([]*arbiterv1.Entity, len(ents))
		for i, e := range ents {
			n := proto.CloneOf(e)
			if n.Id != benchSelf {
				n.X += int32(100 + 37*((k+i)%7))
				n.Y -= int32(50 + 23*((k*3+i)%5))
			}
			if (k+i)%41 == 0 {
				n.Hp = uint32(max(int(n.Hp)-7, 0))
			}
			if (k+i)%97 == 0 {
				n.Score++
			}
			if n.Id == benchSelf {
				n.LastInputSeq = tick
			}
			cur[i] = n
		}
		if full {
			b, err := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{
				Snapshot: &arbiterv1.Snapshot{Tick: tick, Entities: cur},
			}})
			if err != nil {
				tb.Fatal(err)
			}
			frames[k] = b
		} else {
			base := uint32(0)
			if k > 0 {
				base = tick - 1
			}
			body := enc.AppendBody(nil, tick, base, prev, cur)
			frames[k] = arbiterv1.AppendDeltaMessage(nil, body, arbiterv1.Ack{LastInputSeq: tick})
		}
		ents, prev = cur, cur
	}
	return frames
}

// benchClient returns a Client without a connection, past the Welcome of
// benchSelf in the benchmarks' room, on clock.
func benchClient(tb testing.TB, clock *time.Time, full bool) *Client {
	enc := arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	if full {
		enc = arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
	}
	return welcomedClient(tb, clock, -1, &arbiterv1.Welcome{
		MatchId: "m", PlayerId: "p", Mode: "ffa", Game: gameArena, EntityId: benchSelf,
		TickRate: benchRate, Snapshots: enc,
	}, nil, 0)
}

// BenchmarkClientTick is one tick of a client playing the arena as
// RunInputs drives it, without the socket: the checks before an input
// (held? due?), the input (numbered, predicted, paced, encoded), the check
// after it, and the snapshot that acknowledges it (decoded, the prediction
// reconciled, the pacing observed, the interpolator fed). The load
// generator (bench) runs it for each of its bots at every tick.
func BenchmarkClientTick(b *testing.B) {
	for _, mode := range []string{"delta", "full"} {
		b.Run(mode, func(b *testing.B) {
			full := mode == "full"
			frames := benchStream(b, full, 3000)
			period := time.Second / benchRate
			clock := time.Unix(1e9, 0)
			var c *Client
			i := len(frames)
			b.ReportAllocs()
			for b.Loop() {
				if i == len(frames) {
					b.StopTimer()
					c = benchClient(b, &clock, full)
					i = 0
					b.StartTimer()
				}
				clock = clock.Add(period)
				if held, _ := c.inputCheck(clock); held {
					b.Fatal("held")
				}
				c.send.Lock()
				c.prepareInputLocked(sim.Input{})
				c.send.Unlock()
				_ = c.InputDue(clock)
				clock = clock.Add(3 * time.Millisecond)
				if v := c.handle(true, frames[i]); v != nil {
					b.Fatal(v.err)
				}
				i++
			}
			if s := c.PredictionError(); s.Corrections != 0 {
				b.Fatalf("%d corrections", s.Corrections)
			}
		})
	}
}

package bench

import (
	"context"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netem"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// ringSize is how many inputs back a bot remembers send times: 1024 ticks
// is 17 s at 60 Hz, far beyond any acknowledgement worth timing. A power of
// two, so that seq&ringMask indexes it.
const (
	ringSize = 1024
	ringMask = ringSize - 1
)

// sendSlot is the send time of one input. The sender stores at, then seq;
// the reader loads seq, then at: a reader that sees the seq it wants sees
// its time.
type sendSlot struct {
	seq   atomic.Uint32
	at    atomic.Int64  // ns since recorder.base
	aimed atomic.Int64  // the tick the pacing aimed it at (see ackParts)
	lost  atomic.Uint64 // bot.lost as of this input's send
}

// recorder is what every bot reports into. Its fields are set before any
// bot starts, except the atomics.
type recorder struct {
	base time.Time // the monotonic origin of every at
	// lat is where acknowledgement latencies go now: the warmup histogram,
	// the window's, or nil once the window is over.
	lat atomic.Pointer[histogram]
	// parts is where the parts of those latencies go (see ackParts), nil
	// outside the window.
	parts atomic.Pointer[ackParts]
	// from: inputs sent before it (ns since base) are not timed, so that the
	// window holds only inputs sent inside it.
	from atomic.Int64
}

func (r *recorder) since() int64 { return int64(time.Since(r.base)) }

// bot is one load-generator client. Its reader-side fields are touched
// only by the client's reader goroutine (inside OnSnapshot); its sender
// fields only by its sender's goroutine; the atomics by anyone.
type bot struct {
	rec    *recorder
	c      *client.Client
	entity atomic.Uint32 // own entity; 0 until Dial has returned
	phase  int           // turns the move vector differently per bot

	// The sender's: set by sender.add before the bot is handed over.
	sender *sender
	sendAt int64 // when the sender looks at the bot next, in ns since its base
	n      int   // inputs made so far (next)
	// held is set by the sender while the bot's pacing holds inputs
	// back; the reader clears it at the next snapshot and pokes the
	// sender.
	held atomic.Bool

	ring [ringSize]sendSlot

	acked atomic.Uint32 // highest acknowledged seq seen; written by the reader only
	// lag is tick − last_input_seq of the newest snapshot: the input with
	// seq m is applied at tick m+lag unless a tick starves or the server
	// drops one. Written by the reader, read by the sender; 0: none yet.
	lag atomic.Int64
	// room is the reader's model of the room's tick clock.
	room roomClock

	snapshots atomic.Uint64 // snapshots received
	// seen is the tick of the newest snapshot that showed the bot's own
	// entity (high 32 bits) and that entity's last_input_seq (low 32
	// bits), in one word so that a read of both is one snapshot's: how
	// far the bot saw its room's tick counter go, which on a busy
	// machine is fewer ticks than the tick rate says (the room skips
	// what it cannot catch up), and how many of its inputs the room
	// took in those ticks. Written by the reader only.
	seen   atomic.Uint64
	bytes  atomic.Uint64 // bytes read from the socket (WebSocket frames, headers included)
	inputs atomic.Uint64 // inputs sent
	// lost counts the inputs the sender did not send because it got to
	// the bot more than a tick period after the time it asked for (see
	// countLate); each input's slot in ring records it as of that
	// input's send. Written by the sender only.
	lost atomic.Uint64
}

// seenTickAck splits bot.seen.
func seenTickAck(v uint64) (tick, ack uint32) { return uint32(v >> 32), uint32(v) }

// lostBy returns how many inputs the sender had lost by the time it sent
// the input with seq, if that is still in the ring. The sender stores the
// slot's lost before its seq: a reader that sees the seq sees its lost.
func (b *bot) lostBy(seq uint32) (uint64, bool) {
	slot := &b.ring[seq&ringMask]
	if slot.seq.Load() != seq {
		return 0, false
	}
	return slot.lost.Load(), true
}

// countLate counts what the sender lost by getting to the bot late, by
// the sender's own clock, before sending an input: a whole period late is
// an input that was due and never sent. Neither the pacing nor a fixed
// ticker makes lost time up (a burst would only be dropped by the server
// as surplus), so a generator that its machine holds up sends fewer
// inputs than the room ran ticks; this is how many, and nothing of the
// pacing's own doing.
func (b *bot) countLate(late, period time.Duration) {
	if late >= period {
		b.lost.Add(uint64(late / period))
	}
}

func newBot(rec *recorder, phase int) *bot {
	return &bot{rec: rec, phase: phase}
}

// dial connects the bot to its match, over link when it is not the zero
// Link, asking for full snapshots if full (deltas otherwise, the client
// library's default). The socket is wrapped to count the bytes the server
// sends, which is exactly the WebSocket frames (2–10 bytes of header each,
// plus the payload) with no estimate.
func (b *bot) dial(ctx context.Context, wsURL string, link netem.Link, full bool) error {
	dial := (&net.Dialer{}).DialContext
	if shapes(link) { // the bare socket otherwise: no pumps to weigh on the figures
		dial = (&netem.Dialer{Up: link, Down: link}).DialContext
	}
	c, err := client.Dial(ctx, wsURL, client.Options{
		OnSnapshot:         b.onSnapshot,
		InterpolationDelay: -1, // bots render nothing; skip the interpolation delay
		FullSnapshots:      full,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, n: &b.bytes}, nil
		},
	})
	if err != nil {
		return err
	}
	b.c = c
	b.room = newRoomClock(c.Welcome().TickRate)
	b.entity.Store(uint32(c.Welcome().Entity))
	return nil
}

// shapes reports whether link changes anything about a connection. Its
// Seed alone does not (arbiter-bench always sets one): such a Link would
// route every byte through netem's pumps for nothing, two goroutines and
// two copies per connection that the generator would pay for.
func shapes(link netem.Link) bool {
	return link.Latency != 0 || link.Jitter != 0 || link.Rate != 0
}

// onSnapshot runs on the client's reader goroutine for every snapshot. It
// times every input the snapshot acknowledges for the first time. It must
// not block and does not allocate.
func (b *bot) onSnapshot(s *arbiterv1.Snapshot) {
	b.snapshots.Add(1)
	b.timeAcks(s, b.rec.since())
	if b.held.Load() && b.held.CompareAndSwap(true, false) {
		b.sender.poke(b)
	}
}

// timeAcks handles the snapshot s that arrived at now (ns since the
// recorder's base).
func (b *bot) timeAcks(s *arbiterv1.Snapshot, now int64) {
	self := b.entity.Load()
	if self == 0 {
		return
	}
	var ack uint32
	found := false
	for _, e := range s.GetEntities() {
		if e.GetId() == self {
			ack, found = e.GetLastInputSeq(), true
			break
		}
	}
	tick := s.GetTick()
	if found {
		if old, _ := seenTickAck(b.seen.Load()); tick > old {
			b.seen.Store(uint64(tick)<<32 | uint64(ack))
		}
	}
	delivery := b.room.add(tick, now)
	parts := b.rec.parts.Load()
	if parts != nil {
		parts.delivery.Record(delivery)
	}
	if found {
		b.lag.Store(int64(tick) - int64(ack))
	}
	last := b.acked.Load()
	if !found || ack <= last {
		return
	}
	first := last + 1
	if ack-first >= ringSize {
		first = ack - ringSize + 1
	}
	b.acked.Store(ack)
	h := b.rec.lat.Load()
	if h == nil {
		return
	}
	from := b.rec.from.Load()
	for seq := first; seq <= ack && seq != 0; seq++ {
		slot := &b.ring[seq&ringMask]
		if slot.seq.Load() != seq {
			continue // not sent by this bot's sender (or overwritten)
		}
		if at := slot.at.Load(); at >= from {
			total := time.Duration(now - at)
			h.Record(total)
			if parts != nil {
				aimed := slot.aimed.Load()
				lead := time.Duration(b.room.at(aimed) - at)
				parts.record(total, lead, int64(tick)-aimed, delivery)
			}
		}
	}
}

// moves are 16 directions at full speed, each truncated towards zero so that
// move_x²+move_y² ≤ 1000² (a valid input).
var moves = func() [16][2]int32 {
	var m [16][2]int32
	for i := range m {
		a := 2 * math.Pi * float64(i) / float64(len(m))
		m[i] = [2]int32{int32(1000 * math.Cos(a)), int32(1000 * math.Sin(a))}
	}
	return m
}()

// next returns the bot's next input, recording its send time: the sender
// calls it right before sending it. The move vector turns by 1/16 of a
// circle every 5 inputs. The sender is the bot's only sender, so the seq
// of the next input is always LastSeq()+1: its send time is recorded
// under that seq.
func (b *bot) next() sim.Input {
	mv := moves[(b.n/5+b.phase)%len(moves)]
	b.n++
	seq := b.c.LastSeq() + 1
	slot := &b.ring[seq&ringMask]
	slot.at.Store(b.rec.since())
	slot.aimed.Store(int64(seq) + b.lag.Load())
	slot.lost.Store(b.lost.Load())
	slot.seq.Store(seq)
	b.inputs.Add(1)
	return sim.Input{MoveX: mv[0], MoveY: mv[1]}
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n *atomic.Uint64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

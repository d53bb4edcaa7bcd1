package match

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"google.golang.org/protobuf/proto"
)

// fakeClock is a Clock that moves only when the test says so. It counts the
// timers armed so tests can tell when the room goroutine is about to wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armedN int           // timers armed so far (NewTimer and Reset)
	armed  chan struct{} // size 1: a wake-up to re-check armedN; wake-ups coalesce
}

// Armed returns how many times a timer has been armed so far.
func (c *fakeClock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armedN
}

// WaitArmed blocks until timers have been armed at least n times in all,
// which tells the test that the room goroutine is about to wait.
func (c *fakeClock) WaitArmed(n int) {
	for {
		if c.Armed() >= n {
			return
		}
		<-c.armed
	}
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), armed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	t.at, t.active = c.now.Add(d), true
	c.armedN++
	c.fireLocked()
	c.mu.Unlock()
	select {
	case c.armed <- struct{}{}:
	default:
	}
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	t.active = false
	t.c.mu.Unlock()
}

// Advance moves time forward by d, firing timers that come due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.fireLocked()
	c.mu.Unlock()
}

// FireNext moves time to the earliest armed timer's deadline and fires it.
// It reports false if no timer is armed.
func (c *fakeClock) FireNext() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next *fakeTimer
	for _, t := range c.timers {
		if t.active && (next == nil || t.at.Before(next.at)) {
			next = t
		}
	}
	if next == nil {
		return false
	}
	if next.at.After(c.now) {
		c.now = next.at
	}
	c.fireLocked()
	return true
}

// fireUntil fires clock's earliest timer, waits for the room to re-arm
// one, and so on, until the match ends instead: it returns the result
// ended then receives.
func fireUntil(clock *fakeClock, ended <-chan Result) Result {
	for {
		n := clock.Armed()
		clock.FireNext()
		for clock.Armed() <= n {
			select {
			case <-clock.armed:
			case res := <-ended:
				return res
			}
		}
	}
}

func (c *fakeClock) fireLocked() {
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

// fakeGame is a trivial game: entities move by MoveX per tick, inputs with
// Buttons == 0xdead are invalid, and hooks let tests observe steps.
type fakeGame struct {
	onStep    func(tick int)
	suspectAt int // > 0: a violation score at which a player is suspicious
}

var errFakeInvalid = errors.New("fake: invalid")

func (g *fakeGame) NewWorld(cfg WorldConfig) (World, error) {
	return &fakeWorld{g: g, score: map[EntityID]int{}}, nil
}

type fakeWorld struct {
	g     *fakeGame
	ticks int
	ents  []EntityState
	score map[EntityID]int // violation score, as an AntiCheat game keeps it
}

// Report and Suspicious make fakeWorld an AntiCheat game: each refused frame
// scores 15, each invalid input 10.
func (w *fakeWorld) Report(e EntityID, _ string) { w.score[e] += 15 }
func (w *fakeWorld) Suspicious(e EntityID) bool {
	return w.g.suspectAt > 0 && w.score[e] >= w.g.suspectAt
}

func (w *fakeWorld) Join() EntityID {
	w.ents = append(w.ents, EntityState{ID: EntityID(len(w.ents) + 1), HP: 100})
	return EntityID(len(w.ents))
}

func (w *fakeWorld) Validate(e EntityID, in Input) error {
	if in.Buttons == 0xdead {
		w.score[e] += 10
		return errFakeInvalid
	}
	return nil
}

func (w *fakeWorld) Step(cmds []Command) {
	w.ticks++
	if w.g.onStep != nil {
		w.g.onStep(w.ticks)
	}
	for _, c := range cmds {
		w.ents[c.Entity-1].X += c.Input.MoveX
		w.ents[c.Entity-1].Score += uint32(c.Input.AimX) // lets tests set scores
	}
}

func (w *fakeWorld) AppendEntities(dst []EntityState) []EntityState { return append(dst, w.ents...) }
func (w *fakeWorld) Finished() bool                                 { return false }

// fakePeer records what a room sends it.
type fakePeer struct {
	mu        sync.Mutex
	frames    [][]byte                 // Send, in order
	snapshots [][]byte                 // SendSnapshot's full messages, in order
	ticks     []arbiterv1.TickSnapshot // SendSnapshot's snapshots, in order
	acks      []arbiterv1.Ack          // SendSnapshot's acknowledgements, in order
	closed    bool
	reason    arbiterv1.CloseReason
	message   string
	closedCh  chan struct{}
}

func newFakePeer() *fakePeer { return &fakePeer{closedCh: make(chan struct{})} }

func (p *fakePeer) Send(f []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frames = append(p.frames, f)
}

func (p *fakePeer) SendSnapshot(snap arbiterv1.TickSnapshot, own arbiterv1.Ack) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snapshots = append(p.snapshots, snap.Full)
	p.ticks = append(p.ticks, snap)
	p.acks = append(p.acks, own)
}

// deltaPeer is a fakePeer whose connection asked for delta snapshots.
type deltaPeer struct{ *fakePeer }

func (deltaPeer) SnapshotEncoding() arbiterv1.SnapshotEncoding {
	return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
}

func (p *fakePeer) Close(reason arbiterv1.CloseReason, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed, p.reason, p.message = true, reason, message
		close(p.closedCh)
	}
}

func (p *fakePeer) lastSnapshot(t *testing.T) *arbiterv1.Snapshot {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.snapshots) == 0 {
		t.Fatal("no snapshot received")
	}
	return decode(t, p.snapshots[len(p.snapshots)-1]).GetSnapshot()
}

func decode(t *testing.T, frame []byte) *arbiterv1.ServerMessage {
	t.Helper()
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(frame, &m); err != nil {
		t.Fatalf("decode server frame: %v", err)
	}
	return &m
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

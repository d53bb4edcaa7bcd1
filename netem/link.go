package netem

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Link is the shaping of one direction of a connection. The zero Link
// passes data through at once. A Link is a plain value: connections
// shaped by the same Link each draw their own jitter.
type Link struct {
	// Latency is the one-way delay of every chunk.
	Latency time.Duration
	// Jitter spreads each chunk's delay uniformly over
	// [Latency-Jitter, Latency+Jitter], never below zero. A chunk never
	// overtakes the one before it (TCP is FIFO), so large Jitter mostly
	// bunches chunks rather than spreading them.
	Jitter time.Duration
	// Rate is the bandwidth in bytes per second: a chunk leaves only
	// after the one before it has, taking len/Rate to do so, then takes
	// its delay. Zero is unlimited.
	Rate int64
	// Seed makes the jitter draws reproducible: the same Seed gives the
	// same sequence of delays to the same connection (a Wrap, or the n-th
	// connection of a Dialer or Proxy), each direction its own. Which
	// bytes form a chunk still depends on how the peers write and on the
	// real sockets. Zero picks a random seed.
	Seed uint64
}

// rng returns the jitter source of one direction of one connection, or
// nil when the Link has no jitter. stream tells the directions and
// connections of one Link apart (see streamID).
func (l Link) rng(stream uint64) *rand.Rand {
	if l.Jitter <= 0 {
		return nil
	}
	seed := l.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	return rand.New(rand.NewPCG(seed, splitmix(stream)))
}

// Directions, for streamID.
const (
	dirUp   = 0
	dirDown = 1
)

// streamID numbers the jitter stream of direction dir of the conn-th
// connection made with a Link.
func streamID(conn uint64, dir uint64) uint64 { return conn<<1 | dir }

// splitmix scrambles x (SplitMix64's finalizer), so that neighbouring
// streams start from unrelated PCG states.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// mono is a point in time in nanoseconds since epoch, on the monotonic
// clock. Queued chunks carry one rather than a time.Time, a third the size.
type mono int64

// never is the mono of "no deadline" and "nothing to wait for".
const never mono = math.MaxInt64

var epoch = time.Now()

func monoNow() mono { return mono(time.Since(epoch)) }

// monoOf converts a deadline; the zero time is never.
func monoOf(t time.Time) mono {
	if t.IsZero() {
		return never
	}
	return mono(t.Sub(epoch))
}

// stall is the freeze shared by the pipes of a link (both directions of a
// Conn, every connection of a Proxy): nothing is delivered before until.
// It only ever moves later, so a consumer that wakes at the old end and
// finds a new one simply waits again; extending it need not wake anyone.
type stall struct {
	until atomic.Int64 // a mono
}

// extend stalls the link from now until at least now+d.
func (s *stall) extend(d time.Duration) {
	end := int64(monoNow()) + int64(d)
	for {
		old := s.until.Load()
		if old >= end || s.until.CompareAndSwap(old, end) {
			return
		}
	}
}

func (s *stall) end() mono { return mono(s.until.Load()) }

const (
	// maxQueued bounds the bytes a pipe holds; its producer blocks beyond
	// it. It bounds memory and gives a stalled link the backpressure a
	// full TCP window would.
	maxQueued = 4 << 20
	// maxChunks bounds a pipe's chunk records the same way, for producers
	// that write a byte at a time.
	maxChunks = 1 << 16
	// pumpBuffer is the size of a pump's read buffer, and so the largest
	// chunk a pump forwards at once.
	pumpBuffer = 64 << 10
)

// errLinger ends a Conn's upstream pipe when the Conn is closing: its pump
// delivers what is queued and stops, without a FIN. No caller sees it.
var errLinger = errors.New("netem: closing")

// chunk is one write's worth of queued bytes.
type chunk struct {
	n   int  // bytes of it still queued
	due mono // when it may be delivered
}

// pipe is one shaped direction: a bounded FIFO of timestamped chunks
// between one producer (Conn.Write, or a pump reading a socket) and one
// consumer (Conn.Read, or a pump writing a socket). Bytes are released to
// the consumer when their chunk is due and the link is not stalled;
// several due chunks are released together, as TCP coalesces them.
//
// The producer side (write, finish, the write deadline) and the consumer
// side (read, the read deadline) may be used from different goroutines.
type pipe struct {
	link  Link
	stall *stall
	wmu   sync.Mutex // held through a write, so one write's bytes stay contiguous

	mu struct {
		sync.Mutex
		rng    *rand.Rand // jitter draws; nil without jitter
		buf    []byte     // the queued bytes are buf[off:]
		off    int
		chunks []chunk // the queued chunks are chunks[head:], oldest first
		head   int
		last   mono // due time of the newest chunk: the FIFO floor
		wire   mono // when the link has finished sending what is queued (Rate)
		// end is what the consumer gets once the queue has drained and
		// endDue has passed: io.EOF, a socket's read error, or errLinger.
		// Set once, by finish.
		end    error
		endDue mono
		// err kills the pipe: both sides return it at once, and the
		// queue is dropped. Set once, by fail.
		err       error
		rdeadline mono
		wdeadline mono
		// wake is closed, and reset to nil, on every change a waiter may
		// be waiting for. It is nil while no one waits, so a pipe that
		// never blocks never allocates one.
		wake chan struct{}
	}
}

func newPipe(l Link, s *stall, stream uint64) *pipe {
	p := &pipe{link: l, stall: s}
	p.mu.rng = l.rng(stream)
	p.mu.rdeadline, p.mu.wdeadline = never, never
	return p
}

// write queues a copy of b as one chunk (several when it must wait for
// room in between) and returns once the last byte is queued. It blocks
// only while the pipe is full, until the write deadline. It returns
// net.ErrClosed after finish, the pipe's error after fail, and
// os.ErrDeadlineExceeded past the write deadline, with the count of the
// bytes queued before that.
func (p *pipe) write(b []byte) (int, error) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(b) == 0 {
		return 0, p.writableLocked()
	}
	n := 0
	for len(b) > 0 {
		if err := p.writableLocked(); err != nil {
			return n, err
		}
		room := maxQueued - (len(p.mu.buf) - p.mu.off)
		if room <= 0 || len(p.mu.chunks)-p.mu.head >= maxChunks {
			p.waitLocked(p.mu.wdeadline)
			continue
		}
		k := min(room, len(b))
		p.pushLocked(b[:k])
		b = b[k:]
		n += k
	}
	return n, nil
}

// writableLocked says why the producer may not write, if it may not. p.mu
// must be held.
func (p *pipe) writableLocked() error {
	switch {
	case p.mu.err != nil:
		return p.mu.err
	case p.mu.end != nil:
		return net.ErrClosed
	case p.mu.wdeadline <= monoNow():
		return os.ErrDeadlineExceeded
	}
	return nil
}

// pushLocked queues b, due after its delay. p.mu must be held.
func (p *pipe) pushLocked(b []byte) {
	due := p.dueLocked(monoNow(), len(b))
	if p.mu.off > 0 && len(p.mu.buf)+len(b) > cap(p.mu.buf) {
		k := copy(p.mu.buf, p.mu.buf[p.mu.off:])
		p.mu.buf, p.mu.off = p.mu.buf[:k], 0
	}
	p.mu.buf = append(p.mu.buf, b...)
	if last := len(p.mu.chunks) - 1; last >= p.mu.head && p.mu.chunks[last].due == due {
		p.mu.chunks[last].n += len(b) // held back to the same instant: one chunk
	} else {
		if p.mu.head > 0 && len(p.mu.chunks) == cap(p.mu.chunks) {
			k := copy(p.mu.chunks, p.mu.chunks[p.mu.head:])
			p.mu.chunks, p.mu.head = p.mu.chunks[:k], 0
		}
		p.mu.chunks = append(p.mu.chunks, chunk{n: len(b), due: due})
	}
	p.notifyLocked()
}

// dueLocked draws the delivery time of n bytes produced at now, and
// advances the FIFO floor and the wire to it. p.mu must be held.
func (p *pipe) dueLocked(now mono, n int) mono {
	d := p.link.Latency
	if p.mu.rng != nil {
		j := int64(p.link.Jitter)
		d += time.Duration(p.mu.rng.Int64N(2*j+1) - j)
	}
	d = max(d, 0)
	sent := now
	if p.link.Rate > 0 {
		p.mu.wire = max(p.mu.wire, now) + mono(int64(n)*int64(time.Second)/p.link.Rate)
		sent = p.mu.wire
	}
	p.mu.last = max(sent+mono(d), p.mu.last)
	return p.mu.last
}

// finish ends the producer's stream with err (io.EOF for a clean end):
// the consumer gets it after every queued byte. With delay it travels
// like a chunk (a FIN takes the link's latency); without, it is due with
// the last chunk. It reports whether it ended the stream, which it does
// only once and never after fail.
func (p *pipe) finish(err error, delay bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.err != nil || p.mu.end != nil {
		return false
	}
	p.mu.end = err
	if delay {
		p.mu.endDue = p.dueLocked(monoNow(), 0)
	} else {
		p.mu.endDue = p.mu.last
	}
	p.notifyLocked()
	return true
}

// fail kills the pipe with err: queued bytes are dropped, and both sides
// return err from now on, waiters included. The first error stays.
func (p *pipe) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.err != nil {
		return
	}
	p.mu.err = err
	p.mu.buf, p.mu.off, p.mu.chunks, p.mu.head = nil, 0, nil, 0
	p.notifyLocked()
}

// read fills b with queued bytes that are due, blocking until some are,
// until the stream's end (returned once everything before it has been
// read), or until the read deadline (os.ErrDeadlineExceeded). Nothing is
// delivered while the link is stalled.
func (p *pipe) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.mu.err != nil {
			return 0, p.mu.err
		}
		now := monoNow()
		if p.mu.rdeadline <= now {
			return 0, os.ErrDeadlineExceeded
		}
		ready := never
		switch {
		case p.mu.head < len(p.mu.chunks):
			ready = p.mu.chunks[p.mu.head].due
		case p.mu.end != nil:
			ready = p.mu.endDue
		}
		if ready != never {
			ready = max(ready, p.stall.end())
		}
		if ready > now {
			p.waitLocked(min(ready, p.mu.rdeadline))
			continue
		}
		if p.mu.head == len(p.mu.chunks) {
			return 0, p.mu.end
		}
		return p.takeLocked(b, now), nil
	}
}

// takeLocked moves into b the bytes of the chunks due by now, oldest
// first. p.mu must be held.
func (p *pipe) takeLocked(b []byte, now mono) int {
	n := 0
	for n < len(b) && p.mu.head < len(p.mu.chunks) {
		c := &p.mu.chunks[p.mu.head]
		if c.due > now {
			break
		}
		k := copy(b[n:], p.mu.buf[p.mu.off:p.mu.off+c.n])
		n += k
		p.mu.off += k
		if c.n -= k; c.n == 0 {
			p.mu.head++
		}
	}
	if p.mu.head == len(p.mu.chunks) {
		p.mu.buf, p.mu.off = p.mu.buf[:0], 0
		p.mu.chunks, p.mu.head = p.mu.chunks[:0], 0
	}
	p.notifyLocked() // there is room for a blocked producer
	return n
}

// setReadDeadline and setWriteDeadline move a deadline, waking whoever
// waits under the old one.
func (p *pipe) setReadDeadline(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.rdeadline = monoOf(t)
	p.notifyLocked()
}

func (p *pipe) setWriteDeadline(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.wdeadline = monoOf(t)
	p.notifyLocked()
}

// queued returns the number of bytes queued, for tests.
func (p *pipe) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.buf) - p.mu.off
}

// waitLocked releases p.mu until the pipe changes or until passes (never:
// no timeout), then takes it again. Callers re-check their condition: the
// wake-up may be for someone else. p.mu must be held.
func (p *pipe) waitLocked(until mono) {
	if p.mu.wake == nil {
		p.mu.wake = make(chan struct{})
	}
	wake := p.mu.wake
	p.mu.Unlock()
	defer p.mu.Lock()
	if until == never {
		<-wake
		return
	}
	d := time.Duration(until - monoNow())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wake:
	case <-t.C:
	}
}

// notifyLocked wakes every waiter. p.mu must be held.
func (p *pipe) notifyLocked() {
	if p.mu.wake != nil {
		close(p.mu.wake)
		p.mu.wake = nil
	}
}

// fill is the producing half of a pump: it queues what it reads from src
// into p until src ends, then ends p with src's error (io.EOF on a FIN).
// It returns early if p fails; the owner unblocks its Read by closing src.
func fill(p *pipe, src io.Reader) {
	buf := make([]byte, pumpBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := p.write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			p.finish(err, true)
			return
		}
	}
}

// drain is the consuming half of a pump: it writes p's bytes to dst as
// they fall due, and returns p's end (io.EOF after a clean one), p's error
// if it failed, or dst's write error.
func drain(p *pipe, dst io.Writer) error {
	buf := make([]byte, pumpBuffer)
	for {
		n, err := p.read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
	}
}

// closeWriter is a connection that can half-close (*net.TCPConn,
// *net.UnixConn, *Conn).
type closeWriter interface {
	CloseWrite() error
}

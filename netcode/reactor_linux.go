//go:build linux

package netcode

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// reactor reads the sockets of event-driven seats (EventSeat) with one
// goroutine for the whole server, waiting on an epoll set of their
// descriptors: a session it reads has no read goroutine of its own, so a
// server of thousands of chess games holds thousands fewer goroutine
// stacks for the garbage collector to scan. When a descriptor is readable
// the reactor reads and dispatches its frames as a tick-driven room's
// Poll does (Session.readPolled): same parser, same rate limit, same
// hand-back to gws for anything unusual — which deregisters the
// descriptor and starts the session's gws read loop (socket.adopt).
//
// The epoll descriptor is itself registered with Go's netpoller (an epoll
// set is readable when one of its descriptors is), and only ever waited
// on with a zero timeout: the reactor parks in the netpoller like any
// goroutine reading a socket, rather than blocking a thread in
// epoll_wait, whose processor the scheduler would hand to the rooms it
// woke only after sysmon noticed — milliseconds on a server with one
// processor.
//
// Level-triggered: a socket left with unread bytes (Poll's read budget,
// maxPollReads) is reported again, so no session holds the reactor up.
// A silent client produces no event, so every sweep interval (a read
// deadline on the epoll descriptor) the reactor also checks its sessions'
// idle deadlines.
//
// newReactor starts nothing; the server starts run with its first
// event-driven session and stops it on Shutdown (stop), waiting for it.
type reactor struct {
	epfd  int
	file  *os.File        // epfd, in Go's netpoller
	raw   syscall.RawConn // file's
	sweep time.Duration   // how often idle deadlines are checked
	done  chan struct{}   // closed when run returns
	// stopping: stop has begun; run returns at its next wake-up, which a
	// read deadline in the past brings at once. Set under mu, where run
	// sets the sweep's deadline.
	stopping atomic.Bool

	mu struct {
		sync.Mutex
		sessions map[int32]*Session // by descriptor; the registered ones
		closed   bool               // stop has closed epfd
	}
}

// reactorSupported: the reactor runs on this platform.
const reactorSupported = true

// newReactor makes a reactor checking idle deadlines every sweep. It
// starts nothing.
func newReactor(sweep time.Duration) (*reactor, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netcode: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("netcode: reactor: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll") // non-blocking: in the netpoller
	raw, err := f.SyscallConn()
	if err == nil {
		err = f.SetReadDeadline(time.Time{}) // fails if not in the netpoller
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("netcode: reactor: %w", err)
	}
	r := &reactor{epfd: epfd, file: f, raw: raw, sweep: sweep, done: make(chan struct{})}
	r.mu.sessions = make(map[int32]*Session)
	return r, nil
}

// add registers fd, s's polled descriptor, for reading. Called with the
// socket's pmu held (socket.adopt).
func (r *reactor) add(fd int, s *Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return errReactorStopped
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("netcode: reactor epoll_ctl add: %w", err)
	}
	r.mu.sessions[int32(fd)] = s
	return nil
}

// remove deregisters fd before the hand-back closes it: the registration
// belongs to the socket, which a duplicate of fd keeps open, and would
// otherwise go on reporting it. Called with the socket's pmu held.
func (r *reactor) remove(fd int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return // epfd is closed, and its number may be another file's now
	}
	_ = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	delete(r.mu.sessions, int32(fd))
}

// maxEvents bounds the descriptors one epoll_wait reports; more ready
// ones are reported by the next (level-triggered).
const maxEvents = 256

// run is the reactor's goroutine: it waits for readable descriptors and
// reads their sessions, and sweeps idle deadlines, until stop.
func (r *reactor) run() {
	defer close(r.done)
	var events [maxEvents]syscall.EpollEvent
	var n int
	// wait makes one epoll_wait that does not block; reporting false when
	// nothing is ready has RawConn.Read park until the netpoller finds
	// epfd readable, or the read deadline passes.
	wait := func(fd uintptr) bool {
		for {
			k, err := syscall.EpollWait(int(fd), events[:], 0)
			if err == syscall.EINTR {
				continue
			}
			n = max(k, 0)
			return n > 0
		}
	}
	var ready, all []*Session // reused
	nextSweep := time.Now().Add(r.sweep)
	_ = r.file.SetReadDeadline(nextSweep)
	for !r.stopping.Load() {
		n = 0
		if err := r.raw.Read(wait); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // the file is closed: cannot happen before stop
		}
		ready = ready[:0]
		r.mu.Lock()
		for _, ev := range events[:n] {
			if s := r.mu.sessions[ev.Fd]; s != nil {
				ready = append(ready, s)
			}
		}
		r.mu.Unlock()
		now := time.Now()
		// A session whose descriptor was handed back and reused meanwhile
		// finds its socket no longer polled (react does nothing), or
		// makes one read that finds nothing.
		for _, s := range ready {
			s.react(now)
		}
		clear(ready)
		if len(ready) > 0 {
			// Let the rooms just woken act before the next batch.
			runtime.Gosched()
		}
		if now.Before(nextSweep) {
			continue
		}
		nextSweep = now.Add(r.sweep)
		r.mu.Lock()
		if !r.stopping.Load() { // under mu: stop's deadline must stand
			_ = r.file.SetReadDeadline(nextSweep)
		}
		all = all[:0]
		for _, s := range r.mu.sessions {
			all = append(all, s)
		}
		r.mu.Unlock()
		for _, s := range all {
			s.sweepIdle(now)
		}
		clear(all)
	}
}

// stop ends run and waits for it; then it closes the epoll descriptor. A
// session still registered would be left to its hand-back, which no longer
// deregisters.
func (r *reactor) stop() {
	r.mu.Lock()
	r.stopping.Store(true)
	_ = r.file.SetReadDeadline(aLongTimeAgo)
	r.mu.Unlock()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.closed = true
	_ = r.file.Close()
}

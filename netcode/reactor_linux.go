//go:build linux

package netcode

import (
	"fmt"
	"sync"
	"syscall"
	"time"
)

// reactor reads the sockets of event-driven seats (EventSeat) with one
// goroutine for the whole server, blocked in epoll_wait on their
// descriptors: a session it reads has no read goroutine of its own, so a
// server of thousands of chess games holds thousands fewer goroutine
// stacks for the garbage collector to scan. When a descriptor is readable
// the reactor reads and dispatches its frames as a tick-driven room's
// Poll does (Session.readPolled): same parser, same rate limit, same
// hand-back to gws for anything unusual — which deregisters the
// descriptor and starts the session's gws read loop (socket.adopt).
//
// Level-triggered: a socket left with unread bytes (Poll's read budget,
// maxPollReads) is reported again, so no session holds the reactor up.
// A silent client produces no event, so every sweep interval the reactor
// also checks its sessions' idle deadlines.
//
// New starts nothing; the server starts run on its first event-driven
// session and stops it on Shutdown (stop), waiting for it.
type reactor struct {
	epfd int
	// wake is a pipe whose read end is registered with epfd: stop writes
	// a byte to it to end epoll_wait.
	wakeR, wakeW int
	sweep        time.Duration // how often idle deadlines are checked
	done         chan struct{} // closed when run returns

	mu struct {
		sync.Mutex
		sessions map[int32]*Session // by descriptor; the registered ones
		closed   bool               // stop has run: the descriptors are closed
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
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("netcode: reactor pipe: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(p[0])
		_ = syscall.Close(p[1])
		return nil, fmt.Errorf("netcode: reactor epoll_ctl: %w", err)
	}
	r := &reactor{epfd: epfd, wakeR: p[0], wakeW: p[1], sweep: sweep, done: make(chan struct{})}
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
	var ready, all []*Session // reused
	timeout := int(max(r.sweep/time.Millisecond, 1))
	nextSweep := time.Now().Add(r.sweep)
	for {
		n, err := syscall.EpollWait(r.epfd, events[:], timeout)
		if err != nil && err != syscall.EINTR {
			// Cannot happen with a valid epfd and buffer; stopping the
			// reactor's reads would leave its sessions unread, so retry.
			continue
		}
		ready = ready[:0]
		stopping := false
		r.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			if int(ev.Fd) == r.wakeR {
				stopping = true
				continue
			}
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
		if stopping {
			return
		}
		if now.Before(nextSweep) {
			continue
		}
		nextSweep = now.Add(r.sweep)
		r.mu.Lock()
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

// stop ends run and waits for it; then it closes the reactor's
// descriptors. A session still registered would be left to its hand-back,
// which no longer deregisters.
func (r *reactor) stop() {
	_, _ = syscall.Write(r.wakeW, []byte{0})
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.closed = true
	_ = syscall.Close(r.epfd)
	_ = syscall.Close(r.wakeR)
	_ = syscall.Close(r.wakeW)
}

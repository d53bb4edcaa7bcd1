//go:build unix

package netcode

import "syscall"

// takeFD returns the connection's descriptor for the poller. c.pmu and
// c.mu must be held.
func (c *socket) takeFD() (int, bool) {
	fd := -1
	if err := c.raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return -1, false
	}
	return fd, true
}

// returnFD gives the descriptor back to the connection. c.pmu must be
// held.
func (c *socket) returnFD() { c.poll.fd = -1 }

// readFD makes one non-blocking read(2) into p, retrying only on EINTR. It
// returns what was read, and eagain when nothing was there; n ≤ 0 without
// eagain is the end of the stream or an error.
func readFD(fd int, p []byte) (n int, eagain bool) {
	for {
		n, err := syscall.Read(fd, p)
		switch err {
		case nil:
			return n, false
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, true
		}
		return -1, false
	}
}

// writeFD makes one non-blocking write(2) of p, retrying only on EINTR,
// and returns how much of p the kernel took (0 on EAGAIN or an error).
func writeFD(fd int, p []byte) int {
	for {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		return max(n, 0)
	}
}

//go:build !unix

package netcode

// takeFD reports that no descriptor can be had: without unix system calls
// the sockets are never polled (see Session.Poll).
func (c *socket) takeFD() (int, bool) { return -1, false }

func (c *socket) returnFD() {}

func readFD(int, []byte) (int, bool) { return -1, false }

func writeFD(int, []byte) int { return 0 }

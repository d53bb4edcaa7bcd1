//go:build !linux

package bench

import (
	"net"
	"sync/atomic"
)

// countReads wraps conn so that it counts the bytes read into n.
func countReads(conn net.Conn, n *atomic.Uint64) net.Conn {
	return &countingConn{Conn: conn, n: n}
}

package client

import (
	"github.com/lxzan/gws"

	"github.com/arbiter-gg/arbiter/netcode/client/internal/testhook"
)

// The test-only side of a Client (raw frames, stalled reads), reached
// through package clienttest and not part of the Client's API.
func init() {
	testhook.Of = func(c any) testhook.Conn { return hookConn{c.(*Client)} }
}

// hookConn is a Client as package testhook sees it.
type hookConn struct{ c *Client }

func (h hookConn) WriteFrame(text bool, b []byte) error {
	op := gws.OpcodeBinary
	if text {
		op = gws.OpcodeText
	}
	return h.c.write(op, b)
}

func (h hookConn) StallReads()  { h.c.stallReads() }
func (h hookConn) ResumeReads() { h.c.resumeReads() }

// Package clienttest lets tests (and load generators that play hostile
// clients, such as package bench) make a netcode/client.Client misbehave in
// ways no game client needs: send messages and frames as they are, bypassing
// seq assignment, prediction and the protocol's rules, and stop reading to
// play a slow consumer. Game clients use the Client's own API (SendInput,
// RunInputs, Ping), which keeps them honest.
//
// Every function is safe for concurrent use with the Client's methods.
package clienttest

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/internal/testhook"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// Send encodes msg and sends it as it is, bypassing seq assignment and
// prediction: for tests that play a misbehaving client (replayed or
// out-of-order seqs, invalid inputs). It returns client.ErrClosed once the
// connection has ended.
func Send(c *client.Client, msg *arbiterv1.ClientMessage) error {
	b, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("clienttest: encode message: %w", err)
	}
	return testhook.Of(c).WriteFrame(false, b)
}

// SendRaw sends frame as one binary WebSocket frame, unchecked: for tests of
// the server's handling of hostile input (undecodable or oversized frames).
func SendRaw(c *client.Client, frame []byte) error {
	return testhook.Of(c).WriteFrame(false, frame)
}

// SendText sends s as one text WebSocket frame, which the protocol forbids
// (the server closes with 1003).
func SendText(c *client.Client, s string) error {
	return testhook.Of(c).WriteFrame(true, []byte(s))
}

// StallReads makes c's reader stop before handling the next server message
// (or ping) and wait until ResumeReads or c.Close. Unread frames stay in the
// socket, so the server sees the client as a slow consumer; with a small
// client.Options.ReadBufferSize it sees it soon. Callbacks do not run while
// reads are stalled.
func StallReads(c *client.Client) { testhook.Of(c).StallReads() }

// ResumeReads lets c's reader, stalled by StallReads, go on.
func ResumeReads(c *client.Client) { testhook.Of(c).ResumeReads() }

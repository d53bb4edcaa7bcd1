package bench

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestCountReads: a connection wrapped by countReads reads every byte the
// peer sends, in order, whether a read empties the socket or fills the
// buffer, and counts them; it reports the peer's close as io.EOF, a read
// deadline as os.ErrDeadlineExceeded, and its own close as net.ErrClosed.
// Every read that should find data has a deadline, so that a lost wake-up
// fails the test instead of hanging it.
func TestCountReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	var counted atomic.Uint64
	c := countReads(raw, &counted)
	defer c.Close()

	readFull := func(want []byte, chunk int) {
		t.Helper()
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 0, len(want))
		buf := make([]byte, chunk)
		for len(got) < len(want) {
			n, err := c.Read(buf[:min(chunk, len(want)-len(got))])
			if err != nil {
				t.Fatalf("after %d of %d bytes: %v", len(got), len(want), err)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	send := func(b []byte) {
		t.Helper()
		if _, err := peer.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	// Messages read with a large buffer: each read empties the socket, and
	// the next one waits for the next message.
	for i := range 50 {
		msg := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*7)
		send(msg)
		readFull(msg, 4096)
		total += len(msg)
	}
	// A message larger than the buffer: reads that fill it read again at
	// once; the last, short one empties the socket.
	big := bytes.Repeat([]byte("0123456789"), 3000)
	send(big)
	readFull(big, 1000)
	total += len(big)
	// Two messages queued before one read takes both.
	send([]byte("first"))
	send([]byte("second"))
	readFull([]byte("firstsecond"), 4096)
	total += len("firstsecond")
	if got := counted.Load(); got != uint64(total) {
		t.Errorf("counted %d bytes, want %d", got, total)
	}

	// Nothing sent: the deadline ends the read.
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	// Close ends a read that waits (or is about to).
	done := make(chan error, 1)
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	oc := countReads(other, &counted)
	go func() {
		_, err := oc.Read(make([]byte, 10))
		done <- err
	}()
	oc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read ended by Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting read")
	}
	// The peer closes: io.EOF, after what it sent last.
	send([]byte("bye"))
	readFull([]byte("bye"), 4096)
	peer.Close()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("read after the peer closed = %v, want io.EOF", err)
	}
	// Closed here: net.ErrClosed.
	c.Close()
	if _, err := c.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close = %v, want net.ErrClosed", err)
	}
}

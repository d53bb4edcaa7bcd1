//go:build linux && !race

package bench

import (
	"net"
	"sync/atomic"
	"testing"
)

// TestCountReadsAllocs: a read through the raw descriptor allocates
// nothing (the race detector changes allocation counts, hence the tag).
func TestCountReadsAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c // nil if Accept failed
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	var counted atomic.Uint64
	c := countReads(raw, &counted)
	defer c.Close()
	msg, buf := []byte("snapshot"), make([]byte, 4096)
	read := func() {
		if _, err := peer.Write(msg); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < len(msg); {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
	read()
	if n := testing.AllocsPerRun(200, read); n != 0 {
		t.Errorf("a write and a read allocate %v times, want 0", n)
	}
}

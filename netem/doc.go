// Package netem emulates network links between game clients and a server:
// latency, jitter, bandwidth, stalls and the bursts that follow them. It
// exists for tests and the load generator, which need realistic links
// without root, tc/netem qdiscs or extra machines: the emulation runs in
// process, on top of real sockets.
//
// There are two ways in. Wrap (or a Dialer, whose DialContext fits a
// NetDial option) shapes one connection from the side that holds it, with
// no extra socket. Listen starts a TCP proxy in front of an address, for
// code that can only be pointed at "host:port" (a server under test, Redis,
// Postgres); it can also cut the link and bring it back. Both are built on
// one shaped FIFO pipe per direction, described by a Link.
//
// # What it models
//
// A Link delays each chunk (one Write, or one read from the real socket)
// by its Latency plus a uniform jitter draw, plus its serialization time
// when it has a Rate. Delivery is FIFO, as TCP's is: a chunk is never
// delivered before the one written ahead of it, so a late draw holds back
// the chunks behind it, which then arrive bunched. A Stall freezes a link:
// nothing is delivered in either direction until it ends, and then
// everything that fell due meanwhile arrives at once, in order, as after a
// Wi-Fi freeze. End of stream (FIN) travels like data, after everything
// written before it, and half-closes are propagated.
//
// It does not model loss, reordering or duplication: over TCP these show
// up only as delay, which Latency, Jitter and Stall already give. It does
// not model the kernel's buffers or TCP's congestion control; a bounded
// queue (4 MiB per direction) stands in for backpressure. Timing is the
// Go runtime's, so delays are lower bounds: on a loaded machine data
// arrives later than asked, never earlier.
//
// # Concurrency
//
// A Conn is safe for concurrent use like any net.Conn: Read, Write, the
// deadline setters, Stall and Close may be called from any goroutine. It
// owns two goroutines (one pump per direction), started by Wrap and waited
// for by Close. A Proxy's methods are safe for concurrent use; it owns an
// accept goroutine and four per connection, started by Listen and waited
// for by Close. Links are plain values and may be shared: each connection
// draws its jitter from its own stream.
package netem

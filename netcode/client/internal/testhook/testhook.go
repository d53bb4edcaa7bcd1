// Package testhook connects package netcode/client to its test helper,
// package netcode/client/clienttest, so that what only tests need (raw
// frames, stalled reads) stays out of the client's public API. Go's
// internal rule keeps it to the two of them.
package testhook

// Conn is the test-only side of one client.Client. Its methods are safe
// for concurrent use.
type Conn interface {
	// WriteFrame sends b as one WebSocket frame, text or binary, as it is.
	WriteFrame(text bool, b []byte) error
	// StallReads stops the reader before the next server message, until
	// ResumeReads or Close.
	StallReads()
	// ResumeReads lets a stalled reader go on.
	ResumeReads()
}

// Of returns the test-only side of c, which must be a *client.Client (it
// panics otherwise). Package netcode/client sets it when it initialises,
// so it is set wherever a *client.Client can exist; nothing else may set
// it. It takes an any because this package cannot name client.Client
// without an import cycle.
var Of func(c any) Conn

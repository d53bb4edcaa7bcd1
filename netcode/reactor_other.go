//go:build !linux

package netcode

import "time"

// reactor is Linux's (reactor_linux.go): elsewhere every session of an
// event-driven seat is read by its own gws read goroutine.
type reactor struct{}

const reactorSupported = false

func newReactor(time.Duration) (*reactor, error) {
	return nil, errNoReactor
}

func (r *reactor) add(int, *Session) error { return errReactorStopped }
func (r *reactor) remove(int)              {}
func (r *reactor) run()                    {}
func (r *reactor) stop()                   {}

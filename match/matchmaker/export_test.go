package matchmaker

import "testing"

// NewMemoryPoolLog is NewMemoryPool with a log of logMax changes (0: the
// default), for the contract suite.
func NewMemoryPoolLog(logMax int) *MemoryPool {
	p := NewMemoryPool(nil)
	if logMax > 0 {
		p.logMax = logMax
	}
	return p
}

// Forget makes p lose ticket id, as if its time were up.
func (p *MemoryPool) Forget(_ *testing.T, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.tickets, id)
}

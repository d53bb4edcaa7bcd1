package client

import "github.com/arbiter-gg/arbiter/sim"

// DefaultMaxPending is the number of unacknowledged inputs a Predictor created
// with a non-positive limit remembers: at 60 Hz, a little over four seconds
// without a single acknowledgement.
const DefaultMaxPending = 256

// PredictionStats measures how far client-side prediction was from the
// server's authoritative result. Distances are in centi-units, measured as the
// Chebyshev distance max(|dx|, |dy|), which is exact in integers and, for the
// arena's axis-aligned movement, equals the largest per-axis error.
type PredictionStats struct {
	// Checked counts acknowledged inputs whose predicted position could be
	// compared with the server's.
	Checked uint64
	// Corrections counts the checks whose error was not zero.
	Corrections uint64
	// Last is the error of the most recent check.
	Last int64
	// Max is the largest error seen.
	Max int64
}

// pendingInput is an input the server has not processed yet, with the
// position the Predictor expects after it.
type pendingInput struct {
	in  sim.Input
	pos sim.Vec
	// checkable reports whether pos was predicted from a known server
	// position; inputs predicted before the first snapshot are not compared.
	checkable bool
}

// Predictor is client-side prediction with reconciliation for one entity.
//
// The client calls Apply for every input it sends and Reconcile for every
// snapshot. Because the server applies each input exactly once, in seq order,
// and reports the highest seq it processed, the authoritative position plus
// the inputs after that seq, replayed through sim.Move, is exactly what the
// server will compute — unless the server dropped or will drop one, which shows
// up as a prediction error on the next acknowledgement and is corrected there.
//
// Predictor is pure and not safe for concurrent use; the Client guards its
// own with a mutex. The zero value is not usable; call NewPredictor.
// Its read-only accessors work on a nil *Predictor, which reads as empty
// (a Client has none until its Welcome).
type Predictor struct {
	tickRate   int
	entity     sim.EntityID
	maxPending int

	// pos is the last authoritative position with every pending input
	// replayed; hasBase reports whether there has been one.
	pos     sim.Vec
	hasBase bool
	// pending holds unacknowledged inputs in seq order; at most maxPending,
	// the oldest dropped first. Its backing array is reused.
	pending []pendingInput
	lastSeq uint32 // highest seq applied or acknowledged
	stats   PredictionStats
}

// NewPredictor returns a Predictor for entity at tickRate with no known
// position. maxPending bounds the unacknowledged inputs it remembers; a
// non-positive value means DefaultMaxPending. When the bound is reached the
// oldest input is forgotten: a server that never acknowledges cannot make the
// client grow without limit, at the price of predicting from a stale base.
func NewPredictor(tickRate int, entity sim.EntityID, maxPending int) *Predictor {
	if maxPending <= 0 {
		maxPending = DefaultMaxPending
	}
	return &Predictor{
		tickRate:   tickRate,
		entity:     entity,
		maxPending: maxPending,
		pending:    make([]pendingInput, 0, maxPending),
	}
}

// Entity returns the entity whose movement the Predictor predicts.
func (p *Predictor) Entity() sim.EntityID { return p.entity }

// Apply records an input the client has just sent and returns the predicted
// position after it (an input sim.Validate rejects does not move: the server
// drops it). Inputs must be applied in increasing seq order; an input
// whose seq is not greater than every seq applied or acknowledged so far is
// ignored, as the server ignores it, and the current prediction is returned.
func (p *Predictor) Apply(in sim.Input) sim.Vec {
	if in.Seq <= p.lastSeq {
		return p.pos
	}
	p.lastSeq = in.Seq
	if len(p.pending) == p.maxPending {
		// Forget the oldest; its effect stays folded into the prediction.
		copy(p.pending, p.pending[1:])
		p.pending = p.pending[:len(p.pending)-1]
	}
	p.pos = p.move(p.pos, in)
	p.pending = append(p.pending, pendingInput{in: in, pos: p.pos, checkable: p.hasBase})
	return p.pos
}

// Reconcile takes the server's position of the entity and the highest input
// seq the server has processed for it (Entity.last_input_seq), and rewinds and
// replays: if the input with that seq is pending, its predicted position is
// compared with serverPos and the error recorded; every pending input with a
// seq not greater than lastInputSeq is forgotten; the prediction restarts from
// serverPos and replays the rest. It returns the new prediction.
//
// A lastInputSeq of 0, or one older than every pending input, only rebases.
func (p *Predictor) Reconcile(serverPos sim.Vec, lastInputSeq uint32) sim.Vec {
	drop := 0
	for i := range p.pending {
		pi := &p.pending[i]
		if pi.in.Seq > lastInputSeq {
			break
		}
		drop = i + 1
		if pi.in.Seq == lastInputSeq && pi.checkable {
			p.record(chebyshev(pi.pos, serverPos))
		}
	}
	if drop > 0 {
		n := copy(p.pending, p.pending[drop:])
		p.pending = p.pending[:n]
	}
	p.lastSeq = max(p.lastSeq, lastInputSeq)
	p.hasBase = true
	p.pos = serverPos
	for i := range p.pending {
		pi := &p.pending[i]
		p.pos = p.move(p.pos, pi.in)
		pi.pos, pi.checkable = p.pos, true
	}
	return p.pos
}

// carryOver starts a fresh Predictor from what an earlier one (of the same
// entity, on a connection that ended) knew: its predicted position becomes
// the provisional, unchecked base until the first Reconcile, and its
// statistics continue. Its pending inputs are not carried: the server either
// processed them (the next snapshot's last_input_seq covers them) or never
// got them and never will, so replaying them would only be wrong.
func (p *Predictor) carryOver(pos sim.Vec, stats PredictionStats) {
	p.pos = pos
	p.stats = stats
}

// move is the server's rule for one input: an invalid input is dropped
// without moving the entity, a valid one moves it by sim.Move.
func (p *Predictor) move(pos sim.Vec, in sim.Input) sim.Vec {
	if sim.Validate(in) != sim.ViolationNone {
		return pos
	}
	return sim.Move(pos, in, p.tickRate)
}

func (p *Predictor) record(d int64) {
	p.stats.Checked++
	p.stats.Last = d
	p.stats.Max = max(p.stats.Max, d)
	if d != 0 {
		p.stats.Corrections++
	}
}

// Position returns the predicted position: the last server position with
// every unacknowledged input replayed. Before the first Reconcile it is
// relative to the zero Vec.
func (p *Predictor) Position() sim.Vec {
	if p == nil {
		return sim.Vec{}
	}
	return p.pos
}

// Known reports whether the Predictor has had a server position.
func (p *Predictor) Known() bool { return p != nil && p.hasBase }

// Pending returns the number of inputs not yet acknowledged by the server.
func (p *Predictor) Pending() int {
	if p == nil {
		return 0
	}
	return len(p.pending)
}

// LastSeq returns the highest input seq applied or acknowledged so far; the
// next input must have a greater one.
func (p *Predictor) LastSeq() uint32 {
	if p == nil {
		return 0
	}
	return p.lastSeq
}

// Stats returns the prediction error measured so far.
func (p *Predictor) Stats() PredictionStats {
	if p == nil {
		return PredictionStats{}
	}
	return p.stats
}

// chebyshev returns max(|dx|, |dy|) between a and b, in centi-units.
func chebyshev(a, b sim.Vec) int64 {
	dx := int64(a.X) - int64(b.X)
	dy := int64(a.Y) - int64(b.Y)
	return max(abs(dx), abs(dy))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

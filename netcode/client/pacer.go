package client

import (
	"math"
	"slices"
	"time"

	"github.com/arbiter-gg/arbiter/sim"
)

// Pacing parameters. Times are in the client's clock; an input's "lead" is
// the time from its slot (when it was sent, or due) to the time the Pacer's
// model of the server's tick clock gives the tick that applies it — about
// when that tick's snapshot arrives (see Pacer).
const (
	// MaxDilation bounds how much the Pacer stretches or shrinks one send
	// period to move its phase: every period is within ±25 % of the tick
	// period (of inputs sent when due). That is enough to shed a tick of
	// standing backlog within four ticks — well inside the server's
	// two-second standing-excess window — and never a burst.
	MaxDilation = 0.25

	// pacerMargin is how much earlier than the input that came late the
	// Pacer aims after a starvation (ε): small, so that it stays close to
	// the edge, but above the wander of the tick clock estimate over the
	// minute the probe takes to come back to it (a few ms; see tickClock).
	pacerMargin = 4 * time.Millisecond
	// pacerMaxMarginShift doubles the margin for each further starvation
	// following the previous one within pacerRepeatWindow, up to 2^3 times,
	// so that a lasting change of the link is found in a few steps.
	pacerMaxMarginShift = 3
	pacerRepeatWindow   = 2 * time.Second

	// The probe moves the target lead later by pacerProbeSlow (per unit of
	// time, 0.005 %: 0.05 ms a second) for pacerProbeCalm after a
	// starvation, then doubles its speed every pacerProbeDouble up to
	// pacerProbeFast (1.6 %, 16 ms a second). Near the edge it found last
	// it creeps: it takes the margin back in about fifty seconds, so that
	// a starvation comes about once a minute (the starvation budget: some
	// 0.05 % of the ticks at 30 Hz, and a tick of latency for the inputs
	// under way until the tick is shed, which is what the 99th percentile
	// of the input latency sees). Excess latency of less than a tick is
	// shed that slowly too, unless it shows (see pacerProbeStanding): whole
	// ticks of it are shed at once by the standing-backlog rule. While the
	// edge is unknown (at the start, or after the link got faster) the
	// probe runs at pacerProbeFast, and sheds a tick in about two seconds.
	pacerProbeSlow   = 0.00005
	pacerProbeFast   = 0.016
	pacerProbeCalm   = 30 * time.Second
	pacerProbeDouble = 10 * time.Second
	// pacerProbeStanding (0.2 %, 2 ms a second) is the least speed of the
	// probe while a backlog has stood through the last pacerStandMin
	// snapshots of the current schedule, too few for the standing-backlog
	// rule but a sign of excess that the slow probe would let grow (the
	// tick clock's wander adds some) until the server drops a backlog that
	// stood through its whole two-second window.
	pacerProbeStanding = 0.002

	// The standing-backlog rule takes a backlog as standing once it has
	// stood through half a second and through as many snapshots in a row
	// as make it unlikely (pacerStandChance) that the jitter alone kept
	// one standing that long, given the share of recent snapshots that
	// showed none: with jitter wider than a tick, most snapshots show a
	// backlog even when the lead is right, and a rule fooled by a run of
	// them sheds a tick too many and starves. That is at least
	// pacerStandMin snapshots, and at most as many as pacerStandMax brings
	// (without skipped snapshots), so that a real standing backlog is shed
	// before the server's two-second standing-excess window drops it: within
	// a second, or two rounds when the margin kept after recent starvations
	// (see standing) left a tick of it standing the first time.
	pacerStandMin    = 12
	pacerStandChance = 1e-4
	pacerStandMax    = 750 * time.Millisecond
	// pacerShareSnapshots is the memory of the share of snapshots that
	// showed no backlog (an exponential moving average): two seconds at
	// 30 Hz.
	pacerShareSnapshots = 64

	// pacerSendRing is how many send times the Pacer remembers, by seq:
	// four seconds at 60 Hz, more than any acknowledgement takes.
	pacerSendRing = 256
	// pacerMaxWindow bounds the snapshots remembered for the
	// standing-backlog rule: pacerStandMax at 60 Hz, and more.
	pacerMaxWindow = 64

	// The in-flight limit (see Held). pacerNetRing is how many snapshots
	// the Pacer remembers for it (two seconds at 30 Hz, one at 60); it
	// sets a limit from the first that acknowledged an input if the round
	// trip is short, and once pacerNetMin of them did if not. The
	// round trip is the least acknowledgement time of the newest
	// pacerRTTSnapshots (a second at 30 Hz): long enough that a stall's
	// few do not count, short enough to follow a slower link.
	// pacerEnvelopeSnapshots is how many of the newest arrivals the local
	// lower envelope spans, against which the jitter of the way back is
	// measured (and Stats' Lead): few, so that it follows the server's
	// clock when that loses ticks, which the tick clock does not.
	// pacerInFlightSlack is how many more inputs than the round trip holds
	// may be unacknowledged: one waiting for its tick at the server and
	// one on its way.
	pacerNetRing           = 64
	pacerNetMin            = 8
	pacerRTTSnapshots      = 32
	pacerEnvelopeSnapshots = 9
	pacerInFlightSlack     = 2
)

// PacerStats describes input pacing, for reports and load generators.
type PacerStats struct {
	// Starved counts server ticks that applied no input of this client
	// although it was sending (the input came too late), as seen in the
	// snapshots received. When snapshots skip ticks, only the net count
	// (starved less dropped) between two of them is known.
	Starved uint64
	// Dropped counts inputs the server processed without applying them
	// (surplus: a backlog too long), as seen in the snapshots.
	Dropped uint64
	// Backlog is input_backlog of the newest snapshot: the client's inputs
	// waiting at the server after that tick.
	Backlog int
	// Lead is how long before the snapshot of the tick that applies it
	// arrives the Pacer sends an input, against the earliest of the newest
	// snapshots' arrivals: the round trip (at its fastest) and the wait at
	// the server that the Pacer aims for; zero until it has settled on a
	// target. (The target lead itself is against the Pacer's model of the
	// server's tick clock, whose offset is arbitrary, and which does not
	// follow the server when that loses ticks: under load it reads far
	// below zero. This follows the arrivals within a few snapshots.)
	Lead time.Duration
	// Dilation is how much the current send period differs from the
	// nominal one (1/tick rate), as a fraction: +0.25 is 25 % slower.
	Dilation float64
	// Skew is the estimated drift of the server's tick clock relative to
	// the client's clock, as a fraction (+0.001: server ticks are 0.1 %
	// longer than nominal in client time).
	Skew float64
	// InFlight is how many inputs are sent and not yet acknowledged
	// (last_input_seq of the newest snapshot), and InFlightLimit how many
	// the Pacer lets be before it holds the next one back (see Held);
	// zero while it has no limit yet.
	InFlight      int
	InFlightLimit int
	// HeldBack counts the inputs the Pacer held back past their due time.
	HeldBack uint64
}

// Pacer decides when a client sends its next input, so that inputs arrive at
// the server just before the tick that applies them: late enough that they
// do not wait (latency), early enough that no tick goes without one
// (starvation: the player's entity stands still for a tick). It is the input
// side of what the server tells every client in its snapshots:
// Entity.last_input_seq and Entity.input_backlog.
//
// The client calls Sent for every input it sends, Observe for every snapshot
// (its own entity's fields), and sends the next input at Due. The Pacer sends
// at the tick rate and moves its phase only by stretching or shrinking send
// periods by at most MaxDilation, never in bursts.
//
// How it works. The server applies at most one input per tick, in seq order,
// so the input with seq m is applied at tick m+c, where c = tick −
// last_input_seq changes only when a tick starves (c+1) or the server drops
// surplus inputs (c−1 each). A model of the server's tick clock gives every
// tick a time in the client's clock (its rate is estimated from the lower
// envelope of snapshot arrivals, which jitter, latency steps and stalls
// barely move, so that a skewed client clock does not make the phase
// drift), and the Pacer sends seq m at the time of tick m+c less a target
// lead. Every snapshot is evidence about the lead an input needs: the newest
// input present at tick k (seq last_input_seq+input_backlog) needed at most
// time(k) less its send time; a starved tick says the input due then needed
// more than it had. The target lead follows the evidence:
//
//   - When c changes, the target lead changes with it (a hold): the schedule
//     does not move. A starved tick pushes the stream a tick back, a drop
//     pulls it a tick forward, and neither makes the Pacer catch up.
//   - The snapshots of the next 100 ms after a starvation then set the
//     target lead to a margin above the most that any of those inputs, or
//     the late one, needed. That sheds the tick the hold added — or part of
//     it, if the link got slower — and aims a little earlier than the input
//     that came late. The margin (4 ms) doubles for each further starvation
//     within 2 s, up to half a tick, so that a slower link is found in a few
//     steps.
//   - A backlog of one or more standing through half a second, and through
//     enough snapshots in a row that the jitter alone would hardly ever
//     keep one standing that long (given how often recent snapshots showed
//     none; at least 12, at most three quarters of a second's worth), is
//     shed down to the most those inputs needed: the link got faster, or
//     the start was early. Of inputs sent after the last shedding, only
//     those sent once the schedule had reached its new target count, when
//     there are enough: the others overstate what is left. Shedding more
//     than half a tick this way loses the edge: the probe starts afresh.
//   - Otherwise the target lead creeps later (the probe), to shed latency
//     until a starvation finds the edge again: by 0.05 ms a second for 30 s
//     after a starvation, then twice as fast every 10 s up to 16 ms a
//     second, the speed it has while the edge is unknown; and by at least
//     2 ms a second while a backlog stands. Near the edge that is a
//     starvation about once a minute (0.02–0.08 % of the ticks at 30 and
//     60 Hz in the simulation, whose links jitter by up to ±30 ms), each
//     costing a tick without movement, and a tick of latency for the inputs
//     under way until the tick is shed, but no prediction error.
//
// The schedule moves towards its target by at most MaxDilation of a period
// per input. Before the first snapshot (the match has not started) the Pacer
// sends at the nominal rate. A client that sends nothing for more than two
// periods (a paused game) is idle, not late: the ticks that starve until its
// next input is applied are neither counted nor taken as evidence, and the
// time is not made up.
//
// The schedule alone would send through a stall of the server or of the way
// there, and the server, handed the lot at once, would drop all but the
// newest (each drop a prediction correction). So the Pacer also holds the
// next input back (Held) while more inputs are unacknowledged than the
// round trip holds (at its fastest lately, and the jitter of the way back)
// and two more; for a round trip short enough, never more than the server
// takes at once (⌈tick rate/10⌉ + 1); for a longer one, twice that. A held
// input goes out once a snapshot acknowledges enough (a held tick costs at
// most a tick in which the entity stands still, which the prediction does
// not even see), and a hold longer than two periods is a pause. What the
// snapshots show meanwhile is no evidence either; when the server applies
// the input sent after it, the target lead becomes the one from before the
// hold, or the lead that input needed if less: a server that lost ticks
// in the stall (a tick loop that skips what it cannot catch up) applies
// every input from then on later than the tick clock has it, which the
// Pacer follows at once instead of letting a backlog stand until the
// server drops it.
//
// Pacer is pure (it reads no clock: every time is an argument) and not safe
// for concurrent use; the Client guards its own with a mutex. The zero value
// is not usable; call NewPacer.
type Pacer struct {
	tickRate int
	nominal  float64 // the nominal tick period, in ns

	// Times are kept as float64 ns since origin, the first time seen.
	origin     time.Time
	haveOrigin bool

	clock tickClock

	// The send side.
	sends    [pacerSendRing]sendRecord // slots of the inputs sent, by seq % pacerSendRing
	lastSeq  uint32                    // highest seq sent
	lastAt   float64                   // when it was sent (not its slot)
	haveSent bool
	due      float64 // when the next input is due; valid if haveSent
	// resumeSeq is the first input sent after the client paused (sent
	// nothing for more than two periods); 0 if none.
	resumeSeq uint32

	// The observation side.
	haveObs  bool
	lastTick sim.Tick // of the newest snapshot observed
	lastAck  uint32   // its last_input_seq
	c        int64    // seq m is expected at tick m+c
	lead     float64  // the target lead, ns; valid if haveLead
	haveLead bool
	// settledAt is the slot of the first input on the schedule a rule last
	// set by lowering the target lead (not the probe); settling reports
	// whether the schedule is still moving towards it.
	settledAt float64
	settling  bool

	// window holds the latest snapshots since the last starvation or drop,
	// for the standing-backlog rule: a ring, at most pacerMaxWindow.
	window     [pacerMaxWindow]sample
	windowN    int // samples in window
	windowHead int // index of the oldest
	windowLen  int // the long window, in ticks
	windowConf int // the confirmation window after a starvation, in snapshots
	standMax   int // the most snapshots the standing-backlog rule waits for
	// clearShare is the share of recent snapshots that showed no backlog
	// (an exponential moving average), and clearRef its value at the last
	// one that did: the standing-backlog rule judges a run of backlogs by
	// it, unmoved by the run itself.
	clearShare float64
	clearRef   float64
	// backlogRun counts the snapshots in a row, about inputs sent on the
	// current schedule (see settledAt), that showed a backlog.
	backlogRun int

	// ev is the open starvation, if any.
	ev struct {
		open bool
		lo   float64 // inputs needed more lead than this: the late one, and late ones since
		conf int     // snapshots since
		hi   float64 // inputs in the backlog since needed at most this much
	}
	haveEvent   bool     // a starvation has been seen
	eventTick   sim.Tick // the tick of the last one
	eventRepeat int      // starvations in a row, each within pacerRepeatWindow of the last
	// edgeKnown reports whether the probe creeps: a starvation found the
	// edge, and no shedding of more than half a tick has lost it since.
	edgeKnown bool

	// The evidence of the in-flight limit (see Held), of the newest
	// pacerNetRing snapshots. late holds how much later than the tick
	// clock gives its tick each arrived; spread, for each that arrived at
	// least half a period after the one before (the first of a bunch),
	// how much later than the local lower envelope (the least late of the
	// newest pacerEnvelopeSnapshots) it came; ackTime, for each that
	// acknowledged a new input, the time from that input's slot; skipped,
	// how many ticks before each never showed.
	late, spread, ackTime, skipped netRing
	lastArrival                    float64
	// limit is the in-flight limit, 0 for none yet (see setLimit);
	// holding reports whether the Pacer held the next input back when it
	// last looked (at a send or a snapshot).
	limit   int
	holding bool
	// holdLead is the target lead when the Pacer began to hold inputs
	// back (valid if holdLeadOK); restore reports that the target lead
	// goes back to it when the server applies resumeSeq, the first input
	// sent after the hold became a pause (see Sent).
	holdLead   float64
	holdLeadOK bool
	restore    bool

	stats PacerStats
}

// netRing holds the newest pacerNetRing values of a series. The Pacer asks
// it the same questions several times per input and snapshot (Held, at
// every send and every check of a send loop), and a scan of the whole ring
// each time was most of a client's pacing cost. So it keeps the least and
// the greatest of all its values as they come, with how many of each it
// holds (rescanning only when the last of one leaves the ring), and
// remembers its answer to a query about fewer until the next value. The
// answers are those of a scan with min and max, NaN and ±0 included.
type netRing struct {
	v       [pacerNetRing]float64
	n, head int

	// The range of all the values, if allOK: the least and the greatest
	// that are not NaN (−0 below +0, as min and max order them), how
	// many values are each, and how many are NaN.
	allLo, allHi   float64
	nLo, nHi, nNaN int
	allOK          bool

	memoK          int // the k of the remembered query, fewer than n; 0: none
	memoLo, memoHi float64
}

// pacerNetRing must be a power of two: netRing indexes with a mask.
const _ uint = -(pacerNetRing & (pacerNetRing - 1)) // a compile error otherwise

func (r *netRing) add(x float64) {
	if r.n == pacerNetRing {
		if r.allOK {
			r.remove(r.v[r.head])
		}
		r.head = (r.head + 1) & (pacerNetRing - 1)
		r.n--
	}
	r.v[(r.head+r.n)&(pacerNetRing-1)] = x
	r.n++
	if r.allOK {
		r.include(x)
	}
	r.memoK = 0
}

// include counts x into the range of all the values.
func (r *netRing) include(x float64) {
	switch {
	case x != x:
		r.nNaN++
		return
	case below(x, r.allLo):
		r.allLo, r.nLo = x, 1
	case same(x, r.allLo):
		r.nLo++
	}
	switch {
	case below(r.allHi, x):
		r.allHi, r.nHi = x, 1
	case same(x, r.allHi):
		r.nHi++
	}
}

// remove takes x, leaving the ring, out of the range of all the values;
// if it was the last value at one of its ends, the range is unknown.
func (r *netRing) remove(x float64) {
	switch {
	case x != x:
		r.nNaN--
		return
	case same(x, r.allLo):
		r.nLo--
		r.allOK = r.nLo > 0
	}
	if same(x, r.allHi) {
		r.nHi--
		r.allOK = r.allOK && r.nHi > 0
	}
}

// below reports whether a < b, with −0 below +0 (as min and max have it).
func below(a, b float64) bool {
	return a < b || a == b && math.Signbit(a) && !math.Signbit(b)
}

// same reports whether a and b are the same number, telling ±0 apart.
func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// last returns the newest value; the ring must not be empty.
func (r *netRing) last() float64 { return r.v[(r.head+r.n-1)&(pacerNetRing-1)] }

// newest returns the least and the greatest of the newest k values
// (of all, if k is larger); +Inf and −Inf if there are none.
func (r *netRing) newest(k int) (lo, hi float64) {
	switch {
	case k >= r.n:
		if !r.allOK {
			r.allLo, r.allHi = math.Inf(1), math.Inf(-1)
			r.nLo, r.nHi, r.nNaN = 0, 0, 0
			r.allOK = true
			for i := range r.n {
				r.include(r.v[(r.head+i)&(pacerNetRing-1)])
			}
		}
		if r.nNaN > 0 {
			return math.NaN(), math.NaN()
		}
		return r.allLo, r.allHi
	case k > 0 && k == r.memoK:
		return r.memoLo, r.memoHi
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := r.n - k; i < r.n; i++ {
		x := r.v[(r.head+i)&(pacerNetRing-1)]
		lo, hi = min(lo, x), max(hi, x)
	}
	if k > 0 {
		r.memoK, r.memoLo, r.memoHi = k, lo, hi
	}
	return lo, hi
}

// sendRecord is an input's slot in the schedule: when it was sent, or due
// if it was sent a little late (see Sent).
type sendRecord struct {
	seq uint32
	at  float64
	// onTime reports whether it was sent no later than a period after the
	// Pacer asked for it: its slot is the due time, or earlier.
	onTime bool
}

// sample is what one snapshot says about the lead inputs need.
type sample struct {
	tick    sim.Tick
	need    float64 // at most this lead was needed; valid if known
	sent    float64 // the slot of the input it is about; valid if known
	known   bool
	backlog uint32
}

// NewPacer returns a Pacer for a server running at tickRate ticks a second.
func NewPacer(tickRate int) *Pacer {
	tickRate = max(tickRate, 1)
	p := &Pacer{tickRate: tickRate, nominal: float64(time.Second) / float64(tickRate)}
	p.clock.init(p.nominal, tickRate)
	p.windowLen = min(max(tickRate/2, 8), pacerMaxWindow)
	p.windowConf = max(3, (tickRate+9)/10)
	p.standMax = min(max(int(pacerStandMax.Seconds()*float64(tickRate)), pacerStandMin), pacerMaxWindow)
	p.clearShare, p.clearRef = 0.5, 0.5
	return p
}

// ns converts t to the Pacer's time base.
func (p *Pacer) ns(t time.Time) float64 {
	if !p.haveOrigin {
		p.origin, p.haveOrigin = t, true
	}
	return float64(t.Sub(p.origin))
}

func (p *Pacer) time(ns float64) time.Time {
	return p.origin.Add(time.Duration(math.Round(ns)))
}

// Due returns when the next input should be sent: the zero Time before the
// first one (send at once).
func (p *Pacer) Due() time.Time {
	if !p.haveSent {
		return time.Time{}
	}
	return p.time(p.due)
}

// Sent records that the input with seq was sent at at, and schedules the
// next. Seqs must increase; an input with a seq not above the last one is
// ignored.
//
// The Pacer keeps its own schedule: an input sent late (a frame loop sends
// on the first frame after it is due) keeps its slot, so that the next one
// is due a period after the slot, not after the send, and the lateness
// counts as part of the link's delay. An input sent more than a period late
// moves the schedule (the game stalled: the time it lost is not made up,
// beyond the one input due at once); one sent early restarts the schedule
// from it.
func (p *Pacer) Sent(seq uint32, at time.Time) {
	if p.haveSent && seq <= p.lastSeq {
		return
	}
	t := p.ns(at)
	period := p.clock.period
	if p.haveSent && t-p.lastAt > 2*period {
		// The client paused (a game stalled, or stopped sending, or the
		// Pacer held inputs back): the server starves until this input
		// arrives, which is no news about the link, and the ticks lost
		// are not to be made up.
		p.resumeSeq = seq
		// After a hold, what the snapshots showed meanwhile (the
		// starved ticks of a stall, the burst after it) was no news
		// about the link either: the target lead is set anew once the
		// server applies this input (see Observe).
		p.restore = p.holdLeadOK
	}
	p.holdLeadOK = false
	sched := t
	if p.haveSent {
		sched = min(max(p.due, t-period), t)
	}
	p.sends[seq%pacerSendRing] = sendRecord{seq: seq, at: sched, onTime: p.haveSent && sched <= p.due}
	p.lastSeq, p.lastAt, p.haveSent = seq, t, true

	next := sched + period
	if target, ok := p.target(seq + 1); ok {
		step := MaxDilation * period
		if p.settling && math.Abs(target-next) <= step {
			p.settling, p.settledAt = false, sched+period/2
		}
		next += min(max(target-next, -step), step)
	}
	p.due = next
	p.stats.Dilation = (next-sched)/p.nominal - 1
	p.setHolding(p.Held(at))
}

// setHolding records whether the Pacer holds the next input back, and
// the target lead when it begins to.
func (p *Pacer) setHolding(held bool) {
	if held && !p.holdLeadOK && p.haveLead {
		p.holdLead, p.holdLeadOK = p.lead, true
	}
	p.holding = held
}

// target returns when the input with seq m should be sent, if the Pacer knows
// yet.
func (p *Pacer) target(m uint32) (float64, bool) {
	if !p.haveLead || !p.haveObs || p.lastAck < p.resumeSeq {
		// No target yet, or the server has not applied the first input
		// since the client resumed: until then c says nothing about it.
		return 0, false
	}
	return p.clock.at(int64(m)+p.c) - p.lead, true
}

// sentAt returns the slot of the input with seq (when it was sent, or due),
// if remembered.
func (p *Pacer) sentAt(seq uint32) (float64, bool) {
	r := p.sends[seq%pacerSendRing]
	if !p.haveSent || r.seq != seq || seq > p.lastSeq {
		return 0, false
	}
	return r.at, true
}

// Observe takes what the snapshot of tick, received at at, says about the
// client's own entity: last_input_seq (ack) and input_backlog. Snapshots
// must be observed in the order received; one not newer than the last is
// ignored, and ticks may be skipped.
func (p *Pacer) Observe(tick sim.Tick, ack, backlog uint32, at time.Time) {
	t := p.ns(at)
	if p.haveObs && tick <= p.lastTick {
		return
	}
	p.clock.add(tick, t)
	p.observeNet(tick, ack, t)
	p.observe(tick, ack, backlog, t)
	p.setLimit(at)
}

// observe is Observe's evidence about the lead.
func (p *Pacer) observe(tick sim.Tick, ack, backlog uint32, t float64) {
	p.stats.Backlog = int(backlog)
	if !p.haveObs || ack < p.lastAck {
		// The first snapshot, or a server whose numbering went back:
		// start over from here.
		p.haveObs = true
		p.lastTick, p.lastAck = tick, ack
		p.c = int64(tick) - int64(ack)
		p.resetWindow()
		p.ev.open = false
		p.addSample(tick, ack, backlog)
		return
	}
	prevTick, prevAck := p.lastTick, p.lastAck
	dk := int64(tick - prevTick)
	slip := dk - int64(ack-prevAck) // starved ticks less dropped inputs
	p.lastTick, p.lastAck = tick, ack
	p.c = int64(tick) - int64(ack)
	if slip > 0 && (p.holding || !p.waiting(prevTick, prevAck, t)) {
		// The client sent nothing to apply, or the Pacer holds inputs
		// back: it is idle, not late.
		slip = 0
	}
	if p.haveLead {
		// Hold: the inputs under way are now applied slip ticks later,
		// which is that much more lead; the schedule stays where it is.
		p.lead += float64(slip) * p.clock.period
	}
	if p.restore && ack >= p.resumeSeq {
		// The server applies the first input sent after the Pacer held
		// inputs back (see Sent): c maps the inputs from here on, and
		// the target lead is the one from before the hold, or what the
		// newest input here needed if less (the server lost ticks: its
		// ticks come later than the tick clock has them); the edge is
		// to be found again.
		p.restore, slip = false, 0
		p.lead = p.holdLead
		if s, ok := p.sentAt(ack + backlog); ok {
			p.lead = min(p.lead, p.clock.at(int64(tick))-s)
		}
		p.ev.open = false
		p.edgeKnown = false
	}

	opened := false
	switch {
	case slip > 0:
		p.stats.Starved += uint64(slip)
		opened = p.starved(tick, prevTick, prevAck)
	case slip < 0:
		p.stats.Dropped += uint64(-slip)
		p.ev.open = false
		p.resetWindow()
	}

	p.addSample(tick, ack, backlog)
	// A snapshot after the starvation confirms it (or not); so does the
	// one that shows it, if it skipped ticks and inputs were applied after.
	if p.ev.open && (slip <= 0 || opened && ack > prevAck) {
		p.confirm(tick, ack, backlog)
	}
	p.standing()
	p.probe(tick, min(dk, 4))
}

// observeNet records what the snapshot of tick, received at t with ack,
// says about the way back and the round trip (see Held).
func (p *Pacer) observeNet(tick sim.Tick, ack uint32, t float64) {
	p.late.add(t - p.clock.at(int64(tick)))
	if p.haveObs {
		if t-p.lastArrival >= p.clock.period/2 {
			lo, _ := p.late.newest(pacerEnvelopeSnapshots)
			p.spread.add(p.late.last() - lo)
		}
		p.skipped.add(float64(tick - p.lastTick - 1))
		if ack > p.lastAck {
			if s, ok := p.sentAt(ack); ok {
				p.ackTime.add(t - s)
			}
		}
	}
	p.lastArrival = t
}

// setLimit sets the in-flight limit from the evidence after a snapshot
// (received at now), and counts an input the Pacer held back past its due
// time that is now free to go (see Held).
func (p *Pacer) setLimit(now time.Time) {
	p.limit = 0
	if p.ackTime.n > 0 {
		period := p.clock.period
		rtt, _ := p.ackTime.newest(pacerRTTSnapshots)
		_, jitter := p.spread.newest(pacerNetRing)
		round := pacerInFlightSlack + int(rtt/period)
		if p.spread.n > 0 {
			round += max(int(math.Ceil(jitter/period)), 0)
		}
		if burst := max((p.tickRate+9)/10, 1) + 1; pacerInFlightSlack+int(rtt/period) <= burst {
			// A short round trip: from the first acknowledgement on, so
			// that a stall in the match's first ticks (its start is when
			// a loaded machine stalls) cannot let a burst through.
			p.limit = min(round, burst)
		} else if p.ackTime.n >= pacerNetMin {
			p.limit = 2 * round
		}
	}
	held := p.Held(now)
	if p.holding && !held && p.haveSent && p.ns(now) > p.due {
		p.stats.HeldBack++
	}
	p.setHolding(held)
}

// Held reports whether the Pacer holds the next input back at now, whatever
// Due says: as many inputs are sent and unacknowledged as the in-flight
// limit lets be (PacerStats.InFlightLimit). The next input is due again
// once a snapshot acknowledges enough of them. The limit is what the
// round trip holds unacknowledged (at its fastest lately, and the jitter
// of the way back) and two more; for a round trip short enough, never
// more than the server takes at once (⌈tick rate/10⌉ + 1: it drops all but
// the newest of a longer queue); for a longer one, twice that. After a
// stall of the server or of the way there, that keeps what arrives at once
// from outgrowing what the server accepts, which would cost a prediction
// correction; a held input costs at most a tick in which the player's
// entity stands still. Ticks whose snapshots never showed count as
// acknowledgements not yet seen (up to as many in a row as lately went
// missing). There is a limit from the first snapshot that acknowledged an
// input if the round trip is short (a stall in the match's first ticks,
// when a loaded machine stalls, would let a burst through), and from the
// eighth if not (a long link must not be throttled on the evidence of a
// few).
func (p *Pacer) Held(now time.Time) bool {
	if p.limit == 0 || !p.haveSent || !p.haveObs {
		return false
	}
	n := int64(p.lastSeq) - int64(p.lastAck)
	if _, most := p.skipped.newest(pacerNetRing); most > 0 {
		// Snapshots go missing: count the ticks since the newest one
		// that would have shown by now, as many as went missing in a
		// row lately.
		env, _ := p.late.newest(pacerEnvelopeSnapshots)
		since := math.Floor((p.ns(now) - p.clock.at(int64(p.lastTick)) - env) / p.clock.period)
		n -= int64(min(max(since, 0), most))
	}
	return n >= int64(p.limit)
}

// waiting reports whether the server waited for an input at the tick after
// prevTick: whether the client had sent the input after prevAck, in its
// stream, before the snapshot of that tick could have arrived (at now) — or
// whether the Pacer's own schedule put that input after the tick: it was
// sent at the slot the Pacer asked for, or it is not sent yet and the Pacer
// asks for it no more than a period before now. On a link whose round trip
// is near zero (loopback, a LAN) the edge is right at the tick's time, and
// such an input, which the probe moved past it, is the starvation that
// finds the edge; taken as idle, it would let the probe run away (every
// starved tick pushing the schedule a tick later). An input the client sent
// (or has not sent) later than that, or the first one after the client
// paused, came from a client that was not sending, and a starved tick is no
// evidence about the lead.
func (p *Pacer) waiting(prevTick sim.Tick, prevAck uint32, now float64) bool {
	seq := prevAck + 1
	if seq == p.resumeSeq {
		return false
	}
	if s, ok := p.sentAt(seq); ok {
		return s < p.clock.at(int64(prevTick)+1) || p.sends[seq%pacerSendRing].onTime
	}
	return p.haveSent && seq == p.lastSeq+1 && now <= p.due+p.clock.period
}

// slotOf returns the slot of the input with seq: when it was sent (or due),
// or, for the next one not sent yet, when it is due.
func (p *Pacer) slotOf(seq uint32) (float64, bool) {
	if s, ok := p.sentAt(seq); ok || !p.haveSent || seq != p.lastSeq+1 {
		return s, ok
	}
	return p.due, true
}

// starved handles a snapshot that shows starved ticks since the previous one
// (prevTick, prevAck). It reports whether that is a new starvation.
func (p *Pacer) starved(tick, prevTick sim.Tick, prevAck uint32) bool {
	p.resetWindow()
	if p.ev.open {
		// Still (or again) no input: the same starvation goes on, and
		// what came since is no confirmation.
		p.ev.conf, p.ev.hi = 0, math.Inf(-1)
		return false
	}
	// The input after prevAck was due at the tick after prevTick.
	s, _ := p.slotOf(prevAck + 1)
	if p.recentEvent() {
		p.eventRepeat = min(p.eventRepeat+1, pacerMaxMarginShift)
	} else {
		p.eventRepeat = 0
	}
	p.haveEvent, p.eventTick = true, tick
	p.ev.open = true
	p.ev.lo = p.clock.at(int64(prevTick)+1) - s
	p.ev.conf, p.ev.hi = 0, math.Inf(-1)
	return true
}

// recentEvent reports whether the last starvation is less than
// pacerRepeatWindow old.
func (p *Pacer) recentEvent() bool {
	return p.haveEvent && float64(p.lastTick-p.eventTick) < pacerRepeatWindow.Seconds()*float64(p.tickRate)
}

// margin returns how much earlier than a late input the Pacer aims: doubled
// for each starvation in a row, never more than half a tick.
func (p *Pacer) margin() float64 {
	m := float64(pacerMargin) * float64(int(1)<<p.eventRepeat)
	return min(m, p.clock.period/2)
}

// confirm takes a snapshot (of tick, with ack and backlog) that follows a
// starvation. The starvation pushed the stream a tick back, so the inputs now
// wait a tick longer than they did, which is too long unless the link got
// slower. Each snapshot says how much lead an input needed: at most need if
// one stood in the backlog, more than its lead under the old mapping if the
// next input had not arrived. After windowConf of them (two if they skip
// ticks) the Pacer sets the target lead a margin above the most any of them
// needed (the late input included), which sheds the tick — or less of it if
// the link did get slower.
func (p *Pacer) confirm(tick sim.Tick, ack, backlog uint32) {
	if backlog == 0 {
		if s, ok := p.sentAt(ack + 1); ok {
			p.ev.lo = max(p.ev.lo, p.clock.at(int64(tick))-s)
		}
	} else if s := p.window[(p.windowHead+p.windowN-1)%pacerMaxWindow]; s.known {
		p.ev.hi = max(p.ev.hi, s.need)
	}
	p.ev.conf++
	if p.ev.conf >= p.windowConf || p.ev.conf >= 2 && int(tick-p.eventTick) > p.windowConf {
		p.ev.open = false
		p.lower(max(p.ev.lo, p.ev.hi) + p.margin())
		p.edgeKnown = true
	}
}

// addSample records what the snapshot of tick says about the lead needed: the
// newest input present at the server, seq ack+backlog, would still have been
// in time had it been sent at time(tick) less that lead.
func (p *Pacer) addSample(tick sim.Tick, ack, backlog uint32) {
	s := sample{tick: tick, backlog: backlog}
	clear := 0.0
	if backlog == 0 {
		clear = 1
	}
	p.clearShare += (clear - p.clearShare) / pacerShareSnapshots
	if at, ok := p.sentAt(ack + backlog); ok {
		s.need, s.sent, s.known = p.clock.at(int64(tick))-at, at, true
		if backlog > 0 && !p.settling && at >= p.settledAt {
			p.backlogRun++
		}
	}
	if backlog == 0 {
		p.clearRef, p.backlogRun = p.clearShare, 0
	}
	if p.windowN == pacerMaxWindow {
		p.windowHead = (p.windowHead + 1) % pacerMaxWindow
		p.windowN--
	}
	p.window[(p.windowHead+p.windowN)%pacerMaxWindow] = s
	p.windowN++
}

func (p *Pacer) resetWindow() { p.windowN, p.windowHead, p.backlogRun = 0, 0, 0 }

// standing applies the standing-backlog rule to the window: a backlog of at
// least one through the long window, and through standSamples snapshots, is
// shed down to the largest lead those snapshots needed — of the inputs sent
// since the schedule settled after the target lead was last lowered, if
// they are as many: the older ones were sent earlier than the schedule now
// does, so their needs overstate what is left to shed. Before the Pacer
// has a target lead, the first full window sets it.
//
// There is no faster rule for a backlog of two or more: with jitter wider
// than two ticks one stands for an eighth of a second by chance every few
// seconds, and the server drops a burst beyond its MaxBacklog at once
// anyway.
func (p *Pacer) standing() {
	n := p.standSamples()
	long := p.scan(p.windowLen, n)
	want := math.Inf(1)
	if long.full {
		switch {
		case !p.haveLead:
			want = long.need
		case long.minBacklog >= 1 && long.fresh >= n:
			want = long.freshNeed
		case long.minBacklog >= 1:
			want = long.need
		}
	}
	if math.IsInf(want, 1) {
		return
	}
	if p.recentEvent() {
		want += p.margin()
	}
	if p.haveLead && want < p.lead-p.clock.period/2 {
		// The link got faster (or the lead was a tick early): where
		// the edge is now, only a probe can tell.
		p.edgeKnown = false
	}
	p.lower(want)
}

// standSamples returns how many snapshots in a row must show a backlog for
// the standing-backlog rule to take it as standing: enough that a run that
// long comes by chance less often than pacerStandChance, if each snapshot
// shows none as often as they did before the run (clearRef); at least
// pacerStandMin, at most standMax.
func (p *Pacer) standSamples() int {
	q := p.clearRef
	switch {
	case q <= 0:
		return p.standMax
	case q >= 1:
		return pacerStandMin
	}
	n := math.Ceil(math.Log(pacerStandChance) / math.Log1p(-q))
	return int(min(max(n, pacerStandMin), float64(p.standMax)))
}

// windowScan summarises the newest samples of the window.
type windowScan struct {
	full       bool    // they span the ticks asked for, with enough samples
	minBacklog uint32  // the least backlog among them
	need       float64 // the largest need among them
	freshNeed  float64 // the largest need among the fresh ones
	fresh      int     // how many are fresh (see standing)
}

// scan looks at the samples of the last ticks ticks, and older ones until
// there are minSamples (snapshots may skip ticks).
func (p *Pacer) scan(ticks, minSamples int) windowScan {
	w := windowScan{minBacklog: math.MaxUint32, need: math.Inf(-1), freshNeed: math.Inf(-1)}
	n, known := 0, 0
	for i := range p.windowN {
		s := p.window[(p.windowHead+p.windowN-1-i)%pacerMaxWindow] // newest first
		age := int(p.lastTick - s.tick)
		if age >= ticks && n >= minSamples {
			w.full = true
			break
		}
		n++
		w.minBacklog = min(w.minBacklog, s.backlog)
		if !s.known {
			continue
		}
		known++
		w.need = max(w.need, s.need)
		if !p.settling && s.sent >= p.settledAt {
			w.freshNeed = max(w.freshNeed, s.need)
			w.fresh++
		}
	}
	if !w.full && n == p.windowN && p.windowN > 0 {
		// The oldest sample ends the window if it is old enough.
		oldest := p.window[p.windowHead]
		w.full = int(p.lastTick-oldest.tick) >= ticks-1 && n >= minSamples
	}
	w.full = w.full && known*2 >= n
	return w
}

// lower sets the target lead to want if that is lower (or there is none yet).
func (p *Pacer) lower(want float64) {
	if !p.haveLead || want < p.lead {
		p.lead, p.haveLead = want, true
		p.settling = true
	}
}

// probe moves the target lead later (smaller) as dk ticks pass: fast while
// the edge is unknown; slowly after a starvation found it, faster the longer
// none has come; and not too slowly while a backlog stands.
func (p *Pacer) probe(tick sim.Tick, dk int64) {
	if !p.haveLead {
		return
	}
	rate := pacerProbeFast
	if p.edgeKnown {
		rate = pacerProbeSlow
		if since := float64(tick-p.eventTick)/float64(p.tickRate) - pacerProbeCalm.Seconds(); since > 0 {
			rate = min(pacerProbeSlow*math.Exp2(since/pacerProbeDouble.Seconds()), pacerProbeFast)
		}
	}
	if p.backlogRun >= pacerStandMin {
		rate = max(rate, pacerProbeStanding)
	}
	p.lead -= rate * float64(dk) * p.clock.period
}

// Stats returns the pacing statistics so far.
func (p *Pacer) Stats() PacerStats {
	if p == nil {
		return PacerStats{}
	}
	s := p.stats
	s.Skew = p.clock.skew
	if p.haveLead {
		env, _ := p.late.newest(pacerEnvelopeSnapshots)
		s.Lead = time.Duration(max(p.lead+env, 0))
	}
	if p.haveSent && p.haveObs {
		s.InFlight = max(int(int64(p.lastSeq)-int64(p.lastAck)), 0)
	}
	s.InFlightLimit = p.limit
	return s
}

// carryOver continues the counters of an earlier Pacer (of a connection that
// ended).
func (p *Pacer) carryOver(s PacerStats) {
	p.stats.Starved, p.stats.Dropped, p.stats.HeldBack = s.Starved, s.Dropped, s.HeldBack
}

// Tick clock parameters.
const (
	// tickClockWindows is how many one-second windows of snapshot arrivals
	// the rate estimate looks at. The two ends of each slope are half the
	// windows apart, at least tickClockLag and at most tickClockMaxLag:
	// the longer the baseline, the less the noise of the window minima
	// moves the rate, and so the less the clock's offset wanders (an error
	// of 0.01 % in the rate is 0.1 ms a second); the shorter, the fewer
	// slopes a latency step spoils.
	tickClockWindows = 32
	tickClockLag     = 4
	tickClockMaxLag  = 8
	// A latency step shows as a jump of the window minima from one window
	// to the next beyond tickClockStepSpread times their usual move (the
	// median), and at least tickClockStepMin: slopes across it are left
	// out, so that the rate is not spoilt for the seconds its baseline
	// spans.
	tickClockStepSpread = 6
	tickClockStepMin    = 4 * time.Millisecond
	// tickClockMaxSkew bounds the estimated skew: real clocks are within
	// a few hundred ppm; the rest is noise.
	tickClockMaxSkew = 0.01
)

// tickClock models the server's tick clock in the client's time: tick k
// happens at at(k). Its offset is arbitrary (the first snapshot's arrival);
// what matters is its rate, estimated from the earliest arrival in each
// window of one second's ticks (the lower envelope, which jitter barely
// moves) as the median of the slopes between windows some seconds apart.
// Slopes across a latency step are left out, and the median ignores those
// across a step too small to tell; a stall leaves windows empty, which are
// skipped. The clock is re-anchored at every estimate, so that it does not
// jump: errors of the rate add up to a slow wander of the offset (a few ms
// a minute with 60 ± 30 ms of jitter), which the Pacer's evidence follows.
type tickClock struct {
	nominal float64 // ns per tick
	window  int64   // ticks per window
	period  float64 // estimated ns per tick
	skew    float64 // period/nominal − 1

	anchorK int64
	anchorT float64
	ok      bool

	cur struct {
		idx int64
		min float64
		n   int
	}
	mins   [tickClockWindows]windowMin // ring, oldest at head
	minsN  int
	head   int
	slopes []float64 // scratch
}

type windowMin struct {
	idx int64
	min float64
}

func (tc *tickClock) init(nominal float64, tickRate int) {
	tc.nominal, tc.period = nominal, nominal
	tc.window = int64(tickRate)
	tc.slopes = make([]float64, 0, tickClockWindows)
}

// at returns the time of tick k.
func (tc *tickClock) at(k int64) float64 {
	return tc.anchorT + float64(k-tc.anchorK)*tc.period
}

// add takes the arrival of the snapshot of tick k at t.
func (tc *tickClock) add(k sim.Tick, t float64) {
	kk := int64(k)
	if !tc.ok {
		tc.anchorK, tc.anchorT, tc.ok = kk, t, true
		tc.cur.idx, tc.cur.min, tc.cur.n = kk/tc.window, math.Inf(1), 0
	}
	idx := kk / tc.window
	if idx != tc.cur.idx {
		if tc.cur.n*4 >= int(tc.window) {
			tc.push(windowMin{tc.cur.idx, tc.cur.min})
			tc.estimate(kk)
		}
		tc.cur.idx, tc.cur.min, tc.cur.n = idx, math.Inf(1), 0
	}
	tc.cur.min = min(tc.cur.min, t-float64(kk)*tc.nominal)
	tc.cur.n++
}

func (tc *tickClock) push(w windowMin) {
	if tc.minsN == tickClockWindows {
		tc.head = (tc.head + 1) % tickClockWindows
		tc.minsN--
	}
	tc.mins[(tc.head+tc.minsN)%tickClockWindows] = w
	tc.minsN++
}

// nth returns the i-th oldest window minimum.
func (tc *tickClock) nth(i int) windowMin {
	return tc.mins[(tc.head+i)%tickClockWindows]
}

// estimate recomputes the rate and re-anchors the clock at tick k, so that
// the time of tick k does not jump.
func (tc *tickClock) estimate(k int64) {
	// step[i] reports a latency step between windows i and i+1: a move of
	// the minima, less what the current rate explains, far beyond the
	// usual.
	var step [tickClockWindows]bool
	if tc.minsN > 2 {
		var move, scratch [tickClockWindows]float64
		for i := range tc.minsN - 1 {
			a, b := tc.nth(i), tc.nth(i+1)
			move[i] = math.Abs(b.min - a.min - float64((b.idx-a.idx)*tc.window)*tc.nominal*tc.skew)
		}
		copy(scratch[:], move[:tc.minsN-1])
		limit := max(float64(tickClockStepMin), tickClockStepSpread*median(scratch[:tc.minsN-1]))
		for i := range tc.minsN - 1 {
			step[i] = move[i] > limit
		}
	}
	lag := min(max(tc.minsN/2, tickClockLag), tickClockMaxLag)
	tc.slopes = tc.slopes[:0]
	for i := 0; i+lag < tc.minsN; i++ {
		if slices.Contains(step[i:i+lag], true) {
			continue
		}
		a, b := tc.nth(i), tc.nth(i+lag)
		ticks := float64((b.idx - a.idx) * tc.window)
		tc.slopes = append(tc.slopes, (b.min-a.min)/(ticks*tc.nominal))
	}
	if len(tc.slopes) < 3 {
		return
	}
	skew := median(tc.slopes)
	skew = min(max(skew, -tickClockMaxSkew), tickClockMaxSkew)
	tc.anchorT, tc.anchorK = tc.at(k), k
	tc.skew = skew
	tc.period = tc.nominal * (1 + skew)
}

// median returns the median of s, which it sorts.
func median(s []float64) float64 {
	slices.Sort(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}

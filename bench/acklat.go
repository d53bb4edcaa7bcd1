package bench

import (
	"fmt"
	"math"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// The parts of an acknowledgement's latency, as the generator can see them
// (bench/README.md, "Input→ack latency"). Every bot keeps a model of its
// room's tick clock, the lower envelope of its snapshots' arrivals
// (roomClock): on one machine the server's and the generator's clocks run at
// the same rate, and the room ticks at start + n·period, so the earliest
// arrivals give each tick's time plus the least delivery. Against it an
// acknowledgement of an input sent at s, acknowledged by the snapshot of
// tick k arriving at a, splits exactly into three parts:
//
//	a − s = lead + (k − aimed)·period + delivery
//
// lead is from the send to the time of the tick the pacing aimed the input
// at (aimed = seq + tick − last_input_seq of the newest snapshot at the
// send: the tick that applies it if nothing changes); k − aimed are the
// ticks late (the input came after the aimed tick's poll, or its snapshot
// was skipped); delivery is how much later than the envelope the snapshot
// of k arrived (the server's tick phase and write, the generator's reader
// waiting for its core).

// roomClockBlock is how many snapshots the envelope's two halves span, in
// tick periods per tick rate: the envelope is the least offset of the newest
// one to two blocks (2–4 s), so that it follows a room whose ticks moved
// later (a server that skipped ticks) within seconds.
const roomClockBlock = 2

// roomClock is a bot's model of its room's tick clock: the least offset
// (arrival − tick·period, in ns since the recorder's base) of the newest
// snapshots. Owned by the bot's reader goroutine.
type roomClock struct {
	period    int64 // ns
	block     int   // snapshots per half
	cur, prev int64 // least offsets of the current and previous halves
	n         int   // snapshots in the current half
	ok        bool
}

func newRoomClock(tickRate int) roomClock {
	tickRate = max(tickRate, 1)
	return roomClock{period: int64(time.Second) / int64(tickRate), block: roomClockBlock * tickRate}
}

// add takes the arrival at at (ns) of the snapshot of tick, and returns
// how much later than the envelope it came (≥ 0).
func (rc *roomClock) add(tick uint32, at int64) time.Duration {
	off := at - int64(tick)*rc.period
	if !rc.ok {
		rc.cur, rc.prev, rc.ok = off, off, true
	}
	rc.cur = min(rc.cur, off)
	rc.n++
	env := min(rc.cur, rc.prev)
	if rc.n >= rc.block {
		rc.prev, rc.cur, rc.n = rc.cur, math.MaxInt64, 0
	}
	return time.Duration(off - env)
}

// at returns the envelope's time of tick (ns since the recorder's base).
func (rc *roomClock) at(tick int64) int64 {
	return min(rc.cur, rc.prev) + tick*rc.period
}

// ackParts collects the parts of the window's acknowledgements. Safe for
// concurrent use: every field is atomic.
type ackParts struct {
	period   time.Duration
	lead     histogram // send → the envelope's time of the aimed tick
	delivery histogram // every snapshot's arrival − the envelope's time of its tick
	sendLate histogram // how long after its pacing's due time the sender sent an input
	// late counts acknowledgements by ticks between the aimed tick and
	// the one acknowledging: < 0, 0, 1, ≥ 2.
	late [4]atomic.Uint64
	// The tail: acknowledgements longer than two tick periods; of them,
	// those one or more ticks late, and the sums of their parts (ns).
	tail, tailLate         atomic.Uint64
	tailLead, tailDelivery atomic.Int64
	tailTicksLate          atomic.Int64 // in ticks
}

func newAckParts(tickRate int) *ackParts {
	return &ackParts{period: time.Second / time.Duration(max(tickRate, 1))}
}

// record adds one acknowledgement: latency total, its lead, ticks late
// and delivery (see the decomposition above).
func (p *ackParts) record(total, lead time.Duration, ticksLate int64, delivery time.Duration) {
	p.lead.Record(lead)
	i := 1
	switch {
	case ticksLate < 0:
		i = 0
	case ticksLate == 1:
		i = 2
	case ticksLate >= 2:
		i = 3
	}
	p.late[i].Add(1)
	if total > 2*p.period {
		p.tail.Add(1)
		if ticksLate >= 1 {
			p.tailLate.Add(1)
		}
		p.tailLead.Add(int64(lead))
		p.tailDelivery.Add(int64(delivery))
		p.tailTicksLate.Add(ticksLate)
	}
}

// AckBreakdown is the parts of the window's input→ack latencies (see
// bench/README.md, "Input→ack latency"): ack = lead + ticks late × period +
// delivery, against each room's tick clock as the bots estimate it.
type AckBreakdown struct {
	// Lead: from the send to the (estimated) time of the tick the pacing
	// aimed the input at.
	LeadP50 time.Duration `json:"lead_p50_ns"`
	LeadP99 time.Duration `json:"lead_p99_ns"`
	// Delivery: how much later than its room's earliest arrivals a
	// snapshot arrived, over every snapshot of the window.
	DeliveryP50 time.Duration `json:"delivery_p50_ns"`
	DeliveryP99 time.Duration `json:"delivery_p99_ns"`
	DeliveryMax time.Duration `json:"delivery_max_ns"`
	// SendLate: how long after the pacing's due time the sender sent.
	SendLateP50 time.Duration `json:"send_late_p50_ns"`
	SendLateP99 time.Duration `json:"send_late_p99_ns"`
	SendLateMax time.Duration `json:"send_late_max_ns"`
	// Acknowledgements by ticks late (the acknowledging tick less the
	// aimed one): early (< 0: the mapping moved forward, a drop), on time,
	// one tick, two or more.
	Early    uint64 `json:"early"`
	OnTime   uint64 `json:"on_time"`
	LateOne  uint64 `json:"late_one"`
	LateMore uint64 `json:"late_more"`
	// Tail: acknowledgements longer than two tick periods; TailLate of
	// them one or more ticks late; the mean of each part over them.
	Tail              uint64        `json:"tail"`
	TailLate          uint64        `json:"tail_late"`
	TailLeadMean      time.Duration `json:"tail_lead_mean_ns"`
	TailTicksLateMean float64       `json:"tail_ticks_late_mean"`
	TailDeliveryMean  time.Duration `json:"tail_delivery_mean_ns"`
	// GenSched: the generator's goroutine scheduling latency over the
	// window (runtime/metrics /sched/latencies:seconds: runnable → running),
	// the share of delivery that is the generator's own core.
	GenSchedP50 time.Duration `json:"gen_sched_p50_ns"`
	GenSchedP99 time.Duration `json:"gen_sched_p99_ns"`
}

// breakdown returns the parts collected; sched is the window's scheduling
// latency histogram (nil if unknown).
func (p *ackParts) breakdown(sched *metrics.Float64Histogram) AckBreakdown {
	b := AckBreakdown{
		LeadP50:     p.lead.Quantile(0.5),
		LeadP99:     p.lead.Quantile(0.99),
		DeliveryP50: p.delivery.Quantile(0.5),
		DeliveryP99: p.delivery.Quantile(0.99),
		DeliveryMax: p.delivery.Max(),
		SendLateP50: p.sendLate.Quantile(0.5),
		SendLateP99: p.sendLate.Quantile(0.99),
		SendLateMax: p.sendLate.Max(),
		Early:       p.late[0].Load(),
		OnTime:      p.late[1].Load(),
		LateOne:     p.late[2].Load(),
		LateMore:    p.late[3].Load(),
		Tail:        p.tail.Load(),
		TailLate:    p.tailLate.Load(),
	}
	if b.Tail > 0 {
		n := int64(b.Tail)
		b.TailLeadMean = time.Duration(p.tailLead.Load() / n)
		b.TailDeliveryMean = time.Duration(p.tailDelivery.Load() / n)
		b.TailTicksLateMean = float64(p.tailTicksLate.Load()) / float64(n)
	}
	if sched != nil {
		b.GenSchedP50 = schedQuantile(sched, 0.5)
		b.GenSchedP99 = schedQuantile(sched, 0.99)
	}
	return b
}

// schedMetric is the Go runtime's scheduling latency histogram.
const schedMetric = "/sched/latencies:seconds"

// readSched returns the process's scheduling latency histogram so far, or
// nil where the runtime has none.
func readSched() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// subSched returns end − start bucket by bucket (the same buckets).
func subSched(start, end *metrics.Float64Histogram) *metrics.Float64Histogram {
	if start == nil || end == nil || len(start.Counts) != len(end.Counts) {
		return nil
	}
	d := &metrics.Float64Histogram{Counts: make([]uint64, len(end.Counts)), Buckets: end.Buckets}
	for i := range end.Counts {
		d.Counts[i] = end.Counts[i] - start.Counts[i]
	}
	return d
}

// schedQuantile returns the q-quantile of h: the upper bound of the
// bucket holding the rank (the lower one if that is +Inf); 0 if empty.
func schedQuantile(h *metrics.Float64Histogram, q float64) time.Duration {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			hi := h.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = h.Buckets[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

// note is the breakdown as one line under the table, of acks timed.
func (b AckBreakdown) note(acks uint64) string {
	pct := func(n uint64) float64 { return 100 * float64(n) / float64(max(acks, 1)) }
	return fmt.Sprintf("ack = lead + ticks late + delivery: lead p50/p99 %s/%s; ticks late 0: %.2f %%, 1: %.2f %%, ≥2: %.2f %%, <0: %.2f %%; "+
		"delivery p50/p99/max %s/%s/%s; sender late p99 %s; generator scheduling p50/p99 %s/%s; "+
		"acks > 2 ticks: %.2f %%, %.0f %% of them a tick late or more (mean %.2f ticks, delivery %s, lead %s)",
		fmtDuration(b.LeadP50), fmtDuration(b.LeadP99),
		pct(b.OnTime), pct(b.LateOne), pct(b.LateMore), pct(b.Early),
		fmtDuration(b.DeliveryP50), fmtDuration(b.DeliveryP99), fmtDuration(b.DeliveryMax),
		fmtDuration(b.SendLateP99), fmtDuration(b.GenSchedP50), fmtDuration(b.GenSchedP99),
		pct(b.Tail), 100*float64(b.TailLate)/float64(max(b.Tail, 1)), b.TailTicksLateMean,
		fmtDuration(b.TailDeliveryMean), fmtDuration(b.TailLeadMean))
}

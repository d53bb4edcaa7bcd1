package bench

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

// Latency histogram: log-linear buckets over nanoseconds. Values below
// 2^subBits fall in exact buckets; above, each power of two is split into
// 2^subBits equal buckets, so a bucket is at most 1/32 of its value wide and
// a quantile (a bucket's midpoint) is off by at most 1/64 ≈ 1.6%.
const (
	subBits    = 5
	subCount   = 1 << subBits
	maxExp     = 40 // 2^40 ns ≈ 18 min; larger values land in the last bucket
	numBuckets = (maxExp - subBits + 2) * subCount
)

// histogram records durations without allocating or locking: Record is safe
// for concurrent use by any number of goroutines, and the readers (Quantile,
// Count, Max) may run at the same time, seeing some consistent-enough
// recent state (each counter is read atomically; the whole is not one
// snapshot, which a progress line does not need).
type histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64 // in ns
}

// bucketOf returns the bucket index of v ns (v ≥ 0).
func bucketOf(v int64) int {
	if v < subCount {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1)), e ≥ subBits
	if e > maxExp {
		return numBuckets - 1
	}
	sub := int(v>>(e-subBits)) - subCount
	return (e-subBits+1)*subCount + sub
}

// bucketBounds returns the range [lo, hi) of bucket i, in ns.
func bucketBounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i) + 1
	}
	g, sub := i/subCount, i%subCount
	shift := g - 1 // e - subBits
	lo = int64(subCount+sub) << shift
	return lo, lo + 1<<shift
}

// Record adds one observation of d (negative counts as zero).
func (h *histogram) Record(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest observation, exactly.
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the observations: the
// midpoint of the bucket holding the ⌈q·n⌉-th smallest, capped at Max. It
// returns 0 when there are none.
func (h *histogram) Quantile(q float64) time.Duration {
	var n uint64
	var counts [numBuckets]uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		n += counts[i]
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketBounds(i)
			mid := lo + (hi-lo)/2
			return min(time.Duration(mid), h.Max())
		}
	}
	return h.Max()
}

// promBucket is one cumulative bucket of a Prometheus histogram: Count
// observations were ≤ UpperBound (+Inf for the last).
type promBucket struct {
	UpperBound float64
	Count      float64
}

// promQuantile returns the q-quantile of a Prometheus histogram given by
// its cumulative buckets, the way PromQL's histogram_quantile does:
// linear interpolation inside the bucket holding the rank, the lowest
// bucket starting at 0, and the highest finite bound when the rank falls
// in the +Inf bucket. It returns NaN with no observations.
func promQuantile(q float64, buckets []promBucket) float64 {
	b := append([]promBucket(nil), buckets...)
	sort.Slice(b, func(i, j int) bool { return b[i].UpperBound < b[j].UpperBound })
	if len(b) == 0 || b[len(b)-1].Count == 0 {
		return math.NaN()
	}
	total := b[len(b)-1].Count
	rank := q * total
	for i, bk := range b {
		if bk.Count < rank {
			continue
		}
		if math.IsInf(bk.UpperBound, 1) {
			if i == 0 {
				return math.NaN()
			}
			return b[i-1].UpperBound
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = b[i-1].UpperBound, b[i-1].Count
		}
		in := bk.Count - below
		if in <= 0 {
			return bk.UpperBound
		}
		return lo + (bk.UpperBound-lo)*(rank-below)/in
	}
	return b[len(b)-1].UpperBound
}

// promBeyond reports whether quantile q of buckets lies beyond the largest
// finite bound, where promQuantile can only return that bound.
func promBeyond(q float64, buckets []promBucket) bool {
	total, finite := 0.0, 0.0
	largest := math.Inf(-1)
	for _, b := range buckets {
		switch {
		case math.IsInf(b.UpperBound, 1):
			total = b.Count
		case b.UpperBound > largest:
			largest, finite = b.UpperBound, b.Count
		}
	}
	return total > 0 && finite < q*total
}

// deltaBuckets returns end − start bucket by bucket (a window of a
// cumulative histogram). Buckets are matched by upper bound; a bound
// missing from start counts from zero.
func deltaBuckets(start, end []promBucket) []promBucket {
	prev := make(map[float64]float64, len(start))
	for _, b := range start {
		prev[b.UpperBound] = b.Count
	}
	out := make([]promBucket, len(end))
	for i, b := range end {
		out[i] = promBucket{UpperBound: b.UpperBound, Count: b.Count - prev[b.UpperBound]}
	}
	return out
}

// promMaxBound returns the upper bound of the highest bucket holding an
// observation of a Prometheus histogram given by its cumulative buckets:
// the largest observation is at most that (+Inf when it is beyond every
// finite bound). It returns NaN with no observations.
func promMaxBound(buckets []promBucket) float64 {
	b := append([]promBucket(nil), buckets...)
	sort.Slice(b, func(i, j int) bool { return b[i].UpperBound < b[j].UpperBound })
	if len(b) == 0 || b[len(b)-1].Count == 0 {
		return math.NaN()
	}
	total := b[len(b)-1].Count
	for _, bk := range b {
		if bk.Count >= total {
			return bk.UpperBound
		}
	}
	return b[len(b)-1].UpperBound
}

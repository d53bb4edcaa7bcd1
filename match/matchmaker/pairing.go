package matchmaker

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Window is the rating gap a ticket accepts, as a function of how long it
// has searched: Start at once, Step more after every whole Interval, never
// more than Max. Two tickets are compatible when their ratings differ by no
// more than either ticket's current window.
//
// Widening trades match quality for waiting time: a player far from everyone
// else still finds a match, after a wait that grows with the distance. Max
// bounds the quality loss at the price of players beyond it waiting until a
// closer opponent comes (or their ticket expires).
type Window struct {
	Start    float64       // accepted at once, in rating points
	Step     float64       // added every Interval, in rating points; 0: never widens
	Interval time.Duration // 0: never widens
	Max      float64       // cap, in rating points; ≤ 0: no cap
}

// DefaultWindow is the window of a mode absent from Config.Windows: ±100 at
// once, 50 more every 5 s, no cap.
func DefaultWindow() Window {
	return Window{Start: 100, Step: 50, Interval: 5 * time.Second}
}

// At returns the window of a ticket that has searched for waited.
func (w Window) At(waited time.Duration) float64 {
	return w.atStep(w.steps(waited))
}

// widens reports whether the window ever grows.
func (w Window) widens() bool { return w.Step > 0 && w.Interval > 0 }

// steps returns how many whole Intervals fit in waited.
func (w Window) steps(waited time.Duration) int64 {
	if !w.widens() || waited <= 0 {
		return 0
	}
	return int64(waited / w.Interval)
}

func (w Window) atStep(k int64) float64 {
	v := w.Start + w.Step*float64(k)
	if w.Max > 0 {
		v = min(v, w.Max)
	}
	return v
}

// stepsTo returns the fewest whole Intervals after which the window covers
// gap, or false if it never does.
func (w Window) stepsTo(gap float64) (int64, bool) {
	if gap <= w.atStep(0) {
		return 0, true
	}
	if !w.widens() || (w.Max > 0 && gap > w.Max) {
		return 0, false
	}
	k := math.Ceil((gap - w.Start) / w.Step)
	if !(k < 1<<40) { // also NaN: far beyond any ticket's life
		return 0, false
	}
	n := int64(k)
	for w.atStep(n) < gap { // float rounding
		n++
	}
	return n, true
}

// maxScanPerSeat bounds, for modes of more than two players, how many
// distinct ratings the search for one ticket's group looks at, per seat:
// a candidate can be compatible with the anchor and not with the group, and
// an unbounded search would make a pairing cycle quadratic. Duels need no
// bound: their search stops at the first compatible rating.
const maxScanPerSeat = 16

// entry is a queued ticket in the rating index. The fields the search reads
// are copied out of the ticket so that it walks one contiguous array.
type entry struct {
	rating  float64
	win     float64 // the window at the cycle's now; set by index
	seq     uint64
	created int64 // UnixNano: keeps entry small, for the sort
	t       *member
}

// queue is one mode's searching tickets, kept twice: in arrival order, for
// oldest-first service and expiry, and sorted by rating, for the closest
// compatible ratings by binary search. Tickets leave lazily: removal clears
// ticket.queued, and the dead entries are dropped in bulk.
//
// A queue is owned by its Matchmaker; every method must be called with
// Matchmaker.mu held.
type queue struct {
	mode   match.Mode
	window Window

	order  []*member // by seq, oldest first; holds dead entries until compaction
	sorted []entry   // by (rating, seq); only tickets indexed by pair, some dead
	fresh  []*member // added since the last pair, not yet in sorted
	live   int       // queued tickets
	dead   int       // entries of order whose ticket is no longer queued

	dirty   bool      // tickets were added since the last pair
	readded bool      // fresh is not in seq order
	wakeAt  time.Time // when pair may next find a group absent new tickets; zero: never

	// Scratch of pair, reused across cycles.
	spare        []entry
	spare2       []entry // sortFresh's other buffer
	keys         []radixKey
	rnext, lnext []int32 // skip pointers over entries taken in this cycle
	members      []int32
}

func newQueue(mode match.Mode, w Window) *queue {
	return &queue{mode: mode, window: w}
}

// add queues t, which must be newer (by seq) than every ticket in q.
func (q *queue) add(t *member) {
	t.queued = true
	q.order = append(q.order, t)
	q.fresh = append(q.fresh, t)
	q.live++
	q.dirty = true
}

// readd puts back t, which left q for a group whose match did not start,
// at its place in arrival order.
func (q *queue) readd(t *member) {
	t.queued = true
	q.readded = true
	i, _ := slices.BinarySearchFunc(q.order, t.Seq, func(e *member, seq uint64) int { return cmp.Compare(e.Seq, seq) })
	q.order = slices.Insert(q.order, i, t)
	q.fresh = append(q.fresh, t)
	q.live++
	q.dirty = true
}

// remove takes the queued t out of q.
func (q *queue) remove(t *member) {
	t.queued = false
	q.live--
	q.dead++
	q.compact()
}

// put adds e, a new member, to q in arrival order.
func (q *queue) put(e *member) {
	if n := len(q.order); n > 0 && q.order[n-1].Seq > e.Seq {
		q.readd(e)
		return
	}
	q.add(e)
}

// expire takes out of q, oldest first, the members that have searched for
// ttl — those of other servers for ttl + grace, so that their own server,
// which has their waiters, normally expires them — and returns them with
// when the next one is due (zero: none is queued).
func (q *queue) expire(now time.Time, ttl, grace time.Duration) (out []*member, next time.Time) {
	for _, e := range q.order {
		if !e.queued {
			continue
		}
		due := e.CreatedAt.Add(ttl)
		if now.Before(due) {
			next = earliestSet(next, due)
			break
		}
		if e.owner == nil {
			if due = due.Add(grace); now.Before(due) {
				next = earliestSet(next, due)
				continue
			}
		}
		// As remove, without compacting order under the loop.
		e.queued = false
		q.live--
		q.dead++
		out = append(out, e)
	}
	q.compact()
	if q.live == 0 {
		q.reset()
	}
	return out, next
}

// compact drops the dead entries of order once they are the majority, so
// that removal is amortized O(1).
func (q *queue) compact() {
	if q.dead > 64 && q.dead > len(q.order)/2 {
		q.order = slices.DeleteFunc(q.order, func(t *member) bool { return !t.queued })
		q.dead = 0
	}
}

// reset empties q, keeping the capacity of its buffers.
func (q *queue) reset() {
	clear(q.order)
	clear(q.sorted)
	clear(q.fresh)
	q.order, q.sorted, q.fresh = q.order[:0], q.sorted[:0], q.fresh[:0]
	q.live, q.dead = 0, 0
	q.wakeAt = time.Time{}
}

// index merges the fresh tickets into the rating index, drops the dead
// entries, and sets every entry's window for now and its ticket's pos.
func (q *queue) index(now time.Time) {
	if q.readded {
		// The radix sort keeps equal ratings in their order here.
		slices.SortFunc(q.fresh, func(a, b *member) int { return cmp.Compare(a.Seq, b.Seq) })
		q.readded = false
	}
	fresh := q.spare[:0]
	for _, t := range q.fresh {
		if t.queued {
			r := t.Rating
			if r == 0 {
				r = 0 // -0 sorts as +0, as compareEntries has it
			}
			fresh = append(fresh, entry{rating: r, seq: t.Seq, created: t.CreatedAt.UnixNano(), t: t})
		}
	}
	clear(q.fresh)
	q.fresh = q.fresh[:0]
	fresh = q.sortFresh(fresh)

	// Merge in place from the back: grow sorted, then fill it from its end.
	old := len(q.sorted)
	q.sorted = slices.Grow(q.sorted, len(fresh))[:old+len(fresh)]
	i, j, k := old-1, len(fresh)-1, len(q.sorted)-1
	for j >= 0 {
		if i >= 0 && compareEntries(q.sorted[i], fresh[j]) > 0 {
			q.sorted[k] = q.sorted[i]
			i--
		} else {
			q.sorted[k] = fresh[j]
			j--
		}
		k--
	}
	clear(fresh)
	q.spare = fresh[:0]

	// Drop the dead and refresh the windows.
	n, unow := 0, now.UnixNano()
	for _, e := range q.sorted {
		if !e.t.queued {
			continue
		}
		e.win = q.window.At(time.Duration(unow - e.created))
		e.t.pos = int32(n)
		q.sorted[n] = e
		n++
	}
	clear(q.sorted[n:])
	q.sorted = q.sorted[:n]
}

// sortFresh sorts es, in seq order, by (rating, seq) and returns the
// result, which may be q.spare2 rather than es. It is a stable LSD radix
// sort on the ratings' bits, 8 bits a pass, skipping the passes whose digit
// is the same for every key: after every arrival of a crowd, sorting the
// newcomers is most of a cycle, and a comparison sort takes several times as
// long as this.
func (q *queue) sortFresh(es []entry) []entry {
	n := len(es)
	if n < 256 {
		slices.SortFunc(es, compareEntries)
		return es
	}
	keys := slices.Grow(q.keys[:0], 2*n)[:2*n]
	src, dst := keys[:n], keys[n:]
	var counts [8][256]int32
	for i, e := range es {
		b := math.Float64bits(e.rating)
		if b>>63 != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		src[i] = radixKey{b, int32(i)}
		for d := range 8 {
			counts[d][byte(b>>(8*d))]++
		}
	}
	for d := range 8 {
		c := &counts[d]
		if c[byte(src[0].k>>(8*d))] == int32(n) {
			continue // every key has this digit
		}
		var sum int32
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		for _, k := range src {
			b := byte(k.k >> (8 * d))
			dst[c[b]] = k
			c[b]++
		}
		src, dst = dst, src
	}
	out := slices.Grow(q.spare2[:0], n)[:n]
	for i, k := range src {
		out[i] = es[k.i]
	}
	clear(es)
	q.spare2 = es[:0]
	q.keys = keys[:0]
	return out
}

type radixKey struct {
	k uint64 // the rating's bits, ordered as the ratings are
	i int32  // index of the entry
}

func compareEntries(a, b entry) int {
	switch {
	case a.rating < b.rating:
		return -1
	case a.rating > b.rating:
		return 1
	}
	return cmp.Compare(a.seq, b.seq)
}

// pair is the pairing policy. It forms the groups that should start at now,
// takes their tickets out of q, and returns them, each in seat order (oldest
// first), with when pairing may next find a group if no ticket is added
// (zero: never).
//
// Tickets are served oldest first. For each, the group is built by adding
// the candidates closest in rating (ties: oldest first) that are compatible
// with every member so far — each pair of members within both members'
// windows at now. A full group starts at once. A mode that may start
// short-handed (MinPlayers < Players) starts a group of at least MinPlayers
// once its oldest member has searched for the mode's FillWait.
func (q *queue) pair(now time.Time) (groups [][]*member, next time.Time) {
	q.dirty = false
	q.index(now)
	n := len(q.sorted)
	if n == 0 {
		return nil, time.Time{}
	}
	q.resetSkips(n)
	shortOK := q.mode.MinPlayers < q.mode.Players
	var seats []*member // backing array of the groups' tickets
	for _, a := range q.order {
		if !a.queued {
			continue // dead, or taken in this cycle
		}
		g := q.build(a.pos)
		switch {
		case len(g) == q.mode.Players:
		case shortOK && len(g) >= q.mode.MinPlayers:
			at := q.oldest(g).Add(q.mode.FillWait)
			if now.Before(at) {
				next = earliestSet(next, at)
				continue
			}
		default:
			continue
		}
		if len(seats)+len(g) > cap(seats) {
			// One array for many groups: an allocation per group would
			// be most of the cost of a large cycle.
			seats = make([]*member, 0, max(len(g), q.live/4, 64))
		}
		ts := seats[len(seats) : len(seats)+len(g) : len(seats)+len(g)]
		seats = seats[:len(seats)+len(g)]
		for i, p := range g {
			ts[i] = q.sorted[p].t
			q.take(p)
		}
		if len(ts) == 2 {
			if ts[1].Seq < ts[0].Seq {
				ts[0], ts[1] = ts[1], ts[0]
			}
		} else {
			slices.SortFunc(ts, func(a, b *member) int { return cmp.Compare(a.Seq, b.Seq) })
		}
		groups = append(groups, ts)
	}
	next = earliestSet(next, q.widening(now))

	if len(groups) > 0 {
		// Drop the taken entries: a ticket whose match fails to start
		// comes back through readd and must not be indexed twice.
		m := 0
		for i, e := range q.sorted {
			if q.taken(int32(i)) {
				continue
			}
			q.sorted[m] = e
			m++
		}
		clear(q.sorted[m:])
		q.sorted = q.sorted[:m]
		q.compact()
	}
	return groups, next
}

// build returns the group anchored on the entry at pos, as entry indexes,
// anchor first. The result is valid until the next call.
func (q *queue) build(pos int32) []int32 {
	g := append(q.members[:0], pos)
	defer func() { q.members = g[:0] }()
	need := q.mode.Players
	if need <= 1 {
		return g
	}
	s := q.sorted
	a := &s[pos]
	budget := math.MaxInt
	if need > 2 {
		budget = maxScanPerSeat * need
	}
	n := int32(len(s))
	l, r := q.left(pos-1), q.right(pos+1)
	for len(g) < need && budget > 0 {
		gl, gr := math.Inf(1), math.Inf(1)
		if l >= 0 {
			gl = a.rating - s[l].rating
		}
		if r < n {
			gr = s[r].rating - a.rating
		}
		gap := min(gl, gr)
		if gap > a.win {
			break // also when both sides are exhausted (gap = +Inf)
		}
		// The runs of equal rating at this gap: the left run is [llo, l],
		// the right one [r, rhi]. Within a run, entries are oldest first,
		// and an older ticket's window is at least as wide.
		li, ri := int32(-1), n // cursors into the runs; -1 / n: no run
		var lEnd, rEnd int32
		if gl == gap {
			lEnd = l
			li = q.right(q.runStart(l))
			budget--
		}
		if gr == gap {
			ri = r
			rEnd = q.runEnd(r)
			budget--
		}
		for len(g) < need && (li >= 0 || ri < n) {
			var c int32
			fromLeft := ri >= n || (li >= 0 && s[li].seq < s[ri].seq)
			if fromLeft {
				c = li
			} else {
				c = ri
			}
			if !q.fits(c, g) {
				// Every newer ticket of this run has the same gaps and a
				// window no wider: the run is done.
				if fromLeft {
					li = -1
				} else {
					ri = n
				}
				continue
			}
			g = append(g, c)
			if fromLeft {
				if li = q.right(li + 1); li > lEnd {
					li = -1
				}
			} else {
				if ri = q.right(ri + 1); ri > rEnd {
					ri = n
				}
			}
		}
		if gl == gap {
			l = q.left(q.runStart(l) - 1)
		}
		if gr == gap {
			r = q.right(rEnd + 1)
		}
	}
	return g
}

// fits reports whether the entry at c is compatible with every member of g.
func (q *queue) fits(c int32, g []int32) bool {
	e := &q.sorted[c]
	for _, m := range g {
		o := &q.sorted[m]
		if math.Abs(e.rating-o.rating) > min(e.win, o.win) {
			return false
		}
	}
	return true
}

// runStart returns the first index (live or not) with the rating of entry i.
func (q *queue) runStart(i int32) int32 {
	s := q.sorted
	if i == 0 || s[i-1].rating != s[i].rating {
		return i
	}
	j, _ := slices.BinarySearchFunc(s[:i], s[i].rating, func(e entry, r float64) int { return cmp.Compare(e.rating, r) })
	return int32(j)
}

// runEnd returns the last index (live or not) with the rating of entry i.
func (q *queue) runEnd(i int32) int32 {
	s := q.sorted
	if int(i) == len(s)-1 || s[i+1].rating != s[i].rating {
		return i
	}
	r := s[i].rating
	j, _ := slices.BinarySearchFunc(s[i:], math.Nextafter(r, math.Inf(1)), func(e entry, r float64) int { return cmp.Compare(e.rating, r) })
	return i + int32(j) - 1
}

// oldest returns the creation time of the oldest member of g.
func (q *queue) oldest(g []int32) time.Time {
	at := q.sorted[g[0]].t
	for _, m := range g[1:] {
		if t := q.sorted[m].t; t.Seq < at.Seq {
			at = t
		}
	}
	return at.CreatedAt
}

// widening returns the first instant after now at which a ticket left in q
// may become compatible with one it is not compatible with now, or zero if
// none ever may. Compatibility changes only when a window grows past a gap,
// so for each ticket it is when its window first covers the nearest ticket
// beyond its current window.
func (q *queue) widening(now time.Time) time.Time {
	if !q.window.widens() {
		return time.Time{}
	}
	s := q.sorted
	n := int32(len(s))
	var next time.Time
	for i := q.right(0); i < n; i = q.right(i + 1) {
		e := &s[i]
		gap := math.Inf(1)
		// The nearest live entry below rating − win, and above rating + win.
		lo, _ := slices.BinarySearchFunc(s, e.rating-e.win, func(x entry, r float64) int { return cmp.Compare(x.rating, r) })
		if j := q.left(int32(lo) - 1); j >= 0 {
			gap = e.rating - s[j].rating
		}
		hi, _ := slices.BinarySearchFunc(s, math.Nextafter(e.rating+e.win, math.Inf(1)), func(x entry, r float64) int { return cmp.Compare(x.rating, r) })
		if j := q.right(int32(hi)); j < n {
			gap = min(gap, s[j].rating-e.rating)
		}
		k, ok := q.window.stepsTo(gap)
		if !ok {
			continue
		}
		at := e.t.CreatedAt.Add(time.Duration(k) * q.window.Interval)
		if !at.After(now) { // rounding: the window already covers it
			continue
		}
		next = earliestSet(next, at)
	}
	return next
}

// Skip pointers: entries taken in this cycle stay in sorted, and right(i)
// and left(i) jump over them in near-constant time (path halving), so that
// the search around a ticket never walks over a long run of taken ones.
// rnext[i] = i for a live entry i; lnext is shifted by one so that -1 fits.

func (q *queue) resetSkips(n int) {
	q.rnext = slices.Grow(q.rnext[:0], n+1)[:n+1]
	q.lnext = slices.Grow(q.lnext[:0], n+1)[:n+1]
	for i := range n + 1 {
		q.rnext[i] = int32(i)
		q.lnext[i] = int32(i)
	}
}

func (q *queue) take(i int32) {
	q.sorted[i].t.queued = false
	q.live--
	q.dead++
	q.rnext[i] = i + 1
	q.lnext[i+1] = i
}

func (q *queue) taken(i int32) bool { return q.rnext[i] != i }

// right returns the first live entry at or after i, or len(sorted).
func (q *queue) right(i int32) int32 {
	p := q.rnext
	for p[i] != i {
		p[i] = p[p[i]]
		i = p[i]
	}
	return i
}

// left returns the last live entry at or before i, or -1.
func (q *queue) left(i int32) int32 {
	p := q.lnext
	j := i + 1
	for p[j] != j {
		p[j] = p[p[j]]
		j = p[j]
	}
	return j - 1
}

// earliestSet is earliest where the zero time means "never".
func earliestSet(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	}
	return earliest(a, b)
}

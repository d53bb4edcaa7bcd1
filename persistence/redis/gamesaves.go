package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The live games' saves (Checkpoints.SaveGame) go through one bounded
// queue to a few writer goroutines. A writer takes every request waiting
// (up to maxSaveBatch), sends them as one pipeline of EVALSHA and answers
// each with its own result: auto-pipelining, as rueidis does it.
//
// Why: every event room blocks on its save before it broadcasts the change
// (match.GameStore), and with one round trip per save on go-redis's pool,
// a busy server's rooms queue for a connection — at 5,000 chess games on
// one core, 890 rooms were found waiting for one of the pool's 10 — while
// each save costs two system calls of its own. With the writers, a save
// goes at once while a writer is idle; when all are busy, saves gather and
// the next writer free takes them together, so batches grow with the load.
//
// Why several writers: on a busy core a goroutine whose reply has arrived
// waits for its turn to run (the runtime finds network readiness between
// other goroutines' work, and runs it behind them), a wait that may last
// milliseconds. With one writer every save waits for the pipeline in
// flight and then its own, two such waits in a row; with several, a save
// rarely waits for another's pipeline.
//
// Order: a room whose save timed out goes on and saves its game again, and
// the newer save must not reach Redis before the older one. So no two saves
// of one match are in flight at once: a save waits in the queue while an
// earlier one of its match is in a pipeline, and the queue is served
// oldest first.
//
// A caller waits for its answer or its context, whichever comes first.
// The writer bounds a pipeline by the latest of its callers' deadlines,
// but go-redis cuts a socket read or write short only at its own
// ReadTimeout and WriteTimeout (5 s by default: ContextTimeoutEnabled is
// off), so with Redis stalled a pipeline may hold its writer that long;
// the saves queued meanwhile whose callers have given up are then skipped.

const (
	// DefaultMaxPendingSaves bounds the game saves waiting for the writer
	// when CheckpointConfig.MaxPendingSaves is zero. A room has at most one
	// save waiting (it blocks on it), so this is more games than a server
	// runs; past it SaveGame fails at once with ErrSaveQueueFull.
	DefaultMaxPendingSaves = 10_000
	// DefaultSaveWriters is how many pipelines of saves may be in flight
	// at once when CheckpointConfig.SaveWriters is zero.
	DefaultSaveWriters = 8
	// maxSaveBatch bounds one pipeline: a longer queue goes in several, so
	// that no save's answer waits for thousands of others' (Redis runs one
	// in 10–30 µs).
	maxSaveBatch = 256
	// saveWait bounds a pipeline of requests whose contexts have no
	// deadline.
	saveWait = 5 * time.Second
	// drainWait bounds sending what is still queued when the writer stops.
	drainWait = 2 * time.Second
)

// ErrSaveQueueFull is SaveGame's answer when MaxPendingSaves saves are
// waiting already: Redis is not keeping up.
var ErrSaveQueueFull = errors.New("game save queue full")

// ErrSavesStopped is SaveGame's answer once Checkpoints.Run has returned:
// nothing sends saves any more.
var ErrSavesStopped = errors.New("game saves stopped")

// saveRequest is one SaveGame waiting for the writer.
type saveRequest struct {
	// ctx is the caller's, which the request carries as an http.Request
	// does: the writer does not send a request whose caller has stopped
	// waiting, and bounds the pipeline by its callers' deadlines.
	ctx  context.Context
	id   string // the match's
	keys []string
	args []any
	done chan error // size one: the writer's answer, sent exactly once
}

// saveQueue is the queue and its writers (run).
type saveQueue struct {
	rdb     *goredis.Client
	max     int // requests queued at most
	writers int
	stats   *CheckpointStats
	wake    chan struct{} // size one: a pending wake-up covers any number of requests
	mu      struct {
		sync.Mutex
		queue    []*saveRequest      // oldest first
		inFlight map[string]struct{} // matches with a save in a pipeline
		stopped  bool                // run is stopping: nothing new is queued
	}
}

func newSaveQueue(rdb *goredis.Client, maxPending, writers int, stats *CheckpointStats) *saveQueue {
	q := &saveQueue{rdb: rdb, max: maxPending, writers: writers, stats: stats, wake: make(chan struct{}, 1)}
	q.mu.inFlight = make(map[string]struct{})
	return q
}

// enqueue queues r for the writers, or fails at once when the queue is
// full or the writers have stopped. Before run starts, requests wait in
// the queue. Safe for concurrent use.
func (q *saveQueue) enqueue(r *saveRequest) error {
	q.mu.Lock()
	switch {
	case q.mu.stopped:
		q.mu.Unlock()
		return ErrSavesStopped
	case len(q.mu.queue) >= q.max:
		q.mu.Unlock()
		q.stats.SavesRefused.Add(1)
		return ErrSaveQueueFull
	}
	q.mu.queue = append(q.mu.queue, r)
	q.mu.Unlock()
	q.signal()
	return nil
}

// signal wakes an idle writer, if any.
func (q *saveQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pending returns how many requests are queued.
func (q *saveQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mu.queue)
}

// run runs the writers until ctx ends. Then it refuses new requests,
// sends those still queued (within drainWait) and fails what it could not
// send. Call it once.
func (q *saveQueue) run(ctx context.Context) {
	// A pipeline in flight when ctx ends is not cut short: its saves may
	// well be confirmed, and their callers bound it with their deadlines.
	send := context.WithoutCancel(ctx)
	var writers sync.WaitGroup
	for range q.writers {
		writers.Go(func() {
			w := &saveWriter{q: q}
			for {
				select {
				case <-ctx.Done():
					return
				case <-q.wake:
				}
				for ctx.Err() == nil && w.sendNext(send) {
				}
			}
		})
	}
	writers.Wait()
	q.stop(send)
}

// stop refuses new requests, then sends those still queued, failing them
// with ErrSavesStopped after drainWait. The writers have returned.
func (q *saveQueue) stop(parent context.Context) {
	q.mu.Lock()
	q.mu.stopped = true
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(parent, drainWait)
	defer cancel()
	w := &saveWriter{q: q}
	for ctx.Err() == nil && w.sendNext(ctx) {
	}
	q.mu.Lock()
	left := q.mu.queue
	q.mu.queue = nil
	q.mu.Unlock()
	for _, r := range left {
		r.done <- ErrSavesStopped
	}
}

// saveWriter is one writer's buffers, reused from batch to batch. Owned by
// its goroutine.
type saveWriter struct {
	q     *saveQueue
	pipe  goredis.Pipeliner // reusable after each Exec; one goroutine's
	batch []*saveRequest    // taken from the queue
	live  []*saveRequest    // of batch, those whose callers still wait
	cmds  []*goredis.Cmd
}

// take moves up to maxSaveBatch requests, oldest first, from the queue to
// w.batch and marks their matches in flight; it leaves a request whose
// match has a save in flight (or in this batch) queued for later.
func (w *saveWriter) take() []*saveRequest {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	w.batch = w.batch[:0]
	kept := q.mu.queue[:0]
	for _, r := range q.mu.queue {
		if _, busy := q.mu.inFlight[r.id]; busy || len(w.batch) == maxSaveBatch {
			kept = append(kept, r)
			continue
		}
		q.mu.inFlight[r.id] = struct{}{}
		w.batch = append(w.batch, r)
	}
	clear(q.mu.queue[len(kept):]) // the writer answers them; the queue forgets them
	q.mu.queue = kept
	return w.batch
}

// done clears batch's matches from the in-flight set and, if saves wait
// (some perhaps for these matches), wakes a writer for them.
func (w *saveWriter) done(batch []*saveRequest) {
	q := w.q
	q.mu.Lock()
	for _, r := range batch {
		delete(q.mu.inFlight, r.id)
	}
	waiting := len(q.mu.queue) > 0
	q.mu.Unlock()
	clear(batch) // keep no request alive until the next batch
	if waiting {
		q.signal()
	}
}

// sendNext sends one batch from the queue and answers its requests; it
// reports false when there was nothing to send.
func (w *saveWriter) sendNext(parent context.Context) bool {
	batch := w.take()
	if len(batch) == 0 {
		return false
	}
	defer w.done(batch)
	// Callers that stopped waiting are answered (nobody reads it) and not
	// sent; the pipeline lasts as long as the last caller waits.
	live := w.live[:0]
	var deadline time.Time
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		d, ok := r.ctx.Deadline()
		if !ok {
			d = time.Now().Add(saveWait)
		}
		if d.After(deadline) {
			deadline = d
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		ctx, cancel := context.WithDeadline(parent, deadline)
		w.send(ctx, live)
		cancel()
	}
	clear(live)
	w.live = live
	return true
}

// send runs reqs as one pipeline and answers each. A NOSCRIPT (Redis lost
// its script cache since the script was loaded: a restart, SCRIPT FLUSH)
// loads the script and sends the requests it failed once more.
func (w *saveWriter) send(ctx context.Context, reqs []*saveRequest) {
	q := w.q
	cmds := w.exec(ctx, reqs)
	var again []*saveRequest
	for i, cmd := range cmds {
		if goredis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, reqs[i])
			continue
		}
		q.answer(reqs[i], cmd)
	}
	if len(again) == 0 {
		return
	}
	if err := saveGame.Load(ctx, q.rdb).Err(); err != nil {
		for _, r := range again {
			r.done <- fmt.Errorf("load the save script: %w", err)
		}
		return
	}
	for i, cmd := range w.exec(ctx, again) {
		q.answer(again[i], cmd)
	}
}

// exec sends one EVALSHA of saveGame per request in one pipeline and
// returns the commands, each with its own reply or error.
func (w *saveWriter) exec(ctx context.Context, reqs []*saveRequest) []*goredis.Cmd {
	if w.pipe == nil {
		w.pipe = w.q.rdb.Pipeline()
	}
	pipe := w.pipe
	cmds := w.cmds[:0]
	for _, r := range reqs {
		cmds = append(cmds, pipe.EvalSha(ctx, saveGame.Hash(), r.keys, r.args...))
	}
	_, _ = pipe.Exec(ctx) // its error is the first command's; each command has its own
	w.q.stats.SaveBatches.Add(1)
	w.cmds = cmds
	return cmds
}

// answer gives r the result of its command: nil when the game was
// written, ErrTakenOver when another node owns the match.
func (q *saveQueue) answer(r *saveRequest, cmd *goredis.Cmd) {
	owner, err := cmd.Text()
	switch {
	case err != nil:
		r.done <- err
	case owner != "":
		q.stats.GameSaves.Add(1)
		r.done <- fmt.Errorf("%w (by %s)", ErrTakenOver, owner)
	default:
		q.stats.GameSaves.Add(1)
		r.done <- nil
	}
}

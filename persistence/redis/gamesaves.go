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
// queue to one writer goroutine, which sends every request waiting as one
// pipeline of EVALSHA and answers each with its own result: auto-
// pipelining, as rueidis does it.
//
// Why: every event room blocks on its save before it broadcasts the change
// (match.GameStore), and with one round trip per save on go-redis's pool,
// a busy server's rooms queue for a connection — at 5,000 chess games on
// one core, 890 rooms were found waiting for one of the pool's 10 — while
// each save costs two system calls of its own. With the writer a save
// waits at most for the pipeline in flight and its own; whatever arrived
// during one round trip goes in the next, so batches grow with the load
// and a lone save goes at once.
//
// One pipeline at a time, in the order the saves came: a room whose save
// timed out goes on and saves its game again, and the newer save must not
// reach Redis before the older one.
//
// A caller waits for its answer or its context, whichever comes first.
// The writer bounds a pipeline by the latest of its callers' deadlines,
// but go-redis cuts a socket read or write short only at its own
// ReadTimeout and WriteTimeout (5 s by default: ContextTimeoutEnabled is
// off), so with Redis stalled a pipeline may hold the writer that long;
// the saves queued meanwhile whose callers have given up are then skipped.

const (
	// DefaultMaxPendingSaves bounds the game saves waiting for the writer
	// when CheckpointConfig.MaxPendingSaves is zero. A room has at most one
	// save waiting (it blocks on it), so this is more games than a server
	// runs; past it SaveGame fails at once with ErrSaveQueueFull.
	DefaultMaxPendingSaves = 10_000
	// maxSaveBatch bounds one pipeline: a longer queue goes in several,
	// one after the other, so that no save's answer waits for thousands
	// of others' (Redis runs one in ~30 µs).
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
	keys []string
	args []any
	done chan error // size one: the writer's answer, sent exactly once
}

// saveQueue is the queue and its writer (run).
type saveQueue struct {
	rdb   *goredis.Client
	max   int // requests queued at most
	stats *CheckpointStats
	wake  chan struct{} // size one: a pending wake-up covers any number of requests
	mu    struct {
		sync.Mutex
		queue   []*saveRequest // oldest first
		stopped bool           // run has returned: nothing is taken any more
	}
	// Owned by the writer goroutine, reused from batch to batch.
	batch []*saveRequest
	cmds  []*goredis.Cmd
}

func newSaveQueue(rdb *goredis.Client, maxPending int, stats *CheckpointStats) *saveQueue {
	return &saveQueue{rdb: rdb, max: maxPending, stats: stats, wake: make(chan struct{}, 1)}
}

// enqueue queues r for the writer, or fails at once when the queue is full
// or the writer has stopped. Before run starts, requests wait in the queue.
// Safe for concurrent use.
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
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// pending returns how many requests are queued.
func (q *saveQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mu.queue)
}

// run is the writer: until ctx ends it sends what is queued, a batch at a
// time. Then it refuses new requests, sends what is still queued (within
// drainWait) and fails what it could not send. Call it once.
func (q *saveQueue) run(ctx context.Context) {
	// A pipeline in flight when ctx ends is not cut short: its saves may
	// well be confirmed, and their callers bound it with their deadlines.
	send := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			q.stop(send)
			return
		case <-q.wake:
		}
		for ctx.Err() == nil && q.sendNext(send) {
		}
	}
}

// stop refuses new requests, then sends those still queued, failing them
// with ErrSavesStopped after drainWait.
func (q *saveQueue) stop(parent context.Context) {
	q.mu.Lock()
	q.mu.stopped = true
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(parent, drainWait)
	defer cancel()
	for ctx.Err() == nil && q.sendNext(ctx) {
	}
	for {
		left := q.take()
		if len(left) == 0 {
			return
		}
		for _, r := range left {
			r.done <- ErrSavesStopped
		}
	}
}

// take removes up to maxSaveBatch requests from the head of the queue into
// q.batch and returns them. Writer goroutine only.
func (q *saveQueue) take() []*saveRequest {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.mu.queue), maxSaveBatch)
	q.batch = append(q.batch[:0], q.mu.queue[:n]...)
	rest := copy(q.mu.queue, q.mu.queue[n:])
	clear(q.mu.queue[rest:]) // the writer answers them; the queue forgets them
	q.mu.queue = q.mu.queue[:rest]
	return q.batch
}

// sendNext sends one batch from the head of the queue and answers its
// requests; it reports false when the queue was empty. Writer goroutine
// only.
func (q *saveQueue) sendNext(parent context.Context) bool {
	batch := q.take()
	if len(batch) == 0 {
		return false
	}
	// Callers that stopped waiting are answered (nobody reads it) and not
	// sent; the pipeline lasts as long as the last caller waits.
	live := batch[:0]
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
		q.send(ctx, live)
		cancel()
	}
	clear(batch[:cap(batch)]) // keep no request alive until the next batch
	return true
}

// send runs reqs as one pipeline and answers each. A NOSCRIPT (Redis lost
// its script cache since the script was loaded: a restart, SCRIPT FLUSH)
// loads the script and sends the requests it failed once more.
func (q *saveQueue) send(ctx context.Context, reqs []*saveRequest) {
	cmds := q.exec(ctx, reqs)
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
	for i, cmd := range q.exec(ctx, again) {
		q.answer(again[i], cmd)
	}
}

// exec sends one EVALSHA of saveGame per request in one pipeline and
// returns the commands, each with its own reply or error.
func (q *saveQueue) exec(ctx context.Context, reqs []*saveRequest) []*goredis.Cmd {
	pipe := q.rdb.Pipeline()
	cmds := q.cmds[:0]
	for _, r := range reqs {
		cmds = append(cmds, pipe.EvalSha(ctx, saveGame.Hash(), r.keys, r.args...))
	}
	_, _ = pipe.Exec(ctx) // its error is the first command's; each command has its own
	q.stats.SaveBatches.Add(1)
	q.cmds = cmds
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

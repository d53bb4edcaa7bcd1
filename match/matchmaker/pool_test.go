package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	gocmp "github.com/google/go-cmp/cmp"
)

// memPool is the MemoryPool with faults on demand and call counts, so
// that the tests can take the queue away and see what the Matchmakers do.
type memPool struct {
	*MemoryPool
	mu    sync.Mutex
	fail  error          // every call fails with it while set
	calls map[string]int // by method
}

func newMemPool() *memPool {
	return &memPool{MemoryPool: NewMemoryPool(nil), calls: map[string]int{}}
}

func (p *memPool) begin(method string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[method]++
	return p.fail
}

func (p *memPool) setFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = err
}

func (p *memPool) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

// trim forgets the log, as a Redis stream trimmed past every reader.
func (p *memPool) trim() {
	p.MemoryPool.mu.Lock()
	defer p.MemoryPool.mu.Unlock()
	p.forgetLocked(len(p.log))
}

// state is the pool's view of ticket id (zero if it has none).
func (p *memPool) state(id string) PoolState {
	st, _ := p.MemoryPool.Lookup(context.Background(), id)
	return st
}

func (p *memPool) Publish(ctx context.Context, pt PoolTicket, ttl time.Duration) (uint64, error) {
	if err := p.begin("Publish"); err != nil {
		return 0, err
	}
	return p.MemoryPool.Publish(ctx, pt, ttl)
}

func (p *memPool) Changes(ctx context.Context, cursor string) (PoolChanges, error) {
	if err := p.begin("Changes"); err != nil {
		return PoolChanges{}, err
	}
	return p.MemoryPool.Changes(ctx, cursor)
}

func (p *memPool) Claim(ctx context.Context, claimer string, ids []string) ([]string, error) {
	if err := p.begin("Claim"); err != nil {
		return nil, err
	}
	return p.MemoryPool.Claim(ctx, claimer, ids)
}

func (p *memPool) Release(ctx context.Context, claimer string, ids []string) error {
	if err := p.begin("Release"); err != nil {
		return err
	}
	return p.MemoryPool.Release(ctx, claimer, ids)
}

func (p *memPool) Seat(ctx context.Context, claimer string, seats []PoolSeat, until time.Time, keep time.Duration) ([]string, error) {
	if err := p.begin("Seat"); err != nil {
		return nil, err
	}
	return p.MemoryPool.Seat(ctx, claimer, seats, until, keep)
}

func (p *memPool) Withdraw(ctx context.Context, id, playerID string, s Status, keep time.Duration) (Status, error) {
	if err := p.begin("Withdraw"); err != nil {
		return "", err
	}
	return p.MemoryPool.Withdraw(ctx, id, playerID, s, keep)
}

func (p *memPool) Lookup(ctx context.Context, id string) (PoolState, error) {
	if err := p.begin("Lookup"); err != nil {
		return PoolState{}, err
	}
	return p.MemoryPool.Lookup(ctx, id)
}

func (p *memPool) Free(ctx context.Context, matchID string, players []string) error {
	if err := p.begin("Free"); err != nil {
		return err
	}
	return p.MemoryPool.Free(ctx, matchID, players)
}

func (p *memPool) Alive(ctx context.Context, instance string, ttl time.Duration) error {
	if err := p.begin("Alive"); err != nil {
		return err
	}
	return p.MemoryPool.Alive(ctx, instance, ttl)
}

// settle lets every server read the pool's changes (PoolPoll is 200 ms)
// and act on them.
func settle() {
	time.Sleep(time.Second)
	synctest.Wait()
}

// server is one Matchmaker on a shared pool, as one process would run it.
type server struct {
	mm      *Matchmaker
	starter *fakeStarter
	url     string
	stop    func() // stops Run and waits for it (once)
}

// startTwo starts two servers, one and two, on a new shared pool, with the
// default configuration.
func startTwo(t *testing.T) (pool *memPool, one, two *server) {
	t.Helper()
	pool = newMemPool()
	return pool, startOn(t, pool, "http://one", Config{}), startOn(t, pool, "http://two", Config{})
}

// startOn makes a Matchmaker on pool with cfg and runs it until the test
// ends (or stop). Its matches are named after url, so that two servers'
// never collide. Call it inside a synctest bubble.
func startOn(t *testing.T, pool Pool, url string, cfg Config) *server {
	t.Helper()
	s := newOn(t, pool, url, cfg)
	s.run(t)
	return s
}

// newOn makes the server without running it.
func newOn(t *testing.T, pool Pool, url string, cfg Config) *server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.Modes == nil {
		cfg.Modes = testModes()
	}
	cfg.Pool, cfg.Server = pool, url
	fs := &fakeStarter{}
	name := strings.TrimPrefix(url, "http://")
	fs.name = func(n int) string { return fmt.Sprintf("%s-m%d", name, n) }
	return &server{mm: New(cfg, fs, testTokens), starter: fs, url: url, stop: func() {}}
}

func (s *server) run(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.mm.Run(ctx) }()
	s.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	t.Cleanup(s.stop)
}

// TestPoolPairsAcrossServers: tickets queued on two servers pair with each
// other; the server of the newest ticket starts the match, and the other
// one's player is sent there.
func TestPoolPairsAcrossServers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, one, two := startTwo(t)
		a := mustEnqueue(t, one.mm, "a", "duel")
		settle()
		b := mustEnqueue(t, two.mm, "b", "duel")
		settle()

		if got := one.starter.Calls(); len(got) != 0 {
			t.Errorf("server one started %v, want nothing: b, the newest, is two's", got)
		}
		if diff := gocmp.Diff([][]string{{"a", "b"}}, two.starter.Calls()); diff != "" {
			t.Fatalf("server two's Create calls (-want +got):\n%s", diff)
		}
		ga := wantStatus(t, one.mm, a, StatusMatched)
		gb := wantStatus(t, two.mm, b, StatusMatched)
		if ga.MatchID != "two-m1" || gb.MatchID != "two-m1" {
			t.Errorf("matches %q and %q, want both two-m1", ga.MatchID, gb.MatchID)
		}
		if ga.Server != "http://two" || gb.Server != "" {
			t.Errorf("servers %q (a, on one) and %q (b, on two), want http://two and \"\" (this server)", ga.Server, gb.Server)
		}
		for _, tk := range []Ticket{ga, gb} {
			c, err := testTokens.VerifyJoin(tk.JoinToken)
			if err != nil || c.PlayerID != tk.PlayerID || c.MatchID != "two-m1" {
				t.Errorf("join token of %s: %+v, %v", tk.PlayerID, c, err)
			}
		}
		for _, s := range []*server{one, two} {
			if diff := gocmp.Diff(map[string]int{"duel": 0, "ffa": 0}, s.mm.QueueSizes()); diff != "" {
				t.Errorf("%s: QueueSizes (-want +got):\n%s", s.url, diff)
			}
		}
	})
}

// TestPoolManyTickets: tickets queued on three servers in bursts all end in
// exactly one match each.
func TestPoolManyTickets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		servers := []*server{
			startOn(t, pool, "http://one", Config{}),
			startOn(t, pool, "http://two", Config{}),
			startOn(t, pool, "http://three", Config{}),
		}
		var tickets []Ticket
		for i := range 300 {
			tickets = append(tickets, mustEnqueue(t, servers[i%3].mm, fmt.Sprintf("p%03d", i), "duel"))
			if i%7 == 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		time.Sleep(5 * time.Second)
		settle()
		byMatch := map[string][]string{}
		for i, tk := range tickets {
			got := wantStatus(t, servers[i%3].mm, tk, StatusMatched)
			byMatch[got.MatchID] = append(byMatch[got.MatchID], tk.PlayerID)
		}
		created := 0
		for _, s := range servers {
			created += len(s.starter.Calls())
		}
		if created != 150 || len(byMatch) != 150 {
			t.Errorf("%d matches created, %d matches in tickets; want 150", created, len(byMatch))
		}
		for id, ps := range byMatch {
			if len(ps) != 2 {
				t.Errorf("match %s has tickets of %v, want 2", id, ps)
			}
		}
		claims := pool.count("Claim")
		if claims > 2*created {
			t.Errorf("%d claims for %d matches: the servers raced each other", claims, created)
		}
	})
}

// TestPoolOneTicketAcrossServers: the one-live-ticket-or-match rule holds
// across servers, and the match's end on its host frees the players.
func TestPoolOneTicketAcrossServers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, one, two := startTwo(t)
		a := mustEnqueue(t, one.mm, "a", "duel")
		if _, err := two.mm.Enqueue(t.Context(), "a", "ffa"); !errors.Is(err, ErrConflict) {
			t.Fatalf("Enqueue(a) on two while searching on one = %v, want ErrConflict", err)
		}
		if err := one.mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Fatal(err)
		}
		mustEnqueue(t, two.mm, "a", "duel")
		mustEnqueue(t, one.mm, "b", "duel") // newest: one hosts
		settle()
		if len(one.starter.Calls()) != 1 {
			t.Fatalf("one's Create calls = %v, want 1", one.starter.Calls())
		}
		for _, s := range []*server{one, two} {
			for _, p := range []string{"a", "b"} {
				if _, err := s.mm.Enqueue(t.Context(), p, "duel"); !errors.Is(err, ErrConflict) {
					t.Errorf("%s: Enqueue(%s) in a match = %v, want ErrConflict", s.url, p, err)
				}
			}
		}
		one.mm.MatchEnded(match.Result{MatchID: "one-m1", Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}})
		settle()
		mustEnqueue(t, two.mm, "a", "duel")
		mustEnqueue(t, two.mm, "b", "duel")
	})
}

// TestPoolCancel: a cancelled ticket is never matched, and any server can
// read and cancel any player's ticket.
func TestPoolCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, one, two := startTwo(t)
		a := mustEnqueue(t, one.mm, "a", "duel")
		settle()

		// Read and cancel a, one's ticket, on two.
		if got, err := two.mm.Ticket(t.Context(), a.ID, "a"); err != nil || got.Status != StatusSearching || got.ID != a.ID {
			t.Fatalf("two: Ticket(a's) = %+v, %v; want searching", got, err)
		}
		if _, err := two.mm.Ticket(t.Context(), a.ID, "mallory"); !errors.Is(err, ErrNotFound) {
			t.Errorf("two: Ticket(a's, mallory) = %v, want ErrNotFound", err)
		}
		if err := two.mm.Cancel(t.Context(), a.ID, "mallory"); !errors.Is(err, ErrNotFound) {
			t.Errorf("two: Cancel(a's, mallory) = %v, want ErrNotFound", err)
		}
		ch := waitAsync(t.Context(), one.mm, a)
		if err := two.mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Fatalf("two: Cancel(a's) = %v", err)
		}
		if r := <-ch; r.err != nil || r.tk.Status != StatusCancelled {
			t.Errorf("one: Wait(a) = %+v, %v; want cancelled", r.tk, r.err)
		}
		if err := two.mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Errorf("second Cancel = %v, want nil", err)
		}

		b := mustEnqueue(t, two.mm, "b", "duel")
		settle()
		wantStatus(t, two.mm, b, StatusSearching)
		c := mustEnqueue(t, one.mm, "c", "duel")
		settle()
		gb := wantStatus(t, two.mm, b, StatusMatched)
		if err := one.mm.Cancel(t.Context(), b.ID, "b"); !errors.Is(err, ErrMatched) {
			t.Errorf("one: Cancel(b's, matched) = %v, want ErrMatched", err)
		}
		if gb.Server != "http://one" {
			t.Errorf("two: b's server = %q, want http://one", gb.Server)
		}
		// Long-poll b, two's ticket, on one, which runs its match.
		if got, err := one.mm.Wait(t.Context(), b.ID, "b"); err != nil || got.MatchID != gb.MatchID || got.Server != "" {
			t.Errorf("one: Wait(b's) = %+v, %v; want matched in %s on this server", got, err, gb.MatchID)
		}
		wantStatus(t, one.mm, c, StatusMatched)
	})
}

// TestPoolStealAfter: a group left to a server that does not claim it is
// claimed by another after StealAfter.
func TestPoolStealAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		one := startOn(t, pool, "http://one", Config{StealAfter: 3 * time.Second})
		two := newOn(t, pool, "http://two", Config{}) // alive (its Enqueue beats), but its Run is stuck
		mustEnqueue(t, one.mm, "a", "duel")
		synctest.Wait()
		b := mustEnqueue(t, two.mm, "b", "duel")
		time.Sleep(3*time.Second - time.Millisecond)
		synctest.Wait()
		if got := one.starter.Calls(); len(got) != 0 {
			t.Fatalf("one started %v before StealAfter", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if diff := gocmp.Diff([][]string{{"a", "b"}}, one.starter.Calls()); diff != "" {
			t.Fatalf("one's Create calls after StealAfter (-want +got):\n%s", diff)
		}
		// two learns it when it runs.
		two.run(t)
		settle()
		if got := wantStatus(t, two.mm, b, StatusMatched); got.Server != "http://one" {
			t.Errorf("b: server %q, want http://one", got.Server)
		}
	})
}

// TestPoolCreateFailure: tickets whose match does not start go back to the
// pool, where another server may start it.
func TestPoolCreateFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		one := startOn(t, pool, "http://one", Config{CreateRetry: time.Minute})
		two := startOn(t, pool, "http://two", Config{StealAfter: 2 * time.Second})
		one.starter.mu.Lock()
		one.starter.fail = 1
		one.starter.mu.Unlock()
		mustEnqueue(t, two.mm, "a", "duel")
		settle()
		b := mustEnqueue(t, one.mm, "b", "duel")
		settle()
		if got := len(one.starter.Calls()); got != 1 {
			t.Fatalf("one's Create calls = %d, want 1 (failed)", got)
		}
		wantStatus(t, one.mm, b, StatusSearching)
		// one rests for a minute; two takes the group after StealAfter.
		time.Sleep(3 * time.Second)
		settle()
		if diff := gocmp.Diff([][]string{{"a", "b"}}, two.starter.Calls()); diff != "" {
			t.Fatalf("two's Create calls (-want +got):\n%s", diff)
		}
		if got := wantStatus(t, one.mm, b, StatusMatched); got.Server != "http://two" {
			t.Errorf("b: server %q, want http://two", got.Server)
		}
	})
}

// TestPoolExpiry: a ticket expires on its own server, through the pool.
func TestPoolExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Minute
		pool := newMemPool()
		one := startOn(t, pool, "http://one", Config{TicketTTL: ttl})
		startOn(t, pool, "http://two", Config{TicketTTL: ttl})
		a := mustEnqueue(t, one.mm, "a", "duel")
		ch := waitAsync(t.Context(), one.mm, a)
		time.Sleep(ttl - time.Millisecond)
		synctest.Wait()
		wantStatus(t, one.mm, a, StatusSearching)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if r := <-ch; r.err != nil || r.tk.Status != StatusExpired {
			t.Errorf("Wait = %+v, %v; want expired", r.tk, r.err)
		}
		if st := pool.state(a.ID); st.Status != StatusExpired {
			t.Errorf("pool: %s, want expired", st.Status)
		}
		mustEnqueue(t, one.mm, "a", "duel")
	})
}

// TestPoolShutdown: the tickets of a server that stopped are not matched;
// their players may queue elsewhere at once.
func TestPoolShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool, one, two := startTwo(t)
		a := mustEnqueue(t, one.mm, "a", "duel")
		settle()
		one.stop()
		b := mustEnqueue(t, two.mm, "b", "duel")
		settle()
		wantStatus(t, two.mm, b, StatusSearching)
		if st := pool.state(a.ID); st.Status != StatusExpired {
			t.Errorf("a, on the stopped server: %s in the pool, want expired", st.Status)
		}
		mustEnqueue(t, two.mm, "a", "duel")
		settle()
		wantStatus(t, two.mm, b, StatusMatched)
	})
}

// TestPoolUnavailable: while the pool fails, Enqueue answers
// ErrUnavailable and Run keeps going; afterwards everything catches up.
func TestPoolUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool, one, two := startTwo(t)
		a := mustEnqueue(t, one.mm, "a", "duel")
		settle()
		down := errors.New("pool down")
		pool.setFail(down)
		if _, err := two.mm.Enqueue(t.Context(), "b", "duel"); !errors.Is(err, ErrUnavailable) || !errors.Is(err, down) {
			t.Fatalf("Enqueue while the pool is down = %v, want ErrUnavailable wrapping the cause", err)
		}
		if _, err := two.mm.Ticket(t.Context(), a.ID, "a"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("two: Ticket(a's) while the pool is down = %v, want ErrUnavailable", err)
		}
		if err := one.mm.Cancel(t.Context(), a.ID, "a"); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Cancel while the pool is down = %v, want ErrUnavailable", err)
		}
		time.Sleep(6 * time.Second) // less than PoolAlive: nobody looks dead
		settle()
		pool.setFail(nil)
		b := mustEnqueue(t, two.mm, "b", "duel")
		time.Sleep(maxBackoff)
		settle()
		wantStatus(t, one.mm, a, StatusMatched)
		wantStatus(t, two.mm, b, StatusMatched)
	})
}

// TestPoolReset: a server that missed changes reloads the queue and still
// learns the fate of its tickets.
func TestPoolReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		one := startOn(t, pool, "http://one", Config{})
		two := newOn(t, pool, "http://two", Config{})
		b := mustEnqueue(t, two.mm, "b", "duel")
		a := mustEnqueue(t, one.mm, "a", "duel")
		settle()
		c := mustEnqueue(t, two.mm, "c", "duel")
		time.Sleep(2 * time.Second) // one has paired (b, a) while two is stuck
		settle()
		wantStatus(t, one.mm, a, StatusMatched)
		pool.trim()
		two.run(t) // its first read is a reset anyway; trimmed, it has no changes to read
		mustEnqueue(t, one.mm, "d", "duel")
		time.Sleep(5 * time.Second)
		settle()
		if got := wantStatus(t, two.mm, b, StatusMatched); got.Server != "http://one" {
			t.Errorf("b: server %q, want http://one", got.Server)
		}
		wantStatus(t, two.mm, c, StatusMatched)
	})
}

// TestPoolEndedBeforeSeat: a room that ends before its tickets are seated
// still frees its players.
func TestPoolEndedBeforeSeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		one := startOn(t, pool, "http://one", Config{})
		one.starter.hook = func(id string, players []string) {
			one.mm.MatchEnded(match.Result{MatchID: id, Aborted: true})
		}
		mustEnqueue(t, one.mm, "a", "duel")
		mustEnqueue(t, one.mm, "b", "duel")
		settle()
		mustEnqueue(t, one.mm, "a", "duel")
	})
}

// TestPoolMatchEndedAtShutdown: the matches that a shutdown ends report
// around and after Run's return; their players are freed all the same.
func TestPoolMatchEndedAtShutdown(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after Run returned %v", after), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, one, two := startTwo(t)
				mustEnqueue(t, two.mm, "a", "duel")
				mustEnqueue(t, one.mm, "b", "duel") // newest: one hosts
				settle()
				res := match.Result{MatchID: "one-m1", Aborted: true}
				if after {
					one.stop()
					one.mm.MatchEnded(res)
				} else {
					one.mm.MatchEnded(res) // queued for Run, which stops at once
					one.stop()
				}
				settle()
				mustEnqueue(t, two.mm, "a", "duel")
				mustEnqueue(t, two.mm, "b", "duel")
			})
		})
	}
}

// countingHandler counts the records logged at Info or above.
type countingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// TestPoolOutageLogsOnce: a 15 s outage of the pool is logged when it
// starts and when it ends, not at every retry (Run retries every 200 ms
// to 5 s meanwhile).
func TestPoolOutageLogsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		logs := &countingHandler{}
		s := startOn(t, pool, "http://one", Config{Logger: slog.New(logs)})
		mustEnqueue(t, s.mm, "a", "duel")
		settle()
		calls := func() int { return pool.count("Changes") + pool.count("Alive") }
		before := calls()
		pool.setFail(errors.New("pool down"))
		time.Sleep(15 * time.Second)
		synctest.Wait()
		failedCalls := calls() - before
		pool.setFail(nil)
		time.Sleep(maxBackoff)
		settle()
		logs.mu.Lock()
		defer logs.mu.Unlock()
		t.Logf("%d failed calls; logged %q", failedCalls, logs.msgs)
		if len(logs.msgs) > 3 || failedCalls < 5 {
			t.Errorf("%d lines logged over a 15 s outage with %d failed calls: %q; want the start and the end", len(logs.msgs), failedCalls, logs.msgs)
		}
	})
}

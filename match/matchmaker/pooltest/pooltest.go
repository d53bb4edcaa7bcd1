// Package pooltest checks an implementation of matchmaker.Pool against the
// contract the Matchmaker relies on, and runs Matchmakers on it: the
// in-memory pool of match/matchmaker and the Redis pool of
// persistence/redis pass the same suite.
package pooltest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
	"github.com/arbiter-gg/arbiter/match/matchmaker/matchmakertest"
	"github.com/google/go-cmp/cmp"
)

// Fixture is one empty pool under test.
type Fixture struct {
	// Pool is the pool.
	Pool matchmaker.Pool
	// Second is the same pool as another process sees it (its own
	// connections); an in-process pool may give Pool again.
	Second matchmaker.Pool
	// Forget makes the pool lose ticket id altogether, as if it had
	// never been published or its time were up.
	Forget func(t *testing.T, id string)
}

// Open opens an empty pool for one test, closed when the test ends. A
// logLen above zero bounds its log of changes to about that many, so that
// a reader can fall behind it; zero is the pool's default.
type Open func(t *testing.T, logLen int) Fixture

// Run runs the contract suite against the pools open makes.
func Run(t *testing.T, open Open) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"Lifecycle", testPoolLifecycle},
		{"ClaimIsAllOrNothing", testPoolClaimIsAllOrNothing},
		{"ClaimRace", testPoolClaimRace},
		{"OnePlayerOneTicket", testPoolOnePlayerOneTicket},
		{"Withdraw", testPoolWithdraw},
		{"StaleTicket", testPoolStaleTicket},
		{"ChangesReset", testPoolChangesReset},
		{"MatchmakerRules", testMatchmakerRules},
		{"RequeueWhileRunFrees", testRequeueWhileRunFrees},
		{"ClaimReplyLost", testClaimReplyLost},
		{"TwoMatchmakers", testTwoMatchmakers},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

const (
	testTTL  = time.Minute
	testKeep = time.Minute
)

// open opens an empty pool with home "h1" alive.
func open(t *testing.T, o Open, logLen int) Fixture {
	t.Helper()
	f := o(t, logLen)
	alive(t, f.Pool, "h1")
	return f
}

func alive(t *testing.T, p matchmaker.Pool, instance string) {
	t.Helper()
	if err := p.Alive(t.Context(), instance, time.Minute); err != nil {
		t.Fatalf("Alive(%s) = %v", instance, err)
	}
}

func publish(t *testing.T, p matchmaker.Pool, id, player, home string) matchmaker.PoolTicket {
	t.Helper()
	pt := matchmaker.PoolTicket{ID: id, PlayerID: player, Mode: "duel", Rating: 1500.5,
		CreatedAt: time.Unix(0, time.Now().UnixNano()), Home: home}
	seq, err := p.Publish(t.Context(), pt, testTTL)
	if err != nil {
		t.Fatalf("Publish(%s of %s) = %v", id, player, err)
	}
	pt.Seq = seq
	return pt
}

func changes(t *testing.T, p matchmaker.Pool, cursor string) matchmaker.PoolChanges {
	t.Helper()
	ch, err := p.Changes(t.Context(), cursor)
	if err != nil {
		t.Fatalf("Changes(%q) = %v", cursor, err)
	}
	return ch
}

func lookup(t *testing.T, p matchmaker.Pool, id string) matchmaker.PoolState {
	t.Helper()
	st, err := p.Lookup(t.Context(), id)
	if err != nil {
		t.Fatalf("Lookup(%s) = %v", id, err)
	}
	return st
}

func claim(t *testing.T, p matchmaker.Pool, claimer string, ids ...string) []string {
	t.Helper()
	lost, err := p.Claim(t.Context(), claimer, ids)
	if err != nil {
		t.Fatalf("Claim(%v) = %v", ids, err)
	}
	return lost
}

// TestPoolLifecycle follows two tickets from Publish to a match and the
// match's end, through the changes a second server reads.
func testPoolLifecycle(t *testing.T, o Open) {
	p := open(t, o, 0).Pool
	ctx := t.Context()
	a := publish(t, p, "ta", "alice", "h1")
	b := publish(t, p, "tb", "bob", "h1")
	if a.Seq == 0 || b.Seq <= a.Seq {
		t.Fatalf("seqs %d, %d: want increasing from 1", a.Seq, b.Seq)
	}

	ch := changes(t, p, "")
	if !ch.Reset || len(ch.Changes) != 0 {
		t.Fatalf("Changes(\"\") = %+v, want a reset with the snapshot only", ch)
	}
	if diff := cmp.Diff([]matchmaker.PoolTicket{a, b}, ch.Snapshot); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
	cursor := ch.Cursor
	if ch := changes(t, p, cursor); ch.Reset || len(ch.Changes) != 0 || ch.Cursor != cursor {
		t.Fatalf("Changes(cursor) with nothing new = %+v", ch)
	}

	if lost := claim(t, p, "h2", "ta", "tb"); len(lost) != 0 {
		t.Fatalf("Claim = lost %v, want none", lost)
	}
	if st := lookup(t, p, "ta"); st.Status != matchmaker.StatusSearching || !st.Claimed {
		t.Errorf("claimed ticket: %+v, want searching and claimed", st)
	}
	until := time.Now().Add(time.Hour)
	seats := []matchmaker.PoolSeat{
		{TicketID: "ta", MatchID: "m1", JoinToken: "tok-a", Host: "h2", Server: "http://two:8080"},
		{TicketID: "tb", MatchID: "m1", JoinToken: "tok-b", Host: "h2", Server: "http://two:8080"},
	}
	if unseated, err := p.Seat(ctx, "h2", seats, until, testKeep); err != nil || len(unseated) != 0 {
		t.Fatalf("Seat = %v, %v; want all seated", unseated, err)
	}
	ch = changes(t, p, cursor)
	want := []matchmaker.PoolChange{
		{Removed: []string{"ta", "tb"}, Reason: matchmaker.StatusMatched, Claimer: "h2"},
		{Seated: &seats[0]},
		{Seated: &seats[1]},
	}
	if diff := cmp.Diff(want, ch.Changes); diff != "" || ch.Reset {
		t.Fatalf("changes after the claim (reset %v) (-want +got):\n%s", ch.Reset, diff)
	}
	st := lookup(t, p, "tb")
	if diff := cmp.Diff(matchmaker.PoolState{PoolTicket: b, Status: matchmaker.StatusMatched, Seat: seats[1]}, st); diff != "" {
		t.Errorf("Lookup(tb) (-want +got):\n%s", diff)
	}
	if _, err := p.Lookup(ctx, "nope"); !errors.Is(err, matchmaker.ErrNotFound) {
		t.Errorf("Lookup(missing) = %v, want ErrNotFound", err)
	}

	// In the match: no second ticket until the match is freed.
	if _, err := p.Publish(ctx, matchmaker.PoolTicket{ID: "ta2", PlayerID: "alice", Mode: "duel", Home: "h1"}, testTTL); !errors.Is(err, matchmaker.ErrConflict) {
		t.Fatalf("Publish while in a match = %v, want ErrConflict", err)
	}
	if err := p.Free(ctx, "another match", []string{"alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, matchmaker.PoolTicket{ID: "ta2", PlayerID: "alice", Mode: "duel", Home: "h1"}, testTTL); !errors.Is(err, matchmaker.ErrConflict) {
		t.Fatalf("Publish after another match was freed = %v, want ErrConflict", err)
	}
	if err := p.Free(ctx, "m1", []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	publish(t, p, "ta2", "alice", "h1")
}

// TestPoolClaimIsAllOrNothing: a claim with one ticket that is no longer
// searching claims nothing and leaves the others as they were.
func testPoolClaimIsAllOrNothing(t *testing.T, o Open) {
	tests := []struct {
		name     string
		give     func(t *testing.T, f Fixture) // makes ticket "tx" unclaimable
		wantGone bool                          // the claim expired tx (its home is dead)
	}{
		{"claimed", func(t *testing.T, f Fixture) {
			p := f.Pool
			claim(t, p, "other", "tx")
		}, false},
		{"cancelled", func(t *testing.T, f Fixture) {
			p := f.Pool

			if _, err := p.Withdraw(t.Context(), "tx", "xavier", matchmaker.StatusCancelled, testKeep); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"expired", func(t *testing.T, f Fixture) {
			p := f.Pool

			if _, err := p.Withdraw(t.Context(), "tx", "", matchmaker.StatusExpired, testKeep); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"forgotten", func(t *testing.T, f Fixture) { f.Forget(t, "tx") }, false},
		{"home dead", func(t *testing.T, f Fixture) {
			p := f.Pool

			if err := p.Alive(t.Context(), "hx", 0); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := open(t, o, 0)
			p := f.Pool
			alive(t, p, "hx")
			publish(t, p, "ta", "alice", "h1")
			publish(t, p, "tx", "xavier", "hx")
			publish(t, p, "tb", "bob", "h1")
			tt.give(t, f)
			before := changes(t, p, "")

			if lost := claim(t, p, "me", "ta", "tx", "tb"); !slices.Equal(lost, []string{"tx"}) {
				t.Fatalf("Claim = lost %v, want [tx]", lost)
			}
			for _, id := range []string{"ta", "tb"} {
				if st := lookup(t, p, id); st.Status != matchmaker.StatusSearching || st.Claimed {
					t.Errorf("%s after the failed claim: %+v, want searching and unclaimed", id, st)
				}
			}
			after := changes(t, p, before.Cursor)
			var want []matchmaker.PoolChange
			if tt.wantGone {
				want = []matchmaker.PoolChange{{Removed: []string{"tx"}, Reason: matchmaker.StatusExpired}}
			}
			if diff := cmp.Diff(want, after.Changes); diff != "" {
				t.Errorf("changes made by the failed claim (-want +got):\n%s", diff)
			}
			// The two others can still be claimed together.
			if lost := claim(t, p, "me", "ta", "tb"); len(lost) != 0 {
				t.Errorf("Claim(ta, tb) = lost %v, want none", lost)
			}
		})
	}
}

// TestPoolClaimRace: claimers on two connections race for overlapping
// groups; every ticket is won by exactly one claim.
func testPoolClaimRace(t *testing.T, o Open) {
	f := open(t, o, 0)
	p1, p2 := f.Pool, f.Second
	const tickets = 200
	ids := make([]string, tickets)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%03d", i)
		publish(t, p1, ids[i], fmt.Sprintf("p%03d", i), "h1")
	}
	var (
		mu   sync.Mutex
		wins = map[string]int{}
	)
	var wg sync.WaitGroup
	for g := range 8 {
		p := []matchmaker.Pool{p1, p2}[g%2]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 400 {
				// A group of 2 or 3 neighbours: overlapping with the
				// others' groups most of the time.
				at := rng.IntN(tickets - 3)
				group := ids[at : at+2+rng.IntN(2)]
				lost, err := p.Claim(context.Background(), fmt.Sprintf("claimer%d", g), group)
				if err != nil {
					t.Errorf("Claim = %v", err)
					return
				}
				if len(lost) == 0 {
					mu.Lock()
					for _, id := range group {
						wins[id]++
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	claimed := 0
	for _, id := range ids {
		st := lookup(t, p1, id)
		switch n := wins[id]; {
		case n > 1:
			t.Errorf("ticket %s claimed %d times", id, n)
		case n == 1 && !st.Claimed, n == 0 && st.Claimed:
			t.Errorf("ticket %s: won %d claims, pool says claimed=%v", id, n, st.Claimed)
		}
		claimed += wins[id]
	}
	if claimed < tickets/2 {
		t.Errorf("only %d of %d tickets claimed: the race did not happen", claimed, tickets)
	}
}

// TestPoolOnePlayerOneTicket: the one-live-ticket rule holds across two
// processes on the same prefix, even when they race.
func testPoolOnePlayerOneTicket(t *testing.T, o Open) {
	f := open(t, o, 0)
	p1, p2 := f.Pool, f.Second
	alive(t, p2, "h2")
	ctx := t.Context()

	publish(t, p1, "t1", "alice", "h1")
	if _, err := p2.Publish(ctx, matchmaker.PoolTicket{ID: "t2", PlayerID: "alice", Mode: "ffa", Home: "h2"}, testTTL); !errors.Is(err, matchmaker.ErrConflict) {
		t.Fatalf("second Publish on another process = %v, want ErrConflict", err)
	}
	if _, err := p2.Withdraw(ctx, "t1", "mallory", matchmaker.StatusCancelled, testKeep); !errors.Is(err, matchmaker.ErrNotFound) {
		t.Errorf("Withdraw of someone else's ticket = %v, want ErrNotFound", err)
	}
	if s, err := p2.Withdraw(ctx, "t1", "alice", matchmaker.StatusCancelled, testKeep); err != nil || s != matchmaker.StatusCancelled {
		t.Fatalf("Withdraw = %v, %v; want cancelled", s, err)
	}
	publish(t, p2, "t2", "alice", "h2")

	// Racing publishes of one player, half on each process: one wins.
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		p, home := []matchmaker.Pool{p1, p2}[i%2], []string{"h1", "h2"}[i%2]
		wg.Go(func() {
			_, err := p.Publish(context.Background(), matchmaker.PoolTicket{ID: fmt.Sprintf("race%d", i), PlayerID: "bob", Mode: "duel", Home: home}, testTTL)
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, matchmaker.ErrConflict):
				t.Errorf("Publish = %v", err)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d of 20 racing publishes won, want 1", n)
	}
}

func testPoolWithdraw(t *testing.T, o Open) {
	tests := []struct {
		name    string
		give    func(t *testing.T, f Fixture) // acts on ticket "t1" of alice, home h1
		player  string
		status  matchmaker.Status
		want    matchmaker.Status
		wantErr error
	}{
		{"searching", func(*testing.T, Fixture) {}, "alice", matchmaker.StatusCancelled, matchmaker.StatusCancelled, nil},
		{"searching, expired", func(*testing.T, Fixture) {}, "", matchmaker.StatusExpired, matchmaker.StatusExpired, nil},
		{"already cancelled", func(t *testing.T, f Fixture) {
			p := f.Pool

			_, _ = p.Withdraw(t.Context(), "t1", "", matchmaker.StatusCancelled, testKeep)
		}, "alice", matchmaker.StatusExpired, matchmaker.StatusCancelled, nil},
		{"claimed", func(t *testing.T, f Fixture) {
			p := f.Pool
			claim(t, p, "h1", "t1")
		}, "alice", matchmaker.StatusCancelled, "", matchmaker.ErrMatched},
		{"claimed by a dead server", func(t *testing.T, f Fixture) {
			p := f.Pool
			claim(t, p, "dead", "t1")
		}, "", matchmaker.StatusExpired, matchmaker.StatusExpired, nil},
		{"matched", func(t *testing.T, f Fixture) {
			p := f.Pool

			claim(t, p, "h1", "t1")
			_, _ = p.Seat(t.Context(), "h1", []matchmaker.PoolSeat{{TicketID: "t1", MatchID: "m"}}, time.Now().Add(time.Hour), testKeep)
		}, "alice", matchmaker.StatusCancelled, "", matchmaker.ErrMatched},
		{"someone else's", func(*testing.T, Fixture) {}, "bob", matchmaker.StatusCancelled, "", matchmaker.ErrNotFound},
		{"forgotten", func(t *testing.T, f Fixture) { f.Forget(t, "t1") }, "alice", matchmaker.StatusCancelled, "", matchmaker.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := open(t, o, 0)
			p := f.Pool
			publish(t, p, "t1", "alice", "h1")
			tt.give(t, f)
			got, err := p.Withdraw(t.Context(), "t1", tt.player, tt.status, testKeep)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Withdraw(%s) = %q, %v; want %q, %v", tt.status, got, err, tt.want, tt.wantErr)
			}
			// A withdrawn ticket frees its player and cannot be claimed.
			if err == nil {
				if lost := claim(t, p, "h1", "t1"); len(lost) != 1 {
					t.Errorf("Claim of a withdrawn ticket = lost %v, want [t1]", lost)
				}
				publish(t, p, "t2", "alice", "h1")
			}
		})
	}
}

// TestPoolStaleTicket: a player whose ticket is on a server that stopped
// may queue again at once; the old ticket expires.
func testPoolStaleTicket(t *testing.T, o Open) {
	p := open(t, o, 0).Pool
	alive(t, p, "gone")
	publish(t, p, "old", "alice", "gone")
	cursor := changes(t, p, "").Cursor
	if err := p.Alive(t.Context(), "gone", 0); err != nil {
		t.Fatal(err)
	}
	publish(t, p, "new", "alice", "h1")
	if st := lookup(t, p, "old"); st.Status != matchmaker.StatusExpired {
		t.Errorf("old ticket: %s, want expired", st.Status)
	}
	ch := changes(t, p, cursor)
	if len(ch.Changes) != 2 || !slices.Equal(ch.Changes[0].Removed, []string{"old"}) || ch.Changes[1].Added == nil || ch.Changes[1].Added.ID != "new" {
		t.Errorf("changes = %+v, want old removed, then new added", ch.Changes)
	}
}

// TestPoolChangesReset: a reader that fell behind the trimmed log gets the
// whole queue instead of a gap.
func testPoolChangesReset(t *testing.T, o Open) {
	p := open(t, o, 10).Pool
	cursor := changes(t, p, "").Cursor
	var want []string
	for i := range 300 {
		pt := publish(t, p, fmt.Sprintf("t%03d", i), fmt.Sprintf("p%03d", i), "h1")
		if i%3 == 0 {
			claim(t, p, "h1", pt.ID)
		} else {
			want = append(want, pt.ID)
		}
	}
	ch := changes(t, p, cursor)
	if !ch.Reset {
		t.Fatalf("Changes after 400 changes with a log of 10 = %+v, want a reset", ch)
	}
	var got []string
	for _, pt := range ch.Snapshot {
		got = append(got, pt.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
}

// TestTwoMatchmakers: two matchmakers on two connections share a queue on
// the real Redis; 1,000 tickets queued across both each end in exactly one
// match.
func testTwoMatchmakers(t *testing.T, o Open) {
	f := o(t, 0)
	tokens := match.NewTokens([]byte("pool test"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	type server struct {
		mm      *matchmaker.Matchmaker
		starter *countingStarter
	}
	var servers []server
	for i, p := range []matchmaker.Pool{f.Pool, f.Second} {
		st := &countingStarter{name: fmt.Sprintf("s%d", i)}
		mm := matchmaker.New(matchmaker.Config{Pool: p, Server: fmt.Sprintf("http://server%d", i),
			Logger: log, PoolPoll: 20 * time.Millisecond, Modes: matchmakertest.Modes()}, st, tokens)
		matchmakertest.Run(t, mm)
		servers = append(servers, server{mm, st})
	}

	const players = 1000
	tickets := make([]matchmaker.Ticket, players)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < players; i += 16 {
				tk, err := servers[i%2].mm.Enqueue(t.Context(), fmt.Sprintf("p%04d", i), "duel")
				if err != nil {
					t.Errorf("Enqueue(p%04d) = %v", i, err)
					return
				}
				tickets[i] = tk
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	byMatch := map[string][]string{}
	for i, tk := range tickets {
		got, err := servers[i%2].mm.Wait(ctx, tk.ID, tk.PlayerID)
		if err != nil || got.Status != matchmaker.StatusMatched {
			t.Fatalf("Wait(ticket of %s) = %+v, %v; want matched", tk.PlayerID, got, err)
		}
		claims, err := tokens.VerifyJoin(got.JoinToken)
		if err != nil || claims.PlayerID != tk.PlayerID || claims.MatchID != got.MatchID {
			t.Errorf("join token of %s: %+v, %v", tk.PlayerID, claims, err)
		}
		byMatch[got.MatchID] = append(byMatch[got.MatchID], tk.PlayerID)
	}
	created := map[string][]string{}
	cross := 0
	for _, s := range servers {
		for id, ps := range s.starter.made() {
			if _, dup := created[id]; dup {
				t.Fatalf("match %s created twice", id)
			}
			created[id] = ps
			if ps[0][len(ps[0])-1]%2 != ps[1][len(ps[1])-1]%2 { // players queued on different servers
				cross++
			}
		}
	}
	if len(created) != players/2 {
		t.Errorf("%d matches created, want %d", len(created), players/2)
	}
	for id, ps := range byMatch {
		slices.Sort(ps)
		want := slices.Sorted(slices.Values(created[id]))
		if !slices.Equal(ps, want) {
			t.Errorf("match %s: tickets of %v, created with %v", id, ps, want)
		}
	}
	if cross == 0 {
		t.Errorf("no match paired players of the two servers")
	}
	t.Logf("%d matches, %d across servers; created: %s %d, %s %d", len(created), cross,
		servers[0].starter.name, len(servers[0].starter.made()), servers[1].starter.name, len(servers[1].starter.made()))
}

// countingStarter records the matches it creates.
type countingStarter struct {
	name    string
	mu      sync.Mutex
	matches map[string][]string
}

func (c *countingStarter) Create(mode string, players []string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.matches == nil {
		c.matches = map[string][]string{}
	}
	id := c.name + "-" + match.NewID()
	c.matches[id] = append([]string(nil), players...)
	return id, nil
}

func (c *countingStarter) made() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]string, len(c.matches))
	for k, v := range c.matches {
		out[k] = v
	}
	return out
}

// failingStarter fails its first fail calls, then names matches m1, m2, ….
type failingStarter struct {
	mu    sync.Mutex
	fail  int
	calls [][]string
}

func (f *failingStarter) Create(mode string, players []string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, slices.Clone(players))
	if f.fail > 0 {
		f.fail--
		return "", errors.New("no capacity")
	}
	return fmt.Sprintf("m%d", len(f.calls)), nil
}

// enqueue queues each of players for mode on mm, failing the test on
// an error, and returns their tickets in order.
func enqueue(t *testing.T, ctx context.Context, mm *matchmaker.Matchmaker, mode string, players ...string) []matchmaker.Ticket {
	t.Helper()
	var tks []matchmaker.Ticket
	for _, p := range players {
		tk, err := mm.Enqueue(ctx, p, mode)
		if err != nil {
			t.Fatalf("Enqueue(%s) = %v", p, err)
		}
		tks = append(tks, tk)
	}
	return tks
}

// testMatchmakerRules: the rules a client sees — one live ticket per
// player, cancel, someone else's ticket, pairing, a failed start retried,
// queueing again as soon as the match ended — hold on this pool, on the
// wall clock.
func testMatchmakerRules(t *testing.T, o Open) {
	f := o(t, 0)
	tokens := match.NewTokens([]byte("pool test"))
	starter := &failingStarter{fail: 1}
	mm := matchmaker.New(matchmaker.Config{
		Modes:       map[string]match.Mode{"duel": {Name: "duel", Players: 2, Duration: time.Minute}},
		Pool:        f.Pool,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		PoolPoll:    20 * time.Millisecond,
		CreateRetry: 50 * time.Millisecond,
	}, starter, tokens)
	matchmakertest.Run(t, mm)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if _, err := mm.Enqueue(ctx, "a", "chess"); !errors.Is(err, matchmaker.ErrUnknownMode) {
		t.Errorf("Enqueue(unknown mode) = %v, want ErrUnknownMode", err)
	}
	a, err := mm.Enqueue(ctx, "a", "duel")
	if err != nil {
		t.Fatalf("Enqueue(a) = %v", err)
	}
	if _, err := mm.Enqueue(ctx, "a", "duel"); !errors.Is(err, matchmaker.ErrConflict) {
		t.Errorf("second Enqueue(a) = %v, want ErrConflict", err)
	}
	if _, err := mm.Ticket(ctx, a.ID, "mallory"); !errors.Is(err, matchmaker.ErrNotFound) {
		t.Errorf("Ticket(a's, mallory) = %v, want ErrNotFound", err)
	}
	if err := mm.Cancel(ctx, a.ID, "mallory"); !errors.Is(err, matchmaker.ErrNotFound) {
		t.Errorf("Cancel(a's, mallory) = %v, want ErrNotFound", err)
	}
	if err := mm.Cancel(ctx, a.ID, "a"); err != nil {
		t.Fatalf("Cancel(a) = %v", err)
	}
	if got, err := mm.Ticket(ctx, a.ID, "a"); err != nil || got.Status != matchmaker.StatusCancelled {
		t.Errorf("Ticket(a) after Cancel = %v, %v; want cancelled", got.Status, err)
	}
	if err := mm.Cancel(ctx, a.ID, "a"); err != nil {
		t.Errorf("second Cancel(a) = %v, want nil", err)
	}

	// a and b pair; the first Create fails and the tickets come back.
	tks := enqueue(t, ctx, mm, "duel", "a", "b")
	var matchID string
	for _, tk := range tks {
		got, err := mm.Wait(ctx, tk.ID, tk.PlayerID)
		if err != nil || got.Status != matchmaker.StatusMatched {
			t.Fatalf("Wait(%s) = %+v, %v; want matched", tk.PlayerID, got, err)
		}
		if c, err := tokens.VerifyJoin(got.JoinToken); err != nil || c.PlayerID != tk.PlayerID || c.MatchID != got.MatchID {
			t.Errorf("join token of %s: %+v, %v", tk.PlayerID, c, err)
		}
		matchID = got.MatchID
	}
	starter.mu.Lock()
	calls := len(starter.calls)
	starter.mu.Unlock()
	if calls != 2 {
		t.Errorf("%d Create calls, want 2 (one failed, one retried)", calls)
	}
	if err := mm.Cancel(ctx, tks[1].ID, "b"); !errors.Is(err, matchmaker.ErrMatched) {
		t.Errorf("Cancel(matched) = %v, want ErrMatched", err)
	}
	if _, err := mm.Enqueue(ctx, "a", "duel"); !errors.Is(err, matchmaker.ErrConflict) {
		t.Errorf("Enqueue(a) in a match = %v, want ErrConflict", err)
	}
	// A client that reads MatchEnd and queues again at once is admitted.
	mm.MatchEnded(match.Result{MatchID: matchID, Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}})
	for _, p := range []string{"a", "b"} {
		if _, err := mm.Enqueue(ctx, p, "duel"); err != nil {
			t.Errorf("Enqueue(%s) right after its match ended = %v", p, err)
		}
	}
}

// gatedPool holds the first Free made after arm until release is closed:
// the Run goroutine caught between taking an ended match's players to free
// and the pool's answer, which a loaded machine stretches.
type gatedPool struct {
	matchmaker.Pool
	armed   atomic.Bool
	entered chan struct{} // closed when the held Free arrives
	release chan struct{} // closed by the test: the held Free goes on
	done    chan struct{} // closed when the held Free has returned
}

func newGatedPool(p matchmaker.Pool) *gatedPool {
	return &gatedPool{Pool: p, entered: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
}

func (p *gatedPool) Free(ctx context.Context, matchID string, players []string) error {
	if !p.armed.CompareAndSwap(true, false) {
		return p.Pool.Free(ctx, matchID, players)
	}
	defer close(p.done)
	close(p.entered)
	select {
	case <-p.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.Pool.Free(ctx, matchID, players)
}

// testRequeueWhileRunFrees: players whose match ended may queue again at
// once even while Run's own Free of that match is still on its way to the
// pool (it was "player already searching or in a match" under load), and
// that late Free does not release the players' new tickets.
func testRequeueWhileRunFrees(t *testing.T, o Open) {
	f := o(t, 0)
	pool := newGatedPool(f.Pool)
	tokens := match.NewTokens([]byte("pool test"))
	mm := matchmaker.New(matchmaker.Config{
		Modes: map[string]match.Mode{
			"duel": {Name: "duel", Players: 2, Duration: time.Minute},
			"trio": {Name: "trio", Players: 3, Duration: time.Minute},
		},
		Pool:     pool,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		PoolPoll: 20 * time.Millisecond,
	}, &failingStarter{}, tokens)
	matchmakertest.Run(t, mm)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(pool.release) }) }
	defer release() // before Run is stopped, whatever happens
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	played := enqueue(t, ctx, mm, "duel", "a", "b")
	var first string // the match a and b play, then end
	for _, tk := range played {
		got, err := mm.Wait(ctx, tk.ID, tk.PlayerID)
		if err != nil || got.Status != matchmaker.StatusMatched {
			t.Fatalf("Wait(%s) = %+v, %v; want matched", tk.PlayerID, got, err)
		}
		first = got.MatchID
	}

	pool.armed.Store(true)
	mm.MatchEnded(match.Result{MatchID: first, Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}})
	select {
	case <-pool.entered: // Run took the players to free and is freeing them
	case <-ctx.Done():
		t.Fatal("Run never freed the players of the ended match")
	}
	// Queued for trio, which two players do not fill: the new tickets
	// stay searching, so that nothing but Run's late Free touches them.
	var tks []matchmaker.Ticket
	for _, p := range []string{"a", "b"} {
		tk, err := mm.Enqueue(ctx, p, "trio")
		if err != nil {
			t.Fatalf("Enqueue(%s) while Run frees its ended match = %v, want a ticket", p, err)
		}
		tks = append(tks, tk)
	}
	release()
	select {
	case <-pool.done:
	case <-ctx.Done():
		t.Fatal("Run's held Free never returned")
	}
	// Run's late Free left the new tickets alone: the pool still refuses
	// the players a second one.
	for _, tk := range tks {
		pt := matchmaker.PoolTicket{ID: "again-" + tk.PlayerID, PlayerID: tk.PlayerID, Mode: "duel", Home: "h1"}
		if _, err := f.Pool.Publish(ctx, pt, testTTL); !errors.Is(err, matchmaker.ErrConflict) {
			t.Errorf("Publish for %s after Run's late Free = %v, want ErrConflict", tk.PlayerID, err)
		}
		if got, err := mm.Ticket(ctx, tk.ID, tk.PlayerID); err != nil || got.Status != matchmaker.StatusSearching {
			t.Errorf("Ticket(%s) = %+v, %v; want searching", tk.PlayerID, got, err)
		}
	}
}

// lostReplyPool makes the pool's first Claim and then fails the call, as a
// Claim that reached the pool but whose answer did not come back in time
// (PoolTimeout on a loaded machine).
type lostReplyPool struct {
	matchmaker.Pool
	lost atomic.Bool // the first Claim's answer was lost
}

func (p *lostReplyPool) Claim(ctx context.Context, claimer string, ids []string) ([]string, error) {
	lost, err := p.Pool.Claim(ctx, claimer, ids)
	if err == nil && p.lost.CompareAndSwap(false, true) {
		return nil, context.DeadlineExceeded
	}
	return lost, err
}

// testClaimReplyLost: a claim the pool made but whose answer the
// matchmaker never got does not leave its tickets claimed by nobody
// until their TTL: the players are matched all the same.
func testClaimReplyLost(t *testing.T, o Open) {
	f := o(t, 0)
	pool := &lostReplyPool{Pool: f.Pool}
	tokens := match.NewTokens([]byte("pool test"))
	mm := matchmaker.New(matchmaker.Config{
		Modes:    map[string]match.Mode{"duel": {Name: "duel", Players: 2, Duration: time.Minute}},
		Pool:     pool,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		PoolPoll: 20 * time.Millisecond,
	}, &failingStarter{}, tokens)
	matchmakertest.Run(t, mm)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	tks := enqueue(t, ctx, mm, "duel", "a", "b")
	for _, tk := range tks {
		got, err := mm.Wait(ctx, tk.ID, tk.PlayerID)
		if err != nil || got.Status != matchmaker.StatusMatched {
			t.Fatalf("Wait(%s) = %+v, %v; want matched", tk.PlayerID, got, err)
		}
	}
	if !pool.lost.Load() {
		t.Fatal("no Claim answer was lost: the test tested nothing")
	}
}

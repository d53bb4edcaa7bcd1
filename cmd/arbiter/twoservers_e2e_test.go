package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// newRESTClients returns a REST client of each server, all on one HTTP
// client pooling connections for many goroutines. Their errors are
// returned, not test failures, so that workers may use them.
func newRESTClients(servers []*testServer) ([]*rest.Client, *http.Client) {
	hc := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   time.Minute,
	}
	var out []*rest.Client
	for _, s := range servers {
		c, err := rest.New(s.base, rest.Options{HTTPClient: hc})
		if err != nil {
			panic(err) // startServer's base is always valid
		}
		out = append(out, c)
	}
	return out, hc
}

// each runs fn(i) for i in [0, n) on workers goroutines and returns the
// first error.
func each(n, workers int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// TestTwoServersShareTheQueue: two servers sharing one Redis; 1,000
// players sign up on either, queue for a duel on one of the two (half
// each), and long-poll there. Every ticket ends in exactly one match, run
// by exactly one of the servers; players of different servers meet; and
// each ws_url leads to the server running the match, which accepts the
// join token.
func TestTwoServersShareTheQueue(t *testing.T) {
	const players = 1000
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	args := []string{
		"--redis-url", redisURL, "--redis-prefix", prefix,
		"--token-secret", "shared by both servers",
		"--guest-rate", "100000", "--guest-burst", "2000",
		"--match-duration", "2s",
		"--join-timeout", "60s", // rooms wait for the test's checks, not for players
	}
	servers := []*testServer{startServer(t, args...), startServer(t, args...)}
	apis, hc := newRESTClients(servers)
	// Before the servers stop (cleanups run last first): a connection the
	// client opened and never used holds up their graceful shutdown.
	t.Cleanup(hc.CloseIdleConnections)
	ctx := t.Context()
	begin := time.Now()

	// Sign up on one server, queue on the same or the other one: bearer
	// tokens and players are shared too.
	guests := make([]guest, players)
	home := func(i int) int { return (i / 2) % 2 } // the server player i queues on
	err := each(players, 32, func(i int) error {
		g, err := apis[i%2].CreateGuest(ctx, fmt.Sprintf("p%04d", i))
		if err != nil {
			return fmt.Errorf("sign up p%04d: %w", i, err)
		}
		guests[i] = g
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	signedUp := time.Since(begin)

	tickets := make([]ticket, players)
	err = each(players, 32, func(i int) error {
		tk, err := apis[home(i)].WithToken(guests[i].Token).CreateTicket(ctx, "duel")
		if err != nil {
			return fmt.Errorf("queue p%04d on server %d: %w", i, home(i), err)
		}
		tickets[i] = tk
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	queued := time.Since(begin)

	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = each(players, 64, func(i int) error {
		tk, err := apis[home(i)].WithToken(guests[i].Token).AwaitTicket(waitCtx, tickets[i].TicketID)
		if err != nil || tk.Status != rest.TicketMatched {
			return fmt.Errorf("ticket of p%04d on server %d not matched: %+v, %v", i, home(i), tk, err)
		}
		tickets[i] = tk
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	matched := time.Since(begin)

	// Every ticket is in exactly one match, of two tickets, run by exactly
	// one server, with exactly the two tickets' players.
	byMatch := map[string][]int{}
	for i, tk := range tickets {
		if tk.MatchID == "" || tk.JoinToken == "" || tk.WSURL == "" {
			t.Fatalf("ticket of p%04d: %+v, want a match, a join token and a ws_url", i, tk)
		}
		byMatch[tk.MatchID] = append(byMatch[tk.MatchID], i)
	}
	if len(byMatch) != players/2 {
		t.Errorf("%d matches, want %d", len(byMatch), players/2)
	}
	rooms := 0
	for _, s := range servers {
		rooms += s.manager.Rooms()
	}
	if rooms != players/2 {
		t.Errorf("%d rooms on the two servers, want %d: a ticket was matched twice, or a room lost", rooms, players/2)
	}
	// Every room comes from exactly one won claim.
	var won uint64
	for _, s := range servers {
		won += s.mm.ClaimsWon.Load()
	}
	if won != uint64(players/2) {
		t.Errorf("claims won on the two servers = %d, want %d", won, players/2)
	}
	hostOf := map[string]int{}
	var cross []string // matches of players who queued on different servers
	for id, idx := range byMatch {
		if len(idx) != 2 {
			t.Errorf("match %s has the tickets of %d players, want 2", id, len(idx))
			continue
		}
		host := -1
		for k, s := range servers {
			room, ok := s.manager.Room(id)
			if !ok {
				continue
			}
			if host >= 0 {
				t.Errorf("match %s runs on both servers", id)
			}
			host = k
			want := []string{guests[idx[0]].PlayerID, guests[idx[1]].PlayerID}
			if got := room.Summary().Players; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
				t.Errorf("match %s: room players %v, tickets of %v", id, got, want)
			}
		}
		if host < 0 {
			t.Errorf("match %s runs on neither server", id)
			continue
		}
		hostOf[id] = host
		for _, i := range idx {
			u, err := url.Parse(tickets[i].WSURL)
			if err != nil || u.Scheme != "ws" || "http://"+u.Host != servers[host].base || u.Path != "/v1/play" {
				t.Errorf("ticket of p%04d (queued on server %d): ws_url %q, want one on server %d, %s, which runs match %s",
					i, home(i), tickets[i].WSURL, host, servers[host].base, id)
			}
		}
		if home(idx[0]) != home(idx[1]) {
			cross = append(cross, id)
		}
	}
	if len(cross) == 0 {
		t.Fatalf("no match paired players who queued on different servers")
	}
	for k, s := range servers {
		for mode, n := range s.mm.QueueSizes() {
			if n != 0 {
				t.Errorf("server %d: %d tickets still searching in %s", k, n, mode)
			}
		}
	}

	// The ws_urls of a few matches across servers lead to the room, which
	// accepts the join tokens; and the other server reports the same
	// ticket.
	slices.Sort(cross)
	for _, id := range cross[:3] {
		for _, i := range byMatch[id] {
			other := 1 - home(i)
			got, err := apis[other].WithToken(guests[i].Token).Ticket(ctx, tickets[i].TicketID, 0)
			if err != nil || got != tickets[i] {
				t.Errorf("ticket of p%04d on the other server = %+v, %v; want %+v", i, got, err, tickets[i])
			}
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			c, err := client.Dial(dctx, tickets[i].WSURL, client.Options{})
			cancel()
			if err != nil {
				t.Errorf("dial the ws_url of p%04d (match %s on server %d): %v", i, id, hostOf[id], err)
				continue
			}
			if w := c.Welcome(); w.MatchID != id || w.PlayerID != guests[i].PlayerID {
				t.Errorf("p%04d: Welcome %+v, want match %s, player %s", i, w, id, guests[i].PlayerID)
			}
			_ = c.Close()
		}
	}
	t.Logf("%d players: signed up in %v, queued by %v, all matched by %v; %d of %d matches across servers; rooms: %d on server 0, %d on server 1",
		players, signedUp.Round(time.Millisecond), queued.Round(time.Millisecond), matched.Round(time.Millisecond),
		len(cross), len(byMatch), servers[0].manager.Rooms(), servers[1].manager.Rooms())
}

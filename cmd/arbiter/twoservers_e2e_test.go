package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// restClient makes JSON calls from many goroutines; it reports errors
// rather than failing the test, so that workers may use it.
type restClient struct{ hc *http.Client }

func newRESTClient() *restClient {
	return &restClient{hc: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		Timeout:   time.Minute,
	}}
}

func (c *restClient) call(ctx context.Context, method, rawURL, bearer string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, rawURL, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, rawURL, err)
		}
	}
	return resp.StatusCode, nil
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
	rc := newRESTClient()
	// Before the servers stop (cleanups run last first): a connection the
	// client opened and never used holds up their graceful shutdown.
	t.Cleanup(rc.hc.CloseIdleConnections)
	ctx := t.Context()
	begin := time.Now()

	// Sign up on one server, queue on the same or the other one: bearer
	// tokens and players are shared too.
	guests := make([]guest, players)
	home := func(i int) int { return (i / 2) % 2 } // the server player i queues on
	err := each(players, 32, func(i int) error {
		code, err := rc.call(ctx, "POST", servers[i%2].base+"/v1/auth/guest", "", map[string]string{"name": fmt.Sprintf("p%04d", i)}, &guests[i])
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("sign up p%04d: status %d", i, code)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	signedUp := time.Since(begin)

	tickets := make([]ticket, players)
	err = each(players, 32, func(i int) error {
		code, err := rc.call(ctx, "POST", servers[home(i)].base+"/v1/matchmaking/tickets", guests[i].Token, map[string]string{"mode": "duel"}, &tickets[i])
		if err == nil && code != http.StatusCreated {
			err = fmt.Errorf("queue p%04d on server %d: status %d", i, home(i), code)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	queued := time.Since(begin)

	deadline := time.Now().Add(30 * time.Second)
	err = each(players, 64, func(i int) error {
		path := servers[home(i)].base + "/v1/matchmaking/tickets/" + url.PathEscape(tickets[i].TicketID) + "?wait=10s"
		for tickets[i].Status != "matched" {
			if time.Now().After(deadline) {
				return fmt.Errorf("ticket of p%04d on server %d not matched: %+v", i, home(i), tickets[i])
			}
			code, err := rc.call(ctx, "GET", path, guests[i].Token, nil, &tickets[i])
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("poll ticket of p%04d: status %d", i, code)
			}
		}
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
			var got ticket
			code, err := rc.call(ctx, "GET", servers[other].base+"/v1/matchmaking/tickets/"+url.PathEscape(tickets[i].TicketID), guests[i].Token, nil, &got)
			if err != nil || code != http.StatusOK || got != tickets[i] {
				t.Errorf("ticket of p%04d on the other server = %d %+v, %v; want %+v", i, code, got, err, tickets[i])
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

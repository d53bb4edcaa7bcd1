package main

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/netcode/client/rest"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
	goredis "github.com/redis/go-redis/v9"
)

// TestChessSurvivesItsServer: the server holding a chess game is killed
// (SIGKILL) mid-game; the server that starts in its place on the same
// Redis resumes the game from what the room saved after the last move —
// same board, same clocks (the outage not charged) — and the players,
// connecting again with their join tokens, play it to mate. The result is
// rated once.
func TestChessSurvivesItsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped with -short")
	}
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	dbURL, schema := servicetest.Postgres(t)
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String() // the same address for both lives: the same node
	ln.Close()
	args := []string{"--addr", addr, "--redis-url", redisURL, "--redis-prefix", prefix,
		"--database-url", dbURL, "--database-schema", schema, "--token-secret", "crash test secret " + strconv.Itoa(time.Now().Nanosecond())}
	first := startBinary(t, bin, nil, args...)
	base := "http://" + addr
	waitOK(t, base+"/healthz")

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	api, guests, tickets := queueChess(t, ctx, base)
	game := func() chessGame { return joinChess(t, guests, tickets) }
	g := game()
	g.play("f2f3", "e7e5")
	before := g.white.board()
	matchID := g.white.c.Welcome().MatchID
	// A successor looks for what to take over in the match directory,
	// which the first save entered the game in.
	waitInDirectory(t, ctx, redisURL, prefix, matchID)

	// The server dies without a word; its successor starts on the same
	// Redis, under the same name.
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	const outage = 3 * time.Second
	time.Sleep(outage) // an outage the clocks must not charge
	second := startBinary(t, bin, nil, args...)
	waitOK(t, base+"/healthz")
	if log := strings.Join(second.logged, "\n"); !strings.Contains(log, "match resumed") {
		t.Errorf("the successor's log does not say it resumed the match:\n%s", log)
	}

	g = game()
	after := g.white.board()
	if after.GetFen() != before.GetFen() || !slices.Equal(after.GetMoves(), before.GetMoves()) ||
		after.GetWhitePlayerId() != before.GetWhitePlayerId() {
		t.Fatalf("board after the resume: %v, want the one before the crash: %v", after, before)
	}
	// White, to move, has its clock running again since the resume — a
	// player who connects gets the clocks as of now — but not for the
	// outage: it lost less than the outage's 3 s. Black's stands still.
	if charged := time.Duration(before.GetWhiteMs()-after.GetWhiteMs()) * time.Millisecond; charged < 0 || charged >= outage ||
		after.GetBlackMs() != before.GetBlackMs() {
		t.Errorf("clocks after the resume: %d / %d ms, before the crash %d / %d: want White charged less than the %v outage, Black unchanged",
			after.GetWhiteMs(), after.GetBlackMs(), before.GetWhiteMs(), before.GetBlackMs(), outage)
	}
	g.play("g2g4", "d8h4")
	g.wantResult("checkmate", g.black)

	wantRatedOnce(t, ctx, api.WithToken(guests[0].Token), g)
}

// queueChess signs two guests in at base and has them matched in chess.
func queueChess(t *testing.T, ctx context.Context, base string) (*rest.Client, []guest, []ticket) {
	t.Helper()
	api, err := rest.New(base, rest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var guests []guest
	var tickets []ticket
	for _, name := range []string{"a", "b"} {
		g, err := api.CreateGuest(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := api.WithToken(g.Token).CreateTicket(ctx, "chess")
		if err != nil {
			t.Fatal(err)
		}
		guests, tickets = append(guests, g), append(tickets, tk)
	}
	for i := range tickets {
		if tickets[i], err = api.WithToken(guests[i].Token).AwaitTicket(ctx, tickets[i].TicketID); err != nil || tickets[i].Status != rest.TicketMatched {
			t.Fatalf("ticket %d: %+v, %v; want matched", i, tickets[i], err)
		}
	}
	return api, guests, tickets
}

// joinChess connects both guests with their tickets (ws_url) and returns
// the game once both see it playing.
func joinChess(t *testing.T, guests []guest, tickets []ticket) chessGame {
	t.Helper()
	pa, pb := connectChess(t, guests[0], tickets[0]), connectChess(t, guests[1], tickets[1])
	for _, p := range []*chessPlayer{pa, pb} {
		p.awaitBoard("the game", func(b *chessv1.Board) bool { return b.GetStatus() == "playing" })
	}
	if pa.board().GetWhitePlayerId() == pa.id {
		return chessGame{t: t, white: pa, black: pb}
	}
	return chessGame{t: t, white: pb, black: pa}
}

// waitInDirectory waits until the match directory in Redis names match id.
func waitInDirectory(t *testing.T, ctx context.Context, redisURL, prefix, id string) {
	t.Helper()
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := rdb.Exists(ctx, prefix+"match:"+id).Result(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the match never reached the match directory")
		}
		time.Sleep(20 * time.Millisecond) // polling Redis
	}
}

// wantRatedOnce checks that g's result was rated once: one game each, the
// winner (Black, by mate) +16 and the loser −16.
func wantRatedOnce(t *testing.T, ctx context.Context, api *rest.Client, g chessGame) {
	t.Helper()
	for _, c := range []struct {
		p    *chessPlayer
		want float64
	}{{g.black, 1516}, {g.white, 1484}} {
		pl, err := api.Player(ctx, c.p.id)
		if err != nil {
			t.Fatal(err)
		}
		if r := pl.Ratings["chess"]; r.Games != 1 || r.Rating != c.want {
			t.Errorf("%s: chess rating %v after %d games, want %v after 1", c.p.id, r.Rating, r.Games, c.want)
		}
	}
}

// TestChessMovesToAPeer: of two servers sharing Redis and Postgres, the one
// holding a chess game is killed mid-game and never comes back. The other
// notices its heartbeat lapse (--node-ttl), resumes the game from Redis,
// and GET /v1/matches/{id} sends both players there (ws_url with a fresh
// join token); they find the same board, with the clocks not charged for
// the time no server held the game, and play on to mate. The result is
// rated once and archived with its PGN.
func TestChessMovesToAPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped with -short")
	}
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	dbURL, schema := servicetest.Postgres(t)
	bin := buildBinary(t)
	secret := "peer test secret " + strconv.Itoa(time.Now().Nanosecond())
	const nodeTTL = 2 * time.Second
	var addrs []string
	servers := map[string]*binary{}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		servers[addr] = startBinary(t, bin, nil, "--addr", addr, "--public-url", "http://"+addr,
			"--redis-url", redisURL, "--redis-prefix", prefix, "--database-url", dbURL, "--database-schema", schema,
			"--token-secret", secret, "--node-ttl", nodeTTL.String())
		waitOK(t, "http://"+addr+"/healthz")
		addrs = append(addrs, addr)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	_, guests, tickets := queueChess(t, ctx, "http://"+addrs[0])
	g := joinChess(t, guests, tickets)
	g.play("f2f3", "e7e5")
	before := g.white.board()
	matchID := g.white.c.Welcome().MatchID
	waitInDirectory(t, ctx, redisURL, prefix, matchID)

	// Whichever server the matchmaker put the game on dies for good.
	u, err := url.Parse(tickets[0].WSURL)
	if err != nil {
		t.Fatal(err)
	}
	holder, ok := servers[u.Host]
	if !ok {
		t.Fatalf("the ticket's ws_url %s is on neither server %v", tickets[0].WSURL, addrs)
	}
	survivor := addrs[0]
	if survivor == u.Host {
		survivor = addrs[1]
	}
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = holder.cmd.Wait()
	killed := time.Now()

	// One player asks the survivor where the match is now until it says
	// "here", as a reloaded page would; the other's Go client was cut off
	// and resumes by itself, asking the same question before every retry
	// (client.Options.Locate).
	peer, err := rest.New("http://"+survivor, rest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*chessPlayer{g.white.id: g.white, g.black.id: g.black}
	mover := byID[guests[1].PlayerID]
	type resumed struct {
		c   *client.Client
		err error
	}
	done := make(chan resumed, 1)
	go func() {
		opts := mover.options()
		opts.Locate = peer.WithToken(guests[1].Token).Locator(matchID)
		opts.Backoff = client.Backoff{Max: 500 * time.Millisecond}
		c, err := client.Resume(ctx, tickets[1].WSURL, mover.c, opts)
		done <- resumed{c, err}
	}()
	for deadline := time.Now().Add(5 * nodeTTL); ; {
		m, err := peer.WithToken(guests[0].Token).Match(ctx, matchID)
		if err != nil {
			t.Fatalf("GET /v1/matches/%s from the survivor: %v", matchID, err)
		}
		if m.Status != rest.MatchRunning && m.Status != rest.MatchWaiting {
			t.Fatalf("match %s is %s on the survivor, want running", matchID, m.Status)
		}
		if w, err := url.Parse(m.WSURL); err == nil && w.Host == survivor {
			tickets[0].WSURL, tickets[0].JoinToken = m.WSURL, m.JoinToken
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the survivor still sends the players to %q %v after the kill", m.WSURL, time.Since(killed))
		}
		time.Sleep(100 * time.Millisecond) // polling, as a client would
	}
	reloaded := connectChess(t, guests[0], tickets[0])
	r := <-done
	if r.err != nil {
		t.Fatalf("the Go client's Resume with Locate: %v", r.err)
	}
	t.Cleanup(func() { _ = r.c.Close() })
	mover.c = r.c
	if r.c.Welcome().MatchID != matchID {
		t.Errorf("resumed into match %q, want %q", r.c.Welcome().MatchID, matchID)
	}
	if reloaded.awaitBoard("the game", func(b *chessv1.Board) bool { return b.GetStatus() == "playing" }).GetWhitePlayerId() == reloaded.id {
		g = chessGame{t: t, white: reloaded, black: mover}
	} else {
		g = chessGame{t: t, white: mover, black: reloaded}
	}
	away := time.Since(killed)
	after := reloaded.board() // fresh from the survivor, as of the connection
	if after.GetFen() != before.GetFen() || !slices.Equal(after.GetMoves(), before.GetMoves()) ||
		after.GetWhitePlayerId() != before.GetWhitePlayerId() {
		t.Fatalf("board on the survivor: %v, want the one before the kill: %v", after, before)
	}
	// White, to move, is charged only from the resume on: the node TTL
	// at least (no server held the game while the dead one's heartbeat
	// lapsed) went uncharged. Black's clock stands still.
	uncharged := nodeTTL - 500*time.Millisecond // the heartbeat was set up to one flush before the kill
	if charged := time.Duration(before.GetWhiteMs()-after.GetWhiteMs()) * time.Millisecond; charged < 0 || charged > away-uncharged ||
		after.GetBlackMs() != before.GetBlackMs() {
		t.Errorf("clocks on the survivor: %d / %d ms, before the kill %d / %d, %v later: want White charged at most %v, Black unchanged",
			after.GetWhiteMs(), after.GetBlackMs(), before.GetWhiteMs(), before.GetBlackMs(), away, away-uncharged)
	}
	g.play("g2g4", "d8h4")
	g.wantResult("checkmate", g.black)
	wantRatedOnce(t, ctx, peer.WithToken(guests[0].Token), g)

	// The record, from the survivor: ended, with the whole game.
	for deadline := time.Now().Add(10 * time.Second); ; {
		m, err := peer.WithToken(guests[0].Token).Match(ctx, matchID)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			Moves []string `json:"moves"`
			PGN   string   `json:"pgn"`
		}
		if m.Status == rest.MatchEnded && json.Unmarshal(m.Record, &rec) == nil {
			if !slices.Equal(rec.Moves, []string{"f2f3", "e7e5", "g2g4", "d8h4"}) || !strings.HasSuffix(strings.TrimSpace(rec.PGN), "0-1") {
				t.Errorf("record = %s, want the four moves and a PGN ending 0-1", m.Record)
			}
			if m.WSURL != "" {
				t.Errorf("ended match still gives a ws_url: %s", m.WSURL)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("match after the mate: %+v, want ended with its record", m)
		}
		time.Sleep(50 * time.Millisecond) // the result reaches the store after MatchEnd
	}
}

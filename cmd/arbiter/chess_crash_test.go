package main

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	game := func() chessGame {
		pa, pb := connectChess(t, guests[0], tickets[0]), connectChess(t, guests[1], tickets[1])
		for _, p := range []*chessPlayer{pa, pb} {
			p.awaitBoard("the game", func(b *chessv1.Board) bool { return b.GetStatus() == "playing" })
		}
		if pa.board().GetWhitePlayerId() == pa.id {
			return chessGame{t: t, white: pa, black: pb}
		}
		return chessGame{t: t, white: pb, black: pa}
	}
	g := game()
	g.play("f2f3", "e7e5")
	before := g.white.board()
	// The match directory (flushed every 100 ms) names the match: a
	// successor looks for what to take over there.
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	matchID := g.white.c.Welcome().MatchID
	for deadline := time.Now().Add(5 * time.Second); ; {
		if n, _ := rdb.Exists(ctx, prefix+"match:"+matchID).Result(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the match never reached the match directory")
		}
		time.Sleep(20 * time.Millisecond) // polling Redis
	}

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

	// Rated once: one game each, ±16.
	for _, c := range []struct {
		p    *chessPlayer
		want float64
	}{{g.black, 1516}, {g.white, 1484}} {
		pl, err := api.WithToken(guests[0].Token).Player(ctx, c.p.id)
		if err != nil {
			t.Fatal(err)
		}
		if r := pl.Ratings["chess"]; r.Games != 1 || r.Rating != c.want {
			t.Errorf("%s: chess rating %v after %d games, want %v after 1", c.p.id, r.Rating, r.Games, c.want)
		}
	}
}

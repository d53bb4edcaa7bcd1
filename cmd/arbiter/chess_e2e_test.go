package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	goredis "github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
)

// chessPlayer is one side of a chess game over the real protocol: the Go
// client, and every Board and Rejected it received.
type chessPlayer struct {
	t  *testing.T
	id string
	c  *client.Client

	mu       sync.Mutex
	boards   []*chessv1.Board
	rejected []*arbiterv1.Rejected
	changed  chan struct{} // size 1: something arrived
	// onBoard, if set, sees every Board as it arrives, on the client's
	// read goroutine. Set it before the first move.
	onBoard func(*chessv1.Board)
}

// connectChess connects guest g with its matched ticket.
func connectChess(t *testing.T, g guest, tk ticket) *chessPlayer {
	t.Helper()
	p := &chessPlayer{t: t, id: g.PlayerID, changed: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, tk.WSURL, p.options())
	if err != nil {
		t.Fatalf("dial %s: %v", tk.WSURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if w := c.Welcome(); w.Game != "chess" {
		t.Fatalf("Welcome.game = %q, want chess", w.Game)
	}
	p.c = c
	return p
}

// options are the client options of p's connections: every Board and
// Rejected recorded.
func (p *chessPlayer) options() client.Options {
	t := p.t
	return client.Options{
		OnState: func(s *arbiterv1.State) {
			var b chessv1.Board
			if err := proto.Unmarshal(s.GetPayload(), &b); err != nil {
				t.Errorf("State payload is not a chess Board: %v", err)
				return
			}
			p.mu.Lock()
			p.boards = append(p.boards, &b)
			hook := p.onBoard
			p.mu.Unlock()
			if hook != nil {
				hook(&b)
			}
			p.nudge()
		},
		OnRejected: func(r *arbiterv1.Rejected) {
			p.mu.Lock()
			p.rejected = append(p.rejected, r)
			p.mu.Unlock()
			p.nudge()
		},
		OnMatchEnd: func(*arbiterv1.MatchEnd) { p.nudge() },
	}
}

func (p *chessPlayer) setOnBoard(f func(*chessv1.Board)) {
	p.mu.Lock()
	p.onBoard = f
	p.mu.Unlock()
}

func (p *chessPlayer) nudge() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// board returns the newest Board received, or nil.
func (p *chessPlayer) board() *chessv1.Board {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.boards) == 0 {
		return nil
	}
	return p.boards[len(p.boards)-1]
}

// await waits until ok holds of what p received, or fails after 10 s.
func (p *chessPlayer) await(what string, ok func() bool) {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for !ok() {
		select {
		case <-p.changed:
		case <-p.c.Done():
			if !ok() {
				p.t.Fatalf("%s: waiting for %s, the connection ended (%v)", p.id, what, p.c.CloseError())
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within 10 s (board %v)", p.id, what, p.board())
		}
	}
}

// awaitBoard waits for a Board that satisfies ok and returns it.
func (p *chessPlayer) awaitBoard(what string, ok func(*chessv1.Board) bool) *chessv1.Board {
	p.t.Helper()
	p.await(what, func() bool { b := p.board(); return b != nil && ok(b) })
	return p.board()
}

func (p *chessPlayer) send(cmd *chessv1.Command) {
	p.t.Helper()
	if _, err := p.c.SendActionMessage(cmd); err != nil {
		p.t.Fatalf("%s: send %v: %v", p.id, cmd, err)
	}
}

func (p *chessPlayer) move(uci string) {
	p.t.Helper()
	p.send(&chessv1.Command{Kind: &chessv1.Command_Move{Move: &chessv1.Move{Uci: uci}}})
}

// chessGame is a game being played: white and black, as the server drew
// them.
type chessGame struct {
	t            *testing.T
	white, black *chessPlayer
}

// startChess queues two guests for chess on ts and connects both; it
// returns them by colour once the game is being played.
func startChess(t *testing.T, ts *testServer) chessGame {
	t.Helper()
	a, b := ts.guest(t, "a"), ts.guest(t, "b")
	tickets := ts.queue(t, "chess", a, b)
	pa, pb := connectChess(t, a, tickets[0]), connectChess(t, b, tickets[1])
	playing := func(b *chessv1.Board) bool { return b.GetStatus() == "playing" }
	board := pa.awaitBoard("the game's start", playing)
	pb.awaitBoard("the game's start", playing)
	if board.GetWhitePlayerId() == pa.id {
		return chessGame{t: t, white: pa, black: pb}
	}
	return chessGame{t: t, white: pb, black: pa}
}

// play plays moves alternately from White, each after the previous one
// reached both players.
func (g chessGame) play(moves ...string) {
	g.t.Helper()
	for i, uci := range moves {
		n := len(g.white.board().GetMoves())
		mover := g.white
		if n%2 == 1 {
			mover = g.black
		}
		mover.move(uci)
		for _, p := range []*chessPlayer{g.white, g.black} {
			p.awaitBoard("move "+uci, func(b *chessv1.Board) bool { return len(b.GetMoves()) > n })
		}
		if got := g.white.board().GetMoves(); got[len(got)-1] != uci {
			g.t.Fatalf("move %d: board's last move %q, want %q", i+1, got[len(got)-1], uci)
		}
	}
}

// end waits for both players' MatchEnd and returns the results by player.
func (g chessGame) end() map[string]*arbiterv1.PlayerResult {
	g.t.Helper()
	out := map[string]*arbiterv1.PlayerResult{}
	for _, p := range []*chessPlayer{g.white, g.black} {
		p.await("MatchEnd", func() bool { return p.c.MatchEnd() != nil })
		for _, r := range p.c.MatchEnd().GetResults() {
			out[r.GetPlayerId()] = r
		}
	}
	return out
}

// wantResult checks the final Board of both players and the MatchEnd.
func (g chessGame) wantResult(status string, winner *chessPlayer) map[string]*arbiterv1.PlayerResult {
	g.t.Helper()
	for _, p := range []*chessPlayer{g.white, g.black} {
		b := p.awaitBoard("the end", func(b *chessv1.Board) bool { return b.GetStatus() != "playing" })
		wantWinner := ""
		if winner != nil {
			wantWinner = winner.id
		}
		if b.GetStatus() != status || b.GetWinner() != wantWinner {
			g.t.Errorf("%s's last board: status %q winner %q, want %q %q", p.id, b.GetStatus(), b.GetWinner(), status, wantWinner)
		}
	}
	res := g.end()
	for _, p := range []*chessPlayer{g.white, g.black} {
		want := uint32(1)
		if winner != nil && winner != p {
			want = 2
		}
		if got := res[p.id].GetPlacement(); got != want {
			g.t.Errorf("%s placed %d, want %d", p.id, got, want)
		}
	}
	return res
}

// TestChessFoolsMate plays the scripted fool's mate through the REST API
// and the WebSocket, with an illegal move and a move out of turn on the
// way: both are Rejected, change nothing, and cost nobody the game; the
// mate ends it with MatchEnd, Black first, ±16 Elo for equal ratings
// (K = 32).
func TestChessFoolsMate(t *testing.T) {
	ts := startServer(t)
	g := startChess(t, ts)
	g.play("f2f3")
	before := g.white.board()

	g.white.move("e2e4") // not White's turn
	g.black.move("e7e1") // no such move
	for _, c := range []struct {
		p    *chessPlayer
		want string
	}{{g.white, "not_your_turn"}, {g.black, "illegal_move"}} {
		c.p.await("Rejected", func() bool { c.p.mu.Lock(); defer c.p.mu.Unlock(); return len(c.p.rejected) == 1 })
		if got := c.p.rejected[0].GetReason(); got != c.want {
			t.Errorf("%s: Rejected %q, want %q", c.p.id, got, c.want)
		}
	}
	if got := g.black.board(); !slices.Equal(got.GetMoves(), before.GetMoves()) || got.GetFen() != before.GetFen() {
		t.Errorf("board after the refused moves: %v, want it unchanged from %v", got, before)
	}

	g.play("e7e5", "g2g4", "d8h4")
	res := g.wantResult("checkmate", g.black)
	for p, delta := range map[*chessPlayer]float64{g.black: 16, g.white: -16} {
		r := res[p.id]
		if d := r.GetRatingAfter() - r.GetRatingBefore(); r.GetRatingBefore() != 1500 || math.Abs(d-delta) > 1e-9 {
			t.Errorf("%s: rating %v → %v, want 1500 → %+v", p.id, r.GetRatingBefore(), r.GetRatingAfter(), delta)
		}
	}
	for _, p := range []*chessPlayer{g.white, g.black} {
		<-p.c.Done()
		if ce := p.c.CloseError(); ce == nil || ce.Code != 1000 {
			t.Errorf("%s: closed with %v, want 1000 after the mate", p.id, ce)
		}
	}
	// Every action was answered and timed: four moves, two refused.
	sc := ts.scrape(t)
	if n := sc.must(t, "arbiter_action_duration_seconds"); n != 6 {
		t.Errorf("arbiter_action_duration_seconds counts %v actions, want 6", n)
	}
	// Both players' connections were read by the reactor (Linux), none
	// at ticks: a chess room never polls.
	wantReactor := 0.0
	if runtime.GOOS == "linux" {
		wantReactor = 2
	}
	if n := sc.must(t, "arbiter_ws_reactor_reads_total"); n != wantReactor {
		t.Errorf("arbiter_ws_reactor_reads_total = %v, want %v", n, wantReactor)
	}
	if n := sc.must(t, "arbiter_ws_tick_reads_total"); n != 0 {
		t.Errorf("arbiter_ws_tick_reads_total = %v, want 0", n)
	}
}

// TestChessFlagFall: with a 2 s clock, the side to move that does not
// move loses on time, without anyone acting.
func TestChessFlagFall(t *testing.T) {
	ts := startServer(t, "--chess-clock", "2s+0s")
	g := startChess(t, ts)
	g.play("e2e4")
	g.wantResult("timeout", g.white)
	if ms := g.black.board().GetBlackMs(); ms != 0 {
		t.Errorf("Black's clock on the last board: %d ms, want 0", ms)
	}
}

// TestChessDrawByAgreement: an offer, accepted by offering back; both
// placed first, no rating change for equal ratings.
func TestChessDrawByAgreement(t *testing.T) {
	ts := startServer(t)
	g := startChess(t, ts)
	g.play("e2e4")
	offer := &chessv1.Command{Kind: &chessv1.Command_OfferDraw{OfferDraw: &chessv1.OfferDraw{}}}
	g.white.send(offer)
	g.black.awaitBoard("the offer", func(b *chessv1.Board) bool { return b.GetDrawOffer() == g.white.id })
	g.black.send(offer)
	res := g.wantResult("draw_agreed", nil)
	for id, r := range res {
		if r.GetRatingAfter() != r.GetRatingBefore() {
			t.Errorf("%s: rating %v → %v, want unchanged by a draw of equals", id, r.GetRatingBefore(), r.GetRatingAfter())
		}
	}
}

// TestChessThreefoldRepetition: the knights go out and back twice; the
// start position's third occurrence ends the game drawn.
func TestChessThreefoldRepetition(t *testing.T) {
	ts := startServer(t)
	g := startChess(t, ts)
	g.play("g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1", "f6g8")
	g.wantResult("threefold_repetition", nil)
}

// TestChessPromotionToKnight: a pawn reaches the last rank and becomes a
// knight; the game goes on; Black resigns.
func TestChessPromotionToKnight(t *testing.T) {
	ts := startServer(t)
	g := startChess(t, ts)
	g.play("a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "b8c6", "b7a8n")
	if fen := g.black.board().GetFen(); fen[0] != 'N' {
		t.Errorf("FEN after b7a8n = %q, want a white knight on a8", fen)
	}
	g.black.send(&chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}})
	g.wantResult("resigned", g.white)
}

// TestChessWithStores plays the fool's mate on a server with Redis and
// Postgres: every move's state is in Redis (the game's key) by the time
// its State arrives, and the result is rated. (That the room saves before
// it sends is TestEventGameSavedBeforeBroadcast's, in match.)
func TestChessWithStores(t *testing.T) {
	redisURL, prefix := servicetest.Redis(t, servicetest.DBServer)
	dbURL, schema := servicetest.Postgres(t)
	ts := startServer(t, "--redis-url", redisURL, "--redis-prefix", prefix, "--database-url", dbURL, "--database-schema", schema)
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })

	g := startChess(t, ts)
	matchID := g.white.c.Welcome().MatchID
	// The moves the game's key holds, checked by each receiver the moment
	// a State arrives (on the client's read goroutine).
	var mu sync.Mutex
	var behind []string
	for _, p := range []*chessPlayer{g.white, g.black} {
		p.setOnBoard(func(b *chessv1.Board) {
			var saved struct {
				State struct {
					Moves []string `json:"moves"`
				} `json:"state"`
			}
			raw, err := rdb.Get(context.Background(), prefix+"game:"+matchID).Bytes()
			if err == nil {
				err = json.Unmarshal(raw, &saved)
			}
			if err != nil || len(saved.State.Moves) < len(b.GetMoves()) {
				mu.Lock()
				behind = append(behind, fmt.Sprintf("%s saw %v, Redis held %v (%v)", p.id, b.GetMoves(), saved.State.Moves, err))
				mu.Unlock()
			}
		})
	}
	g.play("f2f3", "e7e5", "g2g4", "d8h4")
	res := g.wantResult("checkmate", g.black)
	if r := res[g.black.id]; r.GetRatingAfter()-r.GetRatingBefore() != 16 {
		t.Errorf("winner's rating %v → %v, want +16", r.GetRatingBefore(), r.GetRatingAfter())
	}
	mu.Lock()
	for _, b := range behind {
		t.Errorf("a State arrived before Redis held it: %s", b)
	}
	mu.Unlock()

	// The finished game — moves, PGN — is in the API's answer (from Redis
	// at first) and reaches Postgres through the archive stream.
	wantMoves := []string{"f2f3", "e7e5", "g2g4", "d8h4"}
	checkRecord := func(where string, raw []byte) {
		t.Helper()
		var rec struct {
			Moves []string `json:"moves"`
			PGN   string   `json:"pgn"`
			FEN   string   `json:"fen"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("%s: record %s: %v", where, raw, err)
		}
		if !slices.Equal(rec.Moves, wantMoves) || !strings.Contains(rec.PGN, "2. g4 Qh4# 0-1") || rec.FEN == "" {
			t.Errorf("%s: record = %s, want moves %v, a PGN ending 0-1 and a FEN", where, raw, wantMoves)
		}
	}
	viewer := ts.api(t, ts.guest(t, "viewer").Token)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := viewer.Match(t.Context(), matchID)
		if err == nil && m.Status == "ended" && m.Record != nil {
			checkRecord("GET /v1/matches/{id}", m.Record)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/matches/%s = %+v, %v; want an ended match with its record within 10 s", matchID, m, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the API
	}
	archived := waitArchived(t, dbURL, schema, matchID)
	if archived.Reason != "checkmate" {
		t.Errorf("archived reason = %q, want checkmate", archived.Reason)
	}
	checkRecord("Postgres matches.record", archived.Record)
}

package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// TestHostileClient throws what a hostile client can send at a running duel
// over real sockets: forged and foreign tokens, a text frame, random bytes,
// a 1 MiB frame, replayed seqs and a 10× input flood. Each is answered as
// SPEC §3 says, and the honest player in the same room receives every
// snapshot, in order, on time, throughout.
func TestHostileClient(t *testing.T) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "60s", "--grace", "60s")
	honestG, hostileG := ts.guest(t, "honest"), ts.guest(t, "hostile")
	tickets := ts.queue(t, "duel", honestG, hostileG)
	hostileURL := tickets[1].WSURL

	honest := connect(t, tickets[0].WSURL, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { honest.play(stop, 0) })
	defer func() { close(stop); wg.Wait() }()

	// dialHostile connects on the hostile player's seat (each connection
	// replaces the last one).
	dialHostile := func(t *testing.T) *client.Client {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, hostileURL, client.Options{})
		if err != nil {
			t.Fatalf("dial hostile seat: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	closedWith := func(t *testing.T, c *client.Client, code uint16, kicks ...string) {
		t.Helper()
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("not closed within 10s; want %d %v", code, kicks)
		}
		ce := c.CloseError()
		if ce == nil || ce.Code != code {
			t.Fatalf("close = %v, want code %d", ce, code)
		}
		if len(kicks) > 0 && !contains(kicks, ce.KickReason) {
			t.Errorf("kick reason %q, want one of %v", ce.KickReason, kicks)
		}
	}
	first := dialHostile(t) // the match starts once both seats have joined
	for range 3 {
		<-honest.snaps
	}
	_ = first.Close()

	t.Run("forged and foreign tokens", func(t *testing.T) {
		wsBase := strings.Replace(ts.base, "http://", "ws://", 1) + "/v1/play?token="
		tokens := map[string]string{
			"forged":         tickets[1].JoinToken[:len(tickets[1].JoinToken)-3] + "abc",
			"other match":    ts.tokens.Join(hostileG.PlayerID, "not-this-match", time.Now().Add(time.Hour)),
			"garbage":        "%%%",
			"bearer as join": hostileG.Token,
		}
		for name, tok := range tokens {
			_, err := client.Dial(t.Context(), wsBase+url.QueryEscape(tok), client.Options{})
			var he *client.HandshakeError
			if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: %v, want 401 before the upgrade", name, err)
			}
		}
	})
	t.Run("text frame", func(t *testing.T) {
		c := dialHostile(t)
		_ = c.SendText(`{"input":{"seq":1}}`)
		closedWith(t, c, 1003)
	})
	t.Run("random bytes", func(t *testing.T) {
		c := dialHostile(t)
		junk := make([]byte, 64)
		r := rand.New(rand.NewPCG(1, 1))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		junk[0] = 0xff // an invalid protobuf tag, whatever follows
		_ = c.SendRaw(junk)
		closedWith(t, c, 1007, "bad_frame")
	})
	t.Run("1 MiB frame", func(t *testing.T) {
		c := dialHostile(t)
		_ = c.SendRaw(make([]byte, 1<<20))
		closedWith(t, c, 1009)
	})
	t.Run("replayed seqs", func(t *testing.T) {
		c := dialHostile(t)
		send := func(seq uint32) {
			_ = c.Send(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{Seq: seq, MoveX: 1000}}})
		}
		for seq := uint32(1); seq <= 5; seq++ {
			send(seq)
		}
		waitAck(t, c, 5)
		for _, seq := range []uint32{3, 4, 5, 1} { // replays: ignored, not applied twice
			send(seq)
		}
		send(6)
		waitAck(t, c, 6)
		e := entityOf(c.LastSnapshot(), uint32(c.Welcome().Entity))
		want := sim.SpawnPoint(int(c.Welcome().Entity) - 1)
		for range 6 {
			want = sim.Move(want, sim.Input{MoveX: 1000}, 30)
		}
		if got := (sim.Vec{X: e.GetX(), Y: e.GetY()}); got != want {
			t.Errorf("after 6 inputs and 4 replays the entity is at %v, want %v (each input once)", got, want)
		}
		select {
		case <-c.Done():
			t.Errorf("a few replays closed the connection: %v", c.CloseError())
		default:
		}
		_ = c.Close()
	})
	// Let the honest player collect at least two seconds of snapshots
	// before the flood, which ends the duel.
	deadline := time.Now().Add(10 * time.Second)
	for {
		honest.mu.Lock()
		n := len(honest.ticks)
		honest.mu.Unlock()
		if n >= 60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("honest player got only %d snapshots", n)
		}
		time.Sleep(50 * time.Millisecond) // polling its progress
	}
	t.Run("10x input flood", func(t *testing.T) {
		c := dialHostile(t)
		seq := uint32(100)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for flooding := true; flooding; {
			select {
			case <-c.Done():
				flooding = false
			case <-tick.C:
				for range 10 {
					seq++
					_ = c.Send(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{Seq: seq, MoveX: 1000}}})
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a 10× flood was not stopped within 10s")
			}
		}
		closedWith(t, c, 1008, "input_flood", "cheat")
		t.Logf("flood stopped by %q after %d inputs", c.CloseError().KickReason, seq-100)
		// Kicked for cheating or flooding, the seat is finished for it.
		if ce := c.CloseError(); ce.KickReason == "cheat" {
			// The event reaches the store through the manager's queue.
			deadline := time.Now().Add(5 * time.Second)
			for {
				evs, _ := ts.stores.AntiCheatEvents(t.Context(), hostileG.PlayerID)
				if len(evs) == 1 && evs[0].Action == "kick" && evs[0].MatchID == tickets[1].MatchID && len(evs[0].Violations) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("anti-cheat events = %+v, want one kick with violation counts", evs)
				}
				time.Sleep(10 * time.Millisecond) // polling the store
			}
			_, err := client.Dial(t.Context(), hostileURL, client.Options{})
			var he *client.HandshakeError
			if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
				t.Errorf("rejoin after a cheat kick: %v, want 401", err)
			}
		}
	})

	// A kicked player forfeits, so the duel is over: the honest player wins.
	select {
	case <-honest.c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the duel did not end after the cheater was kicked")
	}
	end := honest.c.MatchEnd()
	for _, r := range end.GetResults() {
		if r.GetPlayerId() == honestG.PlayerID && r.GetPlacement() != 1 || r.GetPlayerId() == hostileG.PlayerID && r.GetPlacement() != 2 {
			t.Errorf("MatchEnd = %v, want the honest player first and the cheater last", end)
		}
	}
	if res, ok, _ := ts.stores.MatchResult(t.Context(), tickets[0].MatchID); !ok || res.Reason != "forfeit" {
		t.Errorf("stored result = %+v, want ended by forfeit", res)
	}

	// Until then the honest player saw every tick, in order, without a gap.
	honest.mu.Lock()
	ticks, times := append([]uint32(nil), honest.ticks...), append([]time.Time(nil), honest.times...)
	honest.mu.Unlock()
	for k := 1; k < len(ticks); k++ {
		if ticks[k] != ticks[k-1]+1 {
			t.Fatalf("honest player: tick %d followed by %d", ticks[k-1], ticks[k])
		}
	}
	if rate := float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Seconds(); rate < 27 || rate > 33 {
		t.Errorf("honest player: %.1f snapshots/s, want 30 ± 10%%", rate)
	}
	if ps := honest.c.PredictionError(); ps.Corrections != 0 {
		t.Errorf("honest player's prediction was corrected %d times", ps.Corrections)
	}
}

func waitAck(t *testing.T, c *client.Client, seq uint32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for entityOf(c.LastSnapshot(), uint32(c.Welcome().Entity)).GetLastInputSeq() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("seq %d not acknowledged within 5s", seq)
		}
		time.Sleep(10 * time.Millisecond) // polling for the next snapshot
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

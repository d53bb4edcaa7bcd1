package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/bench"
	"github.com/arbiter-gg/arbiter/netcode/client"
)

// populationServer starts a server for population runs: short duels, and
// sign-ups and connections enough for many bots from one address.
func populationServer(t *testing.T, rate int) *testServer {
	t.Helper()
	return startServer(t, "--tick-rate", fmt.Sprint(rate), "--match-duration", "4s",
		"--guest-rate", "1000", "--guest-burst", "1000", "--max-conns-per-ip", "1000")
}

// TestHonestPopulation plays duels between bots that behave like real
// clients on real networks — holding the trigger, rounding analog sticks
// (through the library, and raw), sending at 2× and 4× the tick rate or
// paced by the library, stalling 0.5–3 s, reloading mid-match, joining up
// to 5 s late — over links of 20–150 ms ± 30 ms, at 30 and 60 Hz: nobody
// is kicked, nobody forfeits, nobody moves faster than the rules allow,
// and the server scores no violation. The bots take delta snapshots, the
// client library's default, and at 30 Hz full ones too. (`arbiter-bench
// --scenario population` plays the same bots for as many matches as
// wanted.)
func TestHonestPopulation(t *testing.T) {
	tests := []struct {
		rate int
		full bool // FullSnapshots
	}{{30, false}, {60, false}, {30, true}}
	for _, tt := range tests {
		name := fmt.Sprintf("%dHz", tt.rate)
		if tt.full {
			name += "/snapshots=full"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := populationServer(t, tt.rate)
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			rep, err := bench.RunPopulation(ctx, bench.PopulationConfig{BaseURL: ts.base, Matches: 10, Parallel: 5, Seed: uint64(tt.rate),
				FullSnapshots: tt.full})
			if err != nil {
				t.Fatal(err)
			}
			var table strings.Builder
			_ = bench.WritePopulationTable(&table, rep)
			t.Logf("\n%s", table.String())
			if rep.Matches != 10 || !rep.Honest() {
				t.Errorf("%d matches; honest players punished (see the table)", rep.Matches)
			}
			seen := map[string]bool{}
			for _, row := range rep.Rows {
				seen[row.Trait] = true
			}
			for _, want := range []string{"hold fire", "analog", "stall", "reload", "join late", "send:paced", "send:2x", "send:4x", "send:raw-analog"} {
				if !seen[want] {
					t.Errorf("no player had the trait %q: the run did not exercise it", want)
				}
			}
		})
	}
}

// TestCheaterPopulation plays the population against cheaters: a 10×
// input flood, move vectors of length 1500, view ticks from the future,
// replayed seqs and undecodable frames. None moves faster than one step
// per tick; the flood is closed for flooding, the invalid inputs and the
// bad frames are kicked for cheating (and refused when they come back);
// replays are ignored, not punished; the honest players are untouched.
func TestCheaterPopulation(t *testing.T) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "6s",
		"--guest-rate", "1000", "--guest-burst", "1000", "--max-conns-per-ip", "1000")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// One match at a time: an honest bot against each kind of cheater in
	// turn (late joins shortened: they are not the subject here).
	rep, err := bench.RunPopulation(ctx, bench.PopulationConfig{BaseURL: ts.base, Matches: 5, Parallel: 1, Cheaters: true,
		MaxJoinLate: time.Second, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	_ = bench.WritePopulationTable(&table, rep)
	t.Logf("\n%s", table.String())
	// How a cheater ends: the flood closed for flooding, the rest kicked
	// for cheating, replays played to the end.
	want := map[string]string{
		"cheat:flood-10x":   "input_flood",
		"cheat:vector-1500": "cheat",
		"cheat:future-view": "cheat",
		"cheat:bad-frames":  "kicked, rejoin refused (401)",
		"cheat:replay":      "",
	}
	for _, row := range rep.Rows {
		if row.MaxStep > row.LegalStep {
			t.Errorf("%s: moved %d in one tick, more than the legal %d", row.Trait, row.MaxStep, row.LegalStep)
		}
		end, isCheat := want[row.Trait]
		switch {
		case !isCheat:
			if row.Completed != row.Players || row.Forfeits != 0 {
				t.Errorf("%s: %d of %d played to the end, %d forfeits; want all, none", row.Trait, row.Completed, row.Players, row.Forfeits)
			}
		case end == "":
			if row.Completed != row.Players {
				t.Errorf("%s: %d of %d played to the end, closed %v; want all", row.Trait, row.Completed, row.Players, row.Closed)
			}
		case row.Closed[end] != row.Players:
			t.Errorf("%s: closed %v, %d played to the end; want all %d %s", row.Trait, row.Closed, row.Completed, row.Players, end)
		}
		delete(want, row.Trait)
	}
	if len(want) > 0 {
		t.Errorf("no player cheated as %v", want)
	}
	if rep.Inputs["invalid"] == 0 || rep.Kicks == 0 {
		t.Errorf("server counted %v inputs and %v kicks, want invalid inputs and kicks", rep.Inputs, rep.Kicks)
	}
}

// TestForfeitedReturns: in an ffa that goes on without it, a player away
// past --grace who comes back is told it forfeited — Kick forfeited, close
// 4001, no Welcome — and the client library does not try again.
func TestForfeitedReturns(t *testing.T) {
	ts := startServer(t, "--tick-rate", "30", "--match-duration", "60s", "--grace", "1s", "--ffa-wait", "1s")
	guests := []guest{ts.guest(t, "a"), ts.guest(t, "b"), ts.guest(t, "leaves")}
	tickets := ts.queue(t, "ffa", guests...)
	var players []*player
	for _, tk := range tickets {
		players = append(players, connect(t, tk.WSURL, 0))
	}
	<-players[0].snaps // running
	leaving := players[2].c
	_ = leaving.Close()
	// Away for three times the grace period: the time passing is what is
	// tested here; the room forfeits the player after 1 s of ticks.
	time.Sleep(3 * time.Second)
	back, err := client.Dial(t.Context(), tickets[2].WSURL, client.Options{})
	if err == nil {
		_ = back.Close()
		t.Fatalf("a forfeited player was welcomed back: %+v", back.Welcome())
	}
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.KickReason != "forfeited" || ce.Reason != "forfeited" {
		t.Fatalf("dial after forfeiting: %v, want Kick forfeited and close 4001", err)
	}
	if ce.Resumable() {
		t.Error("a forfeited close is resumable")
	}
	// The others play on.
	select {
	case <-players[0].c.Done():
		t.Fatalf("the match ended: %v", players[0].c.CloseError())
	case <-players[0].snaps:
	}
}

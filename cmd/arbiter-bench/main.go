// Command arbiter-bench is the load generator of the arena benchmark
// (bench/README.md): it plays N bot clients against a running Arbiter server and prints
// what it measured. See bench/README.md for how to run a comparable
// measurement (separate cores, server flags).
//
//	arbiter-bench --addr http://127.0.0.1:8080 --clients 500 --duration 20s
//
// With --scenario population it plays many short duels between bots that
// behave like real clients on real networks (held triggers, analog sticks,
// frame-rate senders, stalls, reloads, late joins, 20–150 ms links), and
// with --cheaters against cheaters, and prints per behaviour how its
// players ended (bench.RunPopulation):
//
//	arbiter-bench --scenario population --matches 1000 --parallel 50
//
// It prints a progress line a second on stderr and the result table (or,
// with --json, the report as JSON) on stdout. Any error is one line on
// stderr and exit code 1; bad flags exit 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/arbiter-gg/arbiter/bench"
	"github.com/arbiter-gg/arbiter/netem"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arbiter-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "http://127.0.0.1:8080", "base URL of the running server")
	clients := fs.Int("clients", 100, "bot clients, N (not 1 more than a multiple of the room size)")
	duration := fs.Duration("duration", 20*time.Second, "measurement window (at least 20s for comparable figures)")
	warmup := fs.Duration("warmup", 2*time.Second, "play after the last join before measuring")
	tickRate := fs.Int("tick-rate", 0, "the server's expected tick rate; another rate fails the run (0: accept any)")
	mode := fs.String("mode", "ffa", "game mode to queue in: ffa or duel")
	concurrency := fs.Int("concurrency", 64, "clients joining at once")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	scenario := fs.String("scenario", "arena", "arena (the benchmark workload of bench/README.md) or population (honest clients on real networks, and cheaters)")
	matches := fs.Int("matches", 100, "population: duels to play (run the server with a short --match-duration)")
	parallel := fs.Int("parallel", 10, "population: duels at once")
	cheaters := fs.Bool("cheaters", false, "population: every other bot cheats (flood, long vectors, future view ticks, replays, bad frames)")
	latMin := fs.Duration("latency-min", 20*time.Millisecond, "population: least one-way latency of a bot's link")
	latMax := fs.Duration("latency-max", 150*time.Millisecond, "population: most one-way latency of a bot's link")
	jitter := fs.Duration("jitter", 0, "± jitter of every chunk on each client's link (population default: 30ms)")
	latency := fs.Duration("latency", 0, "arena: one-way latency of each client's link, emulated in the generator (netem)")
	unpaced := fs.Bool("unpaced", false, "arena: send on a fixed ticker at the tick rate instead of the client library's pacing")
	seed := fs.Uint64("seed", 1, "population: seed of the behaviours and links")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "arbiter-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch *scenario {
	case "arena":
	case "population":
		pcfg := bench.PopulationConfig{BaseURL: *addr, Matches: *matches, Parallel: *parallel, Cheaters: *cheaters,
			LatencyMin: *latMin, LatencyMax: *latMax, Jitter: *jitter, Seed: *seed}
		if !*quiet {
			pcfg.Progress = stderr
		}
		rep, err := bench.RunPopulation(ctx, pcfg)
		if err != nil {
			fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
			return 1
		}
		if *asJSON {
			return writeJSON(stdout, stderr, rep)
		}
		if err := bench.WritePopulationTable(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "arbiter-bench: --scenario %q: want arena or population\n", *scenario)
		return 2
	}
	cfg := bench.Config{
		BaseURL:     *addr,
		Clients:     *clients,
		Duration:    *duration,
		Warmup:      *warmup,
		Mode:        *mode,
		TickRate:    *tickRate,
		Concurrency: *concurrency,
		Link:        netem.Link{Latency: *latency, Jitter: *jitter, Seed: *seed},
		Unpaced:     *unpaced,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	if *asJSON {
		return writeJSON(stdout, stderr, rep)
	}
	pacing := "paced"
	if *unpaced {
		pacing = "unpaced"
	}
	fmt.Fprintf(stdout, "%s, %d clients, %d Hz, %s, link %v ± %v, window %.1fs, joined in %.1fs (%d throttled), %d inputs, %d timed\n\n",
		rep.Mode, rep.Clients, rep.TickRate, pacing, *latency, *jitter, rep.Window, rep.JoinTime.Seconds(), rep.Throttled, rep.Inputs, rep.Acks)
	if err := bench.WriteTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "\nnote: %s\n", n)
	}
	return 0
}

// writeJSON prints v as indented JSON and returns the exit code.
func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	return 0
}

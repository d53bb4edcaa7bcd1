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
// With --mode chess it runs the chess benchmark (bench.RunChess): --games N
// games at once, 2N bots replaying recorded games with a think time before
// every move, and reports the server's time to answer a move, the time from
// a move's send to the opponent's State, server CPU and Redis commands per
// move:
//
//	arbiter-bench --mode chess --games 100 --duration 30s --redis-url redis://127.0.0.1:6379
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
	"slices"
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
	mode := fs.String("mode", "ffa", "game mode to queue in: ffa or duel (the arena), or chess (the chess benchmark)")
	games := fs.Int("games", 100, "chess: games at once, N (2N bots)")
	thinkMin := fs.Duration("think-min", 500*time.Millisecond, "chess: least think time before a move")
	thinkMax := fs.Duration("think-max", 3*time.Second, "chess: most think time before a move")
	redisURL := fs.String("redis-url", "", "chess: the server's Redis (redis://host:port), for Redis commands per move; it must serve that server alone (default: n/a)")
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
	snapshots := fs.String("snapshots", "delta", "arena: the snapshots the bots ask for, delta (the client library's default) or full")
	seed := fs.Uint64("seed", 1, "population: seed of the behaviours and links")
	quiet := fs.Bool("quiet", false, "no progress lines")
	cpuProfile := fs.String("cpuprofile", "", "arena: write a CPU profile of the generator over the measurement window to this file")
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
	if f := setOneOf(fs, chessOnly); f != "" && *mode != "chess" {
		fmt.Fprintf(stderr, "arbiter-bench: --%s applies to --mode chess only\n", f)
		return 2
	}
	switch {
	case *mode == "chess":
		return runChess(ctx, fs, stdout, stderr, bench.ChessConfig{
			BaseURL: *addr, Games: *games, Duration: *duration, Warmup: *warmup,
			ThinkMin: *thinkMin, ThinkMax: *thinkMax, Concurrency: *concurrency,
			RedisURL: *redisURL, Seed: *seed,
		}, *asJSON, *quiet)
	case *snapshots != "delta" && *snapshots != "full":
		fmt.Fprintf(stderr, "arbiter-bench: --snapshots %q: want delta or full\n", *snapshots)
		return 2
	case *scenario == "arena":
	case *scenario == "population":
		pcfg := bench.PopulationConfig{BaseURL: *addr, Matches: *matches, Parallel: *parallel, Cheaters: *cheaters,
			LatencyMin: *latMin, LatencyMax: *latMax, Jitter: *jitter, Seed: *seed, FullSnapshots: *snapshots == "full"}
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
		BaseURL:       *addr,
		Clients:       *clients,
		Duration:      *duration,
		Warmup:        *warmup,
		Mode:          *mode,
		TickRate:      *tickRate,
		Concurrency:   *concurrency,
		Link:          netem.Link{Latency: *latency, Jitter: *jitter, Seed: *seed},
		Unpaced:       *unpaced,
		FullSnapshots: *snapshots == "full",
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.CPUProfile = f
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
	fmt.Fprintf(stdout, "%s, %d clients, %d Hz, %s, %s snapshots, link %v ± %v, window %.1fs, joined in %.1fs (%d throttled, %d unavailable), %d inputs, %d timed\n\n",
		rep.Mode, rep.Clients, rep.TickRate, pacing, rep.Snapshots, *latency, *jitter, rep.Window, rep.JoinTime.Seconds(), rep.Throttled, rep.Unavailable, rep.Inputs, rep.Acks)
	if err := bench.WriteTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "\nnote: %s\n", n)
	}
	return 0
}

// chessOnly and arenaOnly are the flags that mean something in one of the
// two benchmarks only; setting one for the other is a mistake worth an
// error rather than a silent no-op.
var (
	chessOnly = []string{"games", "think-min", "think-max", "redis-url"}
	arenaOnly = []string{"clients", "tick-rate", "latency", "jitter", "unpaced", "snapshots", "scenario", "cpuprofile",
		"matches", "parallel", "cheaters", "latency-min", "latency-max"}
)

// runChess runs the chess benchmark and prints its report; it returns the
// exit code.
func runChess(ctx context.Context, fs *flag.FlagSet, stdout, stderr io.Writer, cfg bench.ChessConfig, asJSON, quiet bool) int {
	if bad := setOneOf(fs, arenaOnly); bad != "" {
		fmt.Fprintf(stderr, "arbiter-bench: --%s does not apply to --mode chess (games: --games)\n", bad)
		return 2
	}
	if !quiet {
		cfg.Progress = stderr
	}
	rep, err := bench.RunChess(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	if asJSON {
		return writeJSON(stdout, stderr, rep)
	}
	fmt.Fprintf(stdout, "chess, %d games (%d clients), think %v–%v, window %.1fs, joined in %.1fs (%d throttled, %d unavailable), %d moves, %d timed, %d actions answered\n\n",
		rep.Games, rep.Clients, rep.ThinkMin, rep.ThinkMax, rep.Window, rep.JoinTime.Seconds(), rep.Throttled, rep.Unavailable, rep.Moves, rep.Delivered, rep.Actions)
	if err := bench.WriteChessTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	if by := rep.RedisPerMoveByCommand(8); by != "" {
		fmt.Fprintf(stdout, "\nRedis commands per move (INFO commandstats: a script's own commands count too): %s\n", by)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "\nnote: %s\n", n)
	}
	return 0
}

// setOneOf returns the first of names set on the command line, or "".
func setOneOf(fs *flag.FlagSet, names []string) string {
	set := ""
	fs.Visit(func(f *flag.Flag) {
		if set == "" && slices.Contains(names, f.Name) {
			set = f.Name
		}
	})
	return set
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

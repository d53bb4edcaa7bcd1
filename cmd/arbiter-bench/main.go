// Command arbiter-bench is the load generator of the arena benchmark (SPEC
// §7): it plays N bot clients against a running Arbiter server and prints
// what it measured. See bench/README.md for how to run a comparable
// measurement (separate cores, server flags).
//
//	arbiter-bench --addr http://127.0.0.1:8080 --clients 500 --duration 20s
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
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arbiter-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "http://127.0.0.1:8080", "base URL of the running server")
	clients := fs.Int("clients", 100, "bot clients, N (not 1 more than a multiple of the room size)")
	duration := fs.Duration("duration", 20*time.Second, "measurement window (SPEC §7: at least 20s)")
	warmup := fs.Duration("warmup", 2*time.Second, "play after the last join before measuring")
	tickRate := fs.Int("tick-rate", 0, "the server's expected tick rate; another rate fails the run (0: accept any)")
	mode := fs.String("mode", "ffa", "game mode to queue in: ffa or duel")
	concurrency := fs.Int("concurrency", 64, "clients joining at once")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
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
	cfg := bench.Config{
		BaseURL:     *addr,
		Clients:     *clients,
		Duration:    *duration,
		Warmup:      *warmup,
		Mode:        *mode,
		TickRate:    *tickRate,
		Concurrency: *concurrency,
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s, %d clients, %d Hz, window %.1fs, joined in %.1fs (%d throttled), %d inputs, %d timed\n\n",
		rep.Mode, rep.Clients, rep.TickRate, rep.Window, rep.JoinTime.Seconds(), rep.Throttled, rep.Inputs, rep.Acks)
	if err := bench.WriteTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "arbiter-bench: %v\n", err)
		return 1
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(stdout, "\nnote: %s\n", n)
	}
	return 0
}

// Command arbiter runs the Arbiter game server: the REST matchmaker under
// /v1, the game WebSocket at /v1/play, and the match rooms behind them.
//
// With no configuration it runs on :8080 with in-memory stores: nothing is
// durable. See --help for every setting and its ARBITER_ environment twin.
//
// Exit codes: 0 after a clean shutdown, 1 when the server cannot listen or
// fails while running, 2 for invalid configuration (an unreachable store
// included).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/arbiter-gg/arbiter/persistence/redis"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parseConfig(args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "arbiter: invalid configuration: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	redis.SetDriverLogger(log)
	srv, err := newServer(cfg, log)
	if err != nil {
		// One line, whatever the driver's message looks like.
		fmt.Fprintf(os.Stderr, "arbiter: invalid configuration: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "arbiter: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.run(ctx, ln); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	return 0
}

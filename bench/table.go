package bench

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// tableHeader is the benchmark's columns (bench/README.md), then the sanity
// columns.
var tableHeader = []string{
	"N", "T", "CPU µs/client-tick", "server CPU", "ack p50", "ack p99", "ack max",
	"B/client/s", "RSS", "tick p99", "overruns", "snap/client/s", "starved", "surplus", "corrections", "dropped", "gen CPU",
}

// WriteTable writes reports as one Markdown table, a row per report.
func WriteTable(w io.Writer, reports ...Report) error {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	row(tableHeader)
	sep := make([]string, len(tableHeader))
	for i := range sep {
		sep[i] = "---:"
	}
	row(sep)
	for _, r := range reports {
		row([]string{
			fmt.Sprint(r.Clients),
			fmt.Sprint(r.TickRate),
			fmt.Sprintf("%.2f", r.CPUPerClientTick),
			fmt.Sprintf("%.2f", r.ServerCores),
			fmtDuration(r.AckP50),
			fmtDuration(r.AckP99),
			fmtDuration(r.AckMax),
			fmt.Sprintf("%.0f", r.BytesPerClientSec),
			fmt.Sprintf("%.0f MiB", r.RSS/(1<<20)),
			fmtDuration(r.TickP99),
			fmt.Sprint(r.Overruns),
			fmt.Sprintf("%.1f", r.SnapshotsPerClientSec),
			fmt.Sprint(r.Starved),
			fmt.Sprint(r.Surplus),
			fmt.Sprint(r.Corrections),
			fmt.Sprint(r.Dropped),
			fmt.Sprintf("%.2f", r.GeneratorCPU),
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// chessHeader is the chess benchmark's columns (bench/README.md, "Chess").
var chessHeader = []string{
	"games", "clients", "moves/s", "server p50", "server p99", "server max",
	"send→recv p50", "send→recv p99", "send→recv max", "CPU µs/move", "server CPU",
	"Redis calls/move", "RSS", "games ended", "errors", "saves failed", "gen CPU",
}

// WriteChessTable writes chess reports as one Markdown table, a row per
// report.
func WriteChessTable(w io.Writer, reports ...ChessReport) error {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	row(chessHeader)
	sep := make([]string, len(chessHeader))
	for i := range sep {
		sep[i] = "---:"
	}
	row(sep)
	for _, r := range reports {
		serverMax := "≤ " + fmtFine(r.ServerMax)
		if r.ServerMaxOver {
			serverMax = "> " + fmtFine(r.ServerMax)
		}
		beyond := func(d time.Duration, over bool) string {
			if over {
				return "> " + fmtFine(d)
			}
			return fmtFine(d)
		}
		redis := "n/a"
		if r.RedisPerMove != nil {
			redis = fmt.Sprintf("%.2f", *r.RedisPerMove)
		}
		saves := "n/a"
		if r.SaveFailures != nil {
			saves = fmt.Sprint(*r.SaveFailures)
		}
		row([]string{
			fmt.Sprint(r.Games),
			fmt.Sprint(r.Clients),
			fmt.Sprintf("%.1f", r.MovesPerSec),
			beyond(r.ServerP50, r.ServerP50Over),
			beyond(r.ServerP99, r.ServerP99Over),
			serverMax,
			fmtFine(r.DeliveryP50),
			fmtFine(r.DeliveryP99),
			fmtFine(r.DeliveryMax),
			fmt.Sprintf("%.0f", r.CPUPerMove),
			fmt.Sprintf("%.2f", r.ServerCores),
			redis,
			fmt.Sprintf("%.0f MiB", r.RSS/(1<<20)),
			fmt.Sprint(r.GamesEnded),
			fmt.Sprint(r.Errors()),
			saves,
			fmt.Sprintf("%.2f", r.GeneratorCPU),
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtDuration prints d in milliseconds with three significant-ish digits.
func fmtDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// fmtFine prints d as fmtDuration does, and below a millisecond in whole
// microseconds: the server's answer to a move takes tens of them.
func fmtFine(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Round(time.Microsecond)/time.Microsecond)
	}
	return fmtDuration(d)
}

// WritePopulationTable writes a population report as a Markdown table, a
// row per behaviour trait, then the server's counts.
func WritePopulationTable(w io.Writer, r PopulationReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d matches at %d Hz in %.0fs\n\n", r.Matches, r.TickRate, r.Elapsed.Seconds())
	b.WriteString("| behaviour | players | played to the end | closed otherwise | forfeits | max step/tick (legal) | inputs | corrections |\n")
	b.WriteString("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.Rows {
		var closed []string
		for _, k := range slices.Sorted(maps.Keys(row.Closed)) {
			closed = append(closed, fmt.Sprintf("%s ×%d", k, row.Closed[k]))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %d (%d) | %d | %d |\n", row.Trait, row.Players, row.Completed,
			cmp.Or(strings.Join(closed, ", "), "—"), row.Forfeits, row.MaxStep, row.LegalStep, row.Inputs, row.Corrected)
	}
	fmt.Fprintf(&b, "\nserver: kicks %.0f; inputs %s; closes %s\n", r.Kicks, fmtCounts(r.Inputs), fmtCounts(r.Closes))
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtCounts(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

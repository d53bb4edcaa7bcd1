package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// tableHeader is SPEC §7's columns, then the sanity columns.
var tableHeader = []string{
	"N", "T", "CPU µs/client-tick", "server CPU", "ack p50", "ack p99", "ack max",
	"B/client/s", "RSS", "tick p99", "overruns", "snap/client/s", "skipped", "corrections", "dropped", "gen CPU",
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
			fmt.Sprint(r.Skipped),
			fmt.Sprint(r.Corrections),
			fmt.Sprint(r.Dropped),
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

package arbiterv1_test

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// closeRow is one row of docs/protocol.md's close tables.
type closeRow struct {
	code      uint16
	reason    string
	resumable bool
}

// docCloseRows parses every table of the "Closing" section of
// docs/protocol.md whose columns are code, reason, when and "may the client
// reconnect?", in the document's order.
func docCloseRows(t *testing.T) []closeRow {
	t.Helper()
	f, err := os.Open("../../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []closeRow
	inSection, inTable := false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			inSection = line == "## Closing"
			continue
		}
		if !inSection {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case slices.Equal(cells, []string{"code", "reason", "when", "may the client reconnect?"}):
			inTable = true
			continue
		case !inTable || strings.HasPrefix(cells[0], "---"):
			continue
		case len(cells) != 4:
			t.Fatalf("docs/protocol.md:%d: %d cells, want 4: %q", n, len(cells), line)
		}
		code, err := strconv.ParseUint(cells[0], 10, 16)
		if err != nil {
			t.Fatalf("docs/protocol.md:%d: code %q: %v", n, cells[0], err)
		}
		reason, ok := strings.CutPrefix(cells[1], "`")
		reason, ok2 := strings.CutSuffix(reason, "`")
		if !ok || !ok2 || reason == "" {
			t.Fatalf("docs/protocol.md:%d: reason %q is not one `word`", n, cells[1])
		}
		var resumable bool
		switch cells[3] {
		case "yes":
			resumable = true
		case "no":
		default:
			t.Fatalf("docs/protocol.md:%d: reconnect %q, want yes or no", n, cells[3])
		}
		rows = append(rows, closeRow{uint16(code), reason, resumable})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCloseReasonsMatchDocs holds the vocabulary and docs/protocol.md's
// close tables together, both ways: every reason in the same order, with
// the same code and the same answer to "may the client reconnect?".
func TestCloseReasonsMatchDocs(t *testing.T) {
	want := docCloseRows(t)
	if len(want) == 0 {
		t.Fatal("docs/protocol.md: no close table found in the Closing section")
	}
	var got []closeRow
	for _, r := range arbiterv1.CloseReasons() {
		got = append(got, closeRow{r.Code(), r.String(), r.Resumable()})
	}
	if !slices.Equal(got, want) {
		t.Errorf("CloseReasons() (code, word, resumable) =\n%v\ndocs/protocol.md says\n%v", got, want)
	}
}

// TestCloseReason pins every word to its code and its resumability, and
// checks what an unknown word gives.
func TestCloseReason(t *testing.T) {
	tests := []struct {
		give          arbiterv1.CloseReason
		wantWord      string
		wantCode      uint16
		wantResumable bool
		wantKnown     bool
	}{
		{arbiterv1.CloseMatchOver, "match_over", 1000, false, true},
		{arbiterv1.CloseShutdown, "shutdown", 1001, true, true},
		{arbiterv1.CloseIdle, "idle", 1001, true, true},
		{arbiterv1.CloseTextFrame, "text_frame", 1003, false, true},
		{arbiterv1.CloseBadFrame, "bad_frame", 1007, false, true},
		{arbiterv1.CloseInputFlood, "input_flood", 1008, false, true},
		{arbiterv1.CloseCheat, "cheat", 1008, false, true},
		{arbiterv1.CloseSlowConsumer, "slow_consumer", 1008, true, true},
		{arbiterv1.CloseTooBig, "too_big", 1009, false, true},
		{arbiterv1.CloseInternalError, "internal_error", 1011, true, true},
		{arbiterv1.CloseReplaced, "replaced", 4000, false, true},
		{arbiterv1.CloseForfeited, "forfeited", 4001, false, true},
		{arbiterv1.CloseClientClosed, "client_closed", 1000, true, true},
		{arbiterv1.CloseProtocol, "protocol", 1002, true, true},
		{arbiterv1.CloseNetwork, "network", 1006, true, true},
		{"", "", 1011, false, false},
		{"gone_fishing", "gone_fishing", 1011, false, false},
		{"Cheat", "Cheat", 1011, false, false},
	}
	if n := len(arbiterv1.CloseReasons()); n != len(tests)-3 {
		t.Errorf("len(CloseReasons()) = %d, want %d: a reason without a case here", n, len(tests)-3)
	}
	for _, tt := range tests {
		if got := tt.give.String(); got != tt.wantWord {
			t.Errorf("%q.String() = %q, want %q", tt.give, got, tt.wantWord)
		}
		if got := tt.give.Code(); got != tt.wantCode {
			t.Errorf("%q.Code() = %d, want %d", tt.give, got, tt.wantCode)
		}
		if got := tt.give.Resumable(); got != tt.wantResumable {
			t.Errorf("%q.Resumable() = %v, want %v", tt.give, got, tt.wantResumable)
		}
		if got, known := arbiterv1.ParseCloseReason(tt.wantWord); got != tt.give || known != tt.wantKnown {
			t.Errorf("ParseCloseReason(%q) = %q, %v; want %q, %v", tt.wantWord, got, known, tt.give, tt.wantKnown)
		}
	}
}

// TestCloseReasonsAreWords: every reason is one short lowercase word, as
// the Kick's reason must be, and none is listed twice.
func TestCloseReasonsAreWords(t *testing.T) {
	seen := map[arbiterv1.CloseReason]bool{}
	for _, r := range arbiterv1.CloseReasons() {
		if seen[r] {
			t.Errorf("%q listed twice", r)
		}
		seen[r] = true
		if r == "" || len(r) > 32 || strings.Trim(string(r), "abcdefghijklmnopqrstuvwxyz_") != "" {
			t.Errorf("%q is not one short lowercase word", r)
		}
	}
}

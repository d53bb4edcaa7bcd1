package main

import (
	"encoding/json"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tourHeading is the section of README.md whose code blocks the tests run.
const tourHeading = "\n## A two-minute tour\n"

// readmeBlock returns the first fenced code block in lang (```lang) of
// README.md's tour section.
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, tourHeading)
	if i < 0 {
		t.Fatalf("README.md has no section %q", strings.TrimSpace(tourHeading))
	}
	section := readme[i+len(tourHeading):]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	fence := "\n```" + lang + "\n"
	start := strings.Index(section, fence)
	if start < 0 {
		t.Fatalf("README.md's tour has no ```%s block", lang)
	}
	body := section[start+len(fence):]
	end := strings.Index(body, "\n```\n")
	if end < 0 {
		t.Fatalf("README.md's tour: the ```%s block does not end", lang)
	}
	return body[:end+1]
}

// TestReadmeGoSnippet builds the tour's Go snippet — an import block and
// func play — as a program of this module, so that it keeps up with the
// client library's API, and checks that it is gofmt'd. Nothing is written
// inside the module: the file is laid over a folder that does not exist
// (go build -overlay).
func TestReadmeGoSnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build; skipped with -short")
	}
	snippet := readmeBlock(t, "go")
	if formatted, err := format.Source([]byte(snippet)); err != nil {
		t.Fatalf("README.md's Go snippet does not parse: %v\n%s", err, snippet)
	} else if string(formatted) != snippet {
		t.Errorf("README.md's Go snippet is not gofmt'd; gofmt makes it:\n%s", formatted)
	}
	if !strings.Contains(snippet, "func play(ctx context.Context, wsURL string) error {") {
		t.Fatalf("README.md's Go snippet has no func play(ctx context.Context, wsURL string) error:\n%s", snippet)
	}
	src := "package main\n\n" + snippet + "\nfunc main() { _ = play }\n"

	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg, err := filepath.Abs(filepath.Join("testdata", "readmesnippet"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(pkg, "main.go"): file}})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-o", os.DevNull, "./testdata/readmesnippet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README.md's Go snippet does not build: %v\n%s\nthe program:\n%s", err, out, src)
	}
}

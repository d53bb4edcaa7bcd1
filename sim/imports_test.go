package sim

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsStdlibOnly keeps sim pure: it may import the standard library
// and nothing else (no protobuf, transport or storage).
func TestImportsStdlibOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("ImportDir: %v", err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") {
			t.Errorf("sim imports %q; only the standard library is allowed", imp)
		}
	}
}

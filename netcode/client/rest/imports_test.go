package rest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStdlibOnly keeps the package linkable into a game or a bot on
// its own: everything it imports, directly or not, is the standard library,
// so nothing of the server (match, netcode, persistence) comes along.
func TestImportsStdlibOnly(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH, so the imports cannot be listed: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const self = "github.com/arbiter-gg/arbiter/netcode/client/rest"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self {
			t.Errorf("rest depends on %s; only the standard library is allowed", dep)
		}
	}
}

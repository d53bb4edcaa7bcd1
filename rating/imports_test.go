package rating

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportsStdlibOnly keeps rating pure: it may import the standard library
// and nothing else (no protobuf, transport or storage).
func TestImportsStdlibOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("ImportDir: %v", err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") {
			t.Errorf("rating imports %q; only the standard library is allowed", imp)
		}
	}
}

// TestNoEffects keeps rating free of the standard library's clocks, I/O,
// randomness, logging and concurrency, and of go statements: its results must
// depend on its arguments only.
func TestNoEffects(t *testing.T) {
	forbidden := []string{
		"time", "os", "io", "net", "log", "sync", "syscall", "unsafe", "runtime",
		"math/rand", "crypto/rand", "context",
	}
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatalf("ImportDir: %v", err)
	}
	for _, imp := range pkg.Imports {
		for _, f := range forbidden {
			if imp == f || strings.HasPrefix(imp, f+"/") {
				t.Errorf("rating imports %q; it must not use clocks, I/O, randomness, logging or concurrency", imp)
			}
		}
	}
	fset := token.NewFileSet()
	for _, name := range pkg.GoFiles {
		file, err := parser.ParseFile(fset, filepath.Join(pkg.Dir, name), nil, 0)
		if err != nil {
			t.Fatalf("ParseFile(%s): %v", name, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: go statement; rating starts no goroutines", fset.Position(g.Pos()))
			}
			return true
		})
	}
}

// Package arbiter_test holds the tests of the module as a whole; the
// module's root has no package of its own. deps_test.go keeps the code to
// the layout of README.md's Layout table: which folder may import
// what.
package arbiter_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the module path; TestDependencies checks it against go.mod.
const module = "github.com/arbiter-gg/arbiter"

// Modules from outside, by module path: an import matches its module's path
// or anything below it.
const (
	protobuf = "google.golang.org/protobuf" // the runtime the generated code needs
	gws      = "github.com/lxzan/gws"
	goredis  = "github.com/redis/go-redis/v9"
	pgx      = "github.com/jackc/pgx/v5"
	tern     = "github.com/jackc/tern/v2" // the migrations' runner
	chesslib = "github.com/corentings/chess/v2"
	gocmp    = "github.com/google/go-cmp"
	// rate is the token bucket behind the REST API's per-IP and per-player
	// limits (docs/rest.md): neither transport nor storage, which is what
	// README.md's Layout keeps out of match.
	rate = "golang.org/x/time/rate"
)

// A rule is what the packages of one folder of README.md's Layout (and of its
// subfolders, unless they have a rule of their own) may import, beside the
// standard library and the packages under their own rule.
type rule struct {
	// may lists the rules (by folder) and the outside modules (by path)
	// whose packages may be imported.
	may []string
	// anything: no restriction at all (README.md's Layout: "anything").
	anything bool
	// pure: of the standard library, nothing with clocks, I/O, randomness,
	// logging or concurrency (pureForbidden), and no go statements.
	pure bool
}

// rules is README.md's Layout table, keyed by folder. A folder with no rule, or no
// rule above it, is a failure: a new top-level package is a change of the
// layout, to be made in README.md's Layout and here together. Folders it names
// that do not exist yet have their rule already, so that they arrive under
// it. Games (match/arena, match/chess) and the REST API (match/api) have
// rules of their own beside match's, so that the rest of match cannot
// import them: a game plugs in through match's interfaces and cmd's
// registration, and the API sits on top of match, not inside it.
var rules = map[string]rule{
	"proto":  {may: []string{protobuf}},
	"sim":    {pure: true},
	"rating": {pure: true},

	"match":       {may: []string{"sim", "rating", "proto", protobuf}},
	"match/api":   {may: []string{"match", "sim", "rating", "proto", protobuf, rate}},
	"match/arena": {may: []string{"match", "sim", "rating", "proto", protobuf}},
	"match/chess": {may: []string{"match", "rating", "proto", protobuf, chesslib}},

	"netcode":        {may: []string{"proto", protobuf, gws}},
	"netcode/client": {may: []string{"proto", protobuf, "sim", gws}},

	// persistence stores match's value types (results, ratings, tickets)
	// and rating's; it implements the interfaces match declares.
	"persistence": {may: []string{"proto", protobuf, "match", "rating", goredis, pgx, tern}},

	// netem is not in README.md's Layout table: emulated links for tests and the
	// load generator, on the standard library alone.
	"netem": {},

	"bench":       {anything: true},
	"cmd/arbiter": {anything: true},
	// netem is not in README.md's Layout row, which names bench and netcode/client:
	// the load generator shapes its bots' links with it, and it is no
	// server internal.
	"cmd/arbiter-bench": {may: []string{"bench", "netcode/client", "netem"}},
	// web embeds the browser demo's bundle (README.md's Layout: it uses sdk/ts, which
	// is not Go).
	"web": {},
}

// testHelperMay is what a test helper package (one whose name ends in
// "test", such as storetest) may import beyond its folder's rule: the
// testing package, go-cmp and emulated links. No other package may import
// testing or a test helper: test hooks stay out of what ships.
var testHelperMay = []string{"testing", gocmp, "netem"}

// pureForbidden lists the standard library a pure package must not use
// (README.md's Layout: sim has no goroutines, no clocks, no I/O, no logging; rating is
// pure), with everything below each.
var pureForbidden = []string{
	"time", "os", "io", "net", "log", "sync", "syscall", "unsafe", "runtime",
	"math/rand", "crypto/rand", "context",
}

// TestDependencies checks every package of the module against rules:
// imports from non-test files, on every platform (build constraints other
// than "ignore" are disregarded), and go statements in pure packages.
// Tests may import more than their package: they are not checked.
func TestDependencies(t *testing.T) {
	checkModulePath(t)
	pkgs := loadPackages(t)
	for _, want := range []string{"proto/arbiter/v1", "sim", "rating", "match", "netcode", "netcode/client", "persistence"} {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("package %s not found: the walk of the module is broken", want)
		}
	}
	for _, dir := range slices.Sorted(maps.Keys(pkgs)) {
		t.Run(dir, func(t *testing.T) {
			for _, err := range check(dir, pkgs[dir]) {
				t.Error(err)
			}
		})
	}
}

// TestDependencyRules keeps the table itself sound: every rule named in a
// may list exists, and no rule lists its own folder.
func TestDependencyRules(t *testing.T) {
	for folder, r := range rules {
		for _, m := range r.may {
			if outside(m) {
				continue
			}
			if _, ok := rules[m]; !ok {
				t.Errorf("rule %s: may import %q, which has no rule", folder, m)
			}
			if m == folder {
				t.Errorf("rule %s lists itself; its own packages are always allowed", folder)
			}
		}
	}
	for _, m := range testHelperMay {
		if _, ok := rules[m]; !ok && !outside(m) && m != "testing" {
			t.Errorf("testHelperMay: %q has no rule", m)
		}
	}
}

// pkg is what the test needs of one package.
type pkg struct {
	name    string                    // the package name
	imports map[string]token.Position // import path → first import
	gos     []token.Position          // go statements
}

// check returns what is wrong with the imports of the package in dir
// (module-relative).
func check(dir string, p *pkg) []error {
	folder, ok := ruleOf(dir)
	if !ok {
		return []error{fmt.Errorf("%s has no rule: add its folder to README.md's Layout and to rules in deps_test.go", dir)}
	}
	r := rules[folder]
	if r.anything {
		return nil
	}
	helper := strings.HasSuffix(p.name, "test")
	var errs []error
	for _, imp := range slices.Sorted(maps.Keys(p.imports)) {
		if err := allowed(folder, r, helper, imp); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s imports %q: %v", p.imports[imp], dir, imp, err))
		}
	}
	if r.pure {
		for _, pos := range p.gos {
			errs = append(errs, fmt.Errorf("%s: go statement in %s, which is pure: it starts no goroutines", pos, dir))
		}
	}
	return errs
}

// allowed reports why a package under the rule folder may not import imp,
// or nil if it may. helper says whether the importer is a test helper.
func allowed(folder string, r rule, helper bool, imp string) error {
	may := r.may
	if helper {
		may = append(slices.Clone(may), testHelperMay...)
	}
	mayList := func() string {
		std := "the standard library"
		if r.pure {
			std = "the pure part of the standard library"
		}
		return folder + " may import " + strings.Join(append([]string{std}, may...), ", ") + " (README.md's Layout)"
	}
	switch {
	case !outside(imp) && !strings.HasPrefix(imp, module+"/"): // the standard library
		if imp == "testing" || strings.HasPrefix(imp, "testing/") {
			if !helper {
				return fmt.Errorf("only test helper packages (named …test) may import testing")
			}
			return nil
		}
		if r.pure {
			for _, f := range pureForbidden {
				if imp == f || strings.HasPrefix(imp, f+"/") {
					return fmt.Errorf("%s is pure: no clocks, I/O, randomness, logging or concurrency", folder)
				}
			}
		}
		return nil
	case strings.HasPrefix(imp, module+"/"):
		dir := strings.TrimPrefix(imp, module+"/")
		target, ok := ruleOf(dir)
		if !ok {
			return fmt.Errorf("%s has no rule in deps_test.go", dir)
		}
		if strings.HasSuffix(path.Base(dir), "test") && !helper {
			return fmt.Errorf("only test helper packages (named …test) may import another test helper")
		}
		if target == folder || slices.Contains(may, target) {
			return nil
		}
		if target == dir {
			return fmt.Errorf("%s; %s has a rule of its own", mayList(), dir)
		}
		return fmt.Errorf("%s; %s falls under %s", mayList(), dir, target)
	default:
		for _, m := range may {
			if outside(m) && (imp == m || strings.HasPrefix(imp, m+"/")) {
				return nil
			}
		}
		return fmt.Errorf("%s", mayList())
	}
}

// ruleOf returns the folder of the rule that covers dir: the rule of dir
// itself or of its nearest parent folder that has one.
func ruleOf(dir string) (string, bool) {
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := rules[d]; ok {
			return d, true
		}
	}
	return "", false
}

// outside reports whether an import path (or an entry of a may list) is
// another module's: its first element has a dot, as in github.com.
func outside(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".") && !strings.HasPrefix(p, module+"/")
}

// checkModulePath fails unless go.mod declares module.
func checkModulePath(t *testing.T) {
	t.Helper()
	f, err := os.Open("go.mod")
	if err != nil {
		t.Fatalf("open go.mod: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			if got := strings.Trim(strings.TrimSpace(rest), `"`); got != module {
				t.Fatalf("go.mod declares module %s, want %s", got, module)
			}
			return
		}
	}
	t.Fatalf("go.mod: no module line (scan error: %v)", sc.Err())
}

// loadPackages parses the non-test Go files of every package in the module
// (this directory and below, without other modules such as tools/, testdata
// or hidden folders), keyed by module-relative folder. Files excluded only
// by build constraints count, unless a constraint names "ignore": the rules
// hold on every platform.
func loadPackages(t *testing.T) map[string]*pkg {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := make(map[string]*pkg)
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == "." {
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ignored(f) {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		pk := pkgs[dir]
		if pk == nil {
			pk = &pkg{name: f.Name.Name, imports: make(map[string]token.Position)}
			pkgs[dir] = pk
		}
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", fset.Position(spec.Pos()), err)
			}
			if _, seen := pk.imports[imp]; !seen {
				pk.imports[imp] = fset.Position(spec.Pos())
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				pk.gos = append(pk.gos, fset.Position(g.Pos()))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatalf("walk the module: %v", err)
	}
	delete(pkgs, ".") // this package: tests only
	return pkgs
}

// ignored reports whether a build constraint of f names the tag "ignore":
// such files (generators, examples) are not part of their package.
func ignored(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				continue
			}
			if namesTag(expr, "ignore") {
				return true
			}
		}
	}
	return false
}

// namesTag reports whether tag appears anywhere in expr, negated or not.
func namesTag(expr constraint.Expr, tag string) bool {
	switch e := expr.(type) {
	case *constraint.TagExpr:
		return e.Tag == tag
	case *constraint.NotExpr:
		return namesTag(e.X, tag)
	case *constraint.AndExpr:
		return namesTag(e.X, tag) || namesTag(e.Y, tag)
	case *constraint.OrExpr:
		return namesTag(e.X, tag) || namesTag(e.Y, tag)
	}
	return false
}

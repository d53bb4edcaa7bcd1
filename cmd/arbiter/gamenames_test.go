package main

import (
	"github.com/arbiter-gg/arbiter/match/chess"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// gameNeutral are the trees that run any game and must name none (README.md's Layout:
// adding a game changes nothing in match, netcode, the matchmaker or the
// REST API), relative to the module root.
var gameNeutral = []string{"match", "netcode"}

// gameAware are the folders under gameNeutral that are meant to know the
// games: netcode/client is the Go client library, which plays each game
// (the arena's prediction comes from sim) — not the server's transport.
var gameAware = map[string]bool{filepath.FromSlash("netcode/client"): true}

// nameExceptions are names that break the rule for now, each with the
// reason. An exception no source needs any more fails the test: remove it.
var nameExceptions = map[string]string{}

// TestGameNeutralPackages holds the game-neutral packages to README.md's Layout: no
// Go source in match (but the registered games' own packages), the
// matchmaker, the REST API or netcode names a registered game or mode —
// the arena, duel and ffa today — in an identifier or a string literal.
// Such a name means that package knows a game, and a new game would need
// a change there.
//
// The rule, as checked: every identifier and every string literal
// (import paths and struct tags included) of the non-test Go sources of
// every package under those trees is split into words (at non-letters and
// camelCase boundaries: FFAWait is "FFA" "Wait", aliveDue is "alive" "Due")
// and no word may be a game's or a mode's name, case-insensitively, in
// the singular or with a plural s. Not checked: comments, which may use
// the arena as the example game it is (it is the reference game); _test.go
// files and test-helper packages (named …test), whose fixtures may look
// like the arena's modes; and the packages of the registered games
// themselves, found from games(config{ChessClock: chess.DefaultClock}).
func TestGameNeutralPackages(t *testing.T) {
	root := filepath.Join("..", "..")
	banned := map[string]bool{"arena": true, "duel": true, "ffa": true}
	gameDirs := make(map[string]bool)
	for _, spec := range games(config{ChessClock: chess.DefaultClock}) {
		banned[strings.ToLower(spec.Name)] = true
		for _, m := range spec.Modes {
			banned[strings.ToLower(m.Name)] = true
		}
		pkg := reflect.TypeOf(spec.Game).PkgPath()
		rel, ok := strings.CutPrefix(pkg, "github.com/arbiter-gg/arbiter/")
		if !ok {
			t.Fatalf("game %s lives outside the module: %s", spec.Name, pkg)
		}
		gameDirs[filepath.FromSlash(rel)] = true
	}

	fset := token.NewFileSet()
	checked := make(map[string]bool) // package directories
	used := make(map[string]bool)    // nameExceptions met
	check := func(pos token.Pos, what, text string) {
		for _, w := range words(text) {
			lw := strings.ToLower(w)
			if !banned[lw] && !banned[strings.TrimSuffix(lw, "s")] {
				continue
			}
			if _, ok := nameExceptions[text]; ok && what == "identifier" {
				used[text] = true
				return
			}
			t.Errorf("%s: %s %q names the game or mode %q: a game-neutral package must not know it", fset.Position(pos), what, text, w)
			return
		}
	}
	for _, tree := range gameNeutral {
		err := filepath.WalkDir(filepath.Join(root, tree), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				if d.Name() == "testdata" || gameDirs[rel] || gameAware[rel] {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			if strings.HasSuffix(f.Name.Name, "test") {
				return nil // a test-helper package
			}
			checked[filepath.Dir(rel)] = true
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.Ident:
					check(n.Pos(), "identifier", n.Name)
				case *ast.BasicLit:
					if n.Kind == token.STRING {
						s, err := strconv.Unquote(n.Value)
						if err != nil {
							t.Errorf("%s: unquote %s: %v", fset.Position(n.Pos()), n.Value, err)
						}
						check(n.Pos(), "string", s)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", tree, err)
		}
	}
	for _, dir := range []string{"match", "match/api", "match/matchmaker", "netcode"} {
		if !checked[filepath.FromSlash(dir)] {
			t.Errorf("%s was not checked", dir)
		}
	}
	for name, why := range nameExceptions {
		if !used[name] {
			t.Errorf("exception %q (%s) is not needed any more: remove it", name, why)
		}
	}
}

// words splits s into words: runs of letters, cut before an upper-case
// letter that follows a lower-case one (aliveDue) or that starts a word
// after an acronym (FFAWait).
func words(s string) []string {
	var out []string
	rs := []rune(s)
	start := -1
	for i, r := range rs {
		if !unicode.IsLetter(r) {
			if start >= 0 {
				out = append(out, string(rs[start:i]))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		if unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) ||
			(unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			out = append(out, string(rs[start:i]))
			start = i
		}
	}
	if start >= 0 {
		out = append(out, string(rs[start:]))
	}
	return out
}

func TestWords(t *testing.T) {
	tests := []struct {
		give string
		want []string
	}{
		{"FFAWait", []string{"FFA", "Wait"}},
		{"ffaWait", []string{"ffa", "Wait"}},
		{"aliveDueLocked", []string{"alive", "Due", "Locked"}},
		{"HTTPServer2", []string{"HTTP", "Server"}},
		{"arena: violation", []string{"arena", "violation"}},
		{"github.com/x/match/arena", []string{"github", "com", "x", "match", "arena"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := words(tt.give); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("words(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

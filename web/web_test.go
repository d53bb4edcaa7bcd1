package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSiteServes(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	app, err := fs.ReadFile(dist, "dist/app.js")
	if err != nil {
		t.Fatal(err)
	}
	etag := s.files["/app.js"].etag
	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		wantStatus int
		wantType   string
		wantGzip   bool
		wantBody   []byte // decoded; nil: not checked
	}{
		{name: "page", method: "GET", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: index},
		{name: "script", method: "GET", path: "/app.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantBody: app},
		{name: "style", method: "GET", path: "/style.css", wantStatus: 200, wantType: "text/css; charset=utf-8"},
		{
			name: "gzipped", method: "GET", path: "/app.js", header: http.Header{"Accept-Encoding": {"gzip, deflate, br"}},
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantGzip: true, wantBody: app,
		},
		{
			name: "gzip refused", method: "GET", path: "/app.js", header: http.Header{"Accept-Encoding": {"gzip;q=0, br"}},
			wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantBody: app,
		},
		{name: "head", method: "HEAD", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: []byte{}},
		{name: "revalidated", method: "GET", path: "/app.js", header: http.Header{"If-None-Match": {`"x", ` + etag}}, wantStatus: 304},
		{name: "changed", method: "GET", path: "/app.js", header: http.Header{"If-None-Match": {`"other"`}}, wantStatus: 200, wantBody: app},
		{name: "index by name", method: "GET", path: "/index.html", wantStatus: 404},
		{name: "unknown", method: "GET", path: "/nope.js", wantStatus: 404},
		{name: "method", method: "POST", path: "/", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			resp := w.Result()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); tt.wantType != "" && got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			for k, v := range securityHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			body, _ := io.ReadAll(resp.Body)
			if gz := resp.Header.Get("Content-Encoding") == "gzip"; gz != tt.wantGzip {
				t.Fatalf("gzipped = %v, want %v", gz, tt.wantGzip)
			}
			if tt.wantGzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if tt.wantBody != nil && !bytes.Equal(body, tt.wantBody) {
				t.Errorf("body: %d bytes, want %d", len(body), len(tt.wantBody))
			}
		})
	}
}

func TestSitePatterns(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET /app.js", "GET /style.css", "GET /{$}"}
	if diff := cmp.Diff(want, s.Patterns()); diff != "" {
		t.Errorf("Patterns() (-want +got):\n%s", diff)
	}
	// Registered on a mux, the patterns serve the page and leave every
	// other path to the mux's other handlers.
	mux := http.NewServeMux()
	for _, p := range s.Patterns() {
		mux.Handle(p, s)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for path, want := range map[string]int{"/": 200, "/app.js": 200, "/style.css": 200, "/v1/anything": 418, "/x": 418} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("GET %s: status %d, want %d", path, w.Code, want)
		}
	}
}

func TestSiteRefusesAnIncompleteBundle(t *testing.T) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		t.Fatal(err)
	}
	partial := filteredFS{FS: sub, drop: "app.js"}
	if _, err := newSite(partial, "."); err == nil || !strings.Contains(err.Error(), "/app.js") {
		t.Errorf("newSite without app.js: error %v, want one naming /app.js", err)
	}
}

// filteredFS hides one file of an FS.
type filteredFS struct {
	fs.FS
	drop string
}

func (f filteredFS) Open(name string) (fs.File, error) {
	if name == f.drop {
		return nil, fs.ErrNotExist
	}
	return f.FS.Open(name)
}

func (f filteredFS) ReadDir(name string) ([]fs.DirEntry, error) {
	es, err := fs.ReadDir(f.FS, name)
	return slices.DeleteFunc(es, func(e fs.DirEntry) bool { return e.Name() == f.drop }), err
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"deflate, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"br", false},
		{"x-gzip", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.give); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
}

// TestBundleCurrent checks that the committed bundle, web/dist, is what the
// sources build: it type-checks web/src (with the SDK it imports) and
// rebuilds the bundle into a temporary folder, comparing every file byte
// for byte (esbuild's output depends only on its version and its inputs).
// It needs node and web/node_modules (`npm ci` in web/); without them it
// skips, and fails under ARBITER_REQUIRE_SERVICES=1, as in CI.
func TestBundleCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node; skipped with -short")
	}
	require := os.Getenv("ARBITER_REQUIRE_SERVICES") == "1"
	node, err := exec.LookPath("node")
	if err != nil {
		if require {
			t.Fatalf("node not found (%v): ARBITER_REQUIRE_SERVICES=1 requires it to check web/dist", err)
		}
		t.Skip("node not found: web/dist not checked against web/src (install Node 20)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "esbuild")); errors.Is(err, fs.ErrNotExist) {
		if require {
			t.Fatal("web/node_modules missing: ARBITER_REQUIRE_SERVICES=1 requires it to check web/dist (run `npm ci` in web/; .ci/run does)")
		}
		t.Skip("web/node_modules missing: web/dist not checked against web/src (run `npm ci` in web/)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, node, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json", "--noEmit")
	out := t.TempDir()
	run("build.mjs", "--outdir", out)

	built := readTree(t, os.DirFS(out))
	committed := readTree(t, os.DirFS("dist"))
	for _, name := range union(built, committed) {
		b, inBuilt := built[name]
		c, inCommitted := committed[name]
		switch {
		case !inCommitted:
			t.Errorf("web/dist/%s is missing: rebuild (cd web && npm run build) and commit it", name)
		case !inBuilt:
			t.Errorf("web/dist/%s is not built from the sources any more: remove it", name)
		case !bytes.Equal(b, c):
			t.Errorf("web/dist/%s is stale (%d bytes; the sources build %d): rebuild (cd web && npm run build) and commit it", name, len(c), len(b))
		}
	}
}

func readTree(t *testing.T, fsys fs.FS) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func union(a, b map[string][]byte) []string {
	var names []string
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

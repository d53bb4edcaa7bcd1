// Package web serves Arbiter's browser demo page: the arena and chess
// played on the TypeScript SDK (sdk/ts), with a guest sign-in, matchmaking,
// results and a leaderboard. The page's sources are TypeScript in web/src;
// its built bundle, web/dist (index.html, app.js, style.css), is committed
// and embedded here, so that the server binary serves the page with no
// Node installed. `cd web && npm ci && npm run build` rebuilds it, and a
// test fails when the committed bundle is not what the sources build.
//
// The page talks to the server that serves it (the REST API under /v1 and
// the game WebSocket), which the server's origin policy always allows. It
// is a demo and a test bed for the SDK in a real browser, not a game
// client to ship. This package imports only the standard library.
package web

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed dist
var dist embed.FS

// securityHeaders are sent with every file. The page loads only its own
// script and style; it connects to its own origin for the API and to
// WebSockets anywhere (a match may be hosted by another server of the
// cluster, named by ws_url); nothing may frame it.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
}

// contentTypes are the types of the bundle's files, fixed here rather than
// taken from the system's MIME database, which differs between machines.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// file is one file of the page, ready to serve.
type file struct {
	body  []byte
	gz    []byte // body gzipped; nil when that would not be smaller
	ctype string
	etag  string // strong, from the content
}

// Site serves the page's files. It is immutable once made, and safe for
// concurrent use.
type Site struct {
	files map[string]file // by URL path: "/" is index.html
}

// New returns the site of the embedded bundle. It fails only if the bundle
// was not embedded whole (a build without web/dist).
func New() (*Site, error) {
	return newSite(dist, "dist")
}

func newSite(fsys fs.FS, root string) (*Site, error) {
	s := &Site{files: make(map[string]file)}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, root+"/")
		urlPath := "/" + name
		if name == "index.html" {
			urlPath = "/"
		}
		s.files[urlPath] = prepare(name, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read the bundle: %w", err)
	}
	for _, want := range []string{"/", "/app.js", "/style.css"} {
		if _, ok := s.files[want]; !ok {
			return nil, fmt.Errorf("web: the bundle has no %s: rebuild web/dist (cd web && npm ci && npm run build)", want)
		}
	}
	return s, nil
}

func prepare(name string, body []byte) file {
	sum := sha256.Sum256(body)
	f := file{
		body:  body,
		ctype: contentTypes[path.Ext(name)],
		etag:  `"` + hex.EncodeToString(sum[:12]) + `"`,
	}
	if f.ctype == "" {
		f.ctype = cmp.Or(mime.TypeByExtension(path.Ext(name)), "application/octet-stream")
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(body)                                    // a bytes.Buffer does not fail
	_ = zw.Close()
	if buf.Len() < len(body) {
		f.gz = buf.Bytes()
	}
	return f
}

// Patterns returns the http.ServeMux patterns of the page's files
// ("GET /{$}" for the page itself, "GET /app.js", …), to register the
// Site under each; every other path stays the mux's.
func (s *Site) Patterns() []string {
	out := make([]string, 0, len(s.files))
	for p := range s.files {
		if p == "/" {
			p = "/{$}"
		}
		out = append(out, "GET "+p)
	}
	slices.Sort(out)
	return out
}

// ServeHTTP serves the file at r's path (GET and HEAD), gzipped for a
// client that accepts it, revalidated by ETag: the files are not
// content-hashed in their names, so a browser asks again each time (a 304
// while they have not changed). An unknown path is a 404.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	for k, v := range securityHeaders {
		h.Set(k, v)
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", f.ctype)
	body := f.body
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = f.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body) // a client gone away is not our error
	}
}

// etagMatches reports whether an If-None-Match header names etag (or is
// "*"), comparing weakly as RFC 9110 says for If-None-Match.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (not
// with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

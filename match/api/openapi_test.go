package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

// The parts of an OpenAPI document the test reads.
type openapiDoc struct {
	OpenAPI  string                                `json:"openapi"`
	Security []map[string][]string                 `json:"security"`
	Paths    map[string]map[string]json.RawMessage `json:"paths"` // path → method or "parameters" → …
}

type openapiParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type openapiOp struct {
	Security   *[]map[string][]string     `json:"security"` // nil: the document's
	Parameters []openapiParam             `json:"parameters"`
	Responses  map[string]json.RawMessage `json:"responses"`
}

var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// wildcard matches a ServeMux wildcard: {name}, {name...} or {$}.
var wildcard = regexp.MustCompile(`\{([^}]*)\}`)

// openapiPath turns a ServeMux path into an OpenAPI one: {name...} becomes
// {name} and {$} goes.
func openapiPath(muxPath string) string {
	return wildcard.ReplaceAllStringFunc(muxPath, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return strings.Replace(w, "...}", "}", 1)
	})
}

// pathParams returns the names of path's {parameters}.
func pathParams(path string) []string {
	var names []string
	for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

func testServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, match.NewTokens([]byte("openapi test")))
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	return s
}

func TestOpenAPIPath(t *testing.T) {
	tests := []struct{ give, want string }{
		{"/v1/players/{id}", "/v1/players/{id}"},
		{"/files/{path...}", "/files/{path}"},
		{"/v1/{$}", "/v1/"},
		{"/healthz", "/healthz"},
	}
	for _, tt := range tests {
		if got := openapiPath(tt.give); got != tt.want {
			t.Errorf("openapiPath(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// TestOpenAPI checks openapi.json against the route table: the same routes
// and methods, each documenting its success status and, when it requires a
// bearer token, the bearer scheme, 401 and 429; every path parameter
// declared; every $ref resolving.
func TestOpenAPI(t *testing.T) {
	var doc openapiDoc
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}

	s := testServer(t)
	routes := make(map[string]route) // "GET /v1/players/{id}", with OpenAPI's path
	var registered []string
	for _, rt := range s.routes() {
		key := rt.method + " " + openapiPath(rt.path)
		if _, dup := routes[key]; dup {
			t.Errorf("route %s is in the table twice", key)
		}
		routes[key] = rt
		registered = append(registered, key)

		// The mux serves exactly the table: a request shaped like the
		// route lands on its pattern.
		concrete := wildcard.ReplaceAllString(rt.path, "x")
		_, pattern := s.mux.Handler(httptest.NewRequest(rt.method, concrete, nil))
		if want := rt.method + " " + rt.path; pattern != want {
			t.Errorf("%s %s is served by pattern %q, want %q", rt.method, concrete, pattern, want)
		}
		if (rt.public == nil) == (rt.player == nil) {
			t.Errorf("route %s: want exactly one of public and player handlers", key)
		}
	}

	var documented []string
	for path, item := range doc.Paths {
		var shared []openapiParam
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Errorf("paths[%q].parameters: %v", path, err)
			}
		}
		for method, raw := range item {
			if !slices.Contains(openapiMethods, method) {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented = append(documented, key)
			var op openapiOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			rt, ok := routes[key]
			if !ok {
				continue // reported below
			}
			checkOperation(t, key, rt, op, doc.Security, append(slices.Clone(shared), op.Parameters...))
		}
	}
	slices.Sort(registered)
	slices.Sort(documented)
	if diff := cmp.Diff(registered, documented); diff != "" {
		t.Errorf("routes registered (-) and documented in openapi.json (+) differ:\n%s", diff)
	}

	checkRefs(t, openapiJSON)
}

func checkOperation(t *testing.T, key string, rt route, op openapiOp, docSecurity []map[string][]string, params []openapiParam) {
	t.Helper()
	if _, ok := op.Responses[strconv.Itoa(rt.status)]; !ok {
		t.Errorf("%s: documents no %d, its success status", key, rt.status)
	}
	security := docSecurity
	if op.Security != nil {
		security = *op.Security
	}
	if rt.authed() {
		for _, code := range []string{"401", "429"} {
			if _, ok := op.Responses[code]; !ok {
				t.Errorf("%s requires a bearer token but documents no %s", key, code)
			}
		}
		if len(security) == 0 {
			t.Errorf("%s requires a bearer token but documents no security requirement", key)
		}
	} else if len(security) != 0 {
		t.Errorf("%s is open to anyone but documents security %v; want []", key, security)
	}

	var declared []string
	for _, p := range params {
		if p.Ref != "" {
			t.Errorf("%s: parameter $ref %s: the test reads only inline parameters", key, p.Ref)
			continue
		}
		if p.In != "path" {
			continue
		}
		if !p.Required {
			t.Errorf("%s: path parameter %q is not required", key, p.Name)
		}
		declared = append(declared, p.Name)
	}
	slices.Sort(declared)
	_, path, _ := strings.Cut(key, " ")
	if diff := cmp.Diff(pathParams(path), declared); diff != "" {
		t.Errorf("%s: path parameters in the path (-) and declared (+) differ:\n%s", key, diff)
	}
}

// checkRefs fails for every local $ref in doc that points nowhere.
func checkRefs(t *testing.T, doc []byte) {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolves(root, ref) {
					t.Errorf("$ref %q resolves to nothing", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(root)
}

// resolves reports whether the JSON pointer fragment ref ("#/a/b") names
// something in root.
func resolves(root any, ref string) bool {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false // the document refers only to itself
	}
	cur := root
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}

func TestServeOpenAPI(t *testing.T) {
	s := testServer(t)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil)) // no bearer token
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json = %d %s, want 200", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !slices.Equal(rec.Body.Bytes(), openapiJSON) {
		t.Error("the body is not the embedded document")
	}
}

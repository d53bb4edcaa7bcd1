package api

import (
	"net/http"
	"strconv"
)

// corsMaxAge is how long a browser may cache a preflight's answer, in
// seconds. Browsers cap it (Chromium at 2 hours); an hour saves a round
// trip per request while a changed --cors-origins still takes effect soon.
const corsMaxAge = 3600

// corsAllowHeaders are the request headers a page may send beyond the
// CORS-safelisted ones: the bearer token, and the JSON body's type.
const corsAllowHeaders = "Authorization, Content-Type"

// corsExposeHeaders are the response headers a page may read beyond the
// CORS-safelisted ones: when to retry after a 429 or a 503.
const corsExposeHeaders = "Retry-After"

// cors applies the origin policy to r and reports whether the request goes
// on to be routed. Every response says that it varies with Origin. A
// request without an Origin goes on untouched. One whose Origin the policy
// refuses is answered 403 origin_not_allowed. For an allowed one,
// Access-Control-Allow-Origin names the origin; a preflight (OPTIONS with
// Access-Control-Request-Method) is answered here, 204 with the methods
// and headers the API accepts, whatever the path: the request that follows
// gets the route's own 404 or 405 if it has none.
//
// Credentials (cookies) are never allowed: the API authenticates with
// bearer tokens, which a page sends in Authorization.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if !s.cfg.Origins.allows(origin, r.Host) {
		s.Stats.RefusedOrigin.Add(1)
		writeError(w, http.StatusForbidden, "origin_not_allowed",
			"requests from this page's origin are not allowed: the server's --cors-origins does not list it")
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", s.methods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return true
}

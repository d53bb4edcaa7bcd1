package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Origins is the server's browser origin policy (docs/rest.md, "Browsers"):
// which web pages may call the REST API and open game WebSockets. A browser
// names the page that makes a request in its Origin header; programs that
// are not browsers (curl, the Go client, native game clients) send none and
// are not concerned. A request with an Origin is allowed when that origin
// is listed (the --cors-origins flag) or is the server's own: the origin of
// Config.PublicURL, or one whose host is the request's Host (the page the
// binary serves itself, as the browser reached it). Everything else is
// refused, REST and WebSocket alike.
//
// The policy matters for WebSockets even though they are not subject to
// CORS: a browser opens a WebSocket to any site from any page and only
// reports the page's Origin, so the check is the server's to make. A "*"
// is not supported: the API hands out bearer tokens and join tokens, and a
// deployment knows the pages its players use.
//
// An Origins is immutable and safe for concurrent use. The zero value
// allows only the request's own Host.
type Origins struct {
	listed map[string]struct{} // normalised origins (see ParseOrigin)
	public string              // the normalised origin of the public URL; "" if none
}

// NewOrigins returns the policy that allows the listed origins (each
// checked by ParseOrigin) and the server's own: that of publicURL when it
// is not empty (an http(s) or ws(s) URL, as in Config.PublicURL; ws counts
// as http and wss as https), and the request's Host.
func NewOrigins(listed []string, publicURL string) (*Origins, error) {
	o := &Origins{listed: make(map[string]struct{}, len(listed))}
	for _, s := range listed {
		n, err := ParseOrigin(s)
		if err != nil {
			return nil, err
		}
		o.listed[n] = struct{}{}
	}
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("api: public URL %q: want scheme://host[:port][/prefix]", publicURL)
		}
		scheme := strings.ToLower(u.Scheme)
		switch scheme {
		case "ws":
			scheme = "http"
		case "wss":
			scheme = "https"
		case "http", "https":
		default:
			return nil, fmt.Errorf("api: public URL %q: scheme must be http, https, ws or wss", publicURL)
		}
		o.public = scheme + "://" + hostPort(scheme, u.Host)
	}
	return o, nil
}

// ParseOrigins splits a comma-separated list of origins, the value of
// --cors-origins, and checks each with ParseOrigin. Blank entries are
// ignored, so that an empty list is no origin at all.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := ParseOrigin(s)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// errWildcard is ParseOrigin's answer to "*". ParseOrigin's errors carry
// no package prefix: they name what the operator wrote, and cmd prefixes
// them with the flag.
var errWildcard = errors.New(`origin "*" is not supported: list each origin whose pages may call the server`)

// ParseOrigin checks that s is an origin as browsers send it,
// scheme://host[:port] with nothing after (no path, not even "/", no query),
// and returns it normalised: scheme and host in lower case, a port that is
// the scheme's default (80 for http, 443 for https) dropped, as browsers
// do. Any scheme is accepted, since apps that embed a browser send their
// own (capacitor://localhost, tauri://localhost). "*" and "null" are
// refused.
func ParseOrigin(s string) (string, error) {
	if s == "*" {
		return "", errWildcard
	}
	bad := func(why string) error {
		return fmt.Errorf("origin %q: %s; want scheme://host[:port], such as https://game.example.com", s, why)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return "", bad("no scheme")
	}
	if rest == "" {
		return "", bad("no host")
	}
	if strings.ContainsAny(rest, "/?#@\\ ") {
		return "", bad("only a host and port may follow the scheme")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host != rest || u.Hostname() == "" {
		return "", bad("not a valid host")
	}
	if p := u.Port(); (p == "" && strings.HasSuffix(rest, ":")) || !allDigits(p) {
		return "", bad("not a valid port")
	}
	scheme = strings.ToLower(scheme)
	return scheme + "://" + hostPort(scheme, u.Host), nil
}

// validScheme reports whether s is a URL scheme (RFC 3986 §3.1).
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hostPort returns host (host or host:port) in lower case, without the
// port when it is scheme's default.
func hostPort(scheme, host string) string {
	host = strings.ToLower(host)
	switch scheme {
	case "http":
		host = strings.TrimSuffix(host, ":80")
	case "https":
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}

// Allowed reports whether r may be served: it carries no Origin header, or
// an allowed one. It is netcode.Config.CheckOrigin for the game
// WebSockets, and the REST API's own check.
func (o *Origins) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin == "" || o.allows(origin, r.Host)
}

// allows reports whether a request from origin to host (its Host header)
// is allowed.
func (o *Origins) allows(origin, host string) bool {
	n, err := ParseOrigin(origin)
	if err != nil {
		return false // "null", garbage: no page we know of
	}
	if _, ok := o.listed[n]; ok || n == o.public {
		return true
	}
	// The request's own Host, under either web scheme: behind a proxy that
	// terminates TLS the request arrives over http while the page's origin
	// is https, and the scheme is not the request's to tell.
	scheme, hp, _ := strings.Cut(n, "://")
	return (scheme == "http" || scheme == "https") && host != "" && hp == hostPort(scheme, host)
}

package servicetest

import (
	"net"
	"net/url"
	"testing"

	"github.com/arbiter-gg/arbiter/netem"
)

// Proxy is a TCP proxy between code under test and a real service, so that
// a test can cut the service off (and bring it back) without stopping the
// service everyone shares. It is a netem.Proxy with unshaped links (Addr,
// Cut, Restore and Stall are netem's), closed when the test ends.
type Proxy struct {
	*netem.Proxy
}

// NewProxy listens on a free local port and forwards to target
// ("host:port"). It stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := netem.Listen(target, netem.Link{}, netem.Link{})
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &Proxy{Proxy: p}
}

// RedisViaProxy is Redis with a Proxy in front: the URL points at the
// proxy, so the test can cut Redis off.
func RedisViaProxy(t testing.TB, db int) (rawURL, prefix string, proxy *Proxy) {
	t.Helper()
	rawURL, prefix = Redis(t, db)
	rawURL, proxy = viaProxy(t, rawURL, "6379")
	return rawURL, prefix, proxy
}

// PostgresViaProxy is Postgres with a Proxy in front: the URL points at the
// proxy, so the test can cut Postgres off.
func PostgresViaProxy(t testing.TB) (rawURL, schema string, proxy *Proxy) {
	t.Helper()
	rawURL, schema = Postgres(t)
	rawURL, proxy = viaProxy(t, rawURL, "5432")
	return rawURL, schema, proxy
}

// viaProxy starts a proxy to rawURL's host and returns the URL rewritten to
// go through it.
func viaProxy(t testing.TB, rawURL, defaultPort string) (string, *Proxy) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("service URL: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	p := NewProxy(t, target)
	u.Host = p.Addr()
	return u.String(), p
}

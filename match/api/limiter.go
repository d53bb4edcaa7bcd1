package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client. It remembers at most max clients:
// when full it first forgets the clients whose buckets have refilled (they
// are indistinguishable from new ones, so forgetting them loses nothing),
// and if every remembered client is still limited it forgets an arbitrary
// one. A limit of rate.Inf allows everything and remembers no one. Safe for
// concurrent use.
type limiter struct {
	limit rate.Limit
	burst int
	max   int

	mu struct {
		sync.Mutex
		clients map[string]*rate.Limiter
		// nextSweep: a full map is scanned for refilled buckets at most
		// once a second, so a flood of new clients does not scan on every
		// request.
		nextSweep time.Time
	}
}

func newLimiter(limit rate.Limit, burst, max int) *limiter {
	l := &limiter{limit: limit, burst: burst, max: max}
	l.mu.clients = make(map[string]*rate.Limiter)
	return l
}

// allow takes a token from key's bucket at now. If there is none it returns
// false and roughly how long until there is one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.limit == rate.Inf {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.mu.clients[key]
	if !ok {
		if len(l.mu.clients) >= l.max {
			l.makeRoomLocked(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.mu.clients[key] = lim
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Second
	if l.limit > 0 {
		wait = max(time.Duration(float64(time.Second)*(1-lim.TokensAt(now))/float64(l.limit)), time.Second)
	}
	return false, wait
}

func (l *limiter) makeRoomLocked(now time.Time) {
	if !now.Before(l.mu.nextSweep) {
		l.mu.nextSweep = now.Add(time.Second)
		for k, lim := range l.mu.clients {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.mu.clients, k)
			}
		}
	}
	for k := range l.mu.clients {
		if len(l.mu.clients) < l.max {
			break
		}
		delete(l.mu.clients, k)
	}
}

// size returns how many clients are remembered.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.clients)
}

// tooManyRequests answers 429 with a Retry-After of retry, in whole
// seconds rounded up.
func tooManyRequests(w http.ResponseWriter, retry time.Duration, message string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	writeError(w, http.StatusTooManyRequests, "rate_limited", message)
}

// clientKey names r's client for rate limiting: its IP address, or its /64
// for IPv6, where one host commonly holds the whole prefix. It trusts only
// the connection's address, never forwarding headers.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

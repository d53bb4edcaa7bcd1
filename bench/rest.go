package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/netcode/client/rest"
)

// lobby is the generator's side of the REST API (docs/rest.md), on the Go
// client of package netcode/client/rest: sign-ups, matchmaking and results,
// with every 429 waited out. It is safe for concurrent use.
type lobby struct {
	base *url.URL     // the server, http(s)://host:port
	api  *rest.Client // signed in as nobody; WithToken for a player
	// throttled counts 429 answers, each waited out.
	throttled atomic.Uint64
	// unavailable counts 503 answers to a new ticket (matchmaking
	// temporarily unavailable: the server's stores did not answer in
	// time), each waited out and retried.
	unavailable atomic.Uint64
	// unavailableWait is how long a 503 without Retry-After is waited
	// out (a second; shorter in tests). Read-only after newLobby.
	unavailableWait time.Duration
}

// maxUnavailable is how many 503s in a row queue waits out before it
// gives up.
const maxUnavailable = 30

// The REST API's answers, as the client library declares them.
type (
	guest  = rest.Guest
	ticket = rest.Ticket
)

// newLobby returns the lobby of the server at base, whose requests go
// through hc.
func newLobby(base *url.URL, hc *http.Client) (*lobby, error) {
	l := &lobby{base: base, unavailableWait: time.Second}
	api, err := rest.New(base.String(), rest.Options{
		HTTPClient:     hc,
		RetryThrottled: true,
		OnThrottled:    func(time.Duration) { l.throttled.Add(1) },
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	l.api = api
	return l, nil
}

// health checks that the server answers GET /healthz.
func (l *lobby) health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return l.api.Health(ctx)
}

// join signs up one guest, queues it in mode and long-polls the ticket
// until it is matched. It returns the ws_url, re-pointed at the server the
// generator talks to.
func (l *lobby) join(ctx context.Context, name, mode string) (string, error) {
	g, err := l.signUp(ctx, name)
	if err != nil {
		return "", err
	}
	tk, err := l.queue(ctx, g, mode)
	if err != nil {
		return "", err
	}
	return l.rebase(tk.WSURL)
}

// signUp creates a guest player.
func (l *lobby) signUp(ctx context.Context, name string) (guest, error) {
	return l.api.CreateGuest(ctx, name)
}

// queue puts g in mode's queue and long-polls the ticket until it is
// matched. A player still in a match that has not ended (409) is retried
// once a second until ctx ends; matchmaking temporarily unavailable (503,
// a server whose stores fall behind) after its Retry-After or a second,
// counted, up to maxUnavailable times in a row.
func (l *lobby) queue(ctx context.Context, g guest, mode string) (ticket, error) {
	api := l.api.WithToken(g.Token)
	var tk ticket
	for unavailable := 0; ; {
		var err error
		if tk, err = api.CreateTicket(ctx, mode); err == nil {
			break
		}
		wait := time.Second // 409: still in a match that has not ended
		switch rest.StatusCode(err) {
		case http.StatusConflict:
		case http.StatusServiceUnavailable:
			l.unavailable.Add(1)
			if unavailable++; unavailable > maxUnavailable {
				return tk, fmt.Errorf("%d answers 503 in a row: %w", unavailable, err)
			}
			wait = l.unavailableWait
			var e *rest.Error
			if errors.As(err, &e) && e.RetryAfter > 0 {
				wait = e.RetryAfter
			}
		default:
			return tk, err
		}
		if err := sleep(ctx, wait); err != nil {
			return tk, err
		}
	}
	tk, err := api.AwaitTicket(ctx, tk.TicketID)
	switch {
	case err != nil:
		return tk, err
	case tk.Status == "":
		return tk, fmt.Errorf("ticket %s: no status", tk.TicketID)
	case tk.Status != rest.TicketMatched:
		return tk, fmt.Errorf("ticket %s: %s", tk.TicketID, tk.Status)
	}
	return tk, nil
}

// result fetches match id as g sees it, polling until it has ended (its
// result is recorded as its players are told).
func (l *lobby) result(ctx context.Context, g guest, id string) (rest.Match, error) {
	api := l.api.WithToken(g.Token)
	for {
		m, err := api.Match(ctx, id)
		if err != nil {
			return m, err
		}
		if m.Result != nil {
			return m, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return m, err
		}
	}
}

// rebase points a ws_url at l.base (ws for http, wss for https), keeping its
// path and query (the token).
func (l *lobby) rebase(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("bad ws_url %q", wsURL)
	}
	u.Host = l.base.Host
	u.Scheme = "ws"
	if l.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	return u.String(), nil
}

// parseBase parses a server's base URL, "http(s)://host:port".
func parseBase(raw string) (*url.URL, error) {
	c, err := rest.New(raw, rest.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: base URL %q: want http://host:port", raw)
	}
	return c.BaseURL(), nil
}

// isUnreachable reports whether err means nothing answered at all.
func isUnreachable(err error) bool {
	return err != nil && rest.StatusCode(err) == 0
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbiter-gg/arbiter/match/api"
)

// rest is the generator's side of the REST API (docs/rest.md). It is safe for
// concurrent use.
type rest struct {
	base *url.URL // the server, http(s)://host:port
	hc   *http.Client
	// throttled counts 429 answers, each waited out.
	throttled atomic.Uint64
}

// apiError is a non-2xx answer.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

// The REST API's answers, as the server declares them.
type (
	guest  = api.Guest
	ticket = api.Ticket
)

// call sends one request and decodes a 2xx answer into out. A 429 is
// waited out (Retry-After, or one second) and retried until ctx ends; any
// other non-2xx answer is an *apiError.
func (r *rest) call(ctx context.Context, method, path, bearer string, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	for {
		req, err := http.NewRequestWithContext(ctx, method, r.base.String()+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: read answer: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			r.throttled.Add(1)
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s %s: throttled (429): %w", method, path, ctx.Err())
			case <-t.C:
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
		}
		return nil
	}
}

// health checks that the server answers GET /healthz.
func (r *rest) health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return r.call(ctx, http.MethodGet, "/healthz", "", nil, nil)
}

// join signs up one guest, queues it in mode and long-polls the ticket
// until it is matched. It returns the ws_url, re-pointed at the server the
// generator talks to.
func (r *rest) join(ctx context.Context, name, mode string) (string, error) {
	g, err := r.signUp(ctx, name)
	if err != nil {
		return "", err
	}
	tk, err := r.queue(ctx, g, mode)
	if err != nil {
		return "", err
	}
	return r.rebase(tk.WSURL)
}

// signUp creates a guest player.
func (r *rest) signUp(ctx context.Context, name string) (guest, error) {
	var g guest
	err := r.call(ctx, http.MethodPost, "/v1/auth/guest", "", map[string]string{"name": name}, &g)
	return g, err
}

// queue puts g in mode's queue and long-polls the ticket until it is
// matched. A player still in a match that has not ended (409) is retried
// once a second until ctx ends.
func (r *rest) queue(ctx context.Context, g guest, mode string) (ticket, error) {
	var tk ticket
	for {
		err := r.call(ctx, http.MethodPost, "/v1/matchmaking/tickets", g.Token, map[string]string{"mode": mode}, &tk)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			if err := sleep(ctx, time.Second); err != nil {
				return tk, err
			}
			continue
		}
		if err != nil {
			return tk, err
		}
		break
	}
	for tk.Status != "matched" {
		switch tk.Status {
		case "searching":
		case "":
			return tk, fmt.Errorf("ticket %s: no status", tk.TicketID)
		default:
			return tk, fmt.Errorf("ticket %s: %s", tk.TicketID, tk.Status)
		}
		id := tk.TicketID
		if err := r.call(ctx, http.MethodGet, "/v1/matchmaking/tickets/"+url.PathEscape(id)+"?wait=25s", g.Token, nil, &tk); err != nil {
			return tk, err
		}
		tk.TicketID = id
	}
	return tk, nil
}

// matchResult is what GET /v1/matches/{id} says of an ended match.
type matchResult struct {
	Status string `json:"status"`
	Result *struct {
		Reason  string `json:"reason"`
		Players []struct {
			PlayerID  string `json:"player_id"`
			Placement int    `json:"placement"`
			Forfeit   bool   `json:"forfeit"`
		} `json:"players"`
	} `json:"result"`
}

// result fetches match id as g sees it, polling until it has ended (its
// result is recorded as its players are told).
func (r *rest) result(ctx context.Context, g guest, id string) (matchResult, error) {
	for {
		var m matchResult
		if err := r.call(ctx, http.MethodGet, "/v1/matches/"+url.PathEscape(id), g.Token, nil, &m); err != nil {
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

// rebase points a ws_url at r.base (ws for http, wss for https), keeping its
// path and query (the token).
func (r *rest) rebase(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil || u.Path == "" {
		return "", fmt.Errorf("bad ws_url %q", wsURL)
	}
	u.Host = r.base.Host
	u.Scheme = "ws"
	if r.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	return u.String(), nil
}

// parseBase parses a server's base URL, "http(s)://host:port".
func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bench: base URL %q: want http://host:port", raw)
	}
	u.Path, u.RawQuery = strings.TrimSuffix(u.Path, "/"), ""
	return u, nil
}

// isUnreachable reports whether err means nothing answered at all.
func isUnreachable(err error) bool {
	var ae *apiError
	return err != nil && !errors.As(err, &ae)
}

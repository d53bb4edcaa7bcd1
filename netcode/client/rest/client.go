package rest

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
	"time"
	"unicode/utf8"
)

const (
	// DefaultWait is how long AwaitTicket asks the server to hold each
	// long-poll: under the server's limit of 30 s, and under the idle
	// timeouts of common proxies.
	DefaultWait = 25 * time.Second
	// DefaultRetryAfter is how long a throttled request waits when the
	// 429 carries no usable Retry-After.
	DefaultRetryAfter = time.Second

	// minPollInterval spaces the polls of AwaitTicket that the server
	// answered without holding them, so that they do not hammer it.
	minPollInterval = time.Second
	// maxAnswerBytes bounds an answer the Client reads. The largest the API
	// gives, a leaderboard of 100, is about 15 KiB.
	maxAnswerBytes = 1 << 20
	// maxErrorText bounds the raw body an *Error quotes when the answer is
	// not the API's error shape (a proxy's HTML page, say).
	maxErrorText = 200
)

// Options configures a Client. The zero value is usable.
type Options struct {
	// HTTPClient makes the requests; nil means http.DefaultClient. Its
	// Timeout, if set, must outlast a long-poll (DefaultWait and a round
	// trip).
	HTTPClient *http.Client
	// Token is the bearer token sent on every request, from
	// Client.CreateGuest; empty sends none. WithToken makes a Client with
	// another.
	Token string
	// RetryThrottled makes the Client wait out a 429 (for its Retry-After,
	// or DefaultRetryAfter) and send the request again, until it is
	// answered otherwise or ctx ends. Without it a 429 is an *Error, whose
	// RetryAfter says how long to wait.
	RetryThrottled bool
	// OnThrottled, if set, is called with the wait before each wait
	// RetryThrottled makes, for counting. It may be called from several
	// goroutines at once and must not block.
	OnThrottled func(wait time.Duration)
}

// Client calls the REST API of one Arbiter server as one player (or as
// nobody, for sign-up and health). It holds no connection of its own:
// requests go through Options.HTTPClient. A Client is immutable and safe
// for concurrent use; WithToken makes another for a different player.
type Client struct {
	base *url.URL // scheme://host[:port][/prefix], no trailing slash, no query
	opts Options  // HTTPClient set; read-only
}

// New returns a Client of the server at baseURL, "http(s)://host[:port]",
// optionally with a path prefix under which a proxy serves the API. It
// starts nothing and sends nothing.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("rest: base URL %q: want http(s)://host[:port]", baseURL)
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	u.RawQuery, u.Fragment = "", ""
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	return &Client{base: u, opts: opts}, nil
}

// WithToken returns a Client like c that sends token as its bearer token
// (empty: none). It shares c's HTTP client.
func (c *Client) WithToken(token string) *Client {
	o := *c
	o.opts.Token = token
	return &o
}

// BaseURL returns the server's base URL, as New was given it less any
// trailing slash. The URL is the caller's.
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// CreateGuest signs up a new player named name (POST /v1/auth/guest). Pass
// Guest.Token to WithToken to act as the player.
func (c *Client) CreateGuest(ctx context.Context, name string) (Guest, error) {
	var g Guest
	err := c.do(ctx, http.MethodPost, "/v1/auth/guest", GuestRequest{Name: name}, http.StatusCreated, &g)
	return g, err
}

// Player returns player id's profile and ratings (GET /v1/players/{id}).
func (c *Client) Player(ctx context.Context, id string) (Player, error) {
	var p Player
	err := c.do(ctx, http.MethodGet, "/v1/players/"+url.PathEscape(id), nil, http.StatusOK, &p)
	return p, err
}

// CreateTicket starts searching for a match in mode (POST
// /v1/matchmaking/tickets). A player who already has a searching ticket, or
// is in a match that has not ended, gets an *Error with status 409.
func (c *Client) CreateTicket(ctx context.Context, mode string) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, http.MethodPost, "/v1/matchmaking/tickets", TicketRequest{Mode: mode}, http.StatusCreated, &t)
	return t, err
}

// Ticket returns ticket id (GET /v1/matchmaking/tickets/{id}). With wait >
// 0 the server holds the answer while the ticket is searching, for up to
// wait (at most 30 s; more is an *Error with status 400); it answers at
// once otherwise.
func (c *Client) Ticket(ctx context.Context, id string, wait time.Duration) (Ticket, error) {
	path := "/v1/matchmaking/tickets/" + url.PathEscape(id)
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	var t Ticket
	err := c.do(ctx, http.MethodGet, path, nil, http.StatusOK, &t)
	return t, err
}

// AwaitTicket long-polls ticket id until it is no longer searching and
// returns it: matched, cancelled or expired, which the caller checks. Polls
// that the server answers early (it is shutting down, say) are spaced
// minPollInterval apart. It returns when ctx ends, with ctx's error
// wrapped.
func (c *Client) AwaitTicket(ctx context.Context, id string) (Ticket, error) {
	for {
		start := time.Now()
		t, err := c.Ticket(ctx, id, DefaultWait)
		if err != nil || t.Status != TicketSearching {
			return t, err
		}
		if err := sleep(ctx, minPollInterval-time.Since(start)); err != nil {
			return t, fmt.Errorf("rest: await ticket %s: %w", id, err)
		}
	}
}

// CancelTicket cancels ticket id (DELETE /v1/matchmaking/tickets/{id}). It
// succeeds for a ticket already cancelled or expired; a matched one is an
// *Error with status 409.
func (c *Client) CancelTicket(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/matchmaking/tickets/"+url.PathEscape(id), nil, http.StatusNoContent, nil)
}

// Match returns match id: its status and players, and its result once it
// has ended (GET /v1/matches/{id}).
func (c *Client) Match(ctx context.Context, id string) (Match, error) {
	var m Match
	err := c.do(ctx, http.MethodGet, "/v1/matches/"+url.PathEscape(id), nil, http.StatusOK, &m)
	return m, err
}

// Locator returns a function for client.Options.Locate: where the caller
// connects to match id now, the ws_url that GET /v1/matches/{id} gives a
// player of a running match. It fails if the match has no ws_url for the
// caller (it has ended, or the caller does not play in it).
func (c *Client) Locator(id string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		m, err := c.Match(ctx, id)
		if err != nil {
			return "", err
		}
		if m.WSURL == "" {
			return "", fmt.Errorf("rest: match %s is %s and gives no ws_url", id, m.Status)
		}
		return m.WSURL, nil
	}
}

// Leaderboard returns the top limit players of mode by rating (GET
// /v1/leaderboard/{mode}); limit 0 means the server's default (10).
func (c *Client) Leaderboard(ctx context.Context, mode string, limit int) (Leaderboard, error) {
	path := "/v1/leaderboard/" + url.PathEscape(mode)
	if limit != 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var l Leaderboard
	err := c.do(ctx, http.MethodGet, path, nil, http.StatusOK, &l)
	return l, err
}

// Health reports whether the server is alive (GET /healthz): nil, an
// *Error for an answer other than 200, or the error of a server that did
// not answer.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, http.StatusOK, nil)
}

// Ready reports whether the server can serve, its stores reachable (GET
// /readyz): nil, or an *Error (status 503, code "not_ready", while it
// cannot), or the error of a server that did not answer.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, http.StatusOK, nil)
}

// Error is an answer other than the one a Client method expects: an HTTP
// status, and the API's error code and message when the body has the
// API's error shape (ErrorBody).
type Error struct {
	Method     string // the request's method
	Path       string // the request's path and query, under the base URL
	StatusCode int    // the HTTP status, such as 404
	// Code and Message are the API's. When the body is not the API's error
	// shape, Code is empty and Message quotes the start of the body.
	Code    string
	Message string
	// RetryAfter is the answer's Retry-After (429, 503), or 0.
	RetryAfter time.Duration
}

// Error describes the answer: request, status, and the API's code and
// message.
func (e *Error) Error() string {
	s := fmt.Sprintf("rest: %s %s: status %d", e.Method, e.Path, e.StatusCode)
	switch {
	case e.Code != "":
		s += " " + e.Code + ": " + e.Message
	case e.Message != "":
		s += ": " + e.Message
	}
	return s
}

// StatusCode returns the HTTP status of the *Error in err's chain, or 0 if
// there is none (no error, or no answer at all).
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// do sends one request, with body (if not nil) as JSON, and decodes an
// answer with status want into out (if not nil). Any other status is an
// *Error; a 429 is waited out first if Options.RetryThrottled says so.
func (c *Client) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("rest: %s %s: encode body: %w", method, path, err)
		}
		payload = b
	}
	for {
		data, err := c.roundTrip(ctx, method, path, payload, want)
		var e *Error
		if c.opts.RetryThrottled && errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests {
			wait := e.RetryAfter
			if wait <= 0 {
				wait = DefaultRetryAfter
			}
			if f := c.opts.OnThrottled; f != nil {
				f(wait)
			}
			if err := sleep(ctx, wait); err != nil {
				return fmt.Errorf("rest: %s %s: throttled (429): %w", method, path, err)
			}
			continue
		}
		if err != nil {
			return err
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("rest: %s %s: decode answer: %w", method, path, err)
			}
		}
		return nil
	}
}

// roundTrip sends one request and returns the body of an answer with
// status want, or an *Error.
func (c *Client) roundTrip(ctx context.Context, method, path string, payload []byte, want int) ([]byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("rest: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return nil, newError(method, path, resp, data)
	}
	return data, nil
}

// newError makes the *Error of an unexpected answer.
func newError(method, path string, resp *http.Response, data []byte) *Error {
	e := &Error{Method: method, Path: path, StatusCode: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var b ErrorBody
	if err := json.Unmarshal(data, &b); err == nil && b.Error.Code != "" {
		e.Code, e.Message = b.Error.Code, b.Error.Message
		return e
	}
	text := strings.TrimSpace(string(data))
	if len(text) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	e.Message = text
	return e
}

// sleep waits for d or until ctx ends, returning ctx's error then (also
// when d is not positive).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

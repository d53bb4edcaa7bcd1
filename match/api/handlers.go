package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/matchmaker"
)

// Name rules of docs/rest.md.
const maxNameRunes = 32

type guestRequest struct {
	Name string `json:"name"`
}

// guestResponse is the answer to POST /v1/auth/guest: the new player and
// its bearer token. Go clients have it as rest.Guest (netcode/client/rest),
// held against this by a test.
type guestResponse struct {
	PlayerID string `json:"player_id"`
	Token    string `json:"token"`
}

// createGuest is POST /v1/auth/guest.
func (s *Server) createGuest(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	if ok, retry := s.guests.allow(clientKey(r), now); !ok {
		tooManyRequests(w, retry, "too many sign-ups from this address; retry later")
		return
	}
	var req guestRequest
	if !decode(w, r, &req) {
		return
	}
	if msg := checkName(req.Name); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_name", msg)
		return
	}
	id := match.NewID()
	if err := s.players.CreatePlayer(r.Context(), id, req.Name, now); err != nil {
		s.internal(w, r, fmt.Errorf("create guest: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, guestResponse{
		PlayerID: id,
		Token:    s.tokens.Player(id, now.Add(s.cfg.PlayerTokenTTL)),
	})
}

// checkName returns why name is not a valid player name, or "".
func checkName(name string) string {
	n := utf8.RuneCountInString(name)
	switch {
	case n < 1 || n > maxNameRunes:
		return fmt.Sprintf("name must be 1 to %d characters", maxNameRunes)
	case !utf8.ValidString(name):
		return "name must be valid UTF-8"
	case strings.TrimSpace(name) == "":
		return "name must not be blank"
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return "name must contain only printable characters"
		}
	}
	return ""
}

type ticketRequest struct {
	Mode string `json:"mode"`
}

// ticketResponse is a matchmaking ticket as POST and GET
// /v1/matchmaking/tickets answer it; MatchID, WSURL and JoinToken are set
// once it is matched. Go clients have it as rest.Ticket.
type ticketResponse struct {
	TicketID  string `json:"ticket_id"`
	Status    string `json:"status"`
	MatchID   string `json:"match_id,omitempty"`
	WSURL     string `json:"ws_url,omitempty"`
	JoinToken string `json:"join_token,omitempty"`
}

// createTicket is POST /v1/matchmaking/tickets.
func (s *Server) createTicket(w http.ResponseWriter, r *http.Request, player string) {
	var req ticketRequest
	if !decode(w, r, &req) {
		return
	}
	t, err := s.mm.Enqueue(r.Context(), player, req.Mode)
	switch {
	case errors.Is(err, matchmaker.ErrUnknownMode):
		writeError(w, http.StatusBadRequest, "unknown_mode", fmt.Sprintf("unknown mode %q", req.Mode))
		return
	case errors.Is(err, matchmaker.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "already searching or in a match")
		return
	case errors.Is(err, matchmaker.ErrClosed):
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "matchmaking is shutting down")
		return
	case errors.Is(err, matchmaker.ErrUnavailable):
		s.log.Warn("api: enqueue: rating or shared queue unavailable", "err", err)
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "matchmaking is temporarily unavailable; retry later")
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("enqueue: %w", err))
		return
	}
	w.Header().Set("Location", "/v1/matchmaking/tickets/"+url.PathEscape(t.ID))
	writeJSON(w, http.StatusCreated, s.ticketJSON(r, t))
}

// getTicket is GET /v1/matchmaking/tickets/{id}[?wait=…].
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request, player string) {
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > MaxWait {
			writeError(w, http.StatusBadRequest, "invalid_wait",
				fmt.Sprintf("wait must be a duration from 0s to %v, such as 25s", MaxWait))
			return
		}
		wait = d
	}
	id := r.PathValue("id")
	var (
		t   matchmaker.Ticket
		err error
	)
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		t, err = s.mm.Wait(ctx, id, player)
		cancel()
		if !errors.Is(err, matchmaker.ErrNotFound) && t.ID != "" {
			// The poll ended (ctx, shutdown) with the ticket still
			// searching: that is the answer.
			err = nil
		}
	} else {
		t, err = s.mm.Ticket(r.Context(), id, player)
	}
	switch {
	case errors.Is(err, matchmaker.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such ticket")
		return
	case err != nil:
		s.internal(w, r, fmt.Errorf("get ticket %s: %w", id, err))
		return
	}
	if t.JoinToken != "" && s.cfg.Matches != nil {
		// The match may have moved since the ticket was matched: its
		// server died and a peer resumed it.
		if m, ok, err := s.cfg.Matches.MatchSummary(r.Context(), t.MatchID); err == nil && ok && m.Live() {
			switch {
			case !m.Remote:
				t.Server = "" // here
			case m.Server != "":
				t.Server = m.Server
			}
		}
	}
	writeJSON(w, http.StatusOK, s.ticketJSON(r, t))
}

// deleteTicket is DELETE /v1/matchmaking/tickets/{id}.
func (s *Server) deleteTicket(w http.ResponseWriter, r *http.Request, player string) {
	id := r.PathValue("id")
	err := s.mm.Cancel(r.Context(), id, player)
	switch {
	case errors.Is(err, matchmaker.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such ticket")
	case errors.Is(err, matchmaker.ErrMatched):
		writeError(w, http.StatusConflict, "already_matched", "the ticket is already matched")
	case err != nil:
		s.internal(w, r, fmt.Errorf("cancel ticket %s: %w", id, err))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) ticketJSON(r *http.Request, t matchmaker.Ticket) ticketResponse {
	resp := ticketResponse{TicketID: t.ID, Status: string(t.Status), MatchID: t.MatchID, JoinToken: t.JoinToken}
	if t.JoinToken != "" {
		resp.WSURL = s.wsURL(r, t.Server, t.JoinToken)
	}
	return resp
}

// wsURL is the absolute WebSocket URL a player connects to with token on
// server, the advertised base URL of the server running the match (empty:
// this one).
func (s *Server) wsURL(r *http.Request, server, token string) string {
	base := s.wsBase
	if server != "" {
		// Another server runs the match: the player must go there.
		b, err := wsBase(server)
		if err != nil {
			// Its --public-url was checked when it started; this is a
			// bug or a rogue entry in the shared store.
			s.log.Error("api: ticket matched on a server with an unusable URL; sending the player here", "server", server, "err", err)
		} else {
			base = b
		}
	}
	if base == "" {
		scheme := "ws"
		if r.TLS != nil {
			scheme = "wss"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/v1/play?token=" + url.QueryEscape(token)
}

type statusResponse struct {
	Status string `json:"status"`
}

// healthz is GET /healthz: the process is up.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
}

// readyz is GET /readyz: the stores are reachable and ready to serve.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.log.Warn("api: not ready", "err", err)
		writeError(w, http.StatusServiceUnavailable, "not_ready", publicReason(err, "a store is unreachable")) // details in the log only
		return
	}
	writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
}

// publicReason is why a store is not ready in words fit for any caller: the
// PublicReason of an error in err's chain that has one (see Config.Ready),
// or else fallback. The error's own text stays in the log: it may name
// addresses and internals.
func publicReason(err error, fallback string) string {
	var pr interface{ PublicReason() string }
	if errors.As(err, &pr) {
		return pr.PublicReason()
	}
	return fallback
}

// unavailableRetry is the Retry-After, in seconds, of a 503 a client may
// wait out: a store timing out or being re-warmed, a server shutting down
// (a restart, or the load balancer taking it out).
const unavailableRetry = "2"

// internal answers a request that failed on err, and logs err. When the
// readiness check fails too, a store is down (or being re-warmed): the
// answer is 503 store_unavailable with Retry-After, something a client may
// wait out. Otherwise it is 500, without details.
func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), readyTimeout)
	defer cancel()
	if rerr := s.cfg.Ready(ctx); rerr != nil {
		s.log.Warn("api: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", unavailableRetry)
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", publicReason(rerr, "a store the server needs is unreachable")+"; try again shortly")
		return
	}
	s.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}

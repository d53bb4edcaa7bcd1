package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/arbiter-gg/arbiter/match"
)

// Leaderboard limits of GET /v1/leaderboard/{mode}?limit=N.
const (
	DefaultLeaderboardLimit = 10
	MaxLeaderboardLimit     = 100
)

// RatingsReader reads ratings and leaderboards. Implementations must be
// safe for concurrent use and should return when ctx ends.
type RatingsReader interface {
	// PlayerRatings returns playerID's ratings by mode: an empty map if the
	// player has none (or does not exist), which is not an error.
	PlayerRatings(ctx context.Context, playerID string) (map[string]match.Rating, error)
	// Leaderboard returns at most limit entries of mode's leaderboard, best
	// first; the API shows them in the order given.
	Leaderboard(ctx context.Context, mode string, limit int) ([]match.LeaderboardEntry, error)
}

// MatchReader finds a match, running or ended. Implementations must be safe
// for concurrent use and should return when ctx ends.
type MatchReader interface {
	// MatchSummary returns what is known of matchID; found is false if
	// there is no such match, which is not an error.
	MatchSummary(ctx context.Context, matchID string) (s match.Summary, found bool, err error)
}

// ratingJSON is a match.Rating on the wire. Every rating number the API
// shows (rating, rd, rating_before, rating_after) is rounded to 2 decimals;
// volatility, a small Glicko-2 parameter near 0.06, to 6.
type ratingJSON struct {
	Rating     float64 `json:"rating"`
	RD         float64 `json:"rd,omitempty"`         // Glicko-2 modes only
	Volatility float64 `json:"volatility,omitempty"` // Glicko-2 modes only
	Games      int     `json:"games"`
	Wins       int     `json:"wins"`
	Losses     int     `json:"losses"`
	Draws      int     `json:"draws"`
}

func ratingOf(r match.Rating) ratingJSON {
	return ratingJSON{
		Rating:     roundTo(r.Rating, 2),
		RD:         roundTo(r.RD, 2),
		Volatility: roundTo(r.Volatility, 6),
		Games:      r.Games,
		Wins:       r.Wins,
		Losses:     r.Losses,
		Draws:      r.Draws,
	}
}

// roundTo rounds x to n decimals.
func roundTo(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}

type playerResponse struct {
	PlayerID string                `json:"player_id"`
	Name     string                `json:"name"`
	Ratings  map[string]ratingJSON `json:"ratings"` // by mode; {} if none
}

// getPlayer is GET /v1/players/{id}: any signed-in player may look at any
// profile.
func (s *Server) getPlayer(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	name, found, err := s.players.PlayerName(r.Context(), id)
	if err != nil {
		s.internal(w, r, fmt.Errorf("get player %s: %w", id, err))
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no such player")
		return
	}
	resp := playerResponse{PlayerID: id, Name: name, Ratings: map[string]ratingJSON{}}
	if s.cfg.Ratings != nil {
		ratings, err := s.cfg.Ratings.PlayerRatings(r.Context(), id)
		if err != nil {
			s.internal(w, r, fmt.Errorf("get ratings of %s: %w", id, err))
			return
		}
		for mode, rt := range ratings {
			resp.Ratings[mode] = ratingOf(rt)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

type matchResponse struct {
	MatchID   string      `json:"match_id"`
	Mode      string      `json:"mode"`
	Status    string      `json:"status"`  // match.Status*
	Players   []string    `json:"players"` // in seat order
	CreatedAt time.Time   `json:"created_at"`
	Result    *resultJSON `json:"result,omitempty"` // once ended or aborted
	// Record is the game's own record of the match, JSON as the game made
	// it (chess: moves, pgn, fen); absent for a game that keeps none.
	Record json.RawMessage `json:"record,omitempty"`
	// WSURL and JoinToken are where and with what the caller connects to
	// the match, while it runs and only if the caller plays in it: the
	// way back in after a reload, a lost ticket, or the loss of the
	// server that ran it (the match's new server).
	WSURL     string `json:"ws_url,omitempty"`
	JoinToken string `json:"join_token,omitempty"`
}

type resultJSON struct {
	Reason  string             `json:"reason"`
	EndedAt time.Time          `json:"ended_at"`
	Players []playerResultJSON `json:"players"` // in seat order
}

type playerResultJSON struct {
	PlayerID  string `json:"player_id"`
	Score     uint32 `json:"score"`
	Placement int    `json:"placement"`
	Forfeit   bool   `json:"forfeit"`
	// RatingBefore and RatingAfter are absent until the result is rated,
	// and for an aborted match, which changes no rating.
	RatingBefore *float64 `json:"rating_before,omitempty"`
	RatingAfter  *float64 `json:"rating_after,omitempty"`
}

func matchOf(m match.Summary) matchResponse {
	resp := matchResponse{
		MatchID:   m.MatchID,
		Mode:      m.Mode,
		Status:    m.Status,
		Players:   append([]string{}, m.Players...),
		CreatedAt: m.CreatedAt.UTC(),
	}
	if res := m.Result; res != nil {
		out := &resultJSON{Reason: res.Reason, EndedAt: res.EndedAt.UTC(), Players: []playerResultJSON{}}
		for _, p := range res.Players {
			pj := playerResultJSON{PlayerID: p.PlayerID, Score: p.Score, Placement: p.Placement, Forfeit: p.Forfeit}
			if !res.Aborted && (p.RatingBefore != 0 || p.RatingAfter != 0) {
				before, after := roundTo(p.RatingBefore, 2), roundTo(p.RatingAfter, 2)
				pj.RatingBefore, pj.RatingAfter = &before, &after
			}
			out.Players = append(out.Players, pj)
		}
		resp.Result = out
		if json.Valid(res.Record) {
			resp.Record = json.RawMessage(res.Record)
		}
	}
	return resp
}

// getMatch is GET /v1/matches/{id}. Matches are public to every signed-in
// player, not only to those who played: results and leaderboards are
// public anyway, and spectating and replays will want it. Match IDs are
// random 128-bit values, so this reveals nothing that guessing could not.
func (s *Server) getMatch(w http.ResponseWriter, r *http.Request, caller string) {
	id := r.PathValue("id")
	var (
		m     match.Summary
		found bool
	)
	if s.cfg.Matches != nil {
		var err error
		m, found, err = s.cfg.Matches.MatchSummary(r.Context(), id)
		if err != nil {
			s.internal(w, r, fmt.Errorf("get match %s: %w", id, err))
			return
		}
	}
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no such match")
		return
	}
	resp := matchOf(m)
	if m.Live() && slices.Contains(m.Players, caller) && (!m.Remote || m.Server != "") {
		resp.JoinToken = s.tokens.Join(caller, m.MatchID, s.cfg.Now().Add(s.cfg.JoinTTL(m.Mode)))
		resp.WSURL = s.wsURL(r, m.Server, resp.JoinToken)
	}
	writeJSON(w, http.StatusOK, resp)
}

type leaderboardResponse struct {
	Mode    string                 `json:"mode"`
	Entries []leaderboardEntryJSON `json:"entries"` // best first; [] if none
}

type leaderboardEntryJSON struct {
	Rank     int     `json:"rank"` // 1-based
	PlayerID string  `json:"player_id"`
	Name     string  `json:"name"`
	Rating   float64 `json:"rating"`
	Games    int     `json:"games"`
	Wins     int     `json:"wins"`
	Losses   int     `json:"losses"`
	Draws    int     `json:"draws"`
}

// getLeaderboard is GET /v1/leaderboard/{mode}[?limit=N].
func (s *Server) getLeaderboard(w http.ResponseWriter, r *http.Request, _ string) {
	mode := r.PathValue("mode")
	limit := DefaultLeaderboardLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLeaderboardLimit {
			writeError(w, http.StatusBadRequest, "invalid_limit",
				fmt.Sprintf("limit must be a whole number from 1 to %d", MaxLeaderboardLimit))
			return
		}
		limit = n
	}
	if _, ok := s.mm.Mode(mode); !ok {
		writeError(w, http.StatusBadRequest, "unknown_mode", fmt.Sprintf("unknown mode %q", mode))
		return
	}
	resp := leaderboardResponse{Mode: mode, Entries: []leaderboardEntryJSON{}}
	if s.cfg.Ratings != nil {
		entries, err := s.cfg.Ratings.Leaderboard(r.Context(), mode, limit)
		if err != nil {
			s.internal(w, r, fmt.Errorf("get leaderboard %s: %w", mode, err))
			return
		}
		// A reader that returns more than asked is cut short, not trusted.
		for _, e := range entries[:min(len(entries), limit)] {
			rt := ratingOf(e.Rating)
			resp.Entries = append(resp.Entries, leaderboardEntryJSON{
				Rank: e.Rank, PlayerID: e.PlayerID, Name: e.Name,
				Rating: rt.Rating, Games: rt.Games, Wins: rt.Wins, Losses: rt.Losses, Draws: rt.Draws,
			})
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

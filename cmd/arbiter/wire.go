package main

import (
	"context"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/netcode"
	"github.com/arbiter-gg/arbiter/persistence/redis"
)

// admitter adapts match.Manager to netcode.Admitter. The two packages do not
// know each other; their interfaces meet here.
type admitter struct{ m *match.Manager }

func (a admitter) Admit(token string) (netcode.Seat, error) {
	s, err := a.m.Admit(token)
	if err != nil {
		return nil, err
	}
	return seat{s}, nil
}

// seat adapts *match.Seat to netcode.Seat, and to netcode.EventSeat
// (EventDriven is match.Seat's): a *netcode.Session is a match.Peer.
type seat struct{ *match.Seat }

var _ netcode.EventSeat = seat{}

func (s seat) Attach(sess *netcode.Session) error { return s.Seat.Attach(sess) }
func (s seat) Detach(sess *netcode.Session)       { s.Seat.Detach(sess) }

// matchReader answers GET /v1/matches/{id}: the matches this server runs
// from its manager, those its peers run from the match directory (nil
// without Redis), ended ones from the store.
type matchReader struct {
	m         *match.Manager
	node      string // this server's name in the directory
	directory interface {
		Lookup(ctx context.Context, id string) (redis.RunningMatch, bool, error)
	}
	store interface {
		MatchResult(ctx context.Context, matchID string) (match.Result, bool, error)
	}
}

func (r matchReader) MatchSummary(ctx context.Context, id string) (match.Summary, bool, error) {
	if room, ok := r.m.Room(id); ok {
		return room.Summary(), true, nil
	}
	// The store before the directory: a match that has just ended leaves
	// the directory only at its server's next flush (100 ms), and its
	// result is what counts.
	res, ok, err := r.store.MatchResult(ctx, id)
	if err != nil {
		return match.Summary{}, false, err
	}
	if ok {
		s := match.Summary{MatchID: res.MatchID, Mode: res.Mode, Status: match.StatusEnded, CreatedAt: res.CreatedAt, Result: &res}
		if res.Aborted {
			s.Status = match.StatusAborted
		}
		for _, p := range res.Players {
			s.Players = append(s.Players, p.PlayerID)
		}
		return s, true, nil
	}
	if r.directory == nil {
		return match.Summary{}, false, nil
	}
	rm, ok, err := r.directory.Lookup(ctx, id)
	if err != nil || !ok {
		return match.Summary{}, false, err
	}
	s := match.Summary{MatchID: id, Mode: rm.Mode, Status: rm.Status, CreatedAt: rm.CreatedAt, Remote: true, Server: rm.URL}
	if rm.Node == r.node {
		// This server has just claimed the match from a dead peer and is
		// still resuming it: no room admits its players yet, so nobody is
		// sent anywhere until one does.
		s.Server = ""
	}
	if !s.Live() {
		s.Status = match.StatusRunning
	}
	for _, p := range rm.Players {
		s.Players = append(s.Players, p.PlayerID)
	}
	return s, true, nil
}

package main

import (
	"context"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence/redis"
)

// fakeDirectory is a match directory holding one match.
type fakeDirectory struct{ m redis.RunningMatch }

func (d fakeDirectory) Lookup(_ context.Context, id string) (redis.RunningMatch, bool, error) {
	return d.m, id == d.m.MatchID, nil
}

// noResults is a store with no ended match.
type noResults struct{}

func (noResults) MatchResult(context.Context, string) (match.Result, bool, error) {
	return match.Result{}, false, nil
}

// TestMatchReaderDirectory: a match the directory gives to a peer is
// reported where that peer advertises it; one it gives to this server,
// which has no room for it yet (it is resuming it from a dead peer), sends
// nobody anywhere until the room exists — a join token would be refused
// there for a moment, and clients take a 401 as final.
func TestMatchReaderDirectory(t *testing.T) {
	manager, err := match.NewManager(match.Config{Tokens: match.NewTokens([]byte("secret"))})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(node, url string) redis.RunningMatch {
		return redis.RunningMatch{Checkpoint: match.Checkpoint{MatchID: "m1", Mode: "chess", Status: match.StatusRunning,
			CreatedAt: time.Now(), Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}}, Node: node, URL: url}
	}
	tests := []struct {
		name       string
		entry      redis.RunningMatch
		wantServer string
	}{
		{"on a peer", entry("peer", "http://peer:8080"), "http://peer:8080"},
		{"being taken over here", entry("me", "http://me:8080"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := matchReader{m: manager, node: "me", directory: fakeDirectory{tt.entry}, store: noResults{}}
			s, found, err := r.MatchSummary(t.Context(), "m1")
			if err != nil || !found {
				t.Fatalf("MatchSummary = %v, %v", found, err)
			}
			if !s.Live() || !s.Remote || s.Server != tt.wantServer || len(s.Players) != 2 {
				t.Errorf("summary = %+v; want running, remote, server %q, two players", s, tt.wantServer)
			}
		})
	}
}

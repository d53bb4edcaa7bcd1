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

// results is a store of ended matches.
type results map[string]match.Result

func (r results) MatchResult(_ context.Context, id string) (match.Result, bool, error) {
	res, ok := r[id]
	return res, ok, nil
}

// TestMatchReaderDirectory: a match the directory gives to a peer is
// reported where that peer advertises it; one it gives to this server,
// which has no room for it yet (it is resuming it from a dead peer), sends
// nobody anywhere until the room exists — a join token would be refused
// there for a moment, and clients take a 401 as final; a match whose
// result is stored has ended, whatever the directory still says.
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
		ended      bool
		wantServer string
	}{
		{"on a peer", entry("peer", "http://peer:8080"), false, "http://peer:8080"},
		{"being taken over here", entry("me", "http://me:8080"), false, ""},
		{"ended, still in the directory until the next flush", entry("peer", "http://peer:8080"), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := results{}
			if tt.ended {
				store["m1"] = match.Result{MatchID: "m1", Mode: "chess", Aborted: true, Reason: match.ReasonServerLost,
					Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}}
			}
			r := matchReader{m: manager, node: "me", directory: fakeDirectory{tt.entry}, store: store}
			s, found, err := r.MatchSummary(t.Context(), "m1")
			if err != nil || !found {
				t.Fatalf("MatchSummary = %v, %v", found, err)
			}
			if tt.ended {
				if s.Live() || s.Result == nil || s.Remote {
					t.Errorf("summary = %+v; want the stored result, ended", s)
				}
				return
			}
			if !s.Live() || !s.Remote || s.Server != tt.wantServer || len(s.Players) != 2 {
				t.Errorf("summary = %+v; want running, remote, server %q, two players", s, tt.wantServer)
			}
		})
	}
}

package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/persistence"
	"github.com/arbiter-gg/arbiter/persistence/servicetest"
)

// testDB returns the test database's URL and a fresh schema of the test's
// own, dropped when the test ends (servicetest skips or fails the test when
// there is no database).
func testDB(t testing.TB) (url, schema string) {
	t.Helper()
	return servicetest.Postgres(t)
}

// openTest opens an archive in a fresh schema, closed and dropped when the
// test ends. A database that is configured but unreachable fails the test.
func openTest(t testing.TB) *Archive {
	t.Helper()
	url, schema := testDB(t)
	a, err := Open(context.Background(), Config{URL: url, Schema: schema})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(a.Close) // runs before the schema's cleanup, registered earlier
	return a
}

// wantCounts fails the test unless the archive holds exactly want.
func wantCounts(t testing.TB, a *Archive, want Counts) {
	t.Helper()
	got, err := a.Counts(context.Background())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	if got != want {
		t.Fatalf("Counts() = %+v, want %+v", got, want)
	}
}

// t0 is the tests' epoch: microsecond precision, as Postgres keeps it.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)

// league plays rated matches between its players the way match.Ledger
// would, producing the settlements the archiver hands the archive.
type league struct {
	mode    string
	prefix  string // of match IDs
	n       int    // matches played
	ratings map[string]match.Rating
}

func newLeague(mode, prefix string) *league {
	return &league{mode: mode, prefix: prefix, ratings: make(map[string]match.Rating)}
}

// play settles one match between players (seat order), the first seat
// winning and everyone else sharing second place.
func (l *league) play(players ...string) persistence.Settlement {
	l.n++
	created := t0.Add(time.Duration(l.n) * time.Minute)
	res := match.Result{
		MatchID: fmt.Sprintf("%s-%06d", l.prefix, l.n), Mode: l.mode, Reason: "score_limit",
		CreatedAt: created, StartedAt: created.Add(3 * time.Second), EndedAt: created.Add(time.Minute),
		Ticks: 1800,
	}
	s := persistence.Settlement{Ratings: make(map[string]match.Rating, len(players))}
	for i, id := range players {
		before, ok := l.ratings[id]
		if !ok {
			before = match.Rating{Rating: 1500}
		}
		after := before
		after.Games++
		place := 2
		if i == 0 {
			place = 1
			after.Wins++
			after.Rating += 10
		} else {
			after.Losses++
			after.Rating -= 10 / float64(len(players)-1)
		}
		l.ratings[id] = after
		s.Ratings[id] = after
		res.Players = append(res.Players, match.PlayerResult{
			PlayerID: id, Entity: match.EntityID(i + 1), Score: uint32(10 * (len(players) - i)),
			Placement: place, RatingBefore: before.Rating, RatingAfter: after.Rating,
		})
		s.Players = append(s.Players, persistence.Player{ID: id, Name: "name-" + id, CreatedAt: t0})
	}
	s.Result = res
	return s
}

// abort records an aborted match between players: no rating changes.
func (l *league) abort(players ...string) persistence.Settlement {
	l.n++
	created := t0.Add(time.Duration(l.n) * time.Minute)
	res := match.Result{
		MatchID: fmt.Sprintf("%s-%06d", l.prefix, l.n), Mode: l.mode, Aborted: true, Reason: "shutdown",
		CreatedAt: created, EndedAt: created.Add(time.Second),
	}
	s := persistence.Settlement{}
	for i, id := range players {
		r := l.ratings[id].Rating
		res.Players = append(res.Players, match.PlayerResult{PlayerID: id, Entity: match.EntityID(i + 1), Placement: 1, RatingBefore: r, RatingAfter: r})
		s.Players = append(s.Players, persistence.Player{ID: id, Name: "name-" + id, CreatedAt: t0})
	}
	s.Result = res
	return s
}

// playerIDs returns n player IDs p000, p001, ….
func playerIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("p%03d", i)
	}
	return ids
}

// rotate returns ids rotated left by k, so that successive matches seat
// players differently.
func rotate(ids []string, k int) []string {
	k %= len(ids)
	return append(slices.Clone(ids[k:]), ids[:k]...)
}

package match

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewIDsAreUnguessable(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if len(id) != 32 || seen[id] {
			t.Fatalf("NewID() = %q: want 32 hex digits, never repeated", id)
		}
		seen[id] = true
	}
}

// recordingGame records the WorldConfig of its last NewWorld and refuses to
// create the world, so that Create starts no room.
type recordingGame struct{ got WorldConfig }

var errRecorded = errors.New("recorded")

func (g *recordingGame) NewWorld(cfg WorldConfig) (World, error) {
	g.got = cfg
	return nil, errRecorded
}

// TestCreateGivesTheWorldItsMode: a world learns its mode's rules (the
// score limit) from the Mode its game declared, not from the mode's name.
func TestCreateGivesTheWorldItsMode(t *testing.T) {
	g := &recordingGame{}
	m, err := NewManager(Config{
		Room:   RoomConfig{TickRate: 20},
		Modes:  map[string]Mode{"race": {Name: "race", Game: "rec", Players: 3, MinPlayers: 2, Duration: time.Minute, ScoreLimit: 7}},
		Games:  map[string]Game{"rec": g},
		Tokens: NewTokens([]byte("k")),
		Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create("race", []string{"a", "b"}); !errors.Is(err, errRecorded) {
		t.Fatalf("Create(race) = %v, want the world's error", err)
	}
	want := WorldConfig{Mode: "race", TickRate: 20, Players: 2, ScoreLimit: 7, MatchID: g.got.MatchID, PlayerIDs: []string{"a", "b"}}
	if diff := cmp.Diff(want, g.got); diff != "" || g.got.MatchID == "" {
		t.Errorf("NewWorld got (-want +got):\n%s (match ID %q)", diff, g.got.MatchID)
	}
}

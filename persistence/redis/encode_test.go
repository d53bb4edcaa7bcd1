package redis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

// previousEncode is encodeLiveGame as the builds before encodeSave wrote
// it (json.Marshal of a liveGame, the state a RawMessage): what a rolling
// restart finds in Redis.
func previousEncode(g match.LiveGame) ([]byte, error) {
	lg := liveGame{MatchID: g.MatchID, Mode: g.Mode, Players: g.Players, Version: g.Version, State: g.State, SavedAt: g.SavedAt}
	if len(g.State) > 0 {
		if b, err := json.Marshal(lg); err == nil {
			return b, nil
		}
	}
	state, err := json.Marshal(g.State)
	if err != nil {
		return nil, err
	}
	lg.State, lg.Base64 = state, true
	return json.Marshal(lg)
}

// TestEncodeSave: a save's game is what the previous builds wrote, byte
// for byte when the state is compact JSON (chess's), and decodes to the
// same liveGame otherwise; its meta is json.Marshal's of the directory's
// checkpointMeta for a running match. Odd IDs, a state that is not JSON,
// an instant in a zone and one JSON cannot hold are covered.
func TestEncodeSave(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name      string
		give      match.LiveGame
		wantError bool
	}{
		{name: "chess", give: match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 7,
			State: []byte(`{"white":"a","moves":["e2e4","e7e5"],"version":7}`), SavedAt: at}},
		{name: "spaces", give: match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 1,
			State: []byte("{ \"a\" : [1, 2] }\n"), SavedAt: at}},
		{name: "not JSON", give: match.LiveGame{MatchID: "m1", Mode: "rps", Players: []string{"a", "b"}, State: []byte("not json \x00"), SavedAt: at}},
		{name: "trailing", give: match.LiveGame{MatchID: "m1", Mode: "rps", Players: []string{"a"}, State: []byte(`{"a":1} trailing`), SavedAt: at}},
		{name: "empty state", give: match.LiveGame{MatchID: "m1", Mode: "rps", Players: []string{"a"}, State: []byte{}, SavedAt: at}},
		{name: "escaped IDs", give: match.LiveGame{MatchID: `m<&>"\`, Mode: "é", Players: []string{"\u2028", "\x00\xff", ""},
			State: []byte(`"s"`), SavedAt: at}},
		{name: "no players", give: match.LiveGame{MatchID: "m", Mode: "chess", State: []byte(`1`), SavedAt: at}},
		{name: "zone", give: match.LiveGame{MatchID: "m", Mode: "chess", Players: []string{"a"}, State: []byte(`{}`),
			SavedAt: at.In(time.FixedZone("odd", 5*3600+30*60+9))}},
		{name: "year 10000", give: match.LiveGame{MatchID: "m", Mode: "chess", Players: []string{"a"}, State: []byte(`{}`),
			SavedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, game, meta, err := encodeSave(nil, tt.give)
			want, wantErr := previousEncode(tt.give)
			if (err != nil) != tt.wantError || (wantErr != nil) != tt.wantError {
				t.Fatalf("encodeSave: %v; the previous encoding: %v; want an error: %v", err, wantErr, tt.wantError)
			}
			if tt.wantError {
				return
			}
			if compact := json.Valid(tt.give.State) && tt.name != "spaces"; compact && string(game) != string(want) {
				t.Errorf("game = %s\nwant %s", game, want)
			}
			var got, prev liveGame
			if err := json.Unmarshal(game, &got); err != nil {
				t.Fatalf("game %s: %v", game, err)
			}
			if err := json.Unmarshal(want, &prev); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(tt.give.State) || tt.name != "spaces" {
				if diff := cmp.Diff(prev, got); diff != "" {
					t.Errorf("game decodes (-previous +now):\n%s", diff)
				}
			} else if c1, c2 := compact(t, got.State), compact(t, tt.give.State); c1 != c2 {
				t.Errorf("state = %q, want %q as saved", c1, c2)
			}
			players := make([]match.PlayerResult, len(tt.give.Players))
			for i, id := range tt.give.Players {
				players[i] = match.PlayerResult{PlayerID: id}
			}
			wantMeta, err := json.Marshal(checkpointMeta{Mode: tt.give.Mode, Status: match.StatusRunning, Players: players,
				CreatedAt: tt.give.SavedAt, StartedAt: tt.give.SavedAt})
			if err != nil {
				t.Fatal(err)
			}
			if string(meta) != string(wantMeta) {
				t.Errorf("meta = %s\nwant %s", meta, wantMeta)
			}
		})
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestLoadPreviousGame: a game saved by a previous build (a rolling
// restart resumes it) loads as it was saved, a state that is not JSON
// included.
func TestLoadPreviousGame(t *testing.T) {
	s := openTest(t, Config{})
	ctx := t.Context()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for _, state := range [][]byte{[]byte(`{"moves":["e2e4"]}`), []byte("not json \x00")} {
		g := match.LiveGame{MatchID: "m1", Mode: "chess", Players: []string{"a", "b"}, Version: 3, State: state, SavedAt: at}
		b, err := previousEncode(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.Set(ctx, s.keys.game("m1"), b, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.LoadGame(ctx, "m1")
		if err != nil || !found {
			t.Fatalf("LoadGame = %v, %v", found, err)
		}
		if diff := cmp.Diff(g, got); diff != "" {
			t.Errorf("LoadGame (-saved +loaded):\n%s", diff)
		}
	}
}

// TestEncodeSaveAllocs: a save's game and meta are one allocation, and
// none in a buffer of a previous save that was as large.
func TestEncodeSaveAllocs(t *testing.T) {
	g := match.LiveGame{MatchID: "01JXYZ", Mode: "chess", Players: []string{"p1", "p2"}, Version: 9,
		State: []byte(`{"white":"p1","black":"p2","moves":["e2e4","e7e5"],"version":9}`), SavedAt: time.Now()}
	if n := testing.AllocsPerRun(100, func() { _, _, _, _ = encodeSave(nil, g) }); n != 1 {
		t.Errorf("encodeSave(nil) allocates %v times, want 1", n)
	}
	all, _, _, _ := encodeSave(nil, g)
	if n := testing.AllocsPerRun(100, func() { _, _, _, _ = encodeSave(all[:0], g) }); n != 0 {
		t.Errorf("encodeSave(a buffer used before) allocates %v times, want 0", n)
	}
}

// BenchmarkEncodeSave measures what SaveGame encodes for one save of a
// chess game at ply 100 (its snapshot, ~1.3 KB): the game's value and the
// directory's meta, as encodeSave does it (now) and as the builds before
// it did (previous: encoding/json for both).
func BenchmarkEncodeSave(b *testing.B) {
	moves := make([]string, 100)
	for i := range moves {
		moves[i] = "e2e4"
	}
	state, _ := json.Marshal(map[string]any{"white": "p1", "black": "p2", "moves": moves, "status": "playing",
		"turn_since": time.Now(), "started": time.Now(), "version": 101})
	g := match.LiveGame{MatchID: "01JXYZABCDEFGHJKMNPQRSTVWX", Mode: "chess", Players: []string{"p1", "p2"}, Version: 101,
		State: state, SavedAt: time.Now()}
	b.Run("now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := encodeSave(nil, g); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("previous", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := previousEncode(g); err != nil {
				b.Fatal(err)
			}
			players := make([]match.PlayerResult, len(g.Players))
			for i, id := range g.Players {
				players[i] = match.PlayerResult{PlayerID: id}
			}
			if _, err := json.Marshal(checkpointMeta{Mode: g.Mode, Status: match.StatusRunning, Players: players, CreatedAt: g.SavedAt, StartedAt: g.SavedAt}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSaveGameBuffersReused: many rooms saving at once, their encodings
// sharing pooled buffers, each find their own game in Redis after every
// save — a buffer handed to another save while a pipeline still wrote it
// would put one game's bytes under another's key.
func TestSaveGameBuffersReused(t *testing.T) {
	s := openTest(t, Config{})
	c := s.NewCheckpoints(CheckpointConfig{Node: "n"})
	runCheckpoints(t, c)
	const rooms, saves = 32, 30
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	errs := make(chan error, rooms)
	var wg sync.WaitGroup
	for r := range rooms {
		wg.Go(func() {
			id := fmt.Sprintf("m%d", r)
			for v := range uint32(saves) {
				// States of different sizes, so that a buffer serves games
				// larger and smaller than the one it held.
				state := fmt.Appendf(nil, `{"room":%d,"version":%d,"pad":%q}`, r, v, strings.Repeat("x", (r*37+int(v)*11)%700))
				g := match.LiveGame{MatchID: id, Mode: "chess", Players: []string{"a", "b"}, Version: v, State: state, SavedAt: at}
				if err := c.SaveGame(t.Context(), g); err != nil {
					errs <- err
					return
				}
				got, found, err := s.LoadGame(t.Context(), id)
				if err != nil || !found || got.Version != v || !bytes.Equal(got.State, state) {
					errs <- fmt.Errorf("%s after save %d: %v, %v, version %d, state %.60s…", id, v, found, err, got.Version, got.State)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

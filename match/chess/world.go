package chess

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
	"github.com/arbiter-gg/arbiter/rating"
	"google.golang.org/protobuf/proto"
)

// Name is the name chess is registered under: its modes' Game and
// Welcome.game.
const Name = "chess"

// DefaultClock is the time control of docs/chess.md: three minutes each, two
// seconds added after every move.
var DefaultClock = Clock{Base: 3 * time.Minute, Increment: 2 * time.Second}

// Spec returns chess as cmd registers it, played under clock: one mode,
// "chess" — two players, colours drawn per match, no time limit of the
// match's own (the clocks end it), rated by Elo with a flat K of 32 (the
// seed system's). cmd's rating flags may change the rating parameters.
func Spec(clock Clock) match.GameSpec {
	elo := rating.DefaultElo()
	elo.KProvisional, elo.KEstablished = 32, 32
	return match.GameSpec{
		Name: Name,
		Game: Games{Clock: clock},
		Modes: []match.Mode{
			{Name: "chess", Game: Name, Players: 2, MinPlayers: 2, Rating: match.SystemElo, Elo: elo},
		},
	}
}

// Games is chess as match runs it: it makes one world — one Game, driven
// by its players' commands and its clocks (match.EventWorld) — per match.
type Games struct {
	Clock Clock // every game's time control
}

// NewWorld returns the game of one match: cfg.PlayerIDs are its two
// players, their colours drawn from the match ID (so a match always has
// the same colours, and matches have either).
func (g Games) NewWorld(cfg match.WorldConfig) (match.World, error) {
	if len(cfg.PlayerIDs) != 2 {
		return nil, fmt.Errorf("chess: %d players, want 2", len(cfg.PlayerIDs))
	}
	white, black := cfg.PlayerIDs[0], cfg.PlayerIDs[1]
	h := fnv.New32a()
	h.Write([]byte(cfg.MatchID))
	if h.Sum32()&1 == 1 {
		white, black = black, white
	}
	game, err := New(white, black, g.Clock)
	if err != nil {
		return nil, err
	}
	return &world{game: game, players: cfg.PlayerIDs}, nil
}

// Restore rebuilds the game of a match from what its room last saved (a
// Snapshot, as Save writes it), resumed at now: the side to move's clock
// restarts from the time it had left then, so the time no server held the
// game is not charged (chess.Restore).
func (g Games) Restore(cfg match.WorldConfig, state []byte, now time.Time) (match.World, error) {
	var s Snapshot
	if err := json.Unmarshal(state, &s); err != nil {
		return nil, fmt.Errorf("chess: restore: %w", err)
	}
	game, err := Restore(s, now)
	if err != nil {
		return nil, err
	}
	return &world{game: game, players: cfg.PlayerIDs, at: now}, nil
}

var _ match.Restorer = Games{}

// world adapts a Game to match.EventWorld. Entities are the seats: 1 for
// the first player of the match, 2 for the second.
type world struct {
	game    *Game
	players []string  // by seat
	joined  int       // seats handed out by Join
	at      time.Time // the instant of the last change: the Board's clocks are as of then
}

var (
	_ match.EventWorld = (*world)(nil)
	_ match.Saver      = (*world)(nil)
	_ match.StateAt    = (*world)(nil)
	_ match.Recorder   = (*world)(nil)
)

func (w *world) Join() match.EntityID {
	w.joined++
	return match.EntityID(w.joined)
}

func (w *world) player(e match.EntityID) string {
	if e < 1 || int(e) > len(w.players) {
		return ""
	}
	return w.players[e-1]
}

func (w *world) Start(now time.Time) {
	if w.game.Start(now) {
		w.at = now
	}
}

func (w *world) Act(e match.EntityID, payload []byte, now time.Time) (bool, *match.Rejection) {
	var cmd chessv1.Command
	if err := proto.Unmarshal(payload, &cmd); err != nil {
		return false, &match.Rejection{Reason: IllegalMove.String(), Message: "undecodable command"}
	}
	changed, rej := w.game.Apply(w.player(e), &cmd, now)
	if changed {
		w.at = now
	}
	if rej != nil {
		return changed, &match.Rejection{Reason: rej.Reason.String(), Message: rej.Message}
	}
	return changed, nil
}

func (w *world) Deadline() time.Time {
	d, ok := w.game.Deadline()
	if !ok {
		return time.Time{}
	}
	return d
}

func (w *world) Advance(now time.Time) bool {
	if w.game.Flag(now) {
		w.at = now
		return true
	}
	return false
}

func (w *world) Version() uint32 { return w.game.Version() }

// AppendStateAt is the Board as of now: the clocks of the last change with
// the side to move's run down since (match.StateAt), for a player who
// connects mid-turn.
func (w *world) AppendStateAt(dst []byte, now time.Time) []byte {
	return w.game.appendBoard(dst, now)
}

// Save is the game's Snapshot as JSON: what Restore needs to resume it.
// The buffer is sized for the game at once (a move is "e2e4", quoted and
// a comma: 7 bytes; the rest of the snapshot is about 300) and is the
// caller's: a store may keep it.
func (w *world) Save() ([]byte, error) {
	n := 320 + 7*w.game.moves.Len() + 2*(len(w.game.players[white])+len(w.game.players[black]))
	return w.game.appendSnapshot(make([]byte, 0, n))
}

// Record is the game's record as the archive keeps it with the result:
// the moves in UCI, the PGN and the final position's FEN.
func (w *world) Record() ([]byte, error) {
	moves := w.game.Moves()
	if moves == nil {
		moves = []string{}
	}
	return json.Marshal(Record{Moves: moves, PGN: w.game.PGN(), FEN: w.game.FEN()})
}

// Record is a finished game as match.Result.Record holds it, JSON: what
// GET /v1/matches/{id} shows as the match's record.
type Record struct {
	Moves []string `json:"moves"` // UCI, from the first; [] when none was played
	PGN   string   `json:"pgn"`   // the Game's PGN
	FEN   string   `json:"fen"`   // the final position
}

func (w *world) AppendState(dst []byte) []byte {
	return w.game.appendBoard(dst, w.at)
}

func (w *world) Over() (string, bool) {
	res, over := w.game.Over()
	if !over {
		return "", false
	}
	return res.Status.String(), true
}

// Score is 1 for the winner, 0 for the loser and for both players of a
// draw, so that the room places the winner first and a draw level.
func (w *world) Score(e match.EntityID) uint32 {
	res, over := w.game.Over()
	if over && res.Winner != "" && res.Winner == w.player(e) {
		return 1
	}
	return 0
}

// Forfeit resigns for a player who stayed away past the grace period: the
// opponent wins (Board.status resigned).
func (w *world) Forfeit(e match.EntityID, now time.Time) {
	resign := &chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}}
	if changed, _ := w.game.Apply(w.player(e), resign, now); changed {
		w.at = now
	}
}

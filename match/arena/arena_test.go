package arena

import (
	"errors"
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/rating"
	"github.com/arbiter-gg/arbiter/sim"
	"github.com/google/go-cmp/cmp"
)

// newWorld returns a world of two players for the arena's mode called
// mode, configured as the Manager configures it.
func newWorld(t *testing.T, mode string) match.TickWorld {
	t.Helper()
	m, ok := specMode(mode)
	if !ok {
		t.Fatalf("Spec() has no mode %q", mode)
	}
	w, err := Spec().Game.NewWorld(match.WorldConfig{Mode: mode, TickRate: 30, Players: 2, ScoreLimit: m.ScoreLimit})
	if err != nil {
		t.Fatal(err)
	}
	return w.(match.TickWorld)
}

func specMode(name string) (match.Mode, bool) {
	for _, m := range Spec().Modes {
		if m.Name == name {
			return m, true
		}
	}
	return match.Mode{}, false
}

func TestWorld(t *testing.T) {
	w := newWorld(t, "duel")
	a, b := w.Join(), w.Join()

	in := match.Input{Seq: 1, MoveX: -1000, MoveY: 0}
	if err := w.Validate(a, in); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", in, err)
	}
	w.Step([]match.Command{{Entity: a, Input: in}})
	want := sim.Move(sim.SpawnPoint(0), sim.Input{MoveX: -1000}, 30)
	got := w.AppendEntities(nil)
	if len(got) != 2 || got[0].ID != a || got[1].ID != b {
		t.Fatalf("AppendEntities = %+v, want entities %d and %d", got, a, b)
	}
	if got[0].X != want.X || got[0].Y != want.Y || got[0].HP != sim.MaxHP {
		t.Errorf("entity %d = %+v, want at %v with full hp", a, got[0], want)
	}
	if p := sim.SpawnPoint(1); got[1].X != p.X || got[1].Y != p.Y {
		t.Errorf("entity %d moved without a command: %+v", b, got[1])
	}
	if _, err := (Game{}).NewWorld(match.WorldConfig{TickRate: 5}); err == nil {
		t.Error("NewWorld accepted tick rate 5")
	}
}

// TestValidate maps every violation kind to its error; what honest clients
// send (a held trigger, a rounded analog vector) is no violation.
func TestValidate(t *testing.T) {
	w := newWorld(t, "ffa")
	b, c := w.Join(), w.Join()
	w.Step(nil)
	w.Step([]match.Command{{Entity: b, Input: match.Input{Seq: 1, Buttons: 1, AimX: 1, ViewTick: 1}}})
	tests := []struct {
		name string
		id   match.EntityID
		give match.Input
		want sim.Violation
	}{
		{"move", 0, match.Input{MoveX: 1000}, sim.ViolationNone},
		{"fire", 0, match.Input{Buttons: 1, AimY: -3, ViewTick: 2}, sim.ViolationNone},
		{"rounded analog vector", 0, match.Input{MoveX: 924, MoveY: 383}, sim.ViolationNone},
		{"move too long", 0, match.Input{MoveX: 1000, MoveY: 100}, sim.ViolationMoveLength},
		{"fire without aim", 0, match.Input{Buttons: 1}, sim.ViolationNone},
		{"absurd aim", 0, match.Input{AimX: sim.MaxAim + 1}, sim.ViolationAimRange},
		{"view tick in the future", 0, match.Input{ViewTick: 3}, sim.ViolationViewTick},
		{"fire held on cooldown", b, match.Input{Buttons: 1, AimX: 1, ViewTick: 2}, sim.ViolationNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.id == 0 {
				tt.id = w.Join()
			}
			err := w.Validate(tt.id, tt.give)
			var ve *ViolationError
			switch {
			case tt.want == sim.ViolationNone && err != nil:
				t.Errorf("Validate(%+v) = %v, want nil", tt.give, err)
			case tt.want != sim.ViolationNone && (!errors.As(err, &ve) || ve.Kind != tt.want || !errors.Is(err, ErrViolation)):
				t.Errorf("Validate(%+v) = %v, want violation %v", tt.give, err, tt.want)
			}
		})
	}
	type suspicion interface{ Suspicion(match.EntityID) int }
	s, ok := w.(suspicion)
	if !ok {
		t.Fatal("arena world has no Suspicion method")
	}
	if got := s.Suspicion(b); got != 0 {
		t.Errorf("Suspicion of a player holding fire = %d, want 0", got)
	}
	// A refused frame weighs FrameWeight; two make a player suspicious.
	ac := w.(match.AntiCheat)
	ac.Report(c, "bad_frame")
	if got := s.Suspicion(c); got != FrameWeight || ac.Suspicious(c) {
		t.Errorf("after one refused frame: suspicion %d (suspicious %v), want %d", got, ac.Suspicious(c), FrameWeight)
	}
	ac.Report(c, "too_big")
	if !ac.Suspicious(c) {
		t.Errorf("after two refused frames: suspicion %d, want suspicious", s.Suspicion(c))
	}
}

// TestValidateAllocs: validation runs for every input and must not allocate.
func TestValidateAllocs(t *testing.T) {
	w := newWorld(t, "ffa")
	id := w.Join()
	bad := match.Input{MoveX: 5000}
	if n := testing.AllocsPerRun(100, func() { _ = w.Validate(id, bad) }); n != 0 {
		t.Errorf("Validate allocates %v times per call, want 0", n)
	}
}

// fight has entity a hunt entity b, which stands still, for up to maxTicks or
// until the world is Finished, and returns the ticks it took. It stops
// early, for the caller to inspect, when a's score reaches stopAt.
func fight(t *testing.T, w match.TickWorld, a, b match.EntityID, stopAt uint32, maxTicks int) (ticks int, dead bool) {
	t.Helper()
	nextFire := uint32(0)
	for tick := uint32(0); int(tick) < maxTicks && !w.Finished(); tick++ {
		ents := w.AppendEntities(nil)
		ea, eb := ents[a-1], ents[b-1]
		if ea.Score >= stopAt {
			return int(tick), eb.HP == 0
		}
		dx, dy := eb.X-ea.X, eb.Y-ea.Y
		in := match.Input{Seq: tick + 1, ViewTick: tick}
		if m := max(dx, -dx, dy, -dy); m > 20000 {
			in.MoveX, in.MoveY = int32(int64(dx)*700/int64(m)), int32(int64(dy)*700/int64(m))
		} else if eb.HP > 0 && tick+1 >= nextFire {
			in.Buttons, in.AimX, in.AimY = 1, dx, dy
			nextFire = tick + 1 + uint32(sim.CooldownTicks(30))
		}
		if err := w.Validate(a, in); err != nil {
			t.Fatalf("tick %d: Validate(%+v) = %v", tick, in, err)
		}
		w.Step([]match.Command{{Entity: a, Input: in}})
	}
	return maxTicks, false
}

// TestFinished: a duel ends when a player reaches 10 kills, not before; ffa
// has no score limit. A dead entity reports HP 0.
func TestFinished(t *testing.T) {
	w := newWorld(t, "duel")
	a, b := w.Join(), w.Join()
	if _, dead := fight(t, w, a, b, 1, 5000); !dead {
		t.Fatal("no kill within 5000 ticks")
	}
	if w.Finished() {
		t.Fatal("duel finished at score 1")
	}
	fight(t, w, a, b, 10, 50000)
	if got := w.AppendEntities(nil)[a-1].Score; got != 10 || !w.Finished() {
		t.Errorf("duel: score %d, Finished %v; want 10 and true", got, w.Finished())
	}

	ffa := newWorld(t, "ffa")
	a, b = ffa.Join(), ffa.Join()
	fight(t, ffa, a, b, 11, 50000)
	if got := ffa.AppendEntities(nil)[a-1].Score; got != 11 || ffa.Finished() {
		t.Errorf("ffa: score %d, Finished %v; want 11 and false", got, ffa.Finished())
	}
}

// TestSpec holds the arena's modes to docs/arena.md.
func TestSpec(t *testing.T) {
	spec := Spec()
	if spec.Name != Name || spec.Game != (Game{}) {
		t.Errorf("Spec() = %q, %#v; want %q, Game{}", spec.Name, spec.Game, Name)
	}
	elo := rating.DefaultElo()
	want := []match.Mode{
		{Name: "duel", Game: Name, Players: 2, MinPlayers: 2, Duration: 120 * time.Second, ScoreLimit: 10, Rating: match.SystemElo, Elo: elo},
		{Name: "ffa", Game: Name, Players: 10, MinPlayers: 2, FillWait: 10 * time.Second, Duration: 120 * time.Second, Rating: match.SystemElo, Elo: elo},
	}
	if diff := cmp.Diff(want, spec.Modes); diff != "" {
		t.Errorf("Spec().Modes mismatch (-want +got):\n%s", diff)
	}
	if _, err := (Game{}).NewWorld(match.WorldConfig{TickRate: 30, ScoreLimit: -1}); err == nil {
		t.Error("NewWorld accepted score limit -1")
	}
}

package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/google/go-cmp/cmp"
)

// fakeStarter records Create calls and names matches m1, m2, …. Safe for
// concurrent use.
type fakeStarter struct {
	mu    sync.Mutex
	calls [][]string // players of every call, failed ones included
	modes []string
	fail  int                              // fail this many calls from now on
	hook  func(matchID string, p []string) // called inside a successful Create
	name  func(n int) string               // names the nth match; default "m{n}"
	made  int
}

func (f *fakeStarter) Create(mode string, players []string) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, append([]string(nil), players...))
	f.modes = append(f.modes, mode)
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		return "", errors.New("fake: no capacity")
	}
	f.made++
	id := fmt.Sprintf("m%d", f.made)
	if f.name != nil {
		id = f.name(f.made)
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(id, players)
	}
	return id, nil
}

func (f *fakeStarter) Calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}

var testTokens = match.NewTokens([]byte("test secret"))

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start makes a Matchmaker with cfg and runs it until the test ends. Call it
// inside a synctest bubble.
func start(t *testing.T, cfg Config) (*Matchmaker, *fakeStarter) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	if cfg.Modes == nil {
		cfg.Modes = testModes()
	}
	fs := &fakeStarter{}
	mm := New(cfg, fs, testTokens)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mm.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	return mm, fs
}

func mustEnqueue(t *testing.T, mm *Matchmaker, player, mode string) Ticket {
	t.Helper()
	tk, err := mm.Enqueue(t.Context(), player, mode)
	if err != nil {
		t.Fatalf("Enqueue(%s, %s) = %v", player, mode, err)
	}
	if tk.Status != StatusSearching || tk.ID == "" || tk.PlayerID != player || tk.Mode != mode {
		t.Fatalf("Enqueue(%s, %s) = %+v, want a searching ticket", player, mode, tk)
	}
	return tk
}

func mustTicket(t *testing.T, mm *Matchmaker, tk Ticket) Ticket {
	t.Helper()
	got, err := mm.Ticket(t.Context(), tk.ID, tk.PlayerID)
	if err != nil {
		t.Fatalf("Ticket(%s, %s) = %v", tk.ID, tk.PlayerID, err)
	}
	return got
}

func wantStatus(t *testing.T, mm *Matchmaker, tk Ticket, want Status) Ticket {
	t.Helper()
	got := mustTicket(t, mm, tk)
	if got.Status != want {
		t.Fatalf("ticket of %s: status %s, want %s", tk.PlayerID, got.Status, want)
	}
	return got
}

// TestDuelPairsInArrivalOrder: with equal ratings (everyone has the default
// rating), the oldest ticket pairs with the next oldest.
func TestDuelPairsInArrivalOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, fs := start(t, Config{})
		var tks []Ticket
		for _, p := range []string{"a", "b", "c", "d", "e"} {
			tks = append(tks, mustEnqueue(t, mm, p, "duel"))
		}
		synctest.Wait()

		if diff := cmp.Diff([][]string{{"a", "b"}, {"c", "d"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls (-want +got):\n%s", diff)
		}
		for i, tk := range tks[:4] {
			got := wantStatus(t, mm, tk, StatusMatched)
			wantMatch := fmt.Sprintf("m%d", i/2+1)
			if got.MatchID != wantMatch {
				t.Errorf("ticket of %s: match %q, want %q", tk.PlayerID, got.MatchID, wantMatch)
			}
			claims, err := testTokens.VerifyJoin(got.JoinToken)
			if err != nil {
				t.Fatalf("VerifyJoin(join token of %s) = %v", tk.PlayerID, err)
			}
			if claims.PlayerID != tk.PlayerID || claims.MatchID != wantMatch {
				t.Errorf("join token of %s names %s in %s, want %s in %s", tk.PlayerID, claims.PlayerID, claims.MatchID, tk.PlayerID, wantMatch)
			}
			// Default lifetime: the mode's duration + 10 min.
			if want := time.Now().Add(12 * time.Minute).Truncate(time.Second); !claims.Expires.Equal(want) {
				t.Errorf("join token expires %v, want %v", claims.Expires, want)
			}
		}
		wantStatus(t, mm, tks[4], StatusSearching)
	})
}

func TestFFA(t *testing.T) {
	const wait = 10 * time.Second

	t.Run("full group starts at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm, fs := start(t, Config{})
			var want []string
			for i := range 12 {
				p := fmt.Sprintf("p%02d", i)
				mustEnqueue(t, mm, p, "ffa")
				want = append(want, p)
			}
			synctest.Wait()
			if diff := cmp.Diff([][]string{want[:10]}, fs.Calls()); diff != "" {
				t.Fatalf("Create calls (-want +got):\n%s", diff)
			}
			// The two left over are a short-handed group, due after the wait.
			time.Sleep(wait)
			synctest.Wait()
			if diff := cmp.Diff([][]string{want[:10], want[10:]}, fs.Calls()); diff != "" {
				t.Fatalf("Create calls after %v (-want +got):\n%s", wait, diff)
			}
		})
	})

	t.Run("short-handed group waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm, fs := start(t, Config{Modes: fillWait(wait)})
			mustEnqueue(t, mm, "a", "ffa")
			time.Sleep(3 * time.Second)
			mustEnqueue(t, mm, "b", "ffa")
			mustEnqueue(t, mm, "c", "ffa")
			// Due when the oldest, a, has searched for the wait.
			time.Sleep(wait - 3*time.Second - time.Millisecond)
			synctest.Wait()
			if got := fs.Calls(); len(got) != 0 {
				t.Fatalf("Create calls before the wait = %v, want none", got)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if diff := cmp.Diff([][]string{{"a", "b", "c"}}, fs.Calls()); diff != "" {
				t.Fatalf("Create calls after the wait (-want +got):\n%s", diff)
			}
		})
	})

	t.Run("a lone player waits for a second", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm, fs := start(t, Config{Modes: fillWait(wait)})
			mustEnqueue(t, mm, "a", "ffa")
			time.Sleep(3 * wait)
			synctest.Wait()
			if got := fs.Calls(); len(got) != 0 {
				t.Fatalf("Create calls with one player = %v, want none", got)
			}
			// a has waited long enough: the second player starts the match.
			mustEnqueue(t, mm, "b", "ffa")
			synctest.Wait()
			if diff := cmp.Diff([][]string{{"a", "b"}}, fs.Calls()); diff != "" {
				t.Fatalf("Create calls (-want +got):\n%s", diff)
			}
		})
	})
}

func TestEnqueueErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, _ := start(t, Config{})
		if _, err := mm.Enqueue(t.Context(), "a", "chess"); !errors.Is(err, ErrUnknownMode) {
			t.Errorf("Enqueue(a, chess) = %v, want ErrUnknownMode", err)
		}
		a := mustEnqueue(t, mm, "a", "duel")
		for _, mode := range []string{"duel", "ffa"} {
			if _, err := mm.Enqueue(t.Context(), "a", mode); !errors.Is(err, ErrConflict) {
				t.Errorf("second Enqueue(a, %s) while searching = %v, want ErrConflict", mode, err)
			}
		}
		if err := mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Fatalf("Cancel = %v", err)
		}
		a = mustEnqueue(t, mm, "a", "duel") // cancelled: may queue again
		mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		a = wantStatus(t, mm, a, StatusMatched)

		if _, err := mm.Enqueue(t.Context(), "a", "ffa"); !errors.Is(err, ErrConflict) {
			t.Errorf("Enqueue(a) while in a match = %v, want ErrConflict", err)
		}
		mm.MatchEnded(match.Result{MatchID: "some other match"})
		if _, err := mm.Enqueue(t.Context(), "a", "ffa"); !errors.Is(err, ErrConflict) {
			t.Errorf("Enqueue(a) after another match ended = %v, want ErrConflict", err)
		}
		mm.MatchEnded(match.Result{MatchID: a.MatchID, Players: []match.PlayerResult{{PlayerID: "a"}, {PlayerID: "b"}}})
		mustEnqueue(t, mm, "a", "ffa")
		mustEnqueue(t, mm, "b", "duel")
		mm.MatchEnded(match.Result{MatchID: a.MatchID}) // a duplicate changes nothing
		if _, err := mm.Enqueue(t.Context(), "b", "duel"); !errors.Is(err, ErrConflict) {
			t.Errorf("Enqueue(b) after a duplicate result = %v, want ErrConflict", err)
		}
	})
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, fs := start(t, Config{})
		a := mustEnqueue(t, mm, "a", "duel")
		if err := mm.Cancel(t.Context(), a.ID, "mallory"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel(someone else's) = %v, want ErrNotFound", err)
		}
		if err := mm.Cancel(t.Context(), "nonexistent", "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel(missing) = %v, want ErrNotFound", err)
		}
		if err := mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Fatalf("Cancel = %v, want nil", err)
		}
		wantStatus(t, mm, a, StatusCancelled)
		if err := mm.Cancel(t.Context(), a.ID, "a"); err != nil {
			t.Errorf("second Cancel = %v, want nil", err)
		}

		// The cancelled ticket left the queue: b and c pair with each other.
		b := mustEnqueue(t, mm, "b", "duel")
		mustEnqueue(t, mm, "c", "duel")
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"b", "c"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls (-want +got):\n%s", diff)
		}
		if err := mm.Cancel(t.Context(), b.ID, "b"); !errors.Is(err, ErrMatched) {
			t.Errorf("Cancel(matched) = %v, want ErrMatched", err)
		}
		wantStatus(t, mm, b, StatusMatched)
	})
}

func TestSomeoneElsesTicketIsNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, _ := start(t, Config{})
		a := mustEnqueue(t, mm, "a", "duel")
		if _, err := mm.Ticket(t.Context(), a.ID, "b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Ticket(a's, b) = %v, want ErrNotFound", err)
		}
		if _, err := mm.Ticket(t.Context(), "nonexistent", "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Ticket(missing, a) = %v, want ErrNotFound", err)
		}
		if _, err := mm.Wait(t.Context(), a.ID, "b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Wait(a's, b) = %v, want ErrNotFound", err)
		}
	})
}

type waitResult struct {
	tk  Ticket
	err error
}

func waitAsync(ctx context.Context, mm *Matchmaker, tk Ticket) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		got, err := mm.Wait(ctx, tk.ID, tk.PlayerID)
		ch <- waitResult{got, err}
	}()
	return ch
}

func TestWait(t *testing.T) {
	t.Run("released by a match", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm, _ := start(t, Config{})
			a := mustEnqueue(t, mm, "a", "duel")
			ch := waitAsync(t.Context(), mm, a)
			synctest.Wait()
			select {
			case r := <-ch:
				t.Fatalf("Wait returned early: %+v, %v", r.tk, r.err)
			default:
			}
			mustEnqueue(t, mm, "b", "duel")
			r := <-ch
			if r.err != nil || r.tk.Status != StatusMatched || r.tk.MatchID == "" || r.tk.JoinToken == "" {
				t.Fatalf("Wait = %+v, %v; want matched with a match and a token", r.tk, r.err)
			}
			// Not searching any more: returns at once.
			if got, err := mm.Wait(t.Context(), a.ID, "a"); err != nil || got != r.tk {
				t.Fatalf("second Wait = %+v, %v; want %+v", got, err, r.tk)
			}
		})
	})

	t.Run("released by its context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm, _ := start(t, Config{})
			a := mustEnqueue(t, mm, "a", "duel")
			ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
			defer cancel()
			begin := time.Now()
			got, err := mm.Wait(ctx, a.ID, "a")
			if !errors.Is(err, context.DeadlineExceeded) || got.Status != StatusSearching || got.ID != a.ID {
				t.Fatalf("Wait = %+v, %v; want the searching ticket and DeadlineExceeded", got, err)
			}
			if took := time.Since(begin); took != 25*time.Second {
				t.Errorf("Wait took %v, want 25s", took)
			}
		})
	})

	t.Run("released by shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mm := New(Config{Logger: quietLogger(), Modes: testModes()}, &fakeStarter{}, testTokens)
			a := mustEnqueue(t, mm, "a", "duel") // before Run: allowed
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- mm.Run(ctx) }()
			var chans []<-chan waitResult
			for range 3 {
				chans = append(chans, waitAsync(t.Context(), mm, a))
			}
			synctest.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			for _, ch := range chans {
				if r := <-ch; !errors.Is(r.err, ErrClosed) || r.tk.Status != StatusSearching {
					t.Errorf("Wait after shutdown = %+v, %v; want the searching ticket and ErrClosed", r.tk, r.err)
				}
			}
			if _, err := mm.Enqueue(t.Context(), "b", "duel"); !errors.Is(err, ErrClosed) {
				t.Errorf("Enqueue after shutdown = %v, want ErrClosed", err)
			}
			if err := mm.Run(t.Context()); err == nil {
				t.Errorf("second Run = nil, want an error")
			}
		})
	})
}

func TestExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Minute
		mm, fs := start(t, Config{TicketTTL: ttl, Retention: 5 * time.Minute})
		a := mustEnqueue(t, mm, "a", "duel")
		ch := waitAsync(t.Context(), mm, a)
		time.Sleep(ttl - time.Millisecond)
		synctest.Wait()
		wantStatus(t, mm, a, StatusSearching)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		wantStatus(t, mm, a, StatusExpired)
		if r := <-ch; r.err != nil || r.tk.Status != StatusExpired {
			t.Errorf("Wait = %+v, %v; want expired", r.tk, r.err)
		}

		// The expired ticket is out of the queue: the player may queue
		// again, and a newcomer is not paired with the expired ticket.
		a2 := mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a", "b"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls (-want +got):\n%s", diff)
		}
		wantStatus(t, mm, a2, StatusMatched)

		// An expired ticket is forgotten after the retention; a matched
		// one stays readable while its join token is valid (a reloaded
		// client reads it again to reconnect), then is forgotten too.
		time.Sleep(5*time.Minute + maxIdle)
		synctest.Wait()
		if _, err := mm.Ticket(t.Context(), a.ID, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired Ticket(a) after retention = %v, want ErrNotFound", err)
		}
		wantStatus(t, mm, a2, StatusMatched)
		joinTTL := mm.cfg.JoinTTL(mm.cfg.Modes["duel"])
		time.Sleep(joinTTL)
		synctest.Wait()
		if _, err := mm.Ticket(t.Context(), a2.ID, "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("matched Ticket(a2) after its join token expired = %v, want ErrNotFound", err)
		}
	})
}

func TestCreateFailureRequeues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, fs := start(t, Config{CreateRetry: 2 * time.Second})
		fs.mu.Lock()
		fs.fail = 1
		fs.mu.Unlock()
		a := mustEnqueue(t, mm, "a", "duel")
		b := mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		if got := fs.Calls(); len(got) != 1 {
			t.Fatalf("Create calls = %v, want one (failed)", got)
		}
		wantStatus(t, mm, a, StatusSearching)
		wantStatus(t, mm, b, StatusSearching)

		time.Sleep(2 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a", "b"}, {"a", "b"}}, fs.Calls()); diff != "" {
			t.Fatalf("Create calls (-want +got):\n%s", diff)
		}
		wantStatus(t, mm, a, StatusMatched)
		wantStatus(t, mm, b, StatusMatched)
	})
}

func TestMatchEndedBeforeCreateReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, fs := start(t, Config{})
		fs.hook = func(id string, players []string) {
			// The room aborted at once and reported before Create returned.
			mm.MatchEnded(match.Result{MatchID: id, Aborted: true})
		}
		a := mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		wantStatus(t, mm, a, StatusMatched)
		mustEnqueue(t, mm, "a", "duel")
	})
}

func TestPlayingEndsWithTheJoinTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 3 * time.Minute
		mm, _ := start(t, Config{JoinTTL: func(match.Mode) time.Duration { return ttl }})
		mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		time.Sleep(ttl - time.Second)
		if _, err := mm.Enqueue(t.Context(), "a", "duel"); !errors.Is(err, ErrConflict) {
			t.Fatalf("Enqueue(a) during the match = %v, want ErrConflict", err)
		}
		// No result ever came; the match cannot outlive its join tokens.
		time.Sleep(time.Second)
		mustEnqueue(t, mm, "a", "duel")
	})
}

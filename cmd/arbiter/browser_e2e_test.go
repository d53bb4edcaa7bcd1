package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the demo page the binary serves at / (web/) in
// headless Chromium: two tabs sign in, queue, and play against each other
// through the page's UI and its test hook (window.arbiterDemo, see
// web/src/hook.ts), the page running the TypeScript SDK against the real
// server. They are heavy (a browser, and matches played in real time), so
// there are few of them and none runs in parallel.

// chromiumPath is where Debian's chromium package installs the browser
// (`apt-get install -y chromium`; .ci/run installs it).
const chromiumPath = "/usr/bin/chromium"

var updateScreenshots = flag.Bool("update", false, "also save the browser tests' screenshots under web/testdata/screenshots, to commit")

// startBrowser starts a headless Chromium for t, stopped when t ends. It
// skips t when Chromium is not installed, and fails it instead under
// ARBITER_REQUIRE_SERVICES=1.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a browser; skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("ARBITER_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s: %v: ARBITER_REQUIRE_SERVICES=1 requires Chromium for the browser tests (apt-get install -y chromium)", chromiumPath, err)
		}
		t.Skipf("%s not found: browser tests not run (apt-get install -y chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Two tabs play at once, and only one has the focus: neither may
		// have its timers throttled as a background tab's would be.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	// The first action starts the browser, which lives as long as the
	// context of that call (browser, not a timeout's): it runs in a
	// goroutine so that a browser that never answers fails the test in
	// bounded time, and the cleanups stop it and wait for the goroutine.
	started := make(chan error, 1)
	t.Cleanup(func() { <-started })
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the browser's process to exit
	})
	go func() { started <- chromedp.Do(browser) }()
	select {
	case err := <-started:
		started <- err // for the cleanup
		if err != nil {
			t.Fatalf("start %s: %v", chromiumPath, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("start %s: no answer in 30 s", chromiumPath)
	}
	return browser
}

// page is one tab of the browser with the demo page open.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu     sync.Mutex
	errors []string // exceptions and console errors, as the page reported them
}

// openPage opens a new tab of browser on url. Exceptions and console
// errors the page reports fail the test.
func openPage(t *testing.T, browser context.Context, name, url string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	p := &page{t: t, name: name, ctx: ctx}
	messages := chromedp.Console(ctx) // opens the tab, and subscribes before the page loads
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the tab is closing
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				p.mu.Lock()
				p.errors = append(p.errors, m.String())
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.errors {
			t.Errorf("%s: the page reported %s", name, e)
		}
	})
	p.run("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("screen-signin")))
	return p
}

// run runs actions on the tab within a bound, failing the test on error.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// get runs an action that returns a value on the tab, within a bound.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
	return v
}

// demoState is what the page's test hook reports (web/src/hook.ts's
// DemoState), as much of it as the tests read.
type demoState struct {
	Screen    string   `json:"screen"`
	Mode      string   `json:"mode"`
	PlayerID  string   `json:"playerId"`
	MatchID   string   `json:"matchId"`
	Connected bool     `json:"connected"`
	Kicks     []string `json:"kicks"`
	Closed    *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"closed"`
	MatchEnd *struct {
		MatchID string `json:"matchId"`
		Results []struct {
			PlayerID     string  `json:"playerId"`
			EntityID     int     `json:"entityId"`
			Score        int     `json:"score"`
			Placement    int     `json:"placement"`
			RatingBefore float64 `json:"ratingBefore"`
			RatingAfter  float64 `json:"ratingAfter"`
		} `json:"results"`
	} `json:"matchEnd"`
	ResultShown bool   `json:"resultShown"`
	ResultTitle string `json:"resultTitle"`
	Notice      string `json:"notice"`
	Arena       *struct {
		EntityID   int           `json:"entityId"`
		Welcomes   int           `json:"welcomes"`
		Snapshots  int           `json:"snapshots"`
		Encoding   string        `json:"snapshotEncoding"`
		Tick       int           `json:"tick"`
		Predicted  *vec          `json:"predicted"`
		Self       *entityState  `json:"self"`
		Others     []entityState `json:"others"`
		Prediction struct {
			Checked     int `json:"checked"`
			Corrections int `json:"corrections"`
			Last        int `json:"last"`
			Max         int `json:"max"`
		} `json:"prediction"`
		InputsSent  int          `json:"inputsSent"`
		HeldBack    int          `json:"heldBack"`
		Corrections []correction `json:"corrections"`
		Drops       []drop       `json:"drops"`
		Pacing      pacingStats  `json:"pacing"`
		Controls    struct {
			MoveX int  `json:"moveX"`
			MoveY int  `json:"moveY"`
			Fire  bool `json:"fire"`
		} `json:"controls"`
	} `json:"arena"`
	Chess *struct {
		Color  string   `json:"color"`
		Moves  []string `json:"moves"`
		Status string   `json:"status"`
		Winner string   `json:"winner"`
		MyTurn bool     `json:"myTurn"`
	} `json:"chess"`
}

// correction is one correction of a page's prediction as the page logged
// it (web/src/arena.ts's CorrectionRecord).
type correction struct {
	Tick        int `json:"tick"`
	Error       int `json:"error"` // centi-units
	Ack         int `json:"ack"`
	Backlog     int `json:"backlog"`
	PrevTick    int `json:"prevTick"`
	PrevAck     int `json:"prevAck"`
	HP          int `json:"hp"`
	SinceLastMs int `json:"sinceLastMs"`
}

// String says what the snapshot that corrected the prediction shows of the
// cause: the server processes at most one input a tick, so more inputs
// acknowledged than ticks passed is as many dropped unapplied.
func (c correction) String() string {
	ticks, acked := c.Tick-c.PrevTick, c.Ack-c.PrevAck
	cause := "as many inputs processed as ticks or fewer: an input applied otherwise than predicted, or a drop behind a starved tick"
	switch {
	case c.HP == 0:
		cause = "dead: the server does not move the entity"
	case c.PrevTick == 0:
		cause = "the first snapshot of the connection"
	case acked > ticks:
		cause = fmt.Sprintf("%d inputs dropped unapplied (surplus or invalid)", acked-ticks)
	}
	return fmt.Sprintf("{tick %d (prev %d) ack %d (prev %d) backlog %d hp %d, off by %d, %d ms after the snapshot before: %s}",
		c.Tick, c.PrevTick, c.Ack, c.PrevAck, c.Backlog, c.HP, c.Error, c.SinceLastMs, cause)
}

// drop is a snapshot that showed inputs of the page dropped unapplied, as
// the page logged it (web/src/arena.ts's DropRecord).
type drop struct {
	Tick          int     `json:"tick"`
	PrevTick      int     `json:"prevTick"`
	Ack           int     `json:"ack"`
	PrevAck       int     `json:"prevAck"`
	Backlog       int     `json:"backlog"`
	SinceLastMs   int     `json:"sinceLastMs"`
	MaxInFlight   int     `json:"maxInFlight"`
	InFlightLimit int     `json:"inFlightLimit"`
	LeadMs        float64 `json:"leadMs"`
}

func (d drop) String() string {
	return fmt.Sprintf("{%d dropped: tick %d (prev %d) ack %d (prev %d) backlog %d, %d ms after the snapshot before; sent with up to %d in flight, limit %d, lead %.1f ms}",
		d.Ack-d.PrevAck-(d.Tick-d.PrevTick), d.Tick, d.PrevTick, d.Ack, d.PrevAck, d.Backlog, d.SinceLastMs, d.MaxInFlight, d.InFlightLimit, d.LeadMs)
}

// pacingStats is the SDK's input pacing statistics (PacerStats) as the
// page reports them.
type pacingStats struct {
	Starved       int     `json:"starved"`
	Dropped       int     `json:"dropped"`
	Backlog       int     `json:"backlog"`
	LeadMs        float64 `json:"leadMs"`
	Dilation      float64 `json:"dilation"`
	InFlight      int     `json:"inFlight"`
	InFlightLimit int     `json:"inFlightLimit"`
	HeldBack      int     `json:"heldBack"`
}

func (p pacingStats) String() string {
	return fmt.Sprintf("starved %d, dropped %d, held back %d, backlog %d, lead %.1f ms, in flight %d of %d",
		p.Starved, p.Dropped, p.HeldBack, p.Backlog, p.LeadMs, p.InFlight, p.InFlightLimit)
}

// serverCounts is what the server counted of its matches' inputs and ticks
// and of its WebSocket sessions: where an honest page's correction can
// come from, for the browser tests' failure messages and logs.
type serverCounts struct {
	applied, invalid, stale, surplus uint64 // arbiter_inputs_total{result=…}
	ticks, overruns, skipped         uint64 // arbiter_ticks_total, arbiter_tick_overruns_total, arbiter_ticks_skipped_total
	accepted                         uint64 // arbiter_ws_upgrades_total{result="accepted"}: one a page, more after a reconnect
	closes                           []string
}

// counts reads ts's counters.
func (ts *testServer) counts() serverCounts {
	st := &ts.manager.Stats
	c := serverCounts{
		applied: st.InputsApplied.Load(), invalid: st.InputsInvalid.Load(), stale: st.InputsStale.Load(), surplus: st.InputsSurplus.Load(),
		ticks: st.Ticks.Load(), overruns: st.Overruns.Load(), skipped: st.Skipped.Load(),
		accepted: ts.net.Stats.Accepted.Load(),
	}
	for _, r := range arbiterv1.CloseReasons() {
		if n := ts.net.Stats.Closes(r); n > 0 {
			c.closes = append(c.closes, fmt.Sprintf("%s %d", r, n))
		}
	}
	return c
}

func (c serverCounts) String() string {
	return fmt.Sprintf("inputs applied %d, invalid %d, stale %d, surplus %d; ticks %d, overruns %d, skipped %d; sessions accepted %d, closed [%s]",
		c.applied, c.invalid, c.stale, c.surplus, c.ticks, c.overruns, c.skipped, c.accepted, strings.Join(c.closes, ", "))
}

type vec struct {
	X int `json:"x"`
	Y int `json:"y"`
}

type entityState struct {
	ID    int `json:"id"`
	X     int `json:"x"`
	Y     int `json:"y"`
	HP    int `json:"hp"`
	Score int `json:"score"`
}

// state returns what the page's test hook reports now.
func (p *page) state() demoState {
	p.t.Helper()
	return get(p, "read the test hook", chromedp.Evaluate[demoState](`window.arbiterDemo.state()`))
}

// await polls the page's state until ok holds, and returns it; it fails the
// test after timeout.
func (p *page) await(what string, timeout time.Duration, ok func(demoState) bool) demoState {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := p.state()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out after %v waiting for %s; state: %+v", p.name, timeout, what, s)
		}
		time.Sleep(50 * time.Millisecond) // pacing the polls
	}
}

// signIn signs in as a guest through the form.
func (p *page) signIn(name string) {
	p.t.Helper()
	p.run("sign in", chromedp.SendKeys(chromedp.ID("name"), name), chromedp.Click(chromedp.ID("signin")))
	p.await("the lobby", 10*time.Second, func(s demoState) bool { return s.Screen == "lobby" && s.PlayerID != "" })
}

// queue picks mode in the lobby and starts searching.
func (p *page) queue(mode string) {
	p.t.Helper()
	p.run("queue for "+mode,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="mode"][value=%q]`, mode))),
		chromedp.Click(chromedp.ID("queue")))
}

// eval runs a script on the page (a call of the test hook).
func (p *page) eval(script string) {
	p.t.Helper()
	p.run(script, chromedp.Evaluate[chromedp.Void](script))
}

// setControls sets the arena's controls through the test hook.
func (p *page) setControls(moveX, moveY int, fire bool, aimX, aimY int) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`window.arbiterDemo.setControls({moveX: %d, moveY: %d, fire: %t, aimX: %d, aimY: %d})`, moveX, moveY, fire, aimX, aimY))
}

// key presses (down) or releases (up) a key, as the keyboard would.
func (p *page) key(typ input.DispatchKeyEventType, key, code string, vk int64) {
	p.t.Helper()
	p.run("key "+code, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Key: key, Code: code, WindowsVirtualKeyCode: vk})
		return err
	}))
}

// screenshot saves the tab's viewport as name.png in the screenshot folder
// (ARBITER_SCREENSHOTS, default a temporary one), and, with -update, under
// web/testdata/screenshots too.
func (p *page) screenshot(name string) {
	p.t.Helper()
	png := get(p, "screenshot", chromedp.CaptureScreenshot())
	dirs := []string{screenshotDir(p.t)}
	if *updateScreenshots {
		dirs = append(dirs, filepath.Join("..", "..", "web", "testdata", "screenshots"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.t.Fatal(err)
		}
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			p.t.Fatal(err)
		}
		p.t.Logf("screenshot: %s", path)
	}
}

// screenshotDirs holds each test's screenshot folder (see screenshotDir).
var screenshotDirs sync.Map // *testing.T → string

// screenshotDir is where t saves its screenshots: ARBITER_SCREENSHOTS, or a
// temporary folder of t's.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("ARBITER_SCREENSHOTS"); d != "" {
		return d
	}
	if d, ok := screenshotDirs.Load(t); ok {
		return d.(string)
	}
	d := t.TempDir()
	screenshotDirs.Store(t, d)
	t.Cleanup(func() { screenshotDirs.Delete(t) })
	return d
}

// startDuelInBrowsers opens two tabs on ts, signs them in as alice and bob
// and queues both for a duel; it returns once both play (snapshots arrive).
func startDuelInBrowsers(t *testing.T, ts *testServer) (alice, bob *page) {
	t.Helper()
	browser := startBrowser(t)
	alice = openPage(t, browser, "alice", ts.base+"/")
	bob = openPage(t, browser, "bob", ts.base+"/")
	alice.signIn("alice")
	bob.signIn("bob")
	alice.queue("duel")
	bob.queue("duel")
	for _, p := range []*page{alice, bob} {
		p.await("the match to start", 30*time.Second, func(s demoState) bool {
			return s.Screen == "arena" && s.Arena != nil && s.Arena.Snapshots > 0 && s.Arena.Self != nil
		})
	}
	return alice, bob
}

// towards returns a move vector of length 1000 (per-mille) from a to b.
func towards(a, b vec) (int, int) {
	dx, dy := float64(b.X-a.X), float64(b.Y-a.Y)
	n := math.Hypot(dx, dy)
	if n == 0 {
		return 0, 0
	}
	return int(math.Round(dx / n * 1000)), int(math.Round(dy / n * 1000))
}

func selfPos(s demoState) vec { return vec{X: s.Arena.Self.X, Y: s.Arena.Self.Y} }

// awaitMatchEnd waits for the page to show the result of its match.
func awaitMatchEnd(p *page, within time.Duration) demoState {
	p.t.Helper()
	return p.await("the match's end", within, func(s demoState) bool { return s.MatchEnd != nil && s.ResultShown })
}

// TestBrowserDuel plays a duel between two tabs of the page: alice checks
// the keyboard moves her, both walk to the middle, alice shoots bob once or
// twice, they walk on until the time limit; both pages show the result,
// rated, and neither page's prediction was ever corrected (every input
// applied as predicted).
func TestBrowserDuel(t *testing.T) {
	ts := startServer(t, "--match-duration", "12s")
	alice, bob := startDuelInBrowsers(t, ts)
	// Inputs sent before the match started count as surplus (all but the
	// newest) but were never checked: the counts at the start tell them
	// from those dropped in play.
	atStart := ts.counts()

	// The keyboard: D held moves right, released stops.
	alice.key(input.DispatchKeyEventTypeKeyDown, "d", "KeyD", 68)
	alice.await("D to move right", 5*time.Second, func(s demoState) bool { return s.Arena.Controls.MoveX == 1000 })
	alice.key(input.DispatchKeyEventTypeKeyUp, "d", "KeyD", 68)
	alice.await("D released to stop", 5*time.Second, func(s demoState) bool { return s.Arena.Controls.MoveX == 0 })

	// Both walk to the middle, until well within range of each other.
	center := vec{X: 50000, Y: 50000}
	for _, p := range []*page{alice, bob} {
		x, y := towards(selfPos(p.state()), center)
		p.setControls(x, y, false, 0, 0)
	}
	a := alice.await("bob within range", 15*time.Second, func(s demoState) bool {
		return len(s.Arena.Others) == 1 && math.Hypot(float64(s.Arena.Others[0].X-s.Arena.Self.X), float64(s.Arena.Others[0].Y-s.Arena.Self.Y)) < 20000
	})
	alice.setControls(0, 0, false, 0, 0)
	bob.setControls(0, 0, false, 0, 0)

	// Alice aims at bob and fires until a shot lands; one or two do
	// before she lets go (a kill takes four, a cooldown apart).
	a = alice.state()
	other := a.Arena.Others[0]
	alice.setControls(0, 0, true, other.X-a.Arena.Self.X, other.Y-a.Arena.Self.Y)
	bob.await("alice's shot to hit", 10*time.Second, func(s demoState) bool { return s.Arena.Self.HP < 100 })
	alice.setControls(0, 0, false, 1000, 0)
	alice.eval(`window.arbiterDemo.showServer(true)`)

	// They walk on, each its own way, until the time limit.
	alice.setControls(600, -800, false, 1000, 0)
	bob.setControls(-1000, 0, false, -1000, 0)
	alice.await("alice to have moved on", 5*time.Second, func(s demoState) bool { return s.Arena.Prediction.Checked > 60 })
	alice.screenshot("arena")

	ends := map[string]demoState{}
	for _, p := range []*page{alice, bob} {
		ends[p.name] = awaitMatchEnd(p, 30*time.Second)
	}
	alice.screenshot("arena-result")

	server := fmt.Sprintf("at the start: %v\n  at the end: %v", atStart, ts.counts())
	t.Logf("server %s", server)
	for _, p := range []*page{alice, bob} {
		a := ends[p.name].Arena
		t.Logf("%s: %d of %d inputs corrected; pacing: %v; drops: %v", p.name, a.Prediction.Corrections, a.Prediction.Checked, a.Pacing, a.Drops)
	}
	for name, s := range ends {
		if len(s.MatchEnd.Results) != 2 {
			t.Errorf("%s: MatchEnd with %d results, want 2", name, len(s.MatchEnd.Results))
		}
		for _, r := range s.MatchEnd.Results {
			if r.RatingBefore != 1500 || r.RatingAfter == 0 {
				t.Errorf("%s: result %+v: want rated from 1500", name, r)
			}
		}
		if s.ResultTitle != "You win" && s.ResultTitle != "You lose" && s.ResultTitle != "Draw" {
			t.Errorf("%s: result title %q", name, s.ResultTitle)
		}
		if got := strings.Join(s.Kicks, ","); got != "match_over" {
			t.Errorf("%s: kicks %q, want only match_over", name, got)
		}
		if s.Arena.Encoding != "delta" {
			t.Errorf("%s: snapshots sent %q, want delta (the SDK's default)", name, s.Arena.Encoding)
		}
		if s.Closed == nil || s.Closed.Code != 1000 {
			t.Errorf("%s: closed %+v, want 1000 match_over", name, s.Closed)
		}
		// An honest page on loopback: every input it sent was applied as
		// it predicted. (Neither died: a death is a correction.) What the
		// page and the server counted says why if not.
		pr := s.Arena.Prediction
		if pr.Corrections != 0 || pr.Checked < 100 {
			t.Errorf("%s: prediction checked %d inputs, corrected %d (last %d, max %d); want ≥ 100 checked, none corrected\ncorrections: %v\ndrops: %v\npacing: %v\nwelcomes: %d\nserver %s",
				name, pr.Checked, pr.Corrections, pr.Last, pr.Max, s.Arena.Corrections, s.Arena.Drops, s.Arena.Pacing, s.Arena.Welcomes, server)
		}
	}
	if s := ends["bob"]; s.Arena.Self == nil || s.Arena.Self.HP >= 100 || s.Arena.Self.HP <= 0 {
		t.Errorf("bob at the end: %+v, want hit and alive", s.Arena.Self)
	}
}

// TestBrowserReloadResumes reloads alice's tab in the middle of a duel: the
// reloaded page finds its match again (GET /v1/matches/{id} for a fresh
// ws_url), is welcomed back as the same entity, is never kicked, plays on,
// and both pages see the match to its end.
func TestBrowserReloadResumes(t *testing.T) {
	ts := startServer(t, "--match-duration", "10s")
	alice, bob := startDuelInBrowsers(t, ts)
	alice.setControls(1000, 0, false, 1000, 0)
	bob.setControls(-1000, 0, false, -1000, 0)
	before := alice.await("alice to move", 5*time.Second, func(s demoState) bool { return s.Arena.InputsSent > 10 })

	alice.run("reload", chromedp.Reload())
	after := alice.await("alice back in her match", 15*time.Second, func(s demoState) bool {
		return s.Screen == "arena" && s.Arena != nil && s.Arena.Snapshots > 0 && s.Arena.Self != nil
	})
	if after.MatchID != before.MatchID || after.Arena.EntityID != before.Arena.EntityID {
		t.Fatalf("after the reload: match %s entity %d, want match %s entity %d", after.MatchID, after.Arena.EntityID, before.MatchID, before.Arena.EntityID)
	}
	if len(after.Kicks) != 0 || after.Arena.Welcomes != 1 {
		t.Fatalf("after the reload: kicks %v, welcomes %d; want none, one", after.Kicks, after.Arena.Welcomes)
	}
	// The reloaded page plays on: its inputs move its entity.
	start := selfPos(after)
	alice.setControls(0, 1000, false, 0, 1000)
	alice.await("alice to move after the reload", 5*time.Second, func(s demoState) bool { return s.Arena.Self.Y > start.Y+3000 })

	for _, p := range []*page{alice, bob} {
		s := awaitMatchEnd(p, 30*time.Second)
		if got := strings.Join(s.Kicks, ","); got != "match_over" {
			t.Errorf("%s: kicks %q, want only match_over", p.name, got)
		}
		if s.MatchEnd.MatchID != before.MatchID {
			t.Errorf("%s: MatchEnd of match %s, want %s", p.name, s.MatchEnd.MatchID, before.MatchID)
		}
		for _, r := range s.MatchEnd.Results {
			if r.PlayerID == before.PlayerID && r.EntityID != before.Arena.EntityID {
				t.Errorf("%s: alice's result as entity %d, want %d", p.name, r.EntityID, before.Arena.EntityID)
			}
		}
	}
	// Bob's page was never interrupted: its prediction holds. (Not
	// strictly none, unlike TestBrowserDuel's: this test runs longer, and a
	// server held up long enough to skip ticks on a loaded machine drops a
	// burst honestly — one correction, seen once in CI under a parallel
	// benchmark. A real fault corrects far more often.)
	if a := bob.state().Arena; a.Prediction.Corrections > 1 || a.Prediction.Checked < 50 {
		t.Errorf("bob: %d of %d inputs corrected, want at most 1 of at least 50\ncorrections: %v\npacing: %v\nserver: %v",
			a.Prediction.Corrections, a.Prediction.Checked, a.Corrections, a.Pacing, ts.counts())
	}
}

// TestBrowserChess plays the fool's mate between two tabs by clicking the
// board's squares, and both pages show the checkmate and the result.
func TestBrowserChess(t *testing.T) {
	ts := startServer(t)
	browser := startBrowser(t)
	alice := openPage(t, browser, "alice", ts.base+"/")
	bob := openPage(t, browser, "bob", ts.base+"/")
	alice.screenshot("signin")
	alice.signIn("alice")
	bob.signIn("bob")
	alice.run("pick chess", chromedp.Click(chromedp.CSS(`input[name="mode"][value="chess"]`)))
	alice.screenshot("lobby")
	alice.queue("chess")
	alice.await("the search", 10*time.Second, func(s demoState) bool { return s.Screen == "queue" })
	alice.screenshot("queue")
	bob.queue("chess")
	colors := map[string]*page{}
	for _, p := range []*page{alice, bob} {
		s := p.await("the game to start", 30*time.Second, func(s demoState) bool {
			return s.Screen == "chess" && s.Chess != nil && s.Chess.Status == "playing" && s.Chess.Color != ""
		})
		colors[s.Chess.Color] = p
	}
	white, black := colors["white"], colors["black"]
	if white == nil || black == nil {
		t.Fatalf("colours: %v, want one white and one black", colors)
	}

	for i, mv := range []struct {
		by       *page
		from, to string
	}{
		{white, "f2", "f3"},
		{black, "e7", "e5"},
		{white, "g2", "g4"},
		{black, "d8", "h4"},
	} {
		mv.by.await("its turn", 10*time.Second, func(s demoState) bool { return s.Chess.MyTurn })
		if i == 3 {
			black.screenshot("chess")
		}
		mv.by.run("play "+mv.from+mv.to,
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#board [data-square=%q]`, mv.from))),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`#board [data-square=%q]`, mv.to))))
		for _, p := range []*page{white, black} {
			p.await(fmt.Sprintf("move %d on the board", i+1), 10*time.Second, func(s demoState) bool { return len(s.Chess.Moves) == i+1 })
		}
	}

	for _, p := range []*page{white, black} {
		s := awaitMatchEnd(p, 15*time.Second)
		if s.Chess.Status != "checkmate" || s.Chess.Winner != black.state().PlayerID {
			t.Errorf("%s: status %q winner %q, want checkmate by black", p.name, s.Chess.Status, s.Chess.Winner)
		}
		want := "You lose"
		if p == black {
			want = "You win"
		}
		if s.ResultTitle != want {
			t.Errorf("%s: result %q, want %q", p.name, s.ResultTitle, want)
		}
		status := get(p, "read the status line", chromedp.Text(chromedp.ID("chess-status")))
		if !strings.HasPrefix(status, "Checkmate") {
			t.Errorf("%s: status line %q, want checkmate", p.name, status)
		}
	}
	black.screenshot("chess-result")
}

// awaitTrue polls a script on the page until it returns true; it fails the
// test after timeout.
func (p *page) awaitTrue(what string, timeout time.Duration, script string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !get(p, what, chromedp.Evaluate[bool](script)) {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: timed out after %v waiting for %s", p.name, timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // pacing the polls
	}
}

// TestBrowserChessControls goes through the rest of the chess page's
// controls: a search cancelled, a promotion chosen in the picker, a draw
// offered and accepted with the buttons, and "Play again" searching anew.
func TestBrowserChessControls(t *testing.T) {
	ts := startServer(t)
	browser := startBrowser(t)
	alice := openPage(t, browser, "alice", ts.base+"/")
	bob := openPage(t, browser, "bob", ts.base+"/")
	alice.signIn("alice")
	bob.signIn("bob")

	// A search cancelled: back to the lobby, and the ticket is gone (the
	// next search is allowed).
	alice.queue("chess")
	alice.awaitTrue("the cancel button", 10*time.Second, `!document.getElementById("cancel").disabled`)
	alice.run("cancel", chromedp.Click(chromedp.ID("cancel")))
	alice.await("the lobby", 10*time.Second, func(s demoState) bool { return s.Screen == "lobby" })

	alice.queue("chess")
	bob.queue("chess")
	colors := map[string]*page{}
	for _, p := range []*page{alice, bob} {
		s := p.await("the game to start", 30*time.Second, func(s demoState) bool {
			return s.Screen == "chess" && s.Chess != nil && s.Chess.Status == "playing" && s.Chess.Color != ""
		})
		colors[s.Chess.Color] = p
	}
	white, black := colors["white"], colors["black"]
	if white == nil || black == nil {
		t.Fatalf("colours: %v, want one white and one black", colors)
	}
	// White's a-pawn takes its way to b7 (the hook plays the moves).
	for i, uci := range []string{"a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "b8c6"} {
		by := white
		if i%2 == 1 {
			by = black
		}
		by.await("its turn", 10*time.Second, func(s demoState) bool { return s.Chess.MyTurn })
		by.eval(fmt.Sprintf(`window.arbiterDemo.chessMove(%q)`, uci))
		by.await(uci+" on the board", 10*time.Second, func(s demoState) bool { return len(s.Chess.Moves) == i+1 })
	}
	// b7 takes a8, promoting: the picker asks for the piece.
	white.await("its turn", 10*time.Second, func(s demoState) bool { return s.Chess.MyTurn })
	white.run("b7a8",
		chromedp.Click(chromedp.CSS(`#board [data-square="b7"]`)),
		chromedp.Click(chromedp.CSS(`#board [data-square="a8"]`)),
		chromedp.WaitVisible(chromedp.ID("promotion")),
		chromedp.Click(chromedp.CSS(`#promotion [data-piece="n"]`)))
	for _, p := range []*page{white, black} {
		p.await("the knight's promotion", 10*time.Second, func(s demoState) bool {
			return len(s.Chess.Moves) == 9 && s.Chess.Moves[8] == "b7a8n"
		})
	}

	// Black offers a draw; White's button turns to accepting it.
	black.run("offer a draw", chromedp.Click(chromedp.ID("draw")))
	white.awaitTrue("the offer", 10*time.Second, `document.getElementById("draw").textContent === "Accept draw"`)
	white.run("accept the draw", chromedp.Click(chromedp.ID("draw")))
	for _, p := range []*page{white, black} {
		s := awaitMatchEnd(p, 15*time.Second)
		if s.Chess.Status != "draw_agreed" || s.ResultTitle != "Draw" {
			t.Errorf("%s: status %q, result %q; want draw_agreed, Draw", p.name, s.Chess.Status, s.ResultTitle)
		}
	}

	// Play again: a new search in the same mode.
	alice.run("play again", chromedp.Click(chromedp.ID("again")))
	s := alice.await("a new search", 10*time.Second, func(s demoState) bool { return s.Screen == "queue" })
	if s.Mode != "chess" {
		t.Errorf("play again searches for %q, want chess", s.Mode)
	}
}

package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// Defaults for the zero values of Options.
const (
	// DefaultInterpolationDelay is how far behind the estimated server tick
	// other entities are shown: three ticks at 30 Hz, enough to ride out a
	// late snapshot without extrapolating.
	DefaultInterpolationDelay = 100 * time.Millisecond
	// DefaultMaxFrameSize bounds a server frame. A full ffa snapshot is a few
	// hundred bytes; anything near this is a broken or hostile server.
	DefaultMaxFrameSize = 1 << 20
)

const (
	// closeWriteTimeout bounds how long Close tries to write the close frame
	// to a server that stopped reading.
	closeWriteTimeout = time.Second
	// handshakeTimeout bounds the HTTP upgrade when ctx has no deadline.
	handshakeTimeout = 30 * time.Second
	// maxSnapshotEntities bounds the entities of a snapshot, so that a
	// hostile server cannot make the interpolator's history huge. The arena
	// has at most ten.
	maxSnapshotEntities = 4096
	// gameArena is Welcome.game for the arena, played with inputs and
	// snapshots; every other game is played with actions and states.
	gameArena = "arena"
)

// Options configures a Client. The zero value is usable.
//
// Callbacks run on the Client's reader goroutine, one at a time, in the order
// the server sent the messages. They must not block: while one runs, no other
// server message is read (and the server may eventually drop the client as a
// slow consumer). They may call any Client method except Close, which waits
// for the reader and so for the callback itself.
type Options struct {
	// OnSnapshot is called for every snapshot, after the prediction has been
	// reconciled with it and the interpolator has taken it. The snapshot
	// must not be modified; it is also what LastSnapshot returns.
	OnSnapshot func(*arbiterv1.Snapshot)
	// OnPong is called for every Pong (a reply to Ping).
	OnPong func(*arbiterv1.Pong)
	// OnMatchEnd is called when the match ends; the server closes the
	// connection with 1000 right after.
	OnMatchEnd func(*arbiterv1.MatchEnd)
	// OnKick is called when the server announces that it is about to close
	// the connection and why.
	OnKick func(*arbiterv1.Kick)
	// OnState is called, in a game played with actions, for every State the
	// client keeps (see Client.State): not for one older than the State it
	// already has, which it ignores. The State must not be modified.
	OnState func(*arbiterv1.State)
	// OnRejected is called, in a game played with actions, when the game
	// refused one of the client's actions (Rejected.seq); the game is
	// unchanged, and the action is no longer pending.
	OnRejected func(*arbiterv1.Rejected)

	// InterpolationDelay is how far behind the estimated server tick other
	// entities are shown. Zero means DefaultInterpolationDelay; a negative
	// value means no delay (show the newest snapshot).
	InterpolationDelay time.Duration
	// Now is the clock used to time snapshot arrival and to compute the
	// view tick of inputs; nil means time.Now. Tests inject their own.
	Now func() time.Time

	// Header is sent with the upgrade request, e.g. a User-Agent.
	Header http.Header
	// TLSConfig is used for wss:// URLs; nil means a default configuration
	// with the URL's host as server name.
	TLSConfig *tls.Config
	// ReadBufferSize, when positive, sets the TCP socket's receive buffer
	// (SO_RCVBUF) in bytes. Together with clienttest.StallReads, a tiny one
	// lets tests play a slow consumer. The kernel may round it up.
	ReadBufferSize int
	// MaxFrameSize bounds a server frame in bytes; a larger one closes the
	// connection with 1009. Zero means DefaultMaxFrameSize.
	MaxFrameSize int
	// FullSnapshots asks the server for full snapshots, each one standing
	// alone with every player's acknowledgements, rather than deltas (the
	// default: each snapshot the difference from the last one, with this
	// player's acknowledgements only; a fraction of the bytes). The
	// snapshots OnSnapshot and LastSnapshot hand over are whole either
	// way — with deltas, other entities' last_input_seq and
	// input_backlog are 0 — so nothing else changes; Welcome.Snapshots
	// says what the server sends. Mostly for tests and for comparing the
	// two.
	FullSnapshots bool

	// InitialSeq is the seq to continue after: of inputs in the arena, of
	// actions in a game played with actions. A Client resuming a match in
	// place of an earlier one (same join token) sets it to the earlier
	// Client's LastSeq: the server ignores seqs it has already processed.
	// Resume sets it itself. The Welcome's last_input_seq or
	// last_action_seq is honoured anyway (see Welcome.LastInputSeq and
	// LastActionSeq); the first seq sent is one more than the greater of
	// the two.
	InitialSeq uint32

	// NetDial, if set, opens the stream connection to addr ("host:port")
	// in place of a net.Dialer: for proxies, custom resolvers, or tests
	// that want to hold the socket (and cut it). TLS for wss:// is layered
	// on top of what it returns. ReadBufferSize applies only when it
	// returns a *net.TCPConn.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Backoff is the retry schedule of Resume. Dial makes one attempt and
	// ignores it.
	Backoff Backoff
	// Locate, if set, tells Resume where the match is now: Resume calls it
	// before every retry, and a URL it returns replaces the one dialled
	// so far. A game whose server died may be resumed by another server
	// (chess), and only the REST API knows which: see
	// rest.Client.Locator, which asks GET /v1/matches/{id}. An error or
	// an empty URL leaves the URL as it was. Dial ignores it.
	Locate func(ctx context.Context) (wsURL string, err error)
}

func (o Options) withDefaults() Options {
	if o.InterpolationDelay == 0 {
		o.InterpolationDelay = DefaultInterpolationDelay
	} else if o.InterpolationDelay < 0 {
		o.InterpolationDelay = 0
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	return o
}

// Welcome is what the server said about the connection when admitting it.
type Welcome struct {
	MatchID  string
	PlayerID string
	Mode     string // "duel", "ffa", "chess", …
	// Game is the game the match plays: "arena", "chess", …; empty from a
	// server older than games played with actions, which plays the arena.
	// See PlayedWithActions.
	Game   string
	Entity sim.EntityID // the entity (seat) this connection controls
	// TickRate is the server's simulation ticks per second, and Tick the
	// server tick at admission. A game played with actions has no ticks:
	// they mean nothing there.
	TickRate int
	Tick     sim.Tick
	// LastInputSeq is the highest input seq the server has received from
	// this player in this match (processed or waiting). The Client's inputs
	// continue after it (and after Options.InitialSeq, and what Resume
	// carried over, if higher): after a page reload the server ignores
	// seqs it has already seen.
	LastInputSeq uint32
	// LastActionSeq is LastInputSeq for a game played with actions: the
	// highest action seq the server has received from this player in this
	// match. The Client's actions continue after it, in the same way.
	LastActionSeq uint32
	// Snapshots is how the server encodes this connection's snapshots:
	// SNAPSHOT_ENCODING_DELTA if it does what the Client asked (see
	// Options.FullSnapshots), full otherwise (unspecified from a server
	// older than delta snapshots). The Client decodes either.
	Snapshots arbiterv1.SnapshotEncoding
}

// DeltaSnapshots reports whether the server sends this connection's
// snapshots as deltas.
func (w Welcome) DeltaSnapshots() bool {
	return w.Snapshots == arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
}

// PlayedWithActions reports whether the match is played with actions and
// states (SendAction, State) rather than with inputs and snapshots
// (SendInput, LastSnapshot): every game but the arena is.
func (w Welcome) PlayedWithActions() bool { return w.Game != "" && w.Game != gameArena }

// Client is one player's connection to a running match.
//
// A Client owns one goroutine, the reader, started by Dial and ended by Close
// or by the connection ending (Done). All methods are safe for concurrent use.
type Client struct {
	opts    Options // defaults applied; read-only after Dial
	conn    *gws.Conn
	netConn net.Conn // the socket under conn; Close closes it to end the reader

	// welcome is written by the reader before it closes welcomed and is
	// read-only afterwards.
	welcome  Welcome
	welcomed chan struct{}
	done     chan struct{} // closed when the reader has returned
	closing  chan struct{} // closed by Close; releases a stalled reader
	// snapped gets a token (if it has none) after every snapshot of the
	// arena that the pacing took: RunInputs waits on it while the Pacer
	// holds inputs back. Size one: a waiter needs to know that one came,
	// not how many.
	snapped chan struct{}

	closeOnce sync.Once

	// seed, if not nil, is the state carried over from the Client this one
	// resumes; set by dialSeeded and read-only afterwards (the reader reads it on
	// Welcome).
	seed *resumeSeed

	// frames decodes frames; the reader's only.
	frames frameDecoder

	stall struct {
		sync.Mutex
		resume chan struct{} // non-nil while reads are stalled; closed to resume
	}

	// send serialises SendInput and SendAction, so that seqs reach the wire
	// in order, and owns the reusable encoding state.
	send struct {
		sync.Mutex
		msg        arbiterv1.ClientMessage
		action     arbiterv1.Action
		actionKind arbiterv1.ClientMessage_Action
		buf        []byte
	}

	mu struct {
		sync.Mutex
		// seq is the highest seq sent, or to continue after: of inputs in
		// the arena, of actions in a game played with actions.
		seq uint32

		// The arena's views; nil in a game played with actions.
		pred   *Predictor
		interp *Interpolator
		pacer  *Pacer
		views  []EntityView // the reader's scratch for a snapshot's entities

		// A game played with actions: the State kept (the highest
		// version), the highest action seq the server has processed (by a
		// State's last_action_seq or a Rejected), and the actions sent
		// above it, in seq order.
		state   *arbiterv1.State
		acked   uint32
		pending []PendingAction

		// The server tick clock: refTick arrived at refAt. The current
		// server tick is estimated as refTick + (now-refAt)·tickRate.
		refTick  sim.Tick
		refAt    time.Time
		haveSnap bool

		last     *arbiterv1.Snapshot
		matchEnd *arbiterv1.MatchEnd
		kick     *arbiterv1.Kick

		// localReason and cause describe a close the reader initiated.
		localReason arbiterv1.CloseReason
		cause       error
		closeErr    *CloseError // set when the reader ends
	}
}

// Dial connects to wsURL ("ws://host/v1/play?token=…", as the matchmaker
// returns it), starts the reader, and waits for the server's Welcome.
//
// ctx bounds the connection, the upgrade and the wait for Welcome; it has no
// effect once Dial has returned. A refused upgrade returns an error wrapping a
// *HandshakeError carrying the HTTP status (401 for a bad token). Callbacks in
// opts may run before Dial returns. The caller must Close the Client.
func Dial(ctx context.Context, wsURL string, opts Options) (*Client, error) {
	return dialSeeded(ctx, wsURL, opts, nil)
}

// parseURL checks that wsURL is a ws:// or wss:// URL and returns it with the
// address to connect to.
func parseURL(wsURL string) (*url.URL, string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, "", err
	}
	var port string
	switch u.Scheme {
	case "ws":
		port = "80"
	case "wss":
		port = "443"
	default:
		return nil, "", fmt.Errorf("scheme %q is not ws or wss", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return u, addr, nil
}

// withSnapshots returns wsURL (parsed: u) as the URL to dial: with
// snapshots=delta added to its query unless full, or unless it already
// chooses (docs/protocol.md, "Delta snapshots").
func withSnapshots(wsURL string, u *url.URL, full bool) string {
	if full || u.Query().Has(snapshotsParam) {
		return wsURL
	}
	v := *u
	if v.RawQuery != "" {
		v.RawQuery += "&"
	}
	v.RawQuery += snapshotsParam + "=delta"
	return v.String()
}

// snapshotsParam is the play URL's query parameter choosing the
// encoding of snapshots.
const snapshotsParam = "snapshots"

// dialSeeded is Dial; a non-nil seed is what a resumed Client carries over from
// the one it replaces (see Resume).
func dialSeeded(ctx context.Context, wsURL string, opts Options, seed *resumeSeed) (*Client, error) {
	opts = opts.withDefaults()
	where := redact(wsURL)
	u, addr, err := parseURL(wsURL)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", where, err)
	}

	netDial := opts.NetDial
	if netDial == nil {
		var d net.Dialer
		netDial = d.DialContext
	}
	nc, err := netDial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", where, err)
	}
	if opts.ReadBufferSize > 0 {
		if tc, ok := nc.(*net.TCPConn); ok {
			if err := tc.SetReadBuffer(opts.ReadBufferSize); err != nil {
				_ = nc.Close()
				return nil, fmt.Errorf("client: dial %s: set receive buffer: %w", where, err)
			}
		}
	}
	if u.Scheme == "wss" {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("client: dial %s: tls: %w", where, err)
		}
		nc = tc
	}

	// Until Welcome, cancelling ctx closes the socket, which aborts the
	// upgrade or ends the reader.
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })

	c := &Client{
		opts:     opts,
		netConn:  nc,
		welcomed: make(chan struct{}),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
		snapped:  make(chan struct{}, 1),
		seed:     seed,
	}
	c.mu.seq = opts.InitialSeq
	hsTimeout := handshakeTimeout
	if dl, ok := ctx.Deadline(); ok {
		// Longer than ctx, so that cancellation (not gws's own timer) is
		// what ends a stuck upgrade.
		hsTimeout = time.Until(dl) + time.Second
	}
	conn, resp, err := gws.NewClientFromConn(handler{c}, &gws.ClientOption{
		Addr:               withSnapshots(wsURL, u, opts.FullSnapshots),
		RequestHeader:      opts.Header.Clone(),
		HandshakeTimeout:   hsTimeout,
		ReadMaxPayloadSize: opts.MaxFrameSize,
	}, nc)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("client: dial %s: %w", where, context.Cause(ctx))
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Err: err}
		}
		return nil, fmt.Errorf("client: dial %s: %w", where, err)
	}
	c.conn = conn
	go func() {
		defer close(c.done)
		conn.ReadLoop()
	}()

	select {
	case <-c.welcomed:
	case <-c.done:
	}
	cancelled := !stop()
	select {
	case <-c.welcomed:
		if !cancelled {
			// A connection that ended right after its Welcome is still
			// a successful Dial: Done and CloseError tell the rest.
			return c, nil
		}
	default:
	}
	_ = c.Close()
	if cancelled {
		return nil, fmt.Errorf("client: dial %s: %w", where, context.Cause(ctx))
	}
	return nil, fmt.Errorf("client: dial %s: connection ended before welcome: %w", where, c.CloseError())
}

// Welcome returns what the server said when admitting the connection.
func (c *Client) Welcome() Welcome { return c.welcome }

// SendInput sends in as the next input (in the arena; in a game played with
// actions it returns ErrWrongGame, see SendAction): it clamps the move vector to length
// 1000 (sim.ClampMove, the server's own rule, so that a game may hand over
// (1000, 1000) or a rounded analog stick), assigns in.Seq (one more than the
// last sent or acknowledged, or the Welcome's last_input_seq), sets
// in.ViewTick to the tick the client is displaying (the interpolation render
// tick, see RenderTick, never ahead of the newest snapshot received),
// records it in the prediction and in the pacing, and writes it. It returns
// the seq. An input the server will still reject (an aim out of range) is
// sent as is and predicted as no movement.
//
// Send at the pace InputDue (or RunInputs) sets, not once per frame: the
// server applies at most one input per tick and drops the surplus of a faster
// sender (without punishing it, but each drop costs a prediction correction).
//
// Inputs go out in seq order even when SendInput is called concurrently; the
// write blocks while the socket's send buffer is full. After the connection
// ends it returns ErrClosed.
func (c *Client) SendInput(in sim.Input) (uint32, error) {
	if c.welcome.PlayedWithActions() {
		return 0, ErrWrongGame
	}
	c.send.Lock()
	defer c.send.Unlock()
	select {
	case <-c.done:
		return 0, ErrClosed
	default:
	}

	seq, b := c.prepareInputLocked(in)
	if err := c.write(gws.OpcodeBinary, b); err != nil {
		return seq, fmt.Errorf("client: send input %d: %w", seq, err)
	}
	return seq, nil
}

// prepareInputLocked is SendInput but for the write: it numbers in, records
// it in the prediction and the pacing, and returns its seq and its frame,
// which is c.send's buffer (valid until the next call). c.send must be held.
func (c *Client) prepareInputLocked(in sim.Input) (uint32, []byte) {
	in.MoveX, in.MoveY = sim.ClampMove(in.MoveX, in.MoveY)
	now := c.opts.Now()
	c.mu.Lock()
	seq := max(c.mu.seq, c.mu.pred.LastSeq()) + 1
	c.mu.seq = seq
	in.Seq = seq
	in.ViewTick = c.viewTickLocked(now)
	c.mu.pred.Apply(in)
	c.mu.pacer.Sent(seq, now)
	c.mu.Unlock()

	s := &c.send
	s.buf = appendInputFrame(s.buf[:0], &arbiterv1.Input{
		Seq: in.Seq, MoveX: in.MoveX, MoveY: in.MoveY, Buttons: in.Buttons,
		AimX: in.AimX, AimY: in.AimY, ViewTick: uint32(in.ViewTick),
	})
	return seq, s.buf
}

// InputDue returns how long after now the next input is due: zero or less
// means now. A game with a frame loop calls it every frame and sends one
// input (SendInput) when it is due, so that inputs go out at the tick rate,
// timed to arrive just before the server's tick applies them (see Pacer);
// Go games can use RunInputs instead. While the Pacer holds inputs back
// (too many are unacknowledged: the server or the way there stalled, see
// Pacer.Held), it returns a quarter of a tick at least: the input is due
// once a snapshot acknowledges enough, and not before.
func (c *Client) InputDue(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inputDueLocked(now)
}

// inputDueLocked is InputDue; c.mu must be held.
func (c *Client) inputDueLocked(now time.Time) time.Duration {
	p := c.mu.pacer
	if p == nil {
		return 0
	}
	var d time.Duration
	if due := p.Due(); !due.IsZero() {
		d = due.Sub(now)
	}
	if p.Held(now) {
		d = max(d, c.heldRecheck())
	}
	return d
}

// heldRecheck is how often RunInputs looks again while the Pacer holds
// inputs back and no snapshot comes: the hold can also end with time, when
// snapshots go missing (see Pacer.Held).
func (c *Client) heldRecheck() time.Duration {
	return time.Second / time.Duration(4*max(c.welcome.TickRate, 1))
}

// InputHeld reports whether the Pacer holds the next input back at now
// (see Pacer.Held): too many are unacknowledged. InputDue's answer then
// is only when to look again; the input is due once a snapshot
// acknowledges enough, which RunInputs waits for. A loop that sends for
// many Clients (a load generator) can do the same: look again after the
// Client's next snapshot (Options.OnSnapshot), or at InputDue's time.
func (c *Client) InputHeld(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inputHeldLocked(now)
}

func (c *Client) inputHeldLocked(now time.Time) bool {
	return c.mu.pacer != nil && c.mu.pacer.Held(now)
}

// inputCheck is InputHeld and InputDue at now, under one lock.
func (c *Client) inputCheck(now time.Time) (held bool, due time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inputHeldLocked(now), c.inputDueLocked(now)
}

// RunInputs sends sample() as an input (SendInput) whenever one is due
// (InputDue), until ctx ends or the connection does. It blocks, and calls
// sample on the calling goroutine, once per input, right before sending it:
// sample should return the player's current controls. It sleeps on real
// timers, so Options.Now must follow real time. Inputs go out at least half
// a period apart, even after the goroutine was held up; while the Pacer
// holds inputs back it waits for the snapshot that lets the next one go.
//
// It returns ctx's error when ctx ends; when the connection ends, its
// *CloseError (see CloseError; also after a normal end of the match); the
// error of a failed send; and ErrWrongGame at once in a game played with
// actions.
func (c *Client) RunInputs(ctx context.Context, sample func() sim.Input) error {
	if c.welcome.PlayedWithActions() {
		return ErrWrongGame
	}
	minGap := time.Second / time.Duration(2*c.welcome.TickRate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var snapped <-chan struct{} // c.snapped while the Pacer holds inputs back
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.CloseError()
		case <-timer.C:
		case <-snapped:
		}
		snapped = nil
		now := c.opts.Now()
		held, d := c.inputCheck(now)
		if held {
			snapped = c.snapped
			timer.Reset(c.heldRecheck())
			continue
		}
		if d > 0 {
			timer.Reset(d)
			continue
		}
		if _, err := c.SendInput(sample()); err != nil {
			if errors.Is(err, ErrClosed) {
				<-c.done
				return c.CloseError()
			}
			return err
		}
		timer.Reset(max(c.InputDue(c.opts.Now()), minGap))
	}
}

// PacingStats returns the input pacing statistics (see PacerStats). A Client
// made by Resume continues the counters of the Client it replaced.
func (c *Client) PacingStats() PacerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.pacer.Stats()
}

// Ping asks the server for a Pong carrying clientTime back, and the server
// tick; Options.OnPong receives it.
func (c *Client) Ping(clientTime uint64) error {
	b, err := proto.Marshal(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Ping{
		Ping: &arbiterv1.Ping{ClientTime: clientTime},
	}})
	if err == nil {
		err = c.write(gws.OpcodeBinary, b)
	}
	if err != nil {
		return fmt.Errorf("client: ping: %w", err)
	}
	return nil
}

// write sends one frame; gws serialises concurrent writers.
func (c *Client) write(op gws.Opcode, b []byte) error {
	if err := c.conn.WriteMessage(op, b); err != nil {
		if errors.Is(err, gws.ErrConnClosed) {
			return ErrClosed
		}
		return fmt.Errorf("client: write: %w", err)
	}
	return nil
}

// LastSeq returns the highest seq sent so far — of inputs in the arena, of
// actions in a game played with actions — or acknowledged by the server, or
// named by the Welcome (last_input_seq, last_action_seq) or
// Options.InitialSeq, if higher: the next input or action gets the one
// after. A Client resuming the match passes it as Options.InitialSeq.
func (c *Client) LastSeq() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.mu.seq, c.mu.pred.LastSeq(), c.mu.acked)
}

// Predicted returns the predicted position of the client's own entity: the
// server's last word plus every input it has not processed yet. Before the
// first snapshot it is the zero Vec — or, for a Client made by Resume, the
// last prediction of the Client it replaced, moved by the inputs sent since.
func (c *Client) Predicted() sim.Vec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.pred.Position()
}

// PredictionError returns how far the prediction has been from the server's
// positions when the server acknowledged inputs (see PredictionStats). With a
// server that applies every input it receives, it stays zero. A Client made
// by Resume continues the statistics of the Client it replaced.
func (c *Client) PredictionError() PredictionStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.pred.Stats()
}

// RenderTick returns the (fractional) server tick the client shows other
// entities at, at time now: the estimated current server tick less the
// interpolation delay. The current server tick is estimated from the newest
// snapshot's tick plus the time since it arrived.
func (c *Client) RenderTick(now time.Time) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renderTickLocked(now)
}

func (c *Client) renderTickLocked(now time.Time) float64 {
	// In nanoseconds first, so that round delays give whole ticks exactly
	// (100 ms at 60 Hz is 6 ticks, not 6.000000000000001).
	rate := float64(c.welcome.TickRate)
	elapsed := float64(now.Sub(c.mu.refAt)) * rate / float64(time.Second)
	delay := float64(c.opts.InterpolationDelay) * rate / float64(time.Second)
	return float64(c.mu.refTick) + elapsed - delay
}

// viewTickLocked returns the whole tick the client displays at now, never
// after the newest tick it has heard of (it cannot display the future: the
// server counts a view tick ahead of it as cheating) nor negative.
func (c *Client) viewTickLocked(now time.Time) sim.Tick {
	r := math.Floor(c.renderTickLocked(now))
	return sim.Tick(min(max(r, 0), float64(c.mu.refTick)))
}

// Interpolated returns every other entity as it should be drawn at time now:
// interpolated between the two snapshots around RenderTick(now). The
// client's own entity is left out; draw it at Predicted. The slice is the
// caller's.
func (c *Client) Interpolated(now time.Time) []EntityView {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.interp.Sample(c.renderTickLocked(now), nil)
}

// LastSnapshot returns the newest snapshot received, or nil (always, in a
// game played with actions). It is shared: callers must not modify it.
func (c *Client) LastSnapshot() *arbiterv1.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.last
}

// MatchEnd returns the match's results once the server has sent them, or nil.
// It is shared: callers must not modify it.
func (c *Client) MatchEnd() *arbiterv1.MatchEnd {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.matchEnd
}

// Done returns a channel that is closed when the connection has ended and the
// reader has returned, for whatever reason.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseError returns how the connection ended, or nil while it has not.
func (c *Client) CloseError() *CloseError {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closeErr
}

// stallReads makes the reader stop before handling the next server message
// (or ping) and wait until resumeReads or Close. Unread frames stay in the
// socket, so the server sees the client as a slow consumer. Tests reach it
// through clienttest.StallReads, usually with a small
// Options.ReadBufferSize.
func (c *Client) stallReads() {
	c.stall.Lock()
	defer c.stall.Unlock()
	if c.stall.resume == nil {
		c.stall.resume = make(chan struct{})
	}
}

// resumeReads lets a reader stalled by stallReads go on.
func (c *Client) resumeReads() {
	c.stall.Lock()
	defer c.stall.Unlock()
	if c.stall.resume != nil {
		close(c.stall.resume)
		c.stall.resume = nil
	}
}

// waitIfStalled blocks while reads are stalled. It reports whether the Client
// is closing, in which case the current message must be dropped.
func (c *Client) waitIfStalled() (closing bool) {
	c.stall.Lock()
	resume := c.stall.resume
	c.stall.Unlock()
	if resume == nil {
		return false
	}
	select {
	case <-resume:
		return false
	case <-c.closing:
		return true
	}
}

// Close sends a close frame (1000), closes the socket and waits for the
// reader to return. Writing the close frame is bounded by a short deadline, so
// Close returns promptly even if the server stopped reading or the reader is
// stalled. It must not be called from an Options callback. Calling it again,
// or after the connection has ended, returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	// The deadline also frees a SendInput blocked on a full send buffer.
	_ = c.netConn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	err := c.conn.WriteClose(arbiterv1.CloseClientClosed.Code(), nil)
	_ = c.netConn.Close()
	<-c.done
	if err != nil && !errors.Is(err, gws.ErrConnClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// fail closes the connection because the server broke the protocol. It is
// called only from the reader, so the reader's OnClose cannot run before the
// cause is recorded.
func (c *Client) fail(reason arbiterv1.CloseReason, cause error) {
	if err := c.conn.WriteClose(reason.Code(), []byte(reason)); err != nil {
		return // already closing: the first close wins
	}
	c.mu.Lock()
	c.mu.localReason, c.mu.cause = reason, cause
	c.mu.Unlock()
}

// handler adapts the Client to gws's event interface without exporting the
// event methods. All of them run on the reader goroutine.
type handler struct{ c *Client }

func (h handler) OnOpen(*gws.Conn) {}

func (h handler) OnPong(*gws.Conn, []byte) {}

func (h handler) OnPing(socket *gws.Conn, payload []byte) {
	if h.c.waitIfStalled() {
		return
	}
	_ = socket.WritePong(payload)
}

func (h handler) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	c := h.c
	if c.waitIfStalled() {
		return
	}
	if v := c.handle(msg.Opcode == gws.OpcodeBinary, msg.Bytes()); v != nil {
		c.fail(v.reason, v.err)
	}
}

// violation is a server frame the client cannot accept: the reason it
// closes with (its code goes in the close frame), and the cause for
// CloseError.
type violation struct {
	reason arbiterv1.CloseReason
	err    error
}

func protocolViolation(format string, args ...any) *violation {
	return &violation{arbiterv1.CloseProtocol, fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)}
}

// handle processes one server frame: decodes it, updates the Client's state
// and runs the callbacks. It is called only from the reader (and from fuzz
// tests); data is not retained.
func (c *Client) handle(binary bool, data []byte) *violation {
	if !binary {
		return &violation{arbiterv1.CloseTextFrame, fmt.Errorf("%w: text frame", ErrProtocol)}
	}
	if c.frames.welcomed {
		// The arena's snapshots, every tick: decoded without the
		// protobuf runtime when they are plain (see frameDecoder).
		if s, d, ok := c.frames.decode(data); ok {
			if d != nil {
				return c.onSnapshotDelta(d)
			}
			return c.onSnapshot(s)
		}
	}
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(data, &m); err != nil {
		return &violation{arbiterv1.CloseBadFrame, fmt.Errorf("%w: %w", ErrBadFrame, err)}
	}
	w, isWelcome := m.Kind.(*arbiterv1.ServerMessage_Welcome)
	if c.frames.welcomed {
		if isWelcome {
			return protocolViolation("second welcome")
		}
	} else {
		// A Kick may come first: the server refuses a connection it has
		// already upgraded (say, the match ended in between) by announcing
		// the close. Anything else first is a violation.
		_, isKick := m.Kind.(*arbiterv1.ServerMessage_Kick)
		if !isWelcome && !isKick {
			return protocolViolation("first message is %T, not a welcome", m.Kind)
		}
		if isWelcome {
			return c.onWelcome(w.Welcome)
		}
	}
	switch k := m.Kind.(type) {
	case *arbiterv1.ServerMessage_Snapshot:
		return c.onSnapshot(k.Snapshot)
	case *arbiterv1.ServerMessage_SnapshotDelta:
		return c.onSnapshotDelta(k.SnapshotDelta)
	case *arbiterv1.ServerMessage_State:
		return c.onState(k.State)
	case *arbiterv1.ServerMessage_Rejected:
		return c.onRejected(k.Rejected)
	case *arbiterv1.ServerMessage_Pong:
		if f := c.opts.OnPong; f != nil {
			f(k.Pong)
		}
	case *arbiterv1.ServerMessage_MatchEnd:
		c.mu.Lock()
		c.mu.matchEnd = k.MatchEnd
		c.mu.Unlock()
		if f := c.opts.OnMatchEnd; f != nil {
			f(k.MatchEnd)
		}
	case *arbiterv1.ServerMessage_Kick:
		c.mu.Lock()
		c.mu.kick = k.Kick
		c.mu.Unlock()
		if f := c.opts.OnKick; f != nil {
			f(k.Kick)
		}
	default:
		// A message kind from a newer server (or an empty oneof): ignore it,
		// as protobuf ignores unknown fields.
	}
	return nil
}

func (c *Client) onWelcome(w *arbiterv1.Welcome) *violation {
	rate := w.GetTickRate()
	welcome := Welcome{
		MatchID:       w.GetMatchId(),
		PlayerID:      w.GetPlayerId(),
		Mode:          w.GetMode(),
		Game:          w.GetGame(),
		Entity:        sim.EntityID(w.GetEntityId()),
		TickRate:      int(rate),
		Tick:          sim.Tick(w.GetTick()),
		LastInputSeq:  w.GetLastInputSeq(),
		LastActionSeq: w.GetLastActionSeq(),
		Snapshots:     w.GetSnapshots(),
	}
	if welcome.PlayedWithActions() {
		// No ticks, and the entity is the game's business (a seat may be
		// numbered 0): nothing to check.
		c.welcome = welcome
		c.onActionsWelcome()
		c.frames.welcomed = true
		close(c.welcomed)
		return nil
	}
	if rate < sim.MinTickRate || rate > sim.MaxTickRate {
		return protocolViolation("welcome with tick rate %d", rate)
	}
	if w.GetEntityId() == 0 {
		return protocolViolation("welcome with entity 0")
	}
	c.welcome = welcome
	now := c.opts.Now()
	// Remember one second of snapshots, and never less than the delay needs.
	r := int(rate)
	capacity := r + int(math.Ceil(c.opts.InterpolationDelay.Seconds()*float64(r))) + 2
	c.mu.Lock()
	// Continue after every seq the server has seen: the inputs of an
	// earlier page (a reload) or connection are not ours to repeat.
	c.mu.seq = max(c.mu.seq, c.welcome.LastInputSeq)
	c.mu.pred = NewPredictor(r, c.welcome.Entity, DefaultMaxPending)
	c.mu.pacer = NewPacer(r)
	if sd := c.seed; sd != nil && sd.entity == c.welcome.Entity {
		c.mu.pred.carryOver(sd.pos, sd.stats)
		c.mu.pacer.carryOver(sd.pacing)
	}
	c.mu.interp = NewInterpolator(c.welcome.Entity, r, capacity)
	c.mu.refTick, c.mu.refAt = c.welcome.Tick, now
	c.mu.Unlock()
	c.frames.welcomed = true
	close(c.welcomed)
	return nil
}

// onSnapshotDelta rebuilds the snapshot d makes of the last one (the
// server sends a delta only from the snapshot it last wrote to this
// connection, and TCP keeps the order: a delta from anything else is the
// server breaking the protocol) and takes it as a full one.
func (c *Client) onSnapshotDelta(d *arbiterv1.SnapshotDelta) *violation {
	switch {
	case c.welcome.PlayedWithActions():
		return protocolViolation("snapshot delta in a match of %q, played with actions", c.welcome.Game)
	case !c.welcome.DeltaSnapshots():
		return protocolViolation("snapshot delta on a connection whose Welcome says %v", c.welcome.Snapshots)
	case len(d.GetAdded()) > maxSnapshotEntities:
		return protocolViolation("snapshot delta adding %d entities", len(d.GetAdded()))
	}
	c.mu.Lock()
	base := c.mu.last // immutable once handed over; only this reader replaces it
	c.mu.Unlock()
	s, err := arbiterv1.ApplyDelta(base, d, uint32(c.welcome.Entity))
	if err != nil {
		return protocolViolation("%w", err)
	}
	return c.onSnapshot(s)
}

func (c *Client) onSnapshot(s *arbiterv1.Snapshot) *violation {
	if c.welcome.PlayedWithActions() {
		return protocolViolation("snapshot in a match of %q, played with actions", c.welcome.Game)
	}
	if n := len(s.GetEntities()); n > maxSnapshotEntities {
		return protocolViolation("snapshot with %d entities", n)
	}
	now := c.opts.Now()
	tick := sim.Tick(s.GetTick())
	self := uint32(c.welcome.Entity)
	c.mu.Lock()
	views := c.mu.views[:0]
	for _, e := range s.GetEntities() {
		if e.GetId() == self {
			c.mu.pred.Reconcile(sim.Vec{X: e.GetX(), Y: e.GetY()}, e.GetLastInputSeq())
			c.mu.pacer.Observe(tick, e.GetLastInputSeq(), e.GetInputBacklog(), now)
		}
		views = append(views, EntityView{
			ID:    sim.EntityID(e.GetId()),
			Pos:   sim.Vec{X: e.GetX(), Y: e.GetY()},
			HP:    int32(e.GetHp()),
			Score: int32(e.GetScore()),
		})
	}
	c.mu.views = views
	c.mu.interp.Push(tick, views)
	if !c.mu.haveSnap || tick > c.mu.refTick {
		c.mu.refTick, c.mu.refAt, c.mu.haveSnap = tick, now, true
	}
	c.mu.last = s
	c.mu.Unlock()
	select {
	case c.snapped <- struct{}{}:
	default:
	}
	if f := c.opts.OnSnapshot; f != nil {
		f(s)
	}
	return nil
}

func (h handler) OnClose(_ *gws.Conn, err error) {
	c := h.c
	ce := &CloseError{}
	var remote *gws.CloseError
	var local interface{ Uint16() uint16 } // gws's status code for a close this side sent
	switch {
	case errors.As(err, &remote):
		ce.Code, ce.Reason = remote.Code, arbiterv1.CloseReason(remote.Reason)
	case errors.As(err, &local):
		ce.Code, ce.Local = local.Uint16(), true
	default:
		ce.Code, ce.Err = arbiterv1.CloseNetwork.Code(), err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ce.Local {
		ce.Reason, ce.Err = c.mu.localReason, c.mu.cause
		if ce.Reason == "" && ce.Code == arbiterv1.CloseTooBig.Code() {
			ce.Reason = arbiterv1.CloseTooBig // gws closed on an oversized frame
		}
	}
	if k := c.mu.kick; k != nil {
		ce.KickReason, ce.KickMessage = arbiterv1.CloseReason(k.GetReason()), k.GetMessage()
	}
	c.mu.closeErr = ce
}

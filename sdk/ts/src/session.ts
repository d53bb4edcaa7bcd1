/**
 * A player's session in one match over the WebSocket game protocol
 * (docs/protocol.md): connect, the server's messages as events, inputs at
 * the pace the server's snapshots call for, actions, heartbeats, and
 * resuming after a dropped connection.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";

import {
  clampMove,
  DEFAULT_INTERPOLATION_DELAY_MILLIS,
  isTickRate,
  MAX_SNAPSHOT_ENTITIES,
  renderTick,
  toInt32,
  viewTick as displayedTick,
} from "./arena/index.js";
import { backoffDelay, DEFAULT_ATTEMPT_TIMEOUT_MS, DEFAULT_GIVE_UP_AFTER_MS, type Backoff } from "./backoff.js";
import { closeCode, describeClose, isResumable, type CloseInfo, type CloseReason } from "./close.js";
import { applyDelta, DeltaError } from "./delta.js";
import {
  ClientMessageSchema,
  ServerMessageSchema,
  SnapshotEncoding,
  type Kick,
  type MatchEnd,
  type Pong,
  type Rejected,
  type ServerMessage,
  type Snapshot,
  type SnapshotDelta,
  type State,
  type Welcome,
} from "./gen/arbiter/v1/arbiter_pb.js";
import { Pacer, type PacerStats } from "./pacing.js";
import type { Locate } from "./rest.js";

/**
 * The part of the WebSocket API a {@link Session} uses: the browser's
 * `WebSocket` has it, and so has the `ws` package's in Node.
 */
export interface WebSocketLike {
  /** Set to "arraybuffer" before the connection opens. */
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  // The events are typed loosely (any), so that the browser's and the ws
  // package's WebSocket, whose event classes differ, both fit: the session
  // reads only data, code, reason and an error's message.
  onopen: ((ev: any) => void) | null;
  /** ev.data: an ArrayBuffer (binary frame) or a string (text frame). */
  onmessage: ((ev: any) => void) | null;
  /** ev.code, ev.reason: the close frame's. */
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  /** Sends one binary frame. */
  send(data: Uint8Array): void;
  /** Starts the closing handshake (browsers accept only 1000 and 3000–4999). */
  close(code?: number, reason?: string): void;
}

/** Opens a WebSocket to url; default `new globalThis.WebSocket(url)`. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/**
 * The clock and timers a {@link Session} runs on: milliseconds of a
 * monotonic clock. Default `performance.now()` and the global timers;
 * tests inject their own, to control time precisely.
 */
export interface Clock {
  /** The time now, in milliseconds. */
  now(): number;
  /** Calls fn once, ms milliseconds from now; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer set by setTimeout, if it has not run. */
  clearTimeout(handle: unknown): void;
}

/** The default {@link Clock}: `performance.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
};

/** Default of {@link SessionOptions.heartbeatMs}. */
export const DEFAULT_HEARTBEAT_MS = 5000;
/** Default of {@link SessionOptions.silenceTimeoutMs}. */
export const DEFAULT_SILENCE_TIMEOUT_MS = 20_000;
/** Default of {@link SessionOptions.maxFrameSize}: a full snapshot is a few hundred bytes. */
export const DEFAULT_MAX_FRAME_SIZE = 1 << 20;
/**
 * The most actions a session remembers as pending; past this many the
 * oldest are forgotten, so that a server that never answers cannot grow the
 * list without bound. An honest server leaves a handful unanswered at most.
 */
export const MAX_PENDING_ACTIONS = 256;

/** The `Welcome.game` of the arena, played with inputs and snapshots; every other game is played with actions. */
export const GAME_ARENA = "arena";

/** Options of a {@link Session}. Every field is optional. */
export interface SessionOptions {
  /** Opens the WebSocket; default `new globalThis.WebSocket(url)` (Node 20 has none: pass the `ws` package's). */
  readonly webSocket?: WebSocketFactory;
  /** The clock and timers; default {@link systemClock}. */
  readonly clock?: Clock;
  /**
   * How often the session sends a `Ping`, in ms; default 5000. Browsers
   * answer the server's WebSocket pings by themselves but do not show them
   * to scripts: the Pongs tell the session the connection is alive (and
   * give {@link Session.rttMs}) when nothing else arrives — between chess
   * moves, say. 0 sends none.
   */
  readonly heartbeatMs?: number;
  /**
   * How long a connection may go without a frame from the server before
   * the session takes it for dead and resumes on a new one, in ms; default
   * 20 000, above the server's idle timeout (15 s). 0 never.
   */
  readonly silenceTimeoutMs?: number;
  /**
   * How far behind the estimated server tick the client shows other
   * entities, in ms, for the default `viewTick` of inputs; default
   * {@link DEFAULT_INTERPOLATION_DELAY_MILLIS} (100). Give it the delay your
   * {@link ArenaView} draws with, or send its inputs (they carry their view
   * tick).
   */
  readonly interpolationDelayMs?: number;
  /** The largest server frame accepted, in bytes; a larger one closes with 1009 `too_big`. */
  readonly maxFrameSize?: number;
  /**
   * Whether the session reconnects after a connection ended in a way that
   * allows it (see {@link isResumable}); default true.
   */
  readonly resume?: boolean;
  /** The retry schedule of resuming; default `{}` (see {@link Backoff}). */
  readonly backoff?: Backoff;
  /**
   * Where to reconnect, asked before each attempt after one that failed to
   * connect: the URL may have changed (another server took the match
   * over), or the match may be over — a browser cannot tell a refused token
   * (401) from a network failure. {@link RestClient.locator} makes one.
   * Without it the session tries the same URL until the backoff gives up.
   */
  readonly locate?: Locate;
  /**
   * Asks the server for full snapshots, each one standing alone with every
   * player's acknowledgements, rather than deltas (the default: about a
   * third of the bytes; docs/protocol.md, "Delta snapshots"). The session
   * hands its `snapshot` listeners whole snapshots either way; with deltas,
   * other entities' `lastInputSeq` and `inputBacklog` are 0. A URL whose
   * query already has `snapshots=` keeps its choice.
   */
  readonly fullSnapshots?: boolean;
}

/**
 * The fields of an arena input a game hands to {@link Session.sendInput}:
 * what {@link ArenaView.nextInput} returns (numbered, with its view tick),
 * or the controls alone. Move and aim components are rounded to int32s;
 * buttons is a uint32.
 */
export interface InputFields {
  /**
   * The input's seq: absent, one more than the last sent (or the Welcome's
   * `last_input_seq`); given (by a prediction that numbers its inputs), it
   * must be above the last sent.
   */
  readonly seq?: number;
  /**
   * Per-mille move components, any length: scaled to at most 1000 by
   * {@link clampMove}, the server's own rule, so (1000, 1000) is a diagonal.
   */
  readonly moveX?: number;
  /** Per-mille, with moveX. */
  readonly moveY?: number;
  /** Bit 0 fires. */
  readonly buttons?: number;
  /** The aim direction; each component within ±2^20. */
  readonly aimX?: number;
  /** The aim direction, with aimX. */
  readonly aimY?: number;
  /**
   * The server tick the client was displaying, for lag compensation;
   * absent, the session's own estimate (the newest snapshot's tick, moved
   * on by the time since, less the interpolation delay). Never sent ahead
   * of the newest snapshot received: the server counts that as cheating.
   */
  readonly viewTick?: number;
}

/** An action sent and not answered yet: no State's `last_action_seq` and no Rejected has covered its seq. */
export interface PendingAction {
  /** The action's seq. */
  readonly seq: number;
  /** As sent. */
  readonly payload: Uint8Array;
}

/** How a session ended for good. */
export interface SessionEnd {
  /** How its last connection ended. */
  readonly close: CloseInfo;
  /** The match's results, if the server sent them. */
  readonly matchEnd?: MatchEnd;
  /**
   * Why the session did not come back, if it tried: the locator said the
   * match is over, the server refused the token, the backoff gave up, or
   * the server welcomed it into another match or entity.
   */
  readonly resumeError?: unknown;
}

/** A reconnection attempt about to be made, after one that failed. */
export interface Reconnecting {
  /** The attempts made so far since the connection dropped. */
  readonly attempt: number;
  /** The wait before the next one, ms. */
  readonly delayMs: number;
  /** Why the last attempt failed. */
  readonly error: unknown;
}

/**
 * The events of a {@link Session}, with their listeners' signatures.
 * Listeners run synchronously as the messages arrive, in the order the
 * server sent them; they must not block. One that throws does not stop the
 * others: its error is reported as an uncaught exception.
 */
export interface SessionEvents {
  /** A connection was admitted: the first, or a resumed one (resumed true). */
  welcome: (w: Welcome, resumed: boolean) => void;
  /**
   * A snapshot of the arena, received at receivedAt (the session's clock):
   * whole, rebuilt from a delta if the server sent one. Do not modify it.
   */
  snapshot: (s: Snapshot, receivedAt: number) => void;
  /** A game played with actions changed (only States newer than the one kept). */
  state: (s: State) => void;
  /** The game refused one of this player's actions; nothing changed. */
  rejected: (r: Rejected) => void;
  /** The match ended; the server closes the connection (1000) right after. */
  matchEnd: (m: MatchEnd) => void;
  /** The server is about to close the connection, and says why. */
  kick: (k: Kick) => void;
  /** The answer to a Ping, with the round-trip time. */
  pong: (p: Pong, rttMs: number) => void;
  /** A connection ended and the session is resuming on a new one. */
  disconnect: (c: CloseInfo) => void;
  /** A reconnection attempt failed; another follows after a delay. */
  reconnecting: (r: Reconnecting) => void;
  /** The session ended for good. */
  close: (e: SessionEnd) => void;
}

/**
 * Why a session could not connect: the first attempt failed, or the
 * connection closed before its Welcome (`close` says how: a Kick
 * `forfeited`, say).
 */
export class ConnectError extends Error {
  /** How the connection ended, if it opened. */
  readonly close?: CloseInfo;
  /** The HTTP status of a refused upgrade (401 for a bad token), when the WebSocket implementation tells it. */
  readonly status?: number;

  /** Returns the error; cause is the underlying error, if any. */
  constructor(message: string, init: { close?: CloseInfo; status?: number; cause?: unknown } = {}) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = "ConnectError";
    if (init.close !== undefined) {
      this.close = init.close;
    }
    if (init.status !== undefined) {
      this.status = init.status;
    }
  }
}

/**
 * The message of a match's other kind: {@link Session.sendAction} in the
 * arena, {@link Session.sendInput} in a game played with actions. Nothing
 * was sent.
 */
export class WrongGameError extends Error {
  /** Returns the error. */
  constructor(message: string) {
    super(message);
    this.name = "WrongGameError";
  }
}

// ProtocolViolation is a server frame the session cannot accept: the reason
// it closes with, and why.
class ProtocolViolation extends Error {
  constructor(
    readonly reason: CloseReason,
    message: string,
  ) {
    super(`arbiter: server broke the protocol: ${message}`);
    this.name = "ProtocolViolation";
  }
}

// Attempt is the outcome of one connection attempt.
type Attempt =
  | { readonly ok: true; readonly conn: Conn }
  | { readonly ok: false; readonly error: unknown; readonly retryable: boolean; readonly opened: boolean };

// Conn is one WebSocket connection of the session. Its fields are the
// session's to read and write; it holds what lives and dies with it.
interface Conn {
  readonly ws: WebSocketLike;
  opened: boolean;
  welcome?: Welcome;
  kick?: Kick;
  ended: boolean;
  pacer?: Pacer; // the arena's, from its Welcome
  // The last snapshot received on this connection, whole: the base of the
  // next delta. Never modified once kept.
  base?: Snapshot;
  // The newest tick heard of (the Welcome's, then the snapshots') and when.
  newestTick: number;
  refAt: number;
  lastFrameAt: number;
  lastPingAt?: number;
  heartbeat?: unknown;
  settle: (a: Attempt) => void; // resolves the attempt, once
  settled: boolean;
}

type Listeners = { [K in keyof SessionEvents]: Set<SessionEvents[K]> };

/**
 * Session is one player's seat in a running match, across connections: it
 * connects to the match's `ws_url` (from a matched ticket), turns the
 * server's messages into events, sends inputs (arena) or actions (chess),
 * keeps the connection alive, and when a connection drops in a way that
 * allows it (a network failure, a server shutdown, an idle or slow-consumer
 * close), reconnects with the same join token, with backoff, and continues:
 * same entity, input and action seqs after the server's, no duplicate.
 * It does not reconnect after a verdict: the match is over (1000), another
 * connection took the seat (4000), the player forfeited (4001) or was
 * kicked (1008 `cheat`, `input_flood`), nor after {@link Session.close}.
 *
 * Snapshots: the session asks for delta snapshots (`snapshots=delta` on
 * the URL; {@link SessionOptions.fullSnapshots} opts out), rebuilds each
 * whole one from the connection's last ({@link applyDelta}) before any
 * listener sees it, and closes with 1002 (`protocol`) on a delta it cannot
 * apply. Listeners get the same whole snapshots in either encoding, but
 * for the acknowledgements: with deltas, only the own entity carries
 * `lastInputSeq` and `inputBacklog`.
 *
 * ```ts
 * const s = new Session(ticket.ws_url, { webSocket });
 * s.on("snapshot", (snap, at) => render(snap));
 * s.on("matchEnd", (m) => showResults(m));
 * await s.connect();                        // the Welcome
 * function frame() {
 *   if (s.inputDue() <= 0) s.sendInput({ moveX, moveY, buttons });
 *   requestAnimationFrame(frame);
 * }
 * const end = await s.closed;              // for good: how, and the results
 * ```
 *
 * Inputs go out at the pace {@link Session.inputDue} sets — one per server
 * tick, timed to arrive just before the tick that applies it (see
 * {@link Pacer}) — whatever the frame rate; {@link Session.runInputs} does
 * the loop for a game without one.
 *
 * Browsers: only close codes 1000 and 3000–4999 may be sent from a page;
 * where the protocol asks the client to close with another code (1002 for a
 * server breaking the protocol), a browser sends 1000 with the reason word,
 * and {@link CloseInfo} still reports the protocol's code.
 *
 * The constructor starts nothing; {@link Session.connect} does. Everything
 * runs on the caller's event loop: methods are synchronous but for connect.
 */
export class Session {
  readonly #url: string;
  readonly #factory: WebSocketFactory;
  readonly #clock: Clock;
  readonly #heartbeatMs: number;
  readonly #silenceMs: number;
  readonly #delayMs: number;
  readonly #maxFrame: number;
  readonly #resume: boolean;
  readonly #backoff: Backoff;
  readonly #locate: Locate | undefined;
  readonly #fullSnapshots: boolean;
  readonly #listeners: Listeners = {
    welcome: new Set(),
    snapshot: new Set(),
    state: new Set(),
    rejected: new Set(),
    matchEnd: new Set(),
    kick: new Set(),
    pong: new Set(),
    disconnect: new Set(),
    reconnecting: new Set(),
    close: new Set(),
  };

  #started = false;
  #conn: Conn | undefined; // the current connection, welcomed or being made
  #wsUrl: string; // the URL to (re)connect to
  #first: Welcome | undefined; // the first Welcome: the match and entity a resume must find again
  #welcome: Welcome | undefined; // the newest Welcome
  #inputSeq = 0; // the highest input seq sent, or to continue after
  #actionSeq = 0; // the highest action seq sent, or to continue after
  #acked = 0; // the highest action seq the server has processed
  #pending: PendingAction[] = [];
  #state: State | undefined;
  #lastSnapshot: Snapshot | undefined;
  #matchEnd: MatchEnd | undefined;
  #pacing: PacerStats | undefined; // carried over from ended connections
  #rttMs: number | undefined;
  #end: SessionEnd | undefined;
  #resolveClosed!: (e: SessionEnd) => void;
  #abort = new AbortController(); // aborted by close(): ends a resume
  #userClosed = false;

  /**
   * Resolves when the session has ended for good, with how (never
   * rejects): the match ended, the player was kicked or replaced, the
   * resume gave up, or {@link Session.close}.
   */
  readonly closed: Promise<SessionEnd>;

  /**
   * Returns a session for the match at wsUrl (`ws://host/v1/play?token=…`,
   * as a matched ticket gives it). It connects nothing yet.
   */
  constructor(wsUrl: string, options: SessionOptions = {}) {
    this.#url = wsUrl;
    this.#wsUrl = wsUrl;
    this.#factory = options.webSocket ?? defaultWebSocket;
    this.#clock = options.clock ?? systemClock;
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#silenceMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    this.#delayMs = Math.max(options.interpolationDelayMs ?? DEFAULT_INTERPOLATION_DELAY_MILLIS, 0);
    this.#maxFrame = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.#resume = options.resume ?? true;
    this.#backoff = options.backoff ?? {};
    this.#locate = options.locate;
    this.#fullSnapshots = options.fullSnapshots ?? false;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Adds a listener of event and returns the function that removes it.
   * Add listeners before {@link Session.connect} to see the first Welcome.
   */
  on<K extends keyof SessionEvents>(event: K, listener: SessionEvents[K]): () => void {
    const set = this.#listeners[event] as Set<SessionEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Connects (one attempt) and resolves with the server's Welcome. It
   * rejects with a {@link ConnectError} when the attempt fails — the server
   * refused the upgrade, the network failed, the connection closed before
   * its Welcome (a Kick `forfeited`, say), or signal aborted — and the
   * session is then over ({@link Session.closed} resolves). Call it once.
   */
  async connect(signal?: AbortSignal): Promise<Welcome> {
    if (this.#started) {
      throw new Error("arbiter: session: connect called twice");
    }
    if (this.#end !== undefined) {
      throw new ConnectError("arbiter: connect: the session is closed", { close: this.#end.close });
    }
    this.#started = true;
    const onAbort = () => this.close();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) {
        throw new ConnectError("arbiter: connect: aborted", { cause: signal.reason });
      }
      const a = await this.#attempt(this.#url);
      if (a.ok) {
        return a.conn.welcome!;
      }
      const err = a.error instanceof ConnectError ? a.error : new ConnectError(`arbiter: connect: ${String(a.error)}`, { cause: a.error });
      this.#finish({ close: err.close ?? networkClose(err), resumeError: err });
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Ends the session: closes the connection (1000, `client_closed`), stops
   * a resume under way, and resolves {@link Session.closed}. Calling it
   * again does nothing.
   */
  close(): void {
    if (this.#end !== undefined) {
      return;
    }
    this.#userClosed = true;
    this.#abort.abort(new Error("arbiter: session closed"));
    const info: CloseInfo = { code: 1000, reason: "client_closed", local: true };
    const c = this.#conn;
    if (c !== undefined && !c.ended) {
      this.#endConn(c, info, "");
      // An attempt in progress fails with it; connect rejects.
      this.#settleFailed(c, new ConnectError("arbiter: connect: session closed", { close: info }), false);
    }
    this.#finish({ close: info, ...(this.#matchEnd !== undefined ? { matchEnd: this.#matchEnd } : {}) });
  }

  /** The clock the session runs on (its times are in its milliseconds). */
  get clock(): Clock {
    return this.#clock;
  }

  /** The newest Welcome, or undefined before the first. */
  get welcome(): Welcome | undefined {
    return this.#welcome;
  }

  /** Whether a connection is open and welcomed: inputs and actions can be sent. */
  get connected(): boolean {
    const c = this.#conn;
    return c !== undefined && !c.ended && c.welcome !== undefined && c.ws.readyState === 1;
  }

  /** Whether the match is played with actions (every game but the arena); undefined before the Welcome. */
  get playedWithActions(): boolean | undefined {
    return this.#welcome === undefined ? undefined : playedWithActions(this.#welcome);
  }

  /**
   * The newest snapshot received (the arena), whole also on a delta
   * connection, or undefined. Shared, and the base of the next delta: do
   * not modify it.
   */
  get lastSnapshot(): Snapshot | undefined {
    return this.#lastSnapshot;
  }

  /** The match's results once the server has sent them. */
  get matchEnd(): MatchEnd | undefined {
    return this.#matchEnd;
  }

  /**
   * The State with the highest version received (games played with
   * actions), kept across reconnections; undefined before the first.
   * Shared: do not modify it.
   */
  get state(): State | undefined {
    return this.#state;
  }

  /** The actions sent and not answered yet, in seq order. */
  get pendingActions(): readonly PendingAction[] {
    return [...this.#pending];
  }

  /**
   * The highest seq sent so far — of inputs in the arena, of actions in a
   * game played with actions — or named by a Welcome: the next gets the one
   * after.
   */
  get lastSeq(): number {
    return this.playedWithActions ? Math.max(this.#actionSeq, this.#acked) : this.#inputSeq;
  }

  /** The round-trip time of the last Ping answered, ms; undefined before one. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /** The input pacing statistics (see {@link PacerStats}), counters carried across connections. */
  get pacingStats(): PacerStats | undefined {
    return this.#conn?.pacer?.stats() ?? this.#pacing;
  }

  /**
   * How long after now (ms of the session's clock, default now) the next
   * input is due: 0 or less means now; Infinity while no arena connection
   * is open (reconnecting, or a game played with actions). A game with a
   * frame loop calls it every frame and sends one input when it is due.
   * While the pacing holds inputs back (too many are unacknowledged: the
   * server or the way there stalled, see {@link Pacer.held}), it is a
   * quarter of a tick at least: the input is due once a snapshot
   * acknowledges enough, and not before.
   */
  inputDue(now = this.#clock.now()): number {
    const c = this.#conn;
    if (!this.connected || c?.pacer === undefined) {
      return Infinity;
    }
    const due = c.pacer.due();
    const d = due === undefined ? 0 : due - now;
    return c.pacer.held(now) ? Math.max(d, this.#heldRecheckMs()) : d;
  }

  /**
   * Whether the pacing holds inputs back at now (default now): too many are
   * unacknowledged (see {@link Pacer.held}); false while no arena connection
   * is open. A game with its own input loop waits for the next snapshot then
   * ({@link Session.inputDue} is a quarter of a tick at least meanwhile).
   */
  inputHeld(now = this.#clock.now()): boolean {
    const c = this.#conn;
    return this.connected && c?.pacer !== undefined && c.pacer.held(now);
  }

  // #heldRecheckMs is how often runInputs looks again while the pacing
  // holds inputs back and no snapshot comes: the hold can also end with
  // time, when snapshots go missing.
  #heldRecheckMs(): number {
    return 1000 / (4 * (this.#welcome?.tickRate || 30));
  }

  /**
   * The whole server tick the client displays at now, for an input's
   * `viewTick`: the newest tick heard of, moved on by the time since it
   * arrived, less the interpolation delay; never ahead of the newest tick,
   * never negative. 0 before the Welcome.
   */
  viewTick(now = this.#clock.now()): number {
    const c = this.#conn;
    const w = c?.welcome;
    if (c === undefined || w === undefined || w.tickRate === 0) {
      return 0;
    }
    return displayedTick(renderTick(c.newestTick, now - c.refAt, w.tickRate, this.#delayMs), c.newestTick);
  }

  /**
   * Sends an arena input and returns its seq, or undefined when no
   * connection is open (the session is reconnecting): nothing was sent. It
   * numbers the input (see {@link InputFields.seq}), fills in the view
   * tick, and records the send for the pacing. Send at the pace
   * {@link Session.inputDue} sets, not once per frame: the server applies
   * at most one input per tick and drops the surplus.
   *
   * @throws WrongGameError in a game played with actions.
   * @throws RangeError for a seq not above the last sent, or buttons that
   * are not a uint32.
   */
  sendInput(input: InputFields, now = this.#clock.now()): number | undefined {
    const w = this.#welcome;
    if (w !== undefined && playedWithActions(w)) {
      throw new WrongGameError(`arbiter: sendInput in a match of ${w.game}, played with actions`);
    }
    const [moveX, moveY] = clampMove(input.moveX ?? 0, input.moveY ?? 0);
    const aimX = toInt32(input.aimX ?? 0);
    const aimY = toInt32(input.aimY ?? 0);
    const buttons = uint32(input.buttons ?? 0, "buttons");
    const c = this.#conn;
    if (!this.connected || c?.pacer === undefined) {
      return undefined;
    }
    let seq = this.#inputSeq + 1;
    if (input.seq !== undefined) {
      if (!Number.isInteger(input.seq) || input.seq <= this.#inputSeq || input.seq > 0xffffffff) {
        throw new RangeError(`arbiter: input seq ${input.seq} not above the last sent, ${this.#inputSeq}`);
      }
      seq = input.seq;
    }
    // Never ahead of the newest tick heard of, whatever the game asks.
    const vt = input.viewTick === undefined ? this.viewTick(now) : displayedTick(input.viewTick, c.newestTick);
    const msg = create(ClientMessageSchema, {
      kind: { case: "input", value: { seq, moveX, moveY, buttons, aimX, aimY, viewTick: vt } },
    });
    c.ws.send(toBinary(ClientMessageSchema, msg));
    this.#inputSeq = seq;
    c.pacer.sent(seq, now);
    return seq;
  }

  /**
   * Sends sample() as an input whenever one is due, until signal aborts or
   * the session ends (it resolves then); while the session reconnects, it
   * waits. sample is called right before each send and should return the
   * player's controls now. Inputs go out at least half a tick apart; while
   * the pacing holds inputs back it waits for the snapshot that lets the
   * next one go. It rejects with what sample or {@link Session.sendInput}
   * threw.
   */
  async runInputs(sample: () => InputFields, signal?: AbortSignal): Promise<void> {
    const stop = anySignal(signal, this.#abort.signal);
    try {
      while (!stop.aborted && this.#end === undefined) {
        if (!this.connected) {
          await this.#nextWelcome(stop);
          continue;
        }
        const now = this.#clock.now();
        if (this.inputHeld(now)) {
          await this.#nextSnapshot(this.#heldRecheckMs(), stop);
          continue;
        }
        const d = this.inputDue(now);
        if (d > 0) {
          await this.#sleep(d, stop);
          continue;
        }
        this.sendInput(sample());
        const rate = this.#welcome?.tickRate || 30;
        await this.#sleep(Math.max(this.inputDue(), 1000 / (2 * rate)), stop);
      }
    } catch (err) {
      if (!stop.aborted) {
        throw err;
      }
    }
  }

  /**
   * Sends payload, the game's command message encoded (chess: an
   * `arbiter.chess.v1.Command`), as the next action, and returns its seq,
   * or undefined when no connection is open (nothing was sent). The action
   * is pending ({@link Session.pendingActions}) until a State's
   * `last_action_seq` or a Rejected covers it.
   *
   * @throws WrongGameError in the arena.
   */
  sendAction(payload: Uint8Array): number | undefined {
    const w = this.#welcome;
    if (w !== undefined && !playedWithActions(w)) {
      throw new WrongGameError("arbiter: sendAction in a match of the arena, played with inputs");
    }
    const c = this.#conn;
    if (!this.connected || c === undefined) {
      return undefined;
    }
    const seq = Math.max(this.#actionSeq, this.#acked) + 1;
    const copy = payload.slice();
    const msg = create(ClientMessageSchema, { kind: { case: "action", value: { seq, payload: copy } } });
    c.ws.send(toBinary(ClientMessageSchema, msg));
    this.#actionSeq = seq;
    if (this.#pending.length === MAX_PENDING_ACTIONS) {
      this.#pending.shift();
    }
    this.#pending.push({ seq, payload: copy });
    return seq;
  }

  /** Sends a Ping now (the session also sends one every heartbeat); the Pong gives {@link Session.rttMs}. */
  ping(): void {
    const c = this.#conn;
    if (c !== undefined && !c.ended && c.ws.readyState === 1) {
      this.#sendPing(c);
    }
  }

  // ---- Connections ----

  // #attempt makes one connection attempt to url, resolved on its Welcome or
  // its failure. A welcomed connection becomes the session's.
  #attempt(url: string): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      let ws: WebSocketLike;
      try {
        ws = this.#factory(playUrl(url, this.#fullSnapshots));
      } catch (err) {
        resolve({ ok: false, error: new ConnectError(`arbiter: connect: ${errText(err)}`, { cause: err }), retryable: false, opened: false });
        return;
      }
      const now = this.#clock.now();
      const c: Conn = {
        ws,
        opened: false,
        ended: false,
        newestTick: 0,
        refAt: now,
        lastFrameAt: now,
        settled: false,
        settle: (a) => {
          if (!c.settled) {
            c.settled = true;
            resolve(a);
          }
        },
      };
      this.#conn = c;
      ws.binaryType = "arraybuffer";
      let handshakeStatus: number | undefined;
      ws.onopen = () => {
        c.opened = true;
        c.lastFrameAt = this.#clock.now();
      };
      ws.onerror = (ev: unknown) => {
        handshakeStatus ??= statusOf(ev);
      };
      ws.onmessage = (ev: { data: unknown }) => this.#onFrame(c, ev.data);
      ws.onclose = (ev: { code: number; reason: string }) => {
        const info: CloseInfo = {
          code: ev.code,
          reason: String(ev.reason ?? ""),
          local: false,
          ...(c.kick !== undefined ? { kick: { reason: c.kick.reason, message: c.kick.message } } : {}),
        };
        if (!c.opened) {
          // The upgrade failed: refused, or no server. Only 4xx refusals
          // (but 408 and 429) are final: 401 means the match has ended or
          // the token is no good.
          const s = handshakeStatus;
          const final = s !== undefined && s >= 400 && s < 500 && s !== 408 && s !== 429;
          const msg = s !== undefined ? `handshake refused: status ${s}` : "connection failed";
          this.#endConn(c, undefined, "");
          this.#settleFailed(c, new ConnectError(`arbiter: connect: ${msg}`, { close: info, ...(s !== undefined ? { status: s } : {}) }), !final);
          return;
        }
        this.#onConnClosed(c, info);
      };
      this.#startTimers(c);
    });
  }

  // #startTimers arms the connection's heartbeat: a Ping every heartbeatMs,
  // and the silence check; before the Welcome, the attempt timeout.
  #startTimers(c: Conn): void {
    const attemptTimeout = this.#backoff.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
    const period = Math.max(Math.min(this.#heartbeatMs || Infinity, this.#silenceMs || Infinity, attemptTimeout || Infinity) / 2, 10);
    const tick = () => {
      if (c.ended) {
        return;
      }
      const now = this.#clock.now();
      if (c.welcome === undefined) {
        if (attemptTimeout > 0 && now - c.refAt >= attemptTimeout) {
          this.#abandon(c, `no welcome within ${attemptTimeout} ms`);
          return;
        }
      } else {
        if (this.#silenceMs > 0 && now - c.lastFrameAt >= this.#silenceMs) {
          this.#abandon(c, `no frame from the server for ${Math.round(now - c.lastFrameAt)} ms`);
          return;
        }
        if (this.#heartbeatMs > 0 && now - (c.lastPingAt ?? c.refAt) >= this.#heartbeatMs && c.ws.readyState === 1) {
          this.#sendPing(c);
        }
      }
      c.heartbeat = this.#clock.setTimeout(tick, period === Infinity ? 1000 : period);
    };
    c.heartbeat = this.#clock.setTimeout(tick, period === Infinity ? 1000 : period);
  }

  #sendPing(c: Conn): void {
    const now = this.#clock.now();
    c.lastPingAt = now;
    const msg = create(ClientMessageSchema, { kind: { case: "ping", value: { clientTime: BigInt(Math.max(Math.round(now * 1000), 0)) } } });
    c.ws.send(toBinary(ClientMessageSchema, msg));
  }

  // #abandon gives up on a connection that went silent (or never said
  // Welcome): it is closed as a network failure, which may be resumed.
  #abandon(c: Conn, why: string): void {
    const info: CloseInfo = { code: 1006, reason: "network", local: true, error: new Error(`arbiter: ${why}`) };
    this.#endConn(c, info, "");
    if (!c.settled) {
      this.#settleFailed(c, new ConnectError(`arbiter: connect: ${why}`, { close: info }), true);
      return;
    }
    this.#afterEnd(info);
  }

  // #fail closes a connection whose server broke the protocol.
  #fail(c: Conn, v: ProtocolViolation): void {
    const info: CloseInfo = { code: closeCode(v.reason), reason: v.reason, local: true, error: v };
    this.#endConn(c, info, v.reason);
    if (!c.settled) {
      this.#settleFailed(c, new ConnectError(`arbiter: connect: ${v.message}`, { close: info, cause: v }), false);
      return;
    }
    this.#afterEnd(info);
  }

  // #endConn marks c ended, stops its timers and detaches it from its
  // socket; with info set, it also closes the socket with info's code (or
  // 1000 where a browser refuses that code) and reason text.
  #endConn(c: Conn, info: CloseInfo | undefined, reasonText: string): void {
    if (c.ended) {
      return;
    }
    c.ended = true;
    if (c.heartbeat !== undefined) {
      this.#clock.clearTimeout(c.heartbeat);
    }
    if (c.pacer !== undefined) {
      this.#pacing = c.pacer.stats();
    }
    const ws = c.ws;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onerror = null;
    ws.onclose = null;
    const terminate = (ws as { terminate?: () => void }).terminate;
    if (info?.code === 1006 && typeof terminate === "function") {
      // A connection given up as dead (the ws package in Node): no closing
      // handshake to wait for on it.
      terminate.call(ws);
      return;
    }
    if (info !== undefined && ws.readyState <= 1) {
      try {
        ws.close(info.code === 1006 ? 1000 : info.code, reasonText);
      } catch {
        try {
          ws.close(1000, reasonText);
        } catch {
          // Closed already.
        }
      }
    }
  }

  #settleFailed(c: Conn, error: ConnectError, retryable: boolean): void {
    c.settle({ ok: false, error, retryable, opened: c.opened });
  }

  // #onConnClosed handles the close event of an opened connection.
  #onConnClosed(c: Conn, info: CloseInfo): void {
    this.#endConn(c, undefined, "");
    if (!c.settled) {
      // Closed before its Welcome: a Kick (forfeited, match_over) and a
      // close, or a drop.
      const retryable = isResumable(info);
      const why = info.kick !== undefined ? `${info.kick.reason}: ${info.kick.message}` : describeClose(info);
      this.#settleFailed(c, new ConnectError(`arbiter: connect: closed before welcome: ${why}`, { close: info }), retryable);
      return;
    }
    this.#afterEnd(info);
  }

  // #afterEnd decides, after the session's welcomed connection ended,
  // whether to resume or finish.
  #afterEnd(info: CloseInfo): void {
    if (this.#end !== undefined || this.#userClosed) {
      return;
    }
    // A local close resumes only when it was the network (a silent
    // connection): a server that broke the protocol is not retried.
    const localOK = !info.local || info.reason === "network";
    if (!this.#resume || this.#matchEnd !== undefined || !localOK || !isResumable(info)) {
      this.#finish({ close: info, ...(this.#matchEnd !== undefined ? { matchEnd: this.#matchEnd } : {}) });
      return;
    }
    this.#emit("disconnect", info);
    void this.#resumeLoop(info);
  }

  // #resumeLoop reconnects after info ended the connection: attempts with
  // backoff until one is welcomed, one fails for good, the locator says the
  // match is over, the backoff gives up, or close() is called.
  async #resumeLoop(info: CloseInfo): Promise<void> {
    const signal = this.#abort.signal;
    const b = this.#backoff;
    const start = this.#clock.now();
    const giveUpAfter = b.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
    let last: CloseInfo = info;
    for (let attempt = 1; ; attempt++) {
      const a = await this.#attempt(this.#wsUrl);
      if (signal.aborted || this.#end !== undefined) {
        if (a.ok) {
          this.#endConn(a.conn, { code: 1000, reason: "client_closed", local: true }, "");
        }
        return;
      }
      if (a.ok) {
        return; // #onWelcome checked the match and entity
      }
      const err = a.error;
      if (err instanceof ConnectError && err.close !== undefined) {
        last = err.close;
      }
      if (!a.retryable) {
        this.#finish({ close: last, resumeError: err });
        return;
      }
      if (b.maxAttempts !== undefined && b.maxAttempts > 0 && attempt >= b.maxAttempts) {
        this.#finish({ close: last, resumeError: new Error(`arbiter: resume: gave up after ${attempt} attempts: ${errText(err)}`, { cause: err }) });
        return;
      }
      const delay = backoffDelay(b, attempt - 1);
      if (giveUpAfter > 0 && this.#clock.now() + delay - start > giveUpAfter) {
        this.#finish({ close: last, resumeError: new Error(`arbiter: resume: gave up after ${giveUpAfter} ms: ${errText(err)}`, { cause: err }) });
        return;
      }
      this.#emit("reconnecting", { attempt, delayMs: delay, error: err });
      try {
        await this.#sleep(delay, signal);
        if (this.#locate !== undefined && !a.opened) {
          const where = await this.#locate(signal);
          if (where === null) {
            this.#finish({ close: last, resumeError: new Error("arbiter: resume: the match is over or the join token has expired") });
            return;
          }
          if (where !== undefined) {
            this.#wsUrl = where;
          }
        }
      } catch {
        return; // closed meanwhile: close() has finished the session
      }
      if (signal.aborted) {
        return;
      }
    }
  }

  #finish(e: SessionEnd): void {
    if (this.#end !== undefined) {
      return;
    }
    this.#end = e;
    this.#abort.abort(new Error("arbiter: session ended"));
    const c = this.#conn;
    if (c !== undefined && !c.ended) {
      this.#endConn(c, e.close, e.close.reason);
    }
    this.#resolveClosed(e);
    this.#emit("close", e);
  }

  // ---- Server messages ----

  #onFrame(c: Conn, data: unknown): void {
    if (c.ended) {
      return;
    }
    const now = this.#clock.now();
    c.lastFrameAt = now;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else if (typeof data === "string") {
      this.#fail(c, new ProtocolViolation("text_frame", "text frame"));
      return;
    } else {
      this.#fail(c, new ProtocolViolation("bad_frame", `frame of type ${Object.prototype.toString.call(data)}`));
      return;
    }
    if (bytes.byteLength > this.#maxFrame) {
      this.#fail(c, new ProtocolViolation("too_big", `frame of ${bytes.byteLength} bytes, more than ${this.#maxFrame}`));
      return;
    }
    let m: ServerMessage;
    try {
      m = fromBinary(ServerMessageSchema, bytes);
    } catch (err) {
      this.#fail(c, new ProtocolViolation("bad_frame", `undecodable frame: ${errText(err)}`));
      return;
    }
    try {
      this.#handle(c, m, now);
    } catch (err) {
      if (err instanceof ProtocolViolation) {
        this.#fail(c, err);
        return;
      }
      throw err;
    }
  }

  #handle(c: Conn, m: ServerMessage, now: number): void {
    const k = m.kind;
    if (c.welcome === undefined) {
      // A Kick may come first: the server refuses a connection it has
      // already upgraded (the player forfeited, the match just ended).
      if (k.case === "welcome") {
        this.#onWelcome(c, k.value, now);
        return;
      }
      if (k.case !== "kick") {
        throw new ProtocolViolation("protocol", `first message is ${k.case ?? "empty"}, not a welcome`);
      }
    }
    switch (k.case) {
      case "welcome":
        throw new ProtocolViolation("protocol", "second welcome");
      case "snapshot":
        this.#onSnapshot(c, k.value, now);
        return;
      case "snapshotDelta":
        this.#onSnapshotDelta(c, k.value, now);
        return;
      case "state":
        this.#onState(c, k.value);
        return;
      case "rejected":
        this.#onRejected(c, k.value);
        return;
      case "pong": {
        const rtt = Math.max(now - Number(k.value.clientTime) / 1000, 0);
        this.#rttMs = rtt;
        this.#emit("pong", k.value, rtt);
        return;
      }
      case "matchEnd":
        this.#matchEnd = k.value;
        this.#emit("matchEnd", k.value);
        return;
      case "kick":
        c.kick = k.value;
        this.#emit("kick", k.value);
        return;
      default:
      // A message kind from a newer server: ignored, as protobuf ignores
      // unknown fields.
    }
  }

  #onWelcome(c: Conn, w: Welcome, now: number): void {
    const actions = playedWithActions(w);
    if (!actions) {
      if (!isTickRate(w.tickRate)) {
        throw new ProtocolViolation("protocol", `welcome with tick rate ${w.tickRate}`);
      }
      if (w.entityId === 0) {
        throw new ProtocolViolation("protocol", "welcome with entity 0");
      }
    }
    const first = this.#first;
    if (first !== undefined && (w.matchId !== first.matchId || w.entityId !== first.entityId)) {
      const err = new Error(
        `arbiter: resume: welcomed to match ${w.matchId} as entity ${w.entityId}, was match ${first.matchId} entity ${first.entityId}`,
      );
      const info: CloseInfo = { code: 1000, reason: "client_closed", local: true, error: err };
      this.#endConn(c, info, "");
      c.settle({ ok: false, error: err, retryable: false, opened: true });
      return;
    }
    const resumed = first !== undefined;
    this.#first ??= w;
    c.welcome = w;
    this.#welcome = w;
    c.newestTick = w.tick;
    c.refAt = now;
    if (actions) {
      // Continue after every seq the server has seen; of the actions still
      // pending, it answers those it received on this connection, and the
      // others were lost with the old one: they vanish, not resent (they
      // were made against a state the game may have left).
      this.#actionSeq = Math.max(this.#actionSeq, w.lastActionSeq);
      this.#pending = this.#pending.filter((p) => p.seq > this.#acked && p.seq <= w.lastActionSeq);
    } else {
      this.#inputSeq = Math.max(this.#inputSeq, w.lastInputSeq);
      c.pacer = new Pacer(w.tickRate);
      if (this.#pacing !== undefined) {
        c.pacer.carryOver(this.#pacing);
      }
    }
    c.settle({ ok: true, conn: c });
    this.#emit("welcome", w, resumed);
  }

  // #onSnapshotDelta rebuilds the snapshot d makes of the connection's last
  // one and takes it as a full one. The server sends a delta only from the
  // snapshot it last wrote to this connection, and the socket keeps the
  // order: a delta from anything else, or a malformed one, is the server
  // breaking the protocol.
  #onSnapshotDelta(c: Conn, d: SnapshotDelta, now: number): void {
    const w = c.welcome!;
    if (playedWithActions(w)) {
      throw new ProtocolViolation("protocol", `snapshot delta in a match of ${w.game}, played with actions`);
    }
    if (!deltaSnapshots(w)) {
      throw new ProtocolViolation("protocol", `snapshot delta on a connection whose Welcome says ${SnapshotEncoding[w.snapshots] ?? w.snapshots}`);
    }
    if (d.added.length > MAX_SNAPSHOT_ENTITIES) {
      throw new ProtocolViolation("protocol", `snapshot delta adding ${d.added.length} entities`);
    }
    let s: Snapshot;
    try {
      s = applyDelta(c.base, d, w.entityId);
    } catch (err) {
      if (err instanceof DeltaError) {
        throw new ProtocolViolation("protocol", err.message);
      }
      throw err;
    }
    this.#onSnapshot(c, s, now);
  }

  #onSnapshot(c: Conn, s: Snapshot, now: number): void {
    if (playedWithActions(c.welcome!)) {
      throw new ProtocolViolation("protocol", `snapshot in a match of ${c.welcome!.game}, played with actions`);
    }
    if (s.entities.length > MAX_SNAPSHOT_ENTITIES) {
      throw new ProtocolViolation("protocol", `snapshot with ${s.entities.length} entities`);
    }
    const self = c.welcome!.entityId;
    for (const e of s.entities) {
      if (e.id === self) {
        c.pacer!.observe(s.tick, e.lastInputSeq, e.inputBacklog, now);
        // The server's word on the seqs it has processed: never number an
        // input below it.
        this.#inputSeq = Math.max(this.#inputSeq, e.lastInputSeq);
      }
    }
    if (s.tick > c.newestTick || this.#lastSnapshot === undefined) {
      c.newestTick = s.tick;
      c.refAt = now;
    }
    c.base = s;
    this.#lastSnapshot = s;
    this.#emit("snapshot", s, now);
  }

  #onState(c: Conn, s: State): void {
    if (!playedWithActions(c.welcome!)) {
      throw new ProtocolViolation("protocol", "state in a match of the arena");
    }
    const kept = this.#state;
    if (kept !== undefined && (s.version < kept.version || (s.version === kept.version && s.lastActionSeq < kept.lastActionSeq))) {
      return; // older than the State kept
    }
    this.#state = s;
    this.#ack(s.lastActionSeq);
    this.#emit("state", s);
  }

  #onRejected(c: Conn, r: Rejected): void {
    if (!playedWithActions(c.welcome!)) {
      throw new ProtocolViolation("protocol", "rejected in a match of the arena");
    }
    this.#ack(r.seq);
    this.#emit("rejected", r);
  }

  // #ack records that the server has processed every action up to seq (it
  // processes them in seq order).
  #ack(seq: number): void {
    if (seq <= this.#acked) {
      return;
    }
    this.#acked = seq;
    this.#pending = this.#pending.filter((p) => p.seq > seq);
  }

  #emit<K extends keyof SessionEvents>(event: K, ...args: Parameters<SessionEvents[K]>): void {
    for (const l of [...this.#listeners[event]]) {
      try {
        (l as (...a: Parameters<SessionEvents[K]>) => void)(...args);
      } catch (err) {
        report(err);
      }
    }
  }

  // #nextWelcome resolves at the next Welcome, the session's end, or stop.
  #nextWelcome(stop: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        off();
        stop.removeEventListener("abort", done);
        resolve();
      };
      const off = this.on("welcome", done);
      void this.closed.then(done);
      stop.addEventListener("abort", done, { once: true });
    });
  }

  // #nextSnapshot resolves at the next snapshot, after ms on the session's
  // clock, at the session's end, or when stop aborts, whichever comes first.
  #nextSnapshot(ms: number, stop: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let h: unknown;
      const done = () => {
        off();
        this.#clock.clearTimeout(h);
        stop.removeEventListener("abort", done);
        resolve();
      };
      const off = this.on("snapshot", done);
      h = this.#clock.setTimeout(done, Math.max(ms, 0));
      void this.closed.then(done);
      stop.addEventListener("abort", done, { once: true });
    });
  }

  // #sleep waits ms on the session's clock, or until signal aborts
  // (rejecting then).
  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.#clock.clearTimeout(h);
        reject(signal.reason);
      };
      const h = this.#clock.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(ms, 0));
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Reports whether the match of w is played with actions (every game but the arena). */
export function playedWithActions(w: Pick<Welcome, "game">): boolean {
  return w.game !== "" && w.game !== GAME_ARENA;
}

/**
 * Reports whether the server sends the connection of w its snapshots as
 * deltas (`Welcome.snapshots`; a {@link Session} asks for them unless
 * {@link SessionOptions.fullSnapshots}). Either way the session's
 * `snapshot` listeners get whole snapshots.
 */
export function deltaSnapshots(w: Pick<Welcome, "snapshots">): boolean {
  return w.snapshots === SnapshotEncoding.DELTA;
}

// SNAPSHOTS_PARAM is the play URL's query parameter choosing the encoding
// of snapshots.
const SNAPSHOTS_PARAM = "snapshots";

// playUrl returns the URL to open for the play URL url: with
// snapshots=delta added to its query, unless full, or unless the URL
// already chooses (as the Go library does).
function playUrl(url: string, full: boolean): string {
  if (full) {
    return url;
  }
  try {
    if (new URL(url).searchParams.has(SNAPSHOTS_PARAM)) {
      return url;
    }
  } catch {
    return url; // not a URL: the WebSocket refuses it, with its own error
  }
  const hash = url.indexOf("#");
  const head = hash < 0 ? url : url.slice(0, hash);
  const sep = !head.includes("?") ? "?" : head.endsWith("?") || head.endsWith("&") ? "" : "&";
  return `${head}${sep}${SNAPSHOTS_PARAM}=delta${hash < 0 ? "" : url.slice(hash)}`;
}

function defaultWebSocket(url: string): WebSocketLike {
  const WS = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (WS === undefined) {
    throw new TypeError("arbiter: no global WebSocket: pass SessionOptions.webSocket (in Node, the ws package's)");
  }
  return new WS(url);
}

// statusOf returns the HTTP status of a refused upgrade, if the error event
// tells it: the ws package's says "Unexpected server response: 401";
// browsers tell nothing.
function statusOf(ev: unknown): number | undefined {
  const e = ev as { message?: unknown; error?: { message?: unknown } } | null;
  for (const m of [e?.message, e?.error?.message]) {
    if (typeof m === "string") {
      const match = /Unexpected server response: (\d{3})/.exec(m);
      if (match !== null) {
        return Number(match[1]);
      }
    }
  }
  return undefined;
}

function networkClose(err: unknown): CloseInfo {
  return { code: 1006, reason: "network", local: false, error: err };
}

function uint32(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new RangeError(`arbiter: input ${name} ${v} is not a uint32`);
  }
  return v;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// report hands a listener's error to the environment as uncaught, without
// stopping the session's own handling.
function report(err: unknown): void {
  const r = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (r !== undefined) {
    r(err);
    return;
  }
  queueMicrotask(() => {
    throw err;
  });
}

// anySignal returns a signal that aborts when any of signals does.
function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const c = new AbortController();
  for (const s of signals) {
    if (s === undefined) {
      continue;
    }
    if (s.aborted) {
      c.abort(s.reason);
      break;
    }
    s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}

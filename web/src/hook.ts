// The test hook: window.arbiterDemo. Browser tests (cmd/arbiter's
// browser_e2e_test.go, driving Chromium) read the page's state through it
// and drive the arena's controls and chess moves deterministically, without
// depending on pixel positions or key timing. It is a test hook, not an
// API: it may change with the page and its tests, and a game built on the
// SDK has no use for it.

/** Where the page is. */
export type ScreenName = "signin" | "lobby" | "queue" | "arena" | "chess";

/** The arena's controls, as the hook sets them (see {@link DemoHook.setControls}). */
export interface ControlsOverride {
  /** Per-mille move components; clamped to length 1000 like the keyboard's. */
  readonly moveX?: number;
  readonly moveY?: number;
  /** Holds the fire button. */
  readonly fire?: boolean;
  /** Aim direction. */
  readonly aimX?: number;
  readonly aimY?: number;
}

/** One player's line of a MatchEnd, as plain data. */
export interface ResultLine {
  readonly playerId: string;
  readonly entityId: number;
  readonly score: number;
  readonly placement: number;
  readonly ratingBefore: number;
  readonly ratingAfter: number;
}

/** An entity as the page shows it. */
export interface EntityState {
  readonly id: number;
  readonly x: number;
  readonly y: number;
  readonly hp: number;
  readonly score: number;
}

/** One correction of the prediction, for the test hook. */
export interface CorrectionRecord {
  /** The snapshot's tick that corrected it. */
  readonly tick: number;
  /** How far off the prediction was, centi-units (Chebyshev). */
  readonly error: number;
  /** The snapshot's last_input_seq and input_backlog of the own entity. */
  readonly ack: number;
  readonly backlog: number;
  /**
   * The snapshot before's tick and last_input_seq (0, 0: none): the server
   * processed ack − prevAck inputs in tick − prevTick ticks, applying at
   * most one a tick, so more inputs than ticks is as many dropped unapplied
   * (surplus or invalid), the usual cause of a correction.
   */
  readonly prevTick: number;
  readonly prevAck: number;
  /** The own entity's hit points then (0: dead, which the prediction does not know). */
  readonly hp: number;
  /** Time since the snapshot before, ms (-1: the first). */
  readonly sinceLastMs: number;
}

/**
 * Inputs the server dropped unapplied, as one snapshot showed them: it
 * acknowledged more inputs than ticks passed since the snapshot before
 * (the server applies at most one a tick). A drop corrects the prediction
 * unless the dropped inputs did not move the entity (standing, or against
 * a wall).
 */
export interface DropRecord {
  /** The snapshot's tick and last_input_seq, and the snapshot before's. */
  readonly tick: number;
  readonly prevTick: number;
  readonly ack: number;
  readonly prevAck: number;
  /** The snapshot's input_backlog of the own entity. */
  readonly backlog: number;
  /** Time since the snapshot before, ms. */
  readonly sinceLastMs: number;
  /**
   * The most inputs unacknowledged when one of those it acknowledged was
   * sent (that one included), and the pacing's in-flight limit then (0: none
   * yet): more than the server takes at once was sent into a stall.
   */
  readonly maxInFlight: number;
  readonly inFlightLimit: number;
  /** The pacing's lead when the last of them was sent, ms. */
  readonly leadMs: number;
}

/** The arena screen's state. */
export interface ArenaState {
  /** The entity the page controls; 0 before the Welcome. */
  readonly entityId: number;
  /** Welcomes received by this page: 2 or more after a resume on a new connection. */
  readonly welcomes: number;
  /** Whether the newest Welcome resumed the session (a reconnect, not a reload). */
  readonly resumed: boolean;
  /** Snapshots received by this page. */
  readonly snapshots: number;
  /**
   * How the server sends this page's snapshots (the newest Welcome's
   * `snapshots`): as deltas (the SDK asks for them), or full; undefined
   * before the Welcome.
   */
  readonly snapshotEncoding?: "delta" | "full";
  /** The newest snapshot's tick. */
  readonly tick: number;
  /** The own entity's predicted position; undefined before the first snapshot. */
  readonly predicted?: { readonly x: number; readonly y: number };
  /** The own entity as the newest snapshot has it. */
  readonly self?: EntityState;
  /** The other entities as drawn now (interpolated). */
  readonly others: readonly EntityState[];
  /** The prediction's error statistics (ArenaView.predictionError). */
  readonly prediction: { readonly checked: number; readonly corrections: number; readonly last: number; readonly max: number };
  /** Inputs sent by this page. */
  readonly inputsSent: number;
  /**
   * Inputs the SDK's pacing held back because too many were unacknowledged
   * (after a stall): each cost at most a tick the server applied none of
   * this page's (pacing.heldBack).
   */
  readonly heldBack: number;
  /** The last few corrections of the prediction, oldest first. */
  readonly corrections: readonly CorrectionRecord[];
  /** The last few snapshots that showed inputs dropped unapplied, oldest first. */
  readonly drops: readonly DropRecord[];
  /** The SDK's input pacing statistics (Session.pacingStats). */
  readonly pacing: {
    readonly starved: number;
    readonly dropped: number;
    readonly backlog: number;
    readonly leadMs: number;
    readonly dilation: number;
    readonly skew: number;
    readonly inFlight: number;
    readonly inFlightLimit: number;
    readonly heldBack: number;
  };
  /** The controls in force now. */
  readonly controls: { readonly moveX: number; readonly moveY: number; readonly fire: boolean; readonly aimX: number; readonly aimY: number };
}

/** The chess screen's state. */
export interface ChessState {
  readonly color?: "white" | "black";
  readonly fen: string;
  readonly moves: readonly string[];
  readonly turn: string;
  /** The Board's status: "" before the first State, then `playing` or how the game ended. */
  readonly status: string;
  readonly winner: string;
  readonly myTurn: boolean;
  readonly drawOffer: string;
  readonly whiteMs: number;
  readonly blackMs: number;
  /** The last refusal: reason and message. */
  readonly rejected?: { readonly reason: string; readonly message: string };
}

/** Everything the hook reports, as plain JSON. */
export interface DemoState {
  readonly screen: ScreenName;
  readonly playerId: string;
  readonly name: string;
  readonly mode: string;
  readonly matchId: string;
  /** Whether a game WebSocket is open and welcomed. */
  readonly connected: boolean;
  /** Kicks this page received, reason words in order. */
  readonly kicks: readonly string[];
  /** How the session ended, once it has: its close reason word and code. */
  readonly closed?: { readonly code: number; readonly reason: string };
  /** The last MatchEnd this page received. */
  readonly matchEnd?: { readonly matchId: string; readonly results: readonly ResultLine[] };
  /** Whether the result panel is shown, and its title. */
  readonly resultShown: boolean;
  readonly resultTitle: string;
  /** The notice line (errors, what happened), empty if none. */
  readonly notice: string;
  readonly arena?: ArenaState;
  readonly chess?: ChessState;
}

/** The hook itself, at window.arbiterDemo. */
export interface DemoHook {
  /** The page's state now. */
  state(): DemoState;
  /**
   * Overrides the arena's controls (keyboard and mouse are ignored while
   * set); null hands them back. The inputs still go out one per tick, at
   * the SDK's pace.
   */
  setControls(c: ControlsOverride | null): void;
  /** Sends a chess move in UCI, as clicking would; returns its action seq, or null if not sent. */
  chessMove(uci: string): number | null;
  /** Turns the arena's server-position overlay on or off. */
  showServer(on: boolean): void;
}

declare global {
  interface Window {
    /** The page's test hook (see web/src/hook.ts); not an API. */
    arbiterDemo?: DemoHook;
  }
}

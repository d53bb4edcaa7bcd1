/**
 * Chess on a {@link Session}: commands (moves in UCI, resignation, draw
 * offers) as Action payloads, the Board from every State, the clocks
 * counting down between States, and refusals. The rules are the server's
 * (docs/chess.md): nothing is predicted or validated here beyond the shape
 * of a UCI move.
 *
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";

import { BoardSchema, CommandSchema, type Board, type Command } from "./gen/arbiter/chess/v1/chess_pb.js";
import type { Rejected, State } from "./gen/arbiter/v1/arbiter_pb.js";
import { MAX_PENDING_ACTIONS, type Session } from "./session.js";

/** A side of the board. */
export type Color = "white" | "black";

/**
 * The statuses of a {@link Board}: `waiting` (the clocks have not started),
 * `playing`, or how the game ended.
 */
export type ChessStatus =
  | "waiting"
  | "playing"
  | "checkmate"
  | "stalemate"
  | "resigned"
  | "timeout"
  | "draw_agreed"
  | "threefold_repetition"
  | "fifty_move_rule"
  | "insufficient_material"
  | "aborted";

/** The reasons the server refuses a chess command with. */
export type ChessRejection = "illegal_move" | "not_your_turn" | "game_over";

// UCI is strict UCI as the server takes it: from- and to-square in
// lowercase, and a promotion's piece (q, r, b, n).
const UCI = /^[a-h][1-8][a-h][1-8][qrbn]?$/;

/** Reports whether uci has the shape of a UCI move (`e2e4`, `e7e8q`); legality is the server's call. */
export function isUci(uci: string): boolean {
  return UCI.test(uci);
}

/**
 * Returns the Action payload of a move in UCI: from-square, to-square and,
 * for a promotion, the piece in lowercase (`e2e4`, `e1g1` castling,
 * `e7e8n`).
 *
 * @throws RangeError if uci does not have that shape.
 */
export function moveCommand(uci: string): Uint8Array {
  if (!isUci(uci)) {
    throw new RangeError(`arbiter: chess: ${JSON.stringify(uci)} is not a UCI move (e2e4, e7e8q)`);
  }
  return toBinary(CommandSchema, create(CommandSchema, { kind: { case: "move", value: { uci } } }));
}

/** Returns the Action payload of a resignation: the opponent wins. */
export function resignCommand(): Uint8Array {
  return toBinary(CommandSchema, create(CommandSchema, { kind: { case: "resign", value: {} } }));
}

/**
 * Returns the Action payload of a draw offer; while the opponent's offer
 * stands, it accepts it.
 */
export function offerDrawCommand(): Uint8Array {
  return toBinary(CommandSchema, create(CommandSchema, { kind: { case: "offerDraw", value: {} } }));
}

/** Decodes a Command payload (as sent), for showing what a Rejected refused. */
export function decodeCommand(payload: Uint8Array): Command {
  return fromBinary(CommandSchema, payload);
}

/**
 * Decodes the Board of a chess State.
 *
 * @throws Error if the payload is not a Board.
 */
export function decodeBoard(state: Pick<State, "payload">): Board {
  return fromBinary(BoardSchema, state.payload);
}

/** Each side's time left, in milliseconds. */
export interface ChessClockReading {
  readonly whiteMs: number;
  readonly blackMs: number;
}

/**
 * Returns each side's time left at now as a chess client shows it between
 * two States (the Go client's `ChessClocks`): the Board's clocks are the
 * time left when the server made it, and while the game is played the side
 * to move's clock runs from receivedAt, when the State arrived, down to
 * zero. The server decides when a flag falls; the display only counts down
 * (and is generous by the one-way latency: the server's clock is the
 * authority). Times are milliseconds of one clock.
 */
export function chessClocks(board: Pick<Board, "whiteMs" | "blackMs" | "status" | "turn">, receivedAt: number, now: number): ChessClockReading {
  let whiteMs = board.whiteMs;
  let blackMs = board.blackMs;
  if (board.status !== "playing") {
    return { whiteMs, blackMs };
  }
  const elapsed = Math.max(now - receivedAt, 0);
  if (board.turn === "white") {
    whiteMs = Math.max(whiteMs - elapsed, 0);
  } else if (board.turn === "black") {
    blackMs = Math.max(blackMs - elapsed, 0);
  }
  return { whiteMs, blackMs };
}

/** A command the server refused: the Rejected, and the command it refused when this client sent it. */
export interface ChessRefusal {
  /** The refused action's seq. */
  readonly seq: number;
  /** `illegal_move`, `not_your_turn` or `game_over` (or a word of a newer server). */
  readonly reason: string;
  /** For humans. */
  readonly message: string;
  /** The command refused, if this game sent it. */
  readonly command?: Command;
}

/** The events of a {@link ChessGame}. */
export interface ChessEvents {
  /** A new Board: after every change, and after every reconnection. */
  board: (board: Board, state: State) => void;
  /** A command of this player was refused; nothing changed. */
  rejected: (r: ChessRefusal) => void;
  /** A State whose payload is not a Board (a server breaking the protocol): it was ignored. */
  error: (err: unknown) => void;
}

/**
 * ChessGame is one player's view of a chess match over a {@link Session}:
 * it sends the player's commands as actions and keeps the newest Board,
 * when it arrived (for the clocks) and the player's colour. Create it
 * before or after the session connects; it follows the session's States
 * across reconnections, and {@link ChessGame.dispose} stops it.
 *
 * ```ts
 * const game = new ChessGame(session);
 * game.on("board", (b) => draw(b.fen, game.color, game.myTurn));
 * game.on("rejected", (r) => toast(`${r.reason}: ${r.message}`));
 * game.move("e2e4");
 * setInterval(() => showClocks(game.clocks()), 100);
 * ```
 */
export class ChessGame {
  readonly #session: Session;
  readonly #offs: (() => void)[] = [];
  readonly #listeners: { [K in keyof ChessEvents]: Set<ChessEvents[K]> } = {
    board: new Set(),
    rejected: new Set(),
    error: new Set(),
  };
  // The commands sent and not answered, by seq, for refusals.
  readonly #sent = new Map<number, Command>();
  #board: Board | undefined;
  #receivedAt = 0;
  #version = -1;

  /** Returns the game of session, taking the session's newest State if it has one. */
  constructor(session: Session) {
    this.#session = session;
    this.#offs.push(
      session.on("state", (s) => this.#onState(s)),
      session.on("rejected", (r) => this.#onRejected(r)),
    );
    const s = session.state;
    if (s !== undefined) {
      this.#onState(s);
    }
  }

  /** Adds a listener of event and returns the function that removes it. */
  on<K extends keyof ChessEvents>(event: K, listener: ChessEvents[K]): () => void {
    const set = this.#listeners[event] as Set<ChessEvents[K]>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Stops following the session. */
  dispose(): void {
    for (const off of this.#offs.splice(0)) {
      off();
    }
  }

  /** The newest Board, or undefined before the first State (the game starts when both players are in). */
  get board(): Board | undefined {
    return this.#board;
  }

  /** The player's colour, from the Board and the Welcome's player; undefined before both. */
  get color(): Color | undefined {
    const b = this.#board;
    const me = this.#session.welcome?.playerId;
    if (b === undefined || me === undefined) {
      return undefined;
    }
    if (b.whitePlayerId === me) {
      return "white";
    }
    if (b.blackPlayerId === me) {
      return "black";
    }
    return undefined;
  }

  /** Whether the game is being played and it is the player's turn. */
  get myTurn(): boolean {
    const b = this.#board;
    return b !== undefined && b.status === "playing" && b.turn === this.color;
  }

  /** Whether the game has ended (a Board with an ending status). */
  get over(): boolean {
    const s = this.#board?.status;
    return s !== undefined && s !== "waiting" && s !== "playing";
  }

  /** Whether the opponent's draw offer stands: offering a draw accepts it. */
  get drawOffered(): boolean {
    const b = this.#board;
    const me = this.#session.welcome?.playerId;
    return b !== undefined && b.drawOffer !== "" && b.drawOffer !== me;
  }

  /**
   * Each side's time left now (ms of the session's clock, default now),
   * counting down from the newest Board (see {@link chessClocks}); zeros
   * before the first.
   */
  clocks(now = this.#session.clock.now()): ChessClockReading {
    const b = this.#board;
    return b === undefined ? { whiteMs: 0, blackMs: 0 } : chessClocks(b, this.#receivedAt, now);
  }

  /**
   * Plays a move in UCI (`e2e4`, promotion `e7e8n`) and returns its action
   * seq, or undefined if the session is not connected (nothing was sent).
   * An illegal move, or one out of turn, comes back as a `rejected` event.
   *
   * @throws RangeError if uci is not a UCI move.
   */
  move(uci: string): number | undefined {
    return this.#send(moveCommand(uci));
  }

  /** Resigns: the opponent wins. Returns the action seq, or undefined if not connected. */
  resign(): number | undefined {
    return this.#send(resignCommand());
  }

  /**
   * Offers a draw, or accepts the opponent's standing offer (see
   * {@link ChessGame.drawOffered}). Returns the action seq, or undefined if
   * not connected.
   */
  offerDraw(): number | undefined {
    return this.#send(offerDrawCommand());
  }

  /** Accepts the opponent's draw offer: the same command as {@link ChessGame.offerDraw}. */
  acceptDraw(): number | undefined {
    return this.offerDraw();
  }

  #send(payload: Uint8Array): number | undefined {
    const seq = this.#session.sendAction(payload);
    if (seq !== undefined) {
      this.#sent.set(seq, decodeCommand(payload));
      if (this.#sent.size > MAX_PENDING_ACTIONS) {
        // A server that never answers: forget the oldest (a Map keeps
        // insertion order).
        this.#sent.delete(this.#sent.keys().next().value!);
      }
    }
    return seq;
  }

  #onState(s: State): void {
    let b: Board;
    try {
      b = decodeBoard(s);
    } catch (err) {
      this.#emit("error", err);
      return;
    }
    this.#forget(s.lastActionSeq);
    if (s.version < this.#version) {
      return;
    }
    this.#version = s.version;
    this.#board = b;
    this.#receivedAt = this.#session.clock.now();
    this.#emit("board", b, s);
  }

  #onRejected(r: Rejected): void {
    const command = this.#sent.get(r.seq);
    this.#forget(r.seq);
    this.#emit("rejected", { seq: r.seq, reason: r.reason, message: r.message, ...(command !== undefined ? { command } : {}) });
  }

  // #forget drops the commands the server has answered (up to seq).
  #forget(seq: number): void {
    for (const k of this.#sent.keys()) {
      if (k <= seq) {
        this.#sent.delete(k);
      }
    }
  }

  #emit<K extends keyof ChessEvents>(event: K, ...args: Parameters<ChessEvents[K]>): void {
    for (const l of [...this.#listeners[event]]) {
      try {
        (l as (...a: Parameters<ChessEvents[K]>) => void)(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

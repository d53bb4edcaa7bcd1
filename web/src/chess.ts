// The chess screen: a board to click (select a piece, click its target;
// a promotion asks for the piece), both clocks counting down between
// States (the SDK's ChessGame), resignation and draw offers. The rules are
// the server's: the page sends what the player clicks and shows what the
// server answers, refusals included.
import { ChessGame, type Board, type ChessRefusal, type Session, type Welcome } from "../../sdk/ts/src/index.js";

import { byId, clockText, make, show } from "./dom.js";
import type { ChessState } from "./hook.js";

// GLYPHS are the pieces as FEN letters, drawn with the solid Unicode set
// (coloured by CSS) and U+FE0E, so that no platform shows them as emoji.
const GLYPHS: Record<string, string> = { k: "♚", q: "♛", r: "♜", b: "♝", n: "♞", p: "♟" };
const FILES = "abcdefgh";
// RESIGN_CONFIRM_MS is how long the resign button waits for its confirming click.
const RESIGN_CONFIRM_MS = 3000;

/** Returns the pieces of a FEN's placement field by square ("e2" → "P"). */
export function parsePlacement(fen: string): Map<string, string> {
  const out = new Map<string, string>();
  const rows = (fen.split(" ")[0] ?? "").split("/");
  for (let i = 0; i < rows.length && i < 8; i++) {
    const rank = 8 - i;
    let file = 0;
    for (const ch of rows[i]!) {
      if (ch >= "1" && ch <= "8") {
        file += Number(ch);
      } else if (file < 8) {
        out.set(`${FILES[file]}${rank}`, ch);
        file++;
      }
    }
  }
  return out;
}

const STATUS_TEXT: Record<string, string> = {
  checkmate: "Checkmate",
  stalemate: "Stalemate",
  resigned: "Resignation",
  timeout: "Time out",
  draw_agreed: "Draw agreed",
  threefold_repetition: "Threefold repetition",
  fifty_move_rule: "Fifty-move rule",
  insufficient_material: "Insufficient material",
  aborted: "Aborted",
};

/** Returns how a game ended, for people: "Checkmate", "Draw agreed", …. */
export function statusText(status: string): string {
  return STATUS_TEXT[status] ?? status;
}

/**
 * ChessScreen plays one chess match on a session: start connects; stop
 * ends its timers and listeners (not the session).
 */
export class ChessScreen {
  readonly #session: Session;
  readonly #game: ChessGame;
  readonly #nameOf: (playerId: string) => string;
  readonly #boardEl = byId("board");
  readonly #status = byId("chess-status");
  readonly #message = byId("chess-message");
  readonly #promotion = byId("promotion");
  readonly #drawBtn = byId<HTMLButtonElement>("draw");
  readonly #resignBtn = byId<HTMLButtonElement>("resign");
  readonly #movesEl = byId("moves");
  readonly #squares = new Map<string, HTMLButtonElement>();
  readonly #offs: (() => void)[] = [];
  readonly #abort = new AbortController();

  #pieces = new Map<string, string>();
  #selected: string | undefined;
  #promoting: { from: string; to: string } | undefined;
  #flipped: boolean | undefined;
  #resignArmed: ReturnType<typeof setTimeout> | undefined;
  #clockTimer: ReturnType<typeof setInterval> | undefined;
  #rejected: ChessRefusal | undefined;

  /** Kicks received, reason words in order. */
  readonly kicks: string[] = [];

  /**
   * Returns the screen of the chess match session plays; nameOf names a
   * player by ID (the page looks names up as it goes). It starts nothing.
   */
  constructor(session: Session, nameOf: (playerId: string) => string) {
    this.#session = session;
    this.#game = new ChessGame(session);
    this.#nameOf = nameOf;
  }

  /** Connects the session; resolves with the first Welcome, rejects as Session.connect does. */
  async start(): Promise<Welcome> {
    this.#offs.push(
      () => this.#game.dispose(),
      this.#game.on("board", () => this.#render()),
      this.#game.on("rejected", (r) => this.#onRejected(r)),
      this.#session.on("kick", (k) => this.kicks.push(k.reason)),
      this.#session.on("welcome", () => this.#render()),
    );
    this.#listen();
    this.#render();
    const w = await this.#session.connect(this.#abort.signal);
    this.#render();
    this.#clockTimer = setInterval(() => this.#renderClocks(), 100);
    return w;
  }

  /** Stops the timers and listeners; the board keeps its last position. */
  stop(): void {
    this.#abort.abort();
    if (this.#clockTimer !== undefined) {
      clearInterval(this.#clockTimer);
    }
    if (this.#resignArmed !== undefined) {
      clearTimeout(this.#resignArmed);
    }
    for (const off of this.#offs.splice(0)) {
      off();
    }
    this.#selected = undefined;
    this.#promoting = undefined;
    this.#render();
  }

  /** Sends a move in UCI (the test hook's way in; clicks come here too). */
  move(uci: string): number | undefined {
    this.#selected = undefined;
    this.#promoting = undefined;
    let seq: number | undefined;
    try {
      seq = this.#game.move(uci);
    } catch (err) {
      this.#say(err instanceof Error ? err.message : String(err));
      return undefined;
    }
    if (seq === undefined) {
      this.#say("Not connected: the move was not sent.");
    } else {
      this.#say("");
    }
    this.#render();
    return seq;
  }

  /** The screen's state for the test hook. */
  state(): ChessState {
    const b = this.#game.board;
    const clocks = this.#game.clocks();
    const color = this.#game.color;
    const r = this.#rejected;
    return {
      ...(color !== undefined ? { color } : {}),
      fen: b?.fen ?? "",
      moves: [...(b?.moves ?? [])],
      turn: b?.turn ?? "",
      status: b?.status ?? "",
      winner: b?.winner ?? "",
      myTurn: this.#game.myTurn,
      drawOffer: b?.drawOffer ?? "",
      whiteMs: clocks.whiteMs,
      blackMs: clocks.blackMs,
      ...(r !== undefined ? { rejected: { reason: r.reason, message: r.message } } : {}),
    };
  }

  /** How the game ended, for the result panel ("Checkmate"), or "" while it runs. */
  get ending(): string {
    return this.#game.over ? statusText(this.#game.board?.status ?? "") : "";
  }

  // ---- Input ----

  #listen(): void {
    const click = (e: MouseEvent) => {
      const sq = (e.target as HTMLElement | null)?.closest<HTMLElement>("[data-square]")?.dataset["square"];
      if (sq !== undefined) {
        this.#onSquare(sq);
      }
    };
    const promote = (e: MouseEvent) => {
      const piece = (e.target as HTMLElement | null)?.closest<HTMLElement>("[data-piece]")?.dataset["piece"];
      const p = this.#promoting;
      if (piece !== undefined && p !== undefined) {
        this.move(p.from + p.to + piece);
      }
    };
    const draw = () => {
      if (this.#game.offerDraw() === undefined) {
        this.#say("Not connected: the offer was not sent.");
      }
    };
    const resign = () => {
      if (this.#resignArmed === undefined) {
        this.#resignBtn.textContent = "Confirm resign";
        this.#resignArmed = setTimeout(() => {
          this.#resignArmed = undefined;
          this.#renderButtons();
        }, RESIGN_CONFIRM_MS);
        return;
      }
      clearTimeout(this.#resignArmed);
      this.#resignArmed = undefined;
      if (this.#game.resign() === undefined) {
        this.#say("Not connected: the resignation was not sent.");
      }
      this.#renderButtons();
    };
    this.#boardEl.addEventListener("click", click);
    this.#promotion.addEventListener("click", promote);
    this.#drawBtn.addEventListener("click", draw);
    this.#resignBtn.addEventListener("click", resign);
    this.#offs.push(() => {
      this.#boardEl.removeEventListener("click", click);
      this.#promotion.removeEventListener("click", promote);
      this.#drawBtn.removeEventListener("click", draw);
      this.#resignBtn.removeEventListener("click", resign);
    });
  }

  #onSquare(sq: string): void {
    const color = this.#game.color;
    if (color === undefined || this.#game.over) {
      return;
    }
    const piece = this.#pieces.get(sq);
    const mine = piece !== undefined && (piece === piece.toUpperCase()) === (color === "white");
    if (mine) {
      this.#selected = this.#selected === sq ? undefined : sq;
      this.#promoting = undefined;
      this.#render();
      return;
    }
    const from = this.#selected;
    if (from === undefined) {
      return;
    }
    if (!this.#game.myTurn) {
      this.#selected = undefined;
      this.#say("It is your opponent's turn.");
      this.#render();
      return;
    }
    const moving = this.#pieces.get(from);
    const lastRank = color === "white" ? "8" : "1";
    if (moving?.toLowerCase() === "p" && sq[1] === lastRank) {
      this.#promoting = { from, to: sq };
      this.#render();
      return;
    }
    this.move(from + sq);
  }

  #onRejected(r: ChessRefusal): void {
    this.#rejected = r;
    const what = r.command?.kind.case === "move" ? `${r.command.kind.value.uci}: ` : "";
    this.#say(`Refused — ${what}${r.message}`);
  }

  #say(text: string): void {
    this.#message.textContent = text;
    show(this.#message, text !== "");
  }

  // ---- Drawing ----

  #render(): void {
    const b = this.#game.board;
    const color = this.#game.color;
    const flipped = color === "black";
    if (this.#squares.size === 0 || this.#flipped !== flipped) {
      this.#buildBoard(flipped);
    }
    this.#pieces = parsePlacement(b?.fen ?? "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1");
    const last = b?.moves[b.moves.length - 1];
    const lastFrom = last?.slice(0, 2);
    const lastTo = last?.slice(2, 4);
    for (const [sq, el] of this.#squares) {
      const p = this.#pieces.get(sq);
      const glyph = el.querySelector<HTMLElement>(".piece")!;
      if (p === undefined) {
        glyph.textContent = "";
        glyph.className = "piece";
      } else {
        glyph.textContent = GLYPHS[p.toLowerCase()]! + "\uFE0E";
        glyph.className = p === p.toUpperCase() ? "piece white" : "piece black";
      }
      el.classList.toggle("selected", sq === this.#selected);
      el.classList.toggle("last", sq === lastFrom || sq === lastTo);
      el.setAttribute("aria-label", p === undefined ? sq : `${sq} ${p}`);
    }
    show(this.#promotion, this.#promoting !== undefined);
    this.#renderStatus(b);
    this.#renderMoves(b);
    this.#renderButtons();
    this.#renderClocks();
  }

  #buildBoard(flipped: boolean): void {
    this.#flipped = flipped;
    this.#squares.clear();
    const cells: HTMLElement[] = [];
    for (let row = 0; row < 8; row++) {
      for (let col = 0; col < 8; col++) {
        const file = flipped ? 7 - col : col;
        const rank = flipped ? row + 1 : 8 - row;
        const sq = `${FILES[file]}${rank}`;
        const el = make("button", (file + rank) % 2 === 1 ? "sq dark" : "sq light");
        el.type = "button";
        el.dataset["square"] = sq;
        el.append(make("span", "piece"));
        if (col === 0) {
          el.append(make("span", "coord rank", String(rank)));
        }
        if (row === 7) {
          el.append(make("span", "coord file", FILES[file]!));
        }
        this.#squares.set(sq, el);
        cells.push(el);
      }
    }
    this.#boardEl.replaceChildren(...cells);
  }

  #renderStatus(b: Board | undefined): void {
    const me = this.#session.welcome?.playerId ?? "";
    let text: string;
    if (b === undefined) {
      text = this.#session.welcome === undefined ? "Connecting…" : "Waiting for your opponent to connect…";
    } else if (b.status === "playing") {
      const color = this.#game.color ?? "";
      text = this.#game.myTurn ? `Your move (${color})` : `${b.turn === "white" ? "White" : "Black"} to move`;
      if (this.#game.drawOffered) {
        text += " · your opponent offers a draw";
      } else if (b.drawOffer === me && me !== "") {
        text += " · you offered a draw";
      }
    } else {
      const end = statusText(b.status);
      if (b.winner === "") {
        text = `${end} — draw`;
      } else {
        text = `${end} — ${b.winner === me ? "you win" : "you lose"}`;
      }
    }
    this.#status.textContent = text;
  }

  #renderMoves(b: Board | undefined): void {
    const moves = b?.moves ?? [];
    const items: HTMLElement[] = [];
    for (let i = 0; i < moves.length; i += 2) {
      items.push(make("li", "", moves.slice(i, i + 2).join("  ")));
    }
    this.#movesEl.replaceChildren(...items);
    this.#movesEl.scrollTop = this.#movesEl.scrollHeight;
  }

  #renderButtons(): void {
    const g = this.#game;
    const b = g.board;
    const me = this.#session.welcome?.playerId ?? "";
    const playing = b?.status === "playing" && !this.#abort.signal.aborted;
    this.#drawBtn.textContent = g.drawOffered ? "Accept draw" : b?.drawOffer === me && me !== "" ? "Draw offered" : "Offer draw";
    this.#drawBtn.disabled = !playing || (b?.drawOffer === me && me !== "");
    this.#drawBtn.classList.toggle("primary", g.drawOffered);
    if (this.#resignArmed === undefined) {
      this.#resignBtn.textContent = "Resign";
    }
    this.#resignBtn.disabled = !playing;
  }

  #renderClocks(): void {
    const b = this.#game.board;
    const color = this.#game.color ?? "white";
    const other = color === "white" ? "black" : "white";
    const c = this.#game.clocks();
    const ms = (side: string) => (side === "white" ? c.whiteMs : c.blackMs);
    const id = (side: string) => (side === "white" ? b?.whitePlayerId : b?.blackPlayerId) ?? "";
    const set = (slot: "top" | "bottom", side: string, you: boolean) => {
      const who = id(side);
      byId(`clock-${slot}-name`).textContent = `${you ? "You" : who === "" ? "Opponent" : this.#nameOf(who)} · ${side}`;
      byId(`clock-${slot}-time`).textContent = clockText(b === undefined ? 0 : ms(side));
      const el = byId(`clock-${slot}`);
      el.classList.toggle("running", b?.status === "playing" && b.turn === side);
      el.classList.toggle("low", b !== undefined && ms(side) < 20_000);
    };
    set("top", other, false);
    set("bottom", color, true);
  }
}

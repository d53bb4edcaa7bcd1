// The page's controller: sign-in as a guest, the lobby, the matchmaking
// search (a ticket's long-poll, cancellable), the match (the arena or the
// chess screen on an SDK Session), the result, the leaderboard, and coming
// back after a reload (the guest and the match are kept in sessionStorage;
// a match is found again through GET /v1/matches/{id}, which gives a fresh
// ws_url).
import {
  ApiError,
  RestClient,
  Session,
  describeClose,
  type Leaderboard,
  type Match,
  type MatchEnd,
  type SessionEnd,
  type Ticket,
} from "../../sdk/ts/src/index.js";

import { ArenaScreen } from "./arena.js";
import { ChessScreen, statusText } from "./chess.js";
import { byId, deltaText, make, ratingText, show } from "./dom.js";
import type { ControlsOverride, DemoHook, DemoState, ResultLine, ScreenName } from "./hook.js";
import { ByteCounter, loadGuest, loadPlay, saveGuest, savePlay, type StoredGuest } from "./net.js";

const SCREENS: readonly ScreenName[] = ["signin", "lobby", "queue", "arena", "chess"];
// NAME_LOOKUPS bounds the player names the page remembers.
const NAME_LOOKUPS = 256;

// ResultRow is one line of the result panel.
interface ResultRow {
  readonly playerId: string;
  readonly score: number;
  readonly placement: number;
  readonly ratingBefore?: number;
  readonly ratingAfter?: number;
}

// ResultView is what the result panel shows.
interface ResultView {
  readonly reason: string;
  readonly rows: readonly ResultRow[];
}

const REASONS: Record<string, string> = {
  score_limit: "Score limit reached",
  time_limit: "Time is up",
  forfeit: "A player forfeited",
  shutdown: "The server shut down",
  server_lost: "The server was lost",
  abandoned: "Abandoned",
};

/**
 * App is the page. Construct it once the DOM is ready and call start; it
 * installs the test hook (window.arbiterDemo).
 */
export class App {
  readonly #anon = new RestClient(location.origin);
  readonly #bytes = new ByteCounter();
  readonly #names = new Map<string, string>(); // player ID → name; "" while asked
  #api: RestClient | undefined;
  #guest: StoredGuest | undefined;
  #screen: ScreenName = "signin";
  #mode = "duel";
  #boardMode = "duel";
  #ticketId = "";
  #matchId = "";
  #search: AbortController | undefined;
  #queueStarted = 0;
  #queueTimer: ReturnType<typeof setInterval> | undefined;
  #session: Session | undefined;
  #arena: ArenaScreen | undefined;
  #chess: ChessScreen | undefined;
  #matchEnd: MatchEnd | undefined;
  #closed: { code: number; reason: string } | undefined;
  #result: ResultView | undefined;
  #resultTitle = "";

  /** Wires the page's controls and comes back to where the tab was. */
  start(): void {
    this.#wire();
    this.#installHook();
    void this.#restore();
  }

  // ---- Screens ----

  #showScreen(s: ScreenName): void {
    this.#screen = s;
    for (const name of SCREENS) {
      show(byId(`screen-${name}`), name === s);
    }
    show(byId("stats"), s === "arena");
    const g = this.#guest;
    show(byId("who"), g !== undefined);
    byId("who-name").textContent = g?.name ?? "";
    if (s === "signin") {
      byId<HTMLInputElement>("name").focus();
    }
  }

  #notice(text: string): void {
    const n = byId("notice");
    n.textContent = text;
    show(n, text !== "");
  }

  #wire(): void {
    byId<HTMLFormElement>("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.#signIn(byId<HTMLInputElement>("name").value.trim());
    });
    byId("signout").addEventListener("click", () => this.#signOut(""));
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
      r.addEventListener("change", () => {
        if (r.checked) {
          this.#mode = r.value;
          void this.#loadLeaderboard(r.value);
        }
      });
    }
    byId("queue").addEventListener("click", () => void this.#queue(this.#mode));
    byId("cancel").addEventListener("click", () => void this.#cancel());
    byId("lobby").addEventListener("click", () => this.#toLobby());
    byId("again").addEventListener("click", () => {
      this.#endGame();
      void this.#queue(this.#mode);
    });
    for (const tab of document.querySelectorAll<HTMLButtonElement>("#leaderboard [data-mode]")) {
      tab.addEventListener("click", () => void this.#loadLeaderboard(tab.dataset["mode"] ?? "duel"));
    }
  }

  // ---- The guest ----

  async #signIn(name: string): Promise<void> {
    if (name === "") {
      return;
    }
    const button = byId<HTMLButtonElement>("signin");
    button.disabled = true;
    try {
      const g = await this.#anon.createGuest(name);
      this.#setGuest({ playerId: g.player_id, token: g.token, name });
      this.#notice("");
      this.#toLobby();
    } catch (err) {
      this.#notice(`Could not sign in: ${errorText(err)}`);
    } finally {
      button.disabled = false;
    }
  }

  #setGuest(g: StoredGuest | undefined): void {
    this.#guest = g;
    saveGuest(g);
    this.#api = g === undefined ? undefined : this.#anon.withToken(g.token);
    if (g !== undefined) {
      this.#names.set(g.playerId, g.name);
    }
  }

  #signOut(why: string): void {
    this.#search?.abort();
    this.#search = undefined;
    this.#endGame();
    savePlay(undefined);
    this.#setGuest(undefined);
    this.#showScreen("signin");
    this.#notice(why);
    this.#renderLeaderboard(undefined);
  }

  // ---- Matchmaking ----

  #toLobby(): void {
    this.#endGame();
    this.#showScreen("lobby");
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
      r.checked = r.value === this.#mode;
    }
    void this.#loadLeaderboard(this.#boardMode === this.#mode ? this.#boardMode : this.#mode);
  }

  async #queue(mode: string): Promise<void> {
    const api = this.#api;
    if (api === undefined) {
      return;
    }
    this.#mode = mode;
    this.#notice("");
    const ctl = new AbortController();
    this.#search = ctl;
    this.#showQueue(mode);
    let t: Ticket;
    try {
      t = await api.createTicket(mode, ctl.signal);
    } catch (err) {
      if (!ctl.signal.aborted) {
        this.#searchFailed(ctl, err);
      }
      return;
    }
    this.#ticketId = t.ticket_id;
    savePlay({ mode, ticketId: t.ticket_id });
    byId<HTMLButtonElement>("cancel").disabled = false;
    await this.#awaitTicket(mode, t.ticket_id, ctl);
  }

  #showQueue(mode: string): void {
    this.#showScreen("queue");
    byId("queue-mode").textContent = mode;
    // Cancelling needs the ticket's ID: not before it is created.
    byId<HTMLButtonElement>("cancel").disabled = true;
    this.#queueStarted = performance.now();
    const tick = () => {
      const s = Math.floor((performance.now() - this.#queueStarted) / 1000);
      byId("queue-time").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    };
    tick();
    if (this.#queueTimer !== undefined) {
      clearInterval(this.#queueTimer);
    }
    this.#queueTimer = setInterval(tick, 1000);
  }

  #stopQueueTimer(): void {
    if (this.#queueTimer !== undefined) {
      clearInterval(this.#queueTimer);
      this.#queueTimer = undefined;
    }
  }

  async #awaitTicket(mode: string, ticketId: string, ctl: AbortController): Promise<void> {
    const api = this.#api!;
    let t: Ticket & { match_id: string; ws_url: string };
    try {
      t = await api.awaitMatch(ticketId, ctl.signal);
    } catch (err) {
      if (!ctl.signal.aborted) {
        this.#searchFailed(ctl, err);
      }
      return;
    }
    if (this.#search !== ctl) {
      return;
    }
    this.#search = undefined;
    this.#stopQueueTimer();
    savePlay({ mode, ticketId, matchId: t.match_id });
    await this.#play(mode, t.match_id, t.ws_url);
  }

  #searchFailed(ctl: AbortController, err: unknown): void {
    if (this.#search === ctl) {
      this.#search = undefined;
    }
    this.#stopQueueTimer();
    savePlay(undefined);
    if (err instanceof ApiError && err.status === 401) {
      this.#signOut("Your guest session has expired (the server restarted?): sign in again.");
      return;
    }
    this.#toLobby();
    if (err instanceof ApiError && err.code === "ticket_expired") {
      this.#notice("Nobody was found in time: try again.");
    } else if (err instanceof ApiError && err.code === "ticket_cancelled") {
      this.#notice("");
    } else if (err instanceof ApiError && err.status === 409) {
      this.#notice("You are already searching or playing (in another tab?).");
    } else {
      this.#notice(`Matchmaking failed: ${errorText(err)}`);
    }
  }

  async #cancel(): Promise<void> {
    const ctl = this.#search;
    const api = this.#api;
    if (ctl === undefined || api === undefined || this.#ticketId === "") {
      return;
    }
    this.#search = undefined;
    ctl.abort();
    this.#stopQueueTimer();
    try {
      await api.cancelTicket(this.#ticketId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        // Matched meanwhile: play it.
        const again = new AbortController();
        this.#search = again;
        await this.#awaitTicket(this.#mode, this.#ticketId, again);
        return;
      }
      this.#notice(`Could not cancel: ${errorText(err)}`);
    }
    savePlay(undefined);
    this.#toLobby();
  }

  // ---- The match ----

  async #play(mode: string, matchId: string, wsUrl: string): Promise<void> {
    const api = this.#api!;
    this.#endGame();
    this.#matchId = matchId;
    this.#matchEnd = undefined;
    this.#closed = undefined;
    this.#notice("");
    const session = new Session(wsUrl, { webSocket: this.#bytes.factory(), locate: api.locator(matchId) });
    this.#session = session;
    session.on("matchEnd", (m) => {
      this.#matchEnd = m;
    });
    session.on("disconnect", (c) => {
      if (this.#session === session) {
        this.#notice(`Connection lost (${describeClose(c)}): reconnecting…`);
      }
    });
    session.on("welcome", (_w, resumed) => {
      if (resumed && this.#session === session) {
        this.#notice("");
      }
    });
    void session.closed.then((end) => this.#onClosed(session, end));
    try {
      if (mode === "chess") {
        const chess = new ChessScreen(session, (id) => this.#nameOf(id));
        this.#chess = chess;
        this.#showScreen("chess");
        await chess.start();
      } else {
        const arena = new ArenaScreen(session, this.#bytes);
        this.#arena = arena;
        this.#showScreen("arena");
        await arena.start();
      }
    } catch {
      // The session has ended: #onClosed says why.
    }
  }

  async #onClosed(session: Session, end: SessionEnd): Promise<void> {
    if (this.#session !== session) {
      return; // a match the page has left
    }
    this.#closed = { code: end.close.code, reason: end.close.reason };
    this.#arena?.stop();
    this.#chess?.stop();
    if (end.matchEnd !== undefined) {
      savePlay(undefined);
      this.#notice("");
      this.#showResult(this.#fromMatchEnd(end.matchEnd));
      void this.#loadLeaderboard(this.#mode);
      return;
    }
    if (end.close.local && end.close.reason === "client_closed") {
      return; // the page closed it
    }
    // Ended without a MatchEnd: the match may still have a result (it
    // ended while the connection was down), or the player was removed.
    const why = end.close.kick !== undefined ? `${end.close.kick.reason}: ${end.close.kick.message}` : describeClose(end.close);
    const m = await this.#readMatch(this.#matchId);
    if (this.#session !== session) {
      return;
    }
    savePlay(undefined);
    if (m?.result !== undefined) {
      this.#notice(end.close.reason === "forfeited" ? "You were away too long and forfeited." : "");
      this.#showResult(this.#fromMatch(m));
      return;
    }
    this.#toLobby();
    this.#notice(
      end.close.reason === "replaced" ? "This match goes on in another tab, which took the seat." : `The match ended for this page (${why}).`,
    );
  }

  async #readMatch(id: string): Promise<Match | undefined> {
    try {
      return await this.#api?.match(id);
    } catch {
      return undefined;
    }
  }

  // #endGame leaves the current match's screen: its session closed, its
  // loops stopped, the result panel hidden.
  #endGame(): void {
    const s = this.#session;
    this.#session = undefined;
    s?.close();
    this.#arena?.stop();
    this.#chess?.stop();
    this.#arena = undefined;
    this.#chess = undefined;
    this.#result = undefined;
    this.#resultTitle = "";
    show(byId("result"), false);
  }

  // ---- Results ----

  #fromMatchEnd(m: MatchEnd): ResultView {
    const rows = m.results.map((r) => ({
      playerId: r.playerId,
      score: r.score,
      placement: r.placement,
      ratingBefore: r.ratingBefore,
      ratingAfter: r.ratingAfter,
    }));
    const reason = this.#chess?.ending || "Final scores";
    return { reason, rows };
  }

  #fromMatch(m: Match): ResultView {
    const res = m.result!;
    const rows = res.players.map((p) => ({
      playerId: p.player_id,
      score: p.score,
      placement: p.placement,
      ...(p.rating_before !== undefined ? { ratingBefore: p.rating_before } : {}),
      ...(p.rating_after !== undefined ? { ratingAfter: p.rating_after } : {}),
    }));
    const reason = REASONS[res.reason] ?? statusText(res.reason);
    return { reason, rows };
  }

  #showResult(r: ResultView): void {
    this.#result = r;
    const me = this.#guest?.playerId ?? "";
    const mine = r.rows.find((x) => x.playerId === me);
    const allFirst = r.rows.length > 1 && r.rows.every((x) => x.placement === 1);
    let title: string;
    if (mine === undefined) {
      title = "Match over";
    } else if (allFirst) {
      title = "Draw";
    } else if (mine.placement === 1) {
      title = "You win";
    } else if (r.rows.length === 2) {
      title = "You lose";
    } else {
      title = `You placed ${ordinal(mine.placement)}`;
    }
    this.#resultTitle = title;
    byId("result-title").textContent = title;
    byId("result-reason").textContent = r.reason;
    this.#renderResultRows();
    // Over the arena, which has nothing more to show; beside the chess
    // board, whose final position the players want to see.
    const panel = byId("result");
    const home = this.#chess !== undefined ? byId("chess-status") : byId("notice");
    home.after(panel);
    panel.classList.toggle("docked", this.#chess !== undefined);
    show(panel, true);
    byId("again").focus();
  }

  #renderResultRows(): void {
    const r = this.#result;
    if (r === undefined) {
      return;
    }
    const me = this.#guest?.playerId ?? "";
    const rows = [...r.rows].sort((a, b) => a.placement - b.placement || b.score - a.score);
    const body = byId("result-table").querySelector("tbody")!;
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = make("tr", row.playerId === me ? "me" : "");
        tr.append(make("td", "", String(row.placement)), make("td", "", this.#nameOf(row.playerId)), make("td", "num score", String(row.score)));
        const rating = make("td", "num");
        if (row.ratingBefore !== undefined && row.ratingAfter !== undefined) {
          const d = row.ratingAfter - row.ratingBefore;
          rating.append(`${ratingText(row.ratingBefore)} → ${ratingText(row.ratingAfter)} `);
          rating.append(make("span", d > 0 ? "delta up" : d < 0 ? "delta down" : "delta", deltaText(d)));
        } else {
          rating.textContent = "unrated";
        }
        tr.append(rating);
        return tr;
      }),
    );
  }

  // #nameOf returns a player's name, or a short form of the ID while the
  // name is being asked for (the views that show it redraw then).
  #nameOf(id: string): string {
    const n = this.#names.get(id);
    if (n !== undefined && n !== "") {
      return n;
    }
    const api = this.#api;
    if (n === undefined && api !== undefined && this.#names.size < NAME_LOOKUPS) {
      this.#names.set(id, "");
      api.player(id).then(
        (p) => {
          this.#names.set(id, p.name);
          this.#renderResultRows();
        },
        () => this.#names.delete(id),
      );
    }
    return `player ${id.slice(0, 6)}`;
  }

  // ---- Leaderboard ----

  async #loadLeaderboard(mode: string): Promise<void> {
    this.#boardMode = mode;
    for (const tab of document.querySelectorAll<HTMLButtonElement>("#leaderboard [data-mode]")) {
      tab.setAttribute("aria-selected", String(tab.dataset["mode"] === mode));
    }
    const api = this.#api;
    if (api === undefined) {
      this.#renderLeaderboard(undefined);
      return;
    }
    try {
      const lb = await api.leaderboard(mode, 10);
      if (this.#boardMode === mode) {
        this.#renderLeaderboard(lb);
      }
    } catch (err) {
      if (this.#boardMode === mode) {
        this.#renderLeaderboard(undefined, `Could not load: ${errorText(err)}`);
      }
    }
  }

  #renderLeaderboard(lb: Leaderboard | undefined, error = ""): void {
    const body = byId("leaderboard-rows");
    const empty = byId("leaderboard-empty");
    const me = this.#guest?.playerId ?? "";
    const entries = lb?.entries ?? [];
    body.replaceChildren(
      ...entries.map((e) => {
        const tr = make("tr", e.player_id === me ? "me" : "");
        tr.append(
          make("td", "", String(e.rank)),
          make("td", "name", e.name),
          make("td", "num", ratingText(e.rating)),
          make("td", "num", `${e.wins}–${e.losses}–${e.draws}`),
        );
        return tr;
      }),
    );
    empty.textContent = error !== "" ? error : this.#api === undefined ? "Sign in to see the leaderboard." : "No rated games yet.";
    show(empty, entries.length === 0);
  }

  // ---- Coming back after a reload ----

  async #restore(): Promise<void> {
    const g = loadGuest();
    if (g === undefined) {
      this.#showScreen("signin");
      this.#renderLeaderboard(undefined);
      return;
    }
    this.#setGuest(g);
    const p = loadPlay();
    if (p === undefined) {
      this.#toLobby();
      return;
    }
    this.#mode = p.mode;
    this.#ticketId = p.ticketId;
    void this.#loadLeaderboard(p.mode);
    const api = this.#api!;
    try {
      if (p.matchId !== undefined) {
        const m = await api.match(p.matchId);
        if (m.status === "running" || m.status === "waiting") {
          // The match's own answer has a fresh join token; a server that
          // does not give one leaves the ticket's.
          const url = m.ws_url ?? (await api.ticket(p.ticketId)).ws_url;
          if (url !== undefined) {
            await this.#play(p.mode, p.matchId, url);
            return;
          }
        }
        savePlay(undefined);
        this.#toLobby();
        if (m.result !== undefined) {
          this.#showResult(this.#fromMatch(m));
        }
        return;
      }
      const t = await api.ticket(p.ticketId);
      if (t.status === "searching") {
        const ctl = new AbortController();
        this.#search = ctl;
        this.#showQueue(p.mode);
        byId<HTMLButtonElement>("cancel").disabled = false;
        await this.#awaitTicket(p.mode, p.ticketId, ctl);
        return;
      }
      if (t.status === "matched" && t.match_id !== undefined && t.ws_url !== undefined) {
        savePlay({ mode: p.mode, ticketId: p.ticketId, matchId: t.match_id });
        await this.#play(p.mode, t.match_id, t.ws_url);
        return;
      }
      savePlay(undefined);
      this.#toLobby();
    } catch (err) {
      savePlay(undefined);
      if (err instanceof ApiError && err.status === 401) {
        this.#signOut("Your guest session has expired (the server restarted?): sign in again.");
        return;
      }
      this.#toLobby();
      this.#notice(`Could not come back to the match: ${errorText(err)}`);
    }
  }

  // ---- The test hook ----

  #installHook(): void {
    const hook: DemoHook = {
      state: () => this.#state(),
      setControls: (c: ControlsOverride | null) => this.#arena?.setControls(c),
      chessMove: (uci: string) => this.#chess?.move(uci) ?? null,
      showServer: (on: boolean) => this.#arena?.showServer(on),
    };
    window.arbiterDemo = hook;
  }

  #state(): DemoState {
    const g = this.#guest;
    const m = this.#matchEnd;
    const kicks = this.#arena?.kicks ?? this.#chess?.kicks ?? [];
    return {
      screen: this.#screen,
      playerId: g?.playerId ?? "",
      name: g?.name ?? "",
      mode: this.#mode,
      matchId: this.#matchId,
      connected: this.#session?.connected ?? false,
      kicks: [...kicks],
      ...(this.#closed !== undefined ? { closed: { ...this.#closed } } : {}),
      ...(m !== undefined ? { matchEnd: { matchId: m.matchId, results: m.results.map(resultLine) } } : {}),
      resultShown: !byId("result").hidden,
      resultTitle: this.#resultTitle,
      notice: byId("notice").hidden ? "" : (byId("notice").textContent ?? ""),
      ...(this.#arena !== undefined ? { arena: this.#arena.state() } : {}),
      ...(this.#chess !== undefined ? { chess: this.#chess.state() } : {}),
    };
  }
}

function resultLine(r: MatchEnd["results"][number]): ResultLine {
  return {
    playerId: r.playerId,
    entityId: r.entityId,
    score: r.score,
    placement: r.placement,
    ratingBefore: r.ratingBefore,
    ratingAfter: r.ratingAfter,
  };
}

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${s}`;
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    return err.apiMessage !== "" ? err.apiMessage : `HTTP ${err.status}`;
  }
  return err instanceof Error ? err.message : String(err);
}

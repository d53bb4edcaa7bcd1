/**
 * The REST API client: guest sign-in, matchmaking tickets, players,
 * matches and leaderboards, as docs/rest.md and the server's OpenAPI
 * document (`GET /v1/openapi.json`) describe them.
 *
 * @module
 */

/** The answer to `POST /v1/auth/guest`: a new player and its bearer token. */
export interface Guest {
  readonly player_id: string;
  /** The bearer token every other route wants (see {@link RestClient.withToken}). */
  readonly token: string;
}

/** A player's rating in one mode. Rating numbers are rounded to 2 decimals, volatility to 6. */
export interface Rating {
  readonly rating: number;
  /** Glicko-2 rating deviation; absent for Elo modes. */
  readonly rd?: number;
  /** Glicko-2 volatility; absent for Elo modes. */
  readonly volatility?: number;
  readonly games: number;
  readonly wins: number;
  readonly losses: number;
  readonly draws: number;
}

/** The answer to `GET /v1/players/{id}`. */
export interface Player {
  readonly player_id: string;
  readonly name: string;
  /** By mode; empty if the player has played no rated match. */
  readonly ratings: Readonly<Record<string, Rating>>;
}

/**
 * Where a matchmaking ticket stands. Only `searching` changes; the others
 * are final (`expired`: searched for 10 minutes).
 */
export type TicketStatus = "searching" | "matched" | "cancelled" | "expired";

/**
 * A matchmaking ticket, as `POST /v1/matchmaking/tickets` and
 * `GET /v1/matchmaking/tickets/{id}` answer it. `match_id`, `ws_url` and
 * `join_token` are set once it is matched.
 */
export interface Ticket {
  readonly ticket_id: string;
  readonly status: TicketStatus;
  readonly match_id?: string;
  /**
   * The absolute WebSocket URL of the match, join token included: what
   * {@link Session} connects to. It names the server hosting the match now,
   * so a ticket read again after that server died gives the new one.
   */
  readonly ws_url?: string;
  readonly join_token?: string;
}

/** Where a match stands; `aborted`: stopped by a shutdown or a failure, rating no one. */
export type MatchStatus = "waiting" | "running" | "ended" | "aborted";

/** The answer to `GET /v1/matches/{id}`. */
export interface Match {
  readonly match_id: string;
  readonly mode: string;
  readonly status: MatchStatus;
  /** Player IDs in seat order. */
  readonly players: readonly string[];
  /** RFC 3339. */
  readonly created_at: string;
  /**
   * While the match runs, to its players only: the WebSocket URL to
   * connect to it now, with a fresh join token — the way back in after a
   * page reload, or after the server that ran the match was lost and a
   * peer took it over (chess).
   */
  readonly ws_url?: string;
  /** With ws_url: the fresh join token it carries. */
  readonly join_token?: string;
  /** Once the match has ended or was aborted. */
  readonly result?: MatchResult;
  /**
   * The game's own record of the ended match, as the game wrote it: for
   * chess `{ moves, pgn, fen }` ({@link ChessRecord}). Absent for a game
   * that keeps none (the arena) and while the match runs.
   */
  readonly record?: Readonly<Record<string, unknown>>;
}

/** A chess match's {@link Match.record}. */
export interface ChessRecord {
  /** Every move, in UCI, from the start. */
  readonly moves: readonly string[];
  /** The game in PGN, with its result. */
  readonly pgn: string;
  /** The final position. */
  readonly fen: string;
}

/** How a match ended. */
export interface MatchResult {
  /** `score_limit`, `time_limit`, `forfeit`, `shutdown`, the game's own (chess: `checkmate`, …). */
  readonly reason: string;
  /** RFC 3339. */
  readonly ended_at: string;
  /** In seat order. */
  readonly players: readonly MatchPlayerResult[];
}

/** One player's part of a {@link MatchResult}. */
export interface MatchPlayerResult {
  readonly player_id: string;
  readonly score: number;
  /** 1 is first; ties share a placement; forfeits are last. */
  readonly placement: number;
  readonly forfeit: boolean;
  /** Absent until the result is rated, and for an aborted match. */
  readonly rating_before?: number;
  /** Absent until the result is rated, and for an aborted match. */
  readonly rating_after?: number;
}

/** The answer to `GET /v1/leaderboard/{mode}`. */
export interface Leaderboard {
  readonly mode: string;
  /** Best first; empty if none. */
  readonly entries: readonly LeaderboardEntry[];
}

/** One line of a {@link Leaderboard}. */
export interface LeaderboardEntry {
  /** 1-based. */
  readonly rank: number;
  readonly player_id: string;
  readonly name: string;
  readonly rating: number;
  readonly games: number;
  readonly wins: number;
  readonly losses: number;
  readonly draws: number;
}

/**
 * An answer other than the one a {@link RestClient} method expects: the
 * HTTP status, and the API's error code and message (`{"error":{"code",
 * "message"}}`). When the body is not the API's error shape (a proxy's
 * page), `code` is empty and `message` quotes the start of the body.
 */
export class ApiError extends Error {
  /** The request's method. */
  readonly method: string;
  /** The request's path and query, under the base URL. */
  readonly path: string;
  /** The HTTP status, such as 404. */
  readonly status: number;
  /** The API's error code, stable and lowercase (`not_found`, `conflict`, `unknown_mode`, …); empty if none. */
  readonly code: string;
  /** The server's Retry-After (429, 503) in milliseconds, or 0. */
  readonly retryAfterMs: number;
  /** The API's message, for humans, without the request. */
  readonly apiMessage: string;

  /** Returns the error of an unexpected answer. */
  constructor(method: string, path: string, status: number, code: string, message: string, retryAfterMs = 0) {
    let text = `arbiter: ${method} ${path}: status ${status}`;
    if (code !== "") {
      text += ` ${code}: ${message}`;
    } else if (message !== "") {
      text += `: ${message}`;
    }
    super(text);
    this.name = "ApiError";
    this.method = method;
    this.path = path;
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.apiMessage = message;
  }
}

/** The fetch function a {@link RestClient} calls: `globalThis.fetch` or a test's. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** Options of a {@link RestClient}. */
export interface RestOptions {
  /** The bearer token sent on every request (from {@link RestClient.createGuest}); none if absent. */
  readonly token?: string;
  /** Makes the requests; default `globalThis.fetch`. */
  readonly fetch?: Fetch;
  /**
   * How long {@link RestClient.awaitTicket} asks the server to hold each
   * long-poll, in milliseconds: default 25 000, under the server's limit of
   * 30 s and the idle timeouts of common proxies.
   */
  readonly longPollMs?: number;
}

/** Default of {@link RestOptions.longPollMs}. */
export const DEFAULT_LONG_POLL_MS = 25_000;

// MIN_POLL_INTERVAL_MS spaces the polls of awaitTicket that the server
// answered without holding them (it is shutting down, say), so that they do
// not hammer it.
const MIN_POLL_INTERVAL_MS = 1000;
// MAX_ERROR_TEXT bounds the raw body an ApiError quotes.
const MAX_ERROR_TEXT = 200;

/**
 * A client of one Arbiter server's REST API, as one player (with a bearer
 * token) or as nobody (sign-up). It holds no connection and no state but
 * its options: it is immutable; {@link RestClient.withToken} makes another
 * for a different player. Every method takes an optional AbortSignal and
 * rejects with the signal's reason when it aborts.
 */
export class RestClient {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: Fetch;
  readonly #longPollMs: number;

  /**
   * Returns a client of the server at baseUrl, `http(s)://host[:port]`,
   * optionally with a path prefix under which a proxy serves the API. It
   * sends nothing.
   *
   * @throws TypeError if baseUrl is not an http or https URL.
   */
  constructor(baseUrl: string, options: RestOptions = {}) {
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch {
      throw new TypeError(`arbiter: base URL ${JSON.stringify(baseUrl)}: want http(s)://host[:port]`);
    }
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username !== "" || u.password !== "") {
      throw new TypeError(`arbiter: base URL ${JSON.stringify(baseUrl)}: want http(s)://host[:port]`);
    }
    this.#base = u.origin + u.pathname.replace(/\/+$/, "");
    this.#token = options.token ?? "";
    const f = options.fetch ?? globalThis.fetch;
    if (f === undefined) {
      throw new TypeError("arbiter: no fetch: pass RestOptions.fetch");
    }
    // Called unbound, as a browser's fetch must be.
    this.#fetch = (input, init) => f(input, init);
    this.#longPollMs = options.longPollMs ?? DEFAULT_LONG_POLL_MS;
  }

  /** The server's base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.#base;
  }

  /** Returns a client like this one that acts with token as its bearer token. */
  withToken(token: string): RestClient {
    return new RestClient(this.#base, { token, fetch: this.#fetch, longPollMs: this.#longPollMs });
  }

  /** Signs up a new player named name (1–32 printable characters): `POST /v1/auth/guest`. */
  createGuest(name: string, signal?: AbortSignal): Promise<Guest> {
    return this.#do<Guest>("POST", "/v1/auth/guest", { name }, 201, signal);
  }

  /** Returns player id's profile and ratings: `GET /v1/players/{id}`. */
  player(id: string, signal?: AbortSignal): Promise<Player> {
    return this.#do<Player>("GET", `/v1/players/${encodeURIComponent(id)}`, undefined, 200, signal);
  }

  /**
   * Starts searching for a match in mode (`duel`, `ffa`, `chess`, …):
   * `POST /v1/matchmaking/tickets`. A player who already has a searching
   * ticket or is in a match that has not ended gets an {@link ApiError}
   * with status 409; an unknown mode, 400 `unknown_mode`.
   */
  createTicket(mode: string, signal?: AbortSignal): Promise<Ticket> {
    return this.#do<Ticket>("POST", "/v1/matchmaking/tickets", { mode }, 201, signal);
  }

  /**
   * Returns ticket id: `GET /v1/matchmaking/tickets/{id}`. With waitMs > 0
   * the server holds the answer while the ticket is searching, for up to
   * waitMs (at most 30 s; more is a 400); it answers at once otherwise. A
   * finished ticket stays readable only as long as a client needs it (a
   * matched one while its join token is valid); after that it is a 404.
   */
  ticket(id: string, waitMs = 0, signal?: AbortSignal): Promise<Ticket> {
    let path = `/v1/matchmaking/tickets/${encodeURIComponent(id)}`;
    if (waitMs > 0) {
      path += `?wait=${Math.ceil(waitMs)}ms`;
    }
    return this.#do<Ticket>("GET", path, undefined, 200, signal);
  }

  /**
   * Long-polls ticket id until it is no longer searching and returns it:
   * matched, cancelled or expired, which the caller checks (see
   * {@link RestClient.awaitMatch}). Polls the server answers early are
   * spaced a second apart. It runs until the ticket is settled, an error,
   * or signal aborts.
   */
  async awaitTicket(id: string, signal?: AbortSignal): Promise<Ticket> {
    for (;;) {
      const start = Date.now();
      const t = await this.ticket(id, this.#longPollMs, signal);
      if (t.status !== "searching") {
        return t;
      }
      await sleep(MIN_POLL_INTERVAL_MS - (Date.now() - start), signal);
    }
  }

  /**
   * Long-polls ticket id until it is matched and returns it, with its
   * `match_id`, `ws_url` and `join_token` set. A ticket that ends otherwise
   * (cancelled, expired) rejects with an {@link ApiError} of status 0 and
   * code `ticket_cancelled` or `ticket_expired`.
   */
  async awaitMatch(id: string, signal?: AbortSignal): Promise<Ticket & { match_id: string; ws_url: string }> {
    const t = await this.awaitTicket(id, signal);
    if (t.status !== "matched" || t.match_id === undefined || t.ws_url === undefined) {
      const path = `/v1/matchmaking/tickets/${encodeURIComponent(id)}`;
      throw new ApiError("GET", path, 0, `ticket_${t.status}`, `ticket ${id} is ${t.status}, not matched`);
    }
    return t as Ticket & { match_id: string; ws_url: string };
  }

  /**
   * Cancels ticket id: `DELETE /v1/matchmaking/tickets/{id}`. It succeeds
   * for a ticket already cancelled or expired; a matched one is an
   * {@link ApiError} with status 409.
   */
  async cancelTicket(id: string, signal?: AbortSignal): Promise<void> {
    await this.#do<undefined>("DELETE", `/v1/matchmaking/tickets/${encodeURIComponent(id)}`, undefined, 204, signal, false);
  }

  /** Returns match id: its status and players, its result and record once ended: `GET /v1/matches/{id}`. */
  match(id: string, signal?: AbortSignal): Promise<Match> {
    return this.#do<Match>("GET", `/v1/matches/${encodeURIComponent(id)}`, undefined, 200, signal);
  }

  /** Returns the top limit players of mode by rating (default 10, at most 100): `GET /v1/leaderboard/{mode}`. */
  leaderboard(mode: string, limit = 0, signal?: AbortSignal): Promise<Leaderboard> {
    let path = `/v1/leaderboard/${encodeURIComponent(mode)}`;
    if (limit !== 0) {
      path += `?limit=${limit}`;
    }
    return this.#do<Leaderboard>("GET", path, undefined, 200, signal);
  }

  /**
   * Returns a {@link Locate} for a {@link Session} in match matchId (the
   * Go client's `rest.Client.Locator`): before a reconnection attempt it
   * reads the match, whose `ws_url` is where the match runs now (with a
   * fresh join token: another server may have taken it over), and answers
   * null — stop trying — when the match has ended or been aborted, or is
   * not there (404). Any other failure answers undefined: try the URL in
   * use.
   */
  locator(matchId: string): Locate {
    return async (signal) => {
      try {
        const m = await this.match(matchId, signal);
        if (m.status === "ended" || m.status === "aborted") {
          return null;
        }
        return m.ws_url;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          return null;
        }
        if (signal.aborted) {
          throw err;
        }
        return undefined;
      }
    };
  }

  /** Reports whether the server is alive (`GET /healthz`); rejects with an ApiError otherwise. */
  async health(signal?: AbortSignal): Promise<void> {
    await this.#do<undefined>("GET", "/healthz", undefined, 200, signal, false);
  }

  /**
   * Reports whether the server can serve, its stores reachable
   * (`GET /readyz`); rejects with an ApiError (503 `not_ready`) while it
   * cannot.
   */
  async ready(signal?: AbortSignal): Promise<void> {
    await this.#do<undefined>("GET", "/readyz", undefined, 200, signal, false);
  }

  // #do sends one request, with body (if defined) as JSON, and decodes an
  // answer with status want (if decode); any other status is an ApiError.
  async #do<T>(method: string, path: string, body: unknown, want: number, signal?: AbortSignal, decode = true): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (this.#token !== "") {
      headers["Authorization"] = `Bearer ${this.#token}`;
    }
    if (signal !== undefined) {
      init.signal = signal;
    }
    const resp = await this.#fetch(this.#base + path, init);
    const text = await resp.text();
    if (resp.status !== want) {
      throw apiError(method, path, resp, text);
    }
    if (!decode) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new ApiError(method, path, resp.status, "", `decode answer: ${(err as Error).message}`);
    }
  }
}

/**
 * Where a {@link Session} reconnects: called before each reconnection
 * attempt after one that failed to connect, it answers the WebSocket URL to
 * try (the server hosting the match may have changed), undefined to try the
 * one in use, or null when the match cannot be rejoined (it has ended, the
 * join token has expired): the session then gives up. It should reject
 * only when signal aborts. {@link RestClient.locator} makes one.
 */
export type Locate = (signal: AbortSignal) => Promise<string | null | undefined>;

function apiError(method: string, path: string, resp: Response, text: string): ApiError {
  let retryAfterMs = 0;
  const ra = Number(resp.headers.get("Retry-After") ?? "");
  if (Number.isInteger(ra) && ra > 0) {
    retryAfterMs = ra * 1000;
  }
  try {
    const b = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof b.error?.code === "string" && b.error.code !== "") {
      return new ApiError(method, path, resp.status, b.error.code, String(b.error.message ?? ""), retryAfterMs);
    }
  } catch {
    // Not the API's shape: quote the body.
  }
  let quote = text.trim();
  if (quote.length > MAX_ERROR_TEXT) {
    quote = quote.slice(0, MAX_ERROR_TEXT) + "…";
  }
  return new ApiError(method, path, resp.status, "", quote, retryAfterMs);
}

/**
 * Waits ms milliseconds, or until signal aborts (rejecting with its
 * reason). Not positive: returns at once, unless signal has aborted.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

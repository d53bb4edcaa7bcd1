/**
 * The close vocabulary of the game protocol: why a game connection ended.
 *
 * A server-initiated close is preceded by a `Kick` whose `reason` is one
 * lowercase word, and the close frame carries the same word as its reason
 * text. Each word has its WebSocket close code and says whether the player
 * may reconnect with the same join token. This is the same list as the Go
 * server's `arbiterv1.CloseReason` (proto/arbiter/v1/close.go) and the
 * "Closing" tables of docs/protocol.md; a test holds it to the Go file.
 *
 * @module
 */

/**
 * A reason word of the protocol's vocabulary. A word received from a newer
 * server, unknown here, is kept as it came (a plain string), and is not
 * resumable.
 */
export type CloseReason =
  | "match_over"
  | "shutdown"
  | "idle"
  | "text_frame"
  | "bad_frame"
  | "input_flood"
  | "cheat"
  | "slow_consumer"
  | "too_big"
  | "internal_error"
  | "replaced"
  | "forfeited"
  | "client_closed"
  | "protocol"
  | "network";

interface ReasonInfo {
  readonly code: number;
  readonly resumable: boolean;
}

// CLOSE_REASONS is the vocabulary in docs/protocol.md's order: the server's
// reasons first, then the ends of a connection the server does not send.
const CLOSE_REASONS: ReadonlyMap<string, ReasonInfo> = new Map<CloseReason, ReasonInfo>([
  ["match_over", { code: 1000, resumable: false }],
  ["shutdown", { code: 1001, resumable: true }],
  ["idle", { code: 1001, resumable: true }],
  ["text_frame", { code: 1003, resumable: false }],
  ["bad_frame", { code: 1007, resumable: false }],
  ["input_flood", { code: 1008, resumable: false }],
  ["cheat", { code: 1008, resumable: false }],
  ["slow_consumer", { code: 1008, resumable: true }],
  ["too_big", { code: 1009, resumable: false }],
  ["internal_error", { code: 1011, resumable: true }],
  ["replaced", { code: 4000, resumable: false }],
  ["forfeited", { code: 4001, resumable: false }],
  ["client_closed", { code: 1000, resumable: true }],
  ["protocol", { code: 1002, resumable: true }],
  ["network", { code: 1006, resumable: true }],
]);

/** Every reason of the vocabulary, those the server sends first, in docs/protocol.md's order. */
export function closeReasons(): CloseReason[] {
  return [...CLOSE_REASONS.keys()] as CloseReason[];
}

/** Reports whether word is one of the vocabulary's reasons. */
export function isCloseReason(word: string): word is CloseReason {
  return CLOSE_REASONS.has(word);
}

/**
 * The WebSocket close code that goes with a reason word; 1011 (internal
 * error) for a word outside the vocabulary.
 */
export function closeCode(reason: string): number {
  return CLOSE_REASONS.get(reason)?.code ?? 1011;
}

/**
 * Reports whether a player whose connection ended for this reason may
 * reconnect with the same join token: yes when the reason describes the
 * server, the path or the client's own choice (shutdown, idle,
 * slow_consumer, internal_error, client_closed, protocol, network), no for
 * a verdict on the player or its match (match_over, replaced, forfeited,
 * cheat, and the frames no honest client sends). An unknown word is not
 * resumable.
 */
export function isResumableReason(reason: string): boolean {
  return CLOSE_REASONS.get(reason)?.resumable ?? false;
}

/**
 * How one connection of a session ended: the close code and reason the
 * server (or this client) sent, the Kick that preceded it, and whether the
 * player may come back.
 */
export interface CloseInfo {
  /**
   * The WebSocket close code: the server's (1000 match_over, 1001 shutdown
   * or idle, 1008 policy, 4000 replaced, 4001 forfeited, …) when the server
   * closed; this client's own when it did ({@link CloseInfo.local}); 1006
   * when the connection ended without a close frame.
   */
  readonly code: number;
  /**
   * The close frame's reason text, a word of the vocabulary such as
   * `match_over` (or whatever text a proxy outside it sent), or this
   * client's own reason when local; empty if none.
   */
  readonly reason: string;
  /**
   * Whether this client closed the connection: {@link Session.close}
   * (`client_closed`), a server that broke the protocol (`protocol`,
   * `bad_frame`, `text_frame`, `too_big`), or a connection silent past the
   * heartbeat timeout (`network`).
   */
  readonly local: boolean;
  /** The last Kick the server sent before closing, if any. */
  readonly kick?: { readonly reason: string; readonly message: string };
  /** The local cause, if any: what broke the protocol, or the error that ended the connection. */
  readonly error?: unknown;
}

/**
 * Reports whether the player may reconnect with the same join token after a
 * connection ended this way (what the Go client's `CloseError.Resumable`
 * decides):
 *
 * - yes when the connection dropped without a close frame (1006), when this
 *   side closed, and for server closes that describe the server or the path
 *   rather than the player: 1001 (shutdown, idle), 1011 internal error,
 *   1012–1014 (restart, try again later, bad gateway, sent by proxies), and
 *   1008 `slow_consumer`;
 * - no when the server gave a verdict: 1000 (match over), 4000 (replaced),
 *   4001 (forfeited), 1008 `cheat` or `input_flood`, 1003, 1007, 1009, any
 *   other code, or a Kick whose reason is not resumable, whatever code
 *   followed it.
 */
export function isResumable(c: CloseInfo): boolean {
  if (c.kick !== undefined && c.kick.reason !== "" && !isResumableReason(c.kick.reason)) {
    return false;
  }
  if (c.local) {
    return true;
  }
  switch (c.code) {
    case 1006:
    case 1001:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    case 1008: // also cheat's and input_flood's
      return c.reason === "slow_consumer" || c.kick?.reason === "slow_consumer";
  }
  return false;
}

/** Describes c in one line, for logs and error messages. */
export function describeClose(c: CloseInfo): string {
  let s = `code ${c.code}`;
  if (c.reason !== "") {
    s += ` (${c.reason})`;
  }
  if (c.local) {
    s += ", closed by this client";
  }
  if (c.kick !== undefined && c.kick.reason !== "") {
    s += `, kicked: ${c.kick.reason}`;
    if (c.kick.message !== "") {
      s += `: ${c.kick.message}`;
    }
  }
  if (c.error !== undefined) {
    s += `: ${c.error instanceof Error ? c.error.message : String(c.error)}`;
  }
  return s;
}

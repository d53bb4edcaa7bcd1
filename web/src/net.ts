// What the page keeps about the network and about itself across a reload:
// a WebSocket factory that counts bytes for the stats panel, and the guest
// and the match in sessionStorage (per tab, so two tabs are two players).
import type { WebSocketFactory, WebSocketLike } from "../../sdk/ts/src/index.js";

/** Bytes through the page's game WebSockets, both ways, since the page loaded. */
export class ByteCounter {
  /** Bytes received in binary frames. */
  down = 0;
  /** Bytes sent. */
  up = 0;

  /** Returns a factory for SessionOptions.webSocket that opens browser WebSockets counted here. */
  factory(): WebSocketFactory {
    return (url: string): WebSocketLike => {
      const ws = new WebSocket(url);
      ws.addEventListener("message", (ev: MessageEvent) => {
        const d: unknown = ev.data;
        if (d instanceof ArrayBuffer) {
          this.down += d.byteLength;
        }
      });
      const send = ws.send.bind(ws);
      ws.send = (data: string | ArrayBufferLike | Blob | ArrayBufferView) => {
        if (ArrayBuffer.isView(data)) {
          this.up += data.byteLength;
        }
        send(data);
      };
      return ws as unknown as WebSocketLike;
    };
  }
}

/** The signed-in guest, as the page keeps it. */
export interface StoredGuest {
  readonly playerId: string;
  readonly token: string;
  readonly name: string;
}

/**
 * The match (or search) the page is in, so that a reload comes back to
 * it: a ticket still searching, or a matched one with its match.
 */
export interface StoredPlay {
  readonly mode: string;
  readonly ticketId: string;
  readonly matchId?: string;
}

const GUEST_KEY = "arbiter-demo.guest";
const PLAY_KEY = "arbiter-demo.play";

/** Returns the guest kept in this tab, if any. */
export function loadGuest(): StoredGuest | undefined {
  const v = read(GUEST_KEY) as Partial<StoredGuest> | undefined;
  if (typeof v?.playerId === "string" && typeof v.token === "string" && typeof v.name === "string") {
    return { playerId: v.playerId, token: v.token, name: v.name };
  }
  return undefined;
}

/** Keeps g in this tab, or forgets the guest (undefined). */
export function saveGuest(g: StoredGuest | undefined): void {
  write(GUEST_KEY, g);
}

/** Returns the search or match kept in this tab, if any. */
export function loadPlay(): StoredPlay | undefined {
  const v = read(PLAY_KEY) as Partial<StoredPlay> | undefined;
  if (typeof v?.mode === "string" && typeof v.ticketId === "string") {
    return { mode: v.mode, ticketId: v.ticketId, ...(typeof v.matchId === "string" ? { matchId: v.matchId } : {}) };
  }
  return undefined;
}

/** Keeps p in this tab, or forgets it (undefined). */
export function savePlay(p: StoredPlay | undefined): void {
  write(PLAY_KEY, p);
}

function read(key: string): unknown {
  try {
    const s = sessionStorage.getItem(key);
    return s === null ? undefined : (JSON.parse(s) as unknown);
  } catch {
    return undefined; // storage disabled, or not ours
  }
}

function write(key: string, v: unknown): void {
  try {
    if (v === undefined) {
      sessionStorage.removeItem(key);
    } else {
      sessionStorage.setItem(key, JSON.stringify(v));
    }
  } catch {
    // Storage disabled: the page works, a reload starts over.
  }
}

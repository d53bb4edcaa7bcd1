// Test doubles for the session's unit tests: a clock whose time moves only
// when told, and a WebSocket whose server side the test plays.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";

import { ClientMessageSchema, ServerMessageSchema, type ClientMessage, type SnapshotEncoding } from "../src/gen/arbiter/v1/arbiter_pb.js";
import type { Clock, WebSocketLike } from "../src/session.js";

interface Timer {
  at: number;
  id: number;
  fn: () => void;
}

/** FakeClock is a Clock whose time moves only by advance. */
export class FakeClock implements Clock {
  #now = 1000;
  #timers: Timer[] = [];
  #next = 1;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.#now + Math.max(ms, 0), id: this.#next++, fn };
    this.#timers.push(t);
    return t.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** The timers pending. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time on by ms, running every timer that falls due on the way, in
   * order, with the promise jobs they start settled in between.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flush();
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.#timers[0];
      if (t === undefined || t.at > end) {
        break;
      }
      this.#timers.shift();
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
    await flush();
  }
}

/** Settles the promise jobs queued so far (and those they queue). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

type ServerInit = MessageInitShape<typeof ServerMessageSchema>;

/** FakeSocket is a WebSocket whose server side the test plays. */
export class FakeSocket implements WebSocketLike {
  binaryType = "blob";
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  /** What the client sent, decoded. */
  readonly sent: ClientMessage[] = [];
  /** The client's close, if it closed. */
  closedWith: { code: number; reason: string } | undefined;

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    if (this.readyState !== 1) {
      throw new Error(`send on a socket in state ${this.readyState}`);
    }
    this.sent.push(fromBinary(ClientMessageSchema, data));
  }

  close(code = 1005, reason = ""): void {
    if (code !== 1000 && (code < 3000 || code > 4999)) {
      // As a browser: only 1000 and 3000–4999 may be sent.
      throw new DOMException(`close code ${code}`, "InvalidAccessError");
    }
    this.closedWith ??= { code, reason };
    this.readyState = 3;
  }

  // The server's side.

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Sends a ServerMessage. */
  serve(m: ServerInit): void {
    const b = toBinary(ServerMessageSchema, create(ServerMessageSchema, m));
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }

  /** Sends raw frame data (bytes as an ArrayBuffer, or a string: a text frame). */
  raw(data: ArrayBuffer | string): void {
    this.onmessage?.({ data });
  }

  /** Closes from the server's side with a Kick first, if reason is given, as the server does. */
  closeFromServer(code: number, reason = "", kick = true): void {
    if (kick && reason !== "") {
      this.serve({ kind: { case: "kick", value: { reason, message: `kicked: ${reason}` } } });
    }
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Ends the connection without a close frame (1006). */
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }

  /** Refuses the upgrade as the ws package reports it (a browser says nothing of the status). */
  refuse(status: number): void {
    this.readyState = 3;
    this.onerror?.({ message: `Unexpected server response: ${status}` });
    this.onclose?.({ code: 1006, reason: "" });
  }

  /** The inputs the client sent, in order. */
  inputs(): { seq: number; moveX: number; moveY: number; aimX: number; viewTick: number }[] {
    return this.sent.flatMap((m) => (m.kind.case === "input" ? [m.kind.value] : []));
  }

  /** The actions the client sent, in order. */
  actions(): { seq: number; payload: Uint8Array }[] {
    return this.sent.flatMap((m) => (m.kind.case === "action" ? [m.kind.value] : []));
  }

  /** The pings the client sent. */
  pings(): number {
    return this.sent.filter((m) => m.kind.case === "ping").length;
  }
}

/** Sockets is a WebSocketFactory that makes FakeSockets and keeps them. */
export class Sockets {
  readonly all: FakeSocket[] = [];
  readonly factory = (url: string): WebSocketLike => {
    const s = new FakeSocket(url);
    this.all.push(s);
    return s;
  };

  /** The newest socket. */
  get last(): FakeSocket {
    const s = this.all.at(-1);
    if (s === undefined) {
      throw new Error("no socket opened");
    }
    return s;
  }
}

/**
 * An arena Welcome; snapshots unset (a server older than delta snapshots:
 * full) unless given.
 */
export function arenaWelcome(
  over: Partial<{ entityId: number; lastInputSeq: number; tick: number; matchId: string; snapshots: SnapshotEncoding }> = {},
): ServerInit {
  return {
    kind: {
      case: "welcome",
      value: { matchId: "m1", playerId: "p1", mode: "duel", game: "arena", entityId: 1, tickRate: 30, tick: 0, lastInputSeq: 0, ...over },
    },
  };
}

/** A chess Welcome. */
export function chessWelcome(over: Partial<{ lastActionSeq: number; playerId: string }> = {}): ServerInit {
  return {
    kind: {
      case: "welcome",
      value: { matchId: "c1", playerId: "p1", mode: "chess", game: "chess", entityId: 1, tickRate: 0, tick: 0, lastActionSeq: 0, ...over },
    },
  };
}

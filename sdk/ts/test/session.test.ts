import assert from "node:assert/strict";
import { test } from "node:test";

import { ConnectError, Session, WrongGameError, type SessionEnd, type SessionOptions } from "../src/session.js";
import { arenaWelcome, chessWelcome, FakeClock, flush, Sockets, type FakeSocket } from "./fakes.js";

const URL1 = "ws://arbiter.test/v1/play?token=j1";
// The URL the session opens for URL1: it asks for delta snapshots.
const URL1_DELTA = `${URL1}&snapshots=delta`;

// setup returns a session on fake sockets and a fake clock; backoff waits
// its bound exactly (the jitter is the identity).
function setup(opts: SessionOptions = {}) {
  const sockets = new Sockets();
  const clock = new FakeClock();
  const session = new Session(URL1, { webSocket: sockets.factory, clock, backoff: { jitter: (b) => b }, ...opts });
  const events: string[] = [];
  session.on("welcome", (w, resumed) => events.push(`welcome ${w.matchId} resumed=${resumed}`));
  session.on("disconnect", (c) => events.push(`disconnect ${c.code} ${c.reason}`));
  session.on("reconnecting", (r) => events.push(`reconnecting ${r.attempt} after ${r.delayMs}`));
  session.on("close", (e) => events.push(`close ${e.close.code} ${e.close.reason}`));
  return { sockets, clock, session, events };
}

// welcomed connects the session and plays the server's Welcome.
async function welcomed(s: ReturnType<typeof setup>, welcome = arenaWelcome()) {
  const p = s.session.connect();
  s.sockets.last.open();
  s.sockets.last.serve(welcome);
  return p;
}

function snapshot(sock: FakeSocket, tick: number, lastInputSeq: number, inputBacklog = 0) {
  sock.serve({
    kind: { case: "snapshot", value: { tick, entities: [{ id: 1, x: 10, y: 20, hp: 100, lastInputSeq, inputBacklog }, { id: 2, x: 5, y: 5, hp: 100 }] } },
  });
}

test("connect resolves with the Welcome; binary frames; events in order", async () => {
  const s = setup();
  const w = await welcomed(s);
  assert.equal(w.entityId, 1);
  assert.equal(s.sockets.last.binaryType, "arraybuffer");
  assert.equal(s.sockets.last.url, URL1_DELTA);
  assert.ok(s.session.connected);
  assert.equal(s.session.playedWithActions, false);
  assert.deepEqual(s.events, ["welcome m1 resumed=false"]);
  const snaps: number[] = [];
  s.session.on("snapshot", (snap) => snaps.push(snap.tick));
  snapshot(s.sockets.last, 1, 0);
  snapshot(s.sockets.last, 2, 0);
  assert.deepEqual(snaps, [1, 2]);
  assert.equal(s.session.lastSnapshot?.tick, 2);
  s.session.close();
});

test("connect fails: the ConnectError says why, and the session is over", async () => {
  const tests: {
    name: string;
    server: (sock: FakeSocket) => void;
    want: { status?: number; code?: number; reason?: string; kick?: string };
  }[] = [
    { name: "token refused", server: (sock) => sock.refuse(401), want: { status: 401, code: 1006 } },
    { name: "no server", server: (sock) => sock.drop(), want: { code: 1006 } },
    {
      name: "forfeited before the Welcome",
      server: (sock) => {
        sock.open();
        sock.closeFromServer(4001, "forfeited");
      },
      want: { code: 4001, reason: "forfeited", kick: "forfeited" },
    },
    {
      name: "a snapshot first",
      server: (sock) => {
        sock.open();
        snapshot(sock, 1, 0);
      },
      want: { code: 1002, reason: "protocol" },
    },
    {
      name: "a welcome with tick rate 0",
      server: (sock) => {
        sock.open();
        sock.serve({ kind: { case: "welcome", value: { matchId: "m", entityId: 1, tickRate: 0, game: "arena" } } });
      },
      want: { code: 1002, reason: "protocol" },
    },
  ];
  for (const tt of tests) {
    const s = setup();
    const p = s.session.connect();
    tt.server(s.sockets.last);
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof ConnectError, `${tt.name}: ${String(err)}`);
      assert.equal(err.status, tt.want.status, `${tt.name}: status`);
      if (tt.want.code !== undefined) {
        assert.equal(err.close?.code, tt.want.code, `${tt.name}: code`);
      }
      if (tt.want.reason !== undefined) {
        assert.equal(err.close?.reason, tt.want.reason, `${tt.name}: reason`);
      }
      assert.equal(err.close?.kick?.reason, tt.want.kick, `${tt.name}: kick`);
      return true;
    });
    const end = await s.session.closed;
    assert.ok(end.resumeError instanceof ConnectError, `${tt.name}: closed.resumeError`);
    await s.clock.advance(60_000);
    assert.equal(s.sockets.all.length, 1, `${tt.name}: sockets opened, want no retry`);
  }
});

test("connect: an attempt without a Welcome times out", async () => {
  const s = setup({ backoff: { attemptTimeoutMs: 3000 } });
  const p = s.session.connect();
  s.sockets.last.open();
  const rejected = assert.rejects(p, /no welcome within 3000 ms/);
  await s.clock.advance(3100);
  await rejected;
  assert.equal(s.sockets.last.closedWith?.code, 1000);
});

test("inputs: seqs after the Welcome's, paced, view tick never ahead", async () => {
  const s = setup();
  await welcomed(s, arenaWelcome({ lastInputSeq: 41, tick: 100 }));
  const sock = s.sockets.last;
  assert.equal(s.session.inputDue(), 0, "the first input is due at once");
  assert.equal(s.session.sendInput({ moveX: 1000 }), 42);
  assert.ok(Math.abs(s.session.inputDue() - 1000 / 30) < 1e-9, `inputDue() after a send = ${s.session.inputDue()}, want a tick`);
  await s.clock.advance(34);
  assert.ok(s.session.inputDue() <= 0);
  assert.equal(s.session.sendInput({ moveX: 707, moveY: -707, buttons: 1, aimX: 3, aimY: 4, viewTick: 10_000 }), 43);
  assert.equal(s.session.sendInput({ seq: 50 }), 50, "a given seq above the last");
  assert.throws(() => s.session.sendInput({ seq: 50 }), RangeError, "a seq not above the last");
  assert.equal(s.session.sendInput({ moveX: 1000, moveY: 1000 }), 51, "a diagonal, clamped");
  assert.equal(s.session.sendInput({ moveX: 1.5, aimX: -2.5 }), 52, "rounded");
  assert.throws(() => s.session.sendInput({ buttons: -1 }), RangeError, "buttons not a uint32");
  assert.throws(() => s.session.sendAction(new Uint8Array([1])), WrongGameError);
  const inputs = sock.inputs();
  assert.deepEqual(
    inputs.map((i) => [i.seq, i.moveX, i.moveY, i.aimX]),
    [
      [42, 1000, 0, 0],
      [43, 707, -707, 3],
      [50, 0, 0, 0],
      [51, 706, 706, 0], // n = ⌈√(2·10⁶)⌉ = 1415, 1000·1000/1415 truncated
      [52, 2, 0, -3],
    ],
  );
  // The view tick: the Welcome's tick less the delay (3 ticks), then never
  // ahead of the newest tick heard of, whatever the game asks.
  assert.equal(inputs[0]!.viewTick, 97);
  assert.equal(inputs[1]!.viewTick, 100, "a requested view tick ahead of the newest (the Welcome's 100) is clamped to it");
  // Snapshots feed the pacing and the seq: the server's last_input_seq is never numbered again.
  snapshot(sock, 101, 60);
  assert.equal(s.session.sendInput({}), 61);
  assert.equal(s.session.pacingStats?.backlog, 0);
  s.session.close();
});

test("resume: a dropped connection comes back with the same token, seqs continue", async () => {
  const s = setup();
  await welcomed(s);
  const first = s.sockets.last;
  for (let i = 0; i < 3; i++) {
    s.session.sendInput({ moveX: 10 });
  }
  first.drop();
  assert.equal(s.session.connected, false);
  assert.equal(s.session.sendInput({}), undefined, "nothing sent while reconnecting");
  assert.equal(s.session.inputDue(), Infinity);
  await flush();
  assert.equal(s.sockets.all.length, 2, "reconnects at once");
  const second = s.sockets.last;
  assert.equal(second.url, URL1_DELTA);
  second.open();
  // The server received two of the three.
  second.serve(arenaWelcome({ lastInputSeq: 2 }));
  await flush();
  assert.ok(s.session.connected);
  assert.equal(s.session.sendInput({}), 4, "after every seq sent, not only the server's");
  assert.deepEqual(s.events, ["welcome m1 resumed=false", "disconnect 1006 ", "welcome m1 resumed=true"]);
  s.session.close();
  assert.equal(second.closedWith?.code, 1000);
});

test("resume: which closes are final and which are retried", async () => {
  const tests: { code: number; reason: string; resumed: boolean; matchEnd?: boolean }[] = [
    { code: 1000, reason: "match_over", resumed: false, matchEnd: true },
    { code: 1000, reason: "", resumed: false },
    { code: 4000, reason: "replaced", resumed: false },
    { code: 4001, reason: "forfeited", resumed: false },
    { code: 1008, reason: "cheat", resumed: false },
    { code: 1008, reason: "input_flood", resumed: false },
    { code: 1001, reason: "shutdown", resumed: true },
    { code: 1001, reason: "idle", resumed: true },
    { code: 1008, reason: "slow_consumer", resumed: true },
    { code: 1011, reason: "internal_error", resumed: true },
    { code: 1006, reason: "", resumed: true },
  ];
  for (const tt of tests) {
    const s = setup();
    await welcomed(s);
    if (tt.matchEnd) {
      s.sockets.last.serve({ kind: { case: "matchEnd", value: { matchId: "m1", results: [{ playerId: "p1", placement: 1 }] } } });
    }
    let end: SessionEnd | undefined;
    void s.session.closed.then((e) => (end = e));
    s.sockets.last.closeFromServer(tt.code, tt.reason);
    await flush();
    const name = `${tt.code} ${tt.reason}`;
    if (tt.resumed) {
      assert.equal(s.sockets.all.length, 2, `${name}: want a reconnection`);
      assert.equal(end, undefined, `${name}: the session ended`);
      s.session.close();
    } else {
      assert.equal(s.sockets.all.length, 1, `${name}: want no reconnection`);
      assert.equal(end?.close.code, tt.code, `${name}: closed.close.code`);
      assert.equal(end?.close.kick?.reason, tt.reason === "" ? undefined : tt.reason, `${name}: the kick`);
      assert.equal(end?.matchEnd !== undefined, tt.matchEnd === true, `${name}: closed.matchEnd`);
    }
  }
});

test("resume: failed attempts back off; a refused token ends it", async () => {
  const s = setup();
  await welcomed(s);
  s.sockets.last.drop();
  await flush();
  s.sockets.last.drop(); // attempt 1: no server
  await flush();
  assert.deepEqual(s.events.slice(-1), ["reconnecting 1 after 100"]);
  await s.clock.advance(99);
  assert.equal(s.sockets.all.length, 2, "waits the backoff");
  await s.clock.advance(1);
  assert.equal(s.sockets.all.length, 3);
  s.sockets.last.drop(); // attempt 2
  await flush();
  assert.deepEqual(s.events.slice(-1), ["reconnecting 2 after 200"]);
  await s.clock.advance(200);
  s.sockets.last.refuse(401); // attempt 3: the match has ended
  const end = await s.session.closed;
  assert.ok(end.resumeError instanceof ConnectError);
  assert.equal((end.resumeError as ConnectError).status, 401);
  assert.equal(s.sockets.all.length, 4);
});

test("resume: the locator moves the session, or ends it", async () => {
  const where: (string | null)[] = ["ws://other.test/v1/play?token=j1", null];
  const asked: number[] = [];
  const s = setup({
    locate: async () => {
      asked.push(1);
      return where.shift()!;
    },
  });
  await welcomed(s);
  s.sockets.last.drop();
  await flush();
  assert.equal(s.sockets.last.url, URL1_DELTA, "the first retry is the same URL, at once");
  s.sockets.last.drop();
  await s.clock.advance(100);
  assert.equal(asked.length, 1);
  assert.equal(s.sockets.last.url, "ws://other.test/v1/play?token=j1&snapshots=delta");
  s.sockets.last.drop();
  await s.clock.advance(200);
  const end = await s.session.closed;
  assert.match(String(end.resumeError), /match is over/);
  assert.equal(s.sockets.all.length, 3);
});

test("resume: gives up after maxAttempts, or into another match", async () => {
  {
    const s = setup({ backoff: { jitter: (b) => b, maxAttempts: 2 } });
    await welcomed(s);
    s.sockets.last.drop();
    await flush();
    s.sockets.last.drop();
    await s.clock.advance(100);
    s.sockets.last.drop();
    const end = await s.session.closed;
    assert.match(String(end.resumeError), /gave up after 2 attempts/);
  }
  {
    const s = setup();
    await welcomed(s);
    s.sockets.last.drop();
    await flush();
    s.sockets.last.open();
    s.sockets.last.serve(arenaWelcome({ matchId: "other" }));
    const end = await s.session.closed;
    assert.match(String(end.resumeError), /welcomed to match other/);
    assert.equal(s.sockets.last.closedWith?.code, 1000);
  }
});

test("heartbeats: a Ping every 5 s; a silent connection is resumed", async () => {
  const s = setup({ heartbeatMs: 5000, silenceTimeoutMs: 20_000 });
  await welcomed(s, chessWelcome());
  const sock = s.sockets.last;
  await s.clock.advance(5000);
  assert.equal(sock.pings(), 1);
  const ping = sock.sent.find((m) => m.kind.case === "ping");
  assert.ok(ping?.kind.case === "ping");
  sock.serve({ kind: { case: "pong", value: { clientTime: ping.kind.value.clientTime, tick: 0 } } });
  assert.equal(s.session.rttMs, 0);
  await s.clock.advance(5000);
  assert.equal(sock.pings(), 2);
  assert.equal(s.sockets.all.length, 1);
  await s.clock.advance(15_000); // 20 s since the Pong
  assert.equal(s.sockets.all.length, 2, "a connection silent for 20 s is given up and resumed");
  assert.ok(s.events.includes("disconnect 1006 network"), s.events.join(", "));
  s.session.close();
});

test("frames the session cannot accept close the connection for good", async () => {
  const tests: { name: string; frame: (sock: FakeSocket) => void; code: number; reason: string }[] = [
    { name: "undecodable", frame: (sock) => sock.raw(new Uint8Array([0xff, 0xff, 0xff]).buffer), code: 1007, reason: "bad_frame" },
    { name: "text", frame: (sock) => sock.raw("hello"), code: 1003, reason: "text_frame" },
    { name: "second welcome", frame: (sock) => sock.serve(arenaWelcome()), code: 1002, reason: "protocol" },
    { name: "state in the arena", frame: (sock) => sock.serve({ kind: { case: "state", value: { version: 1 } } }), code: 1002, reason: "protocol" },
    { name: "too big", frame: (sock) => sock.raw(new ArrayBuffer(2 << 20)), code: 1009, reason: "too_big" },
  ];
  for (const tt of tests) {
    const s = setup();
    await welcomed(s);
    tt.frame(s.sockets.last);
    const end = await s.session.closed;
    assert.equal(end.close.code, tt.code, `${tt.name}: code`);
    assert.equal(end.close.reason, tt.reason, `${tt.name}: reason`);
    assert.equal(end.close.local, true, `${tt.name}: local`);
    // A browser may send only 1000 (and 3000–4999): the reason word goes with it.
    assert.deepEqual(s.sockets.last.closedWith, { code: 1000, reason: tt.reason }, `${tt.name}: close frame`);
    await flush();
    assert.equal(s.sockets.all.length, 1, `${tt.name}: no reconnection`);
  }
});

test("actions: seqs after the Welcome's, pending until answered, newest State kept", async () => {
  const s = setup();
  await welcomed(s, chessWelcome({ lastActionSeq: 7 }));
  assert.equal(s.session.playedWithActions, true);
  assert.equal(s.session.inputDue(), Infinity);
  assert.throws(() => s.session.sendInput({}), WrongGameError);
  const states: number[] = [];
  const rejected: string[] = [];
  s.session.on("state", (st) => states.push(st.version));
  s.session.on("rejected", (r) => rejected.push(`${r.seq} ${r.reason}`));
  assert.equal(s.session.sendAction(new Uint8Array([1])), 8);
  assert.equal(s.session.sendAction(new Uint8Array([2])), 9);
  assert.equal(s.session.sendAction(new Uint8Array([3])), 10);
  assert.deepEqual(
    s.session.pendingActions.map((p) => p.seq),
    [8, 9, 10],
  );
  const sock = s.sockets.last;
  sock.serve({ kind: { case: "state", value: { version: 3, lastActionSeq: 8 } } });
  sock.serve({ kind: { case: "rejected", value: { seq: 9, reason: "illegal_move", message: "no" } } });
  sock.serve({ kind: { case: "state", value: { version: 2, lastActionSeq: 9 } } }); // late: ignored
  assert.deepEqual(states, [3]);
  assert.deepEqual(rejected, ["9 illegal_move"]);
  assert.equal(s.session.state?.version, 3);
  assert.deepEqual(
    s.session.pendingActions.map((p) => p.seq),
    [10],
  );
  assert.equal(s.session.sendAction(new Uint8Array([4])), 11);
  // The connection drops; the server had received 10, not 11.
  sock.drop();
  await flush();
  s.sockets.last.open();
  s.sockets.last.serve(chessWelcome({ lastActionSeq: 10 }));
  await flush();
  assert.deepEqual(
    s.session.pendingActions.map((p) => p.seq),
    [10],
    "pending: the one the server received; the lost one vanishes",
  );
  assert.equal(s.session.state?.version, 3, "the State is kept across the reconnection");
  assert.equal(s.session.sendAction(new Uint8Array([5])), 12, "never a seq sent before");
  assert.deepEqual(
    s.sockets.all.flatMap((k) => k.actions().map((a) => a.seq)),
    [8, 9, 10, 11, 12],
  );
  s.session.close();
});

test("close: before connect, connect refuses", async () => {
  const s = setup();
  s.session.close();
  await assert.rejects(s.session.connect(), ConnectError);
  assert.equal(s.sockets.all.length, 0);
});

test("close: ends the session at once, also during a resume", async () => {
  const s = setup();
  await welcomed(s);
  s.sockets.last.drop();
  await flush();
  s.sockets.last.drop();
  await flush();
  s.session.close();
  const end = await s.session.closed;
  assert.equal(end.close.reason, "client_closed");
  await s.clock.advance(60_000);
  assert.equal(s.sockets.all.length, 2, "no attempt after close");
  assert.equal(s.clock.pending, 0, "no timer left");
});

test("runInputs: one input per tick, waits through a reconnection", async () => {
  const s = setup();
  await welcomed(s);
  const ac = new AbortController();
  let n = 0;
  const run = s.session.runInputs(() => ({ moveX: ++n }), ac.signal);
  await s.clock.advance(1000);
  const sent = s.sockets.last.inputs().length;
  assert.ok(sent >= 29 && sent <= 31, `${sent} inputs in a second at 30 Hz, want 30`);
  s.sockets.last.drop();
  await s.clock.advance(1000);
  s.sockets.last.open();
  s.sockets.last.serve(arenaWelcome());
  await s.clock.advance(100);
  assert.ok(s.sockets.last.inputs().length >= 2, "sends again after the Welcome");
  ac.abort();
  await run;
  s.session.close();
});

test("runInputs: holds inputs back while too many are unacknowledged, until a snapshot frees one", async () => {
  const s = setup();
  await welcomed(s, arenaWelcome({ tick: 100 }));
  const sock = s.sockets.last;
  const ac = new AbortController();
  const run = s.session.runInputs(() => ({ moveX: 1000 }), ac.signal);
  // A second of a server on loopback: each tick applies what came.
  let tick = 100;
  for (let i = 0; i < 30; i++) {
    await s.clock.advance(1000 / 30);
    snapshot(sock, ++tick, sock.inputs().length);
  }
  const limit = s.session.pacingStats!.inFlightLimit;
  assert.ok(limit >= 2, `pacingStats.inFlightLimit = ${limit} after a second of snapshots, want at least 2`);
  // The server goes silent: inputs go out until limit are unacknowledged.
  const acked = sock.inputs().length;
  await s.clock.advance(1000);
  const sent = sock.inputs().length - acked;
  assert.equal(sent, limit, `inputs sent into a second of silence, want the limit`);
  assert.ok(s.session.inputDue() >= 1000 / 120, `inputDue() while held = ${s.session.inputDue()}, want at least a quarter tick`);
  assert.ok(s.session.inputHeld(), "inputHeld() while the server is silent");
  // A tick applies one: the next goes out.
  snapshot(sock, ++tick, acked + 1, sent - 1);
  await s.clock.advance(1);
  assert.equal(sock.inputs().length, acked + sent + 1, "the input held back, sent on the snapshot");
  const st = s.session.pacingStats!;
  assert.ok(st.heldBack >= 1 && st.inFlight === limit, `pacingStats = ${JSON.stringify(st)}`);
  ac.abort();
  await run;
  s.session.close();
});

test("a listener that throws does not stop the others", async () => {
  const s = setup();
  const seen: string[] = [];
  const errors: unknown[] = [];
  const prev = (globalThis as { reportError?: unknown }).reportError;
  (globalThis as { reportError?: unknown }).reportError = (e: unknown) => errors.push(e);
  try {
    s.session.on("welcome", () => {
      throw new Error("boom");
    });
    s.session.on("welcome", () => seen.push("second"));
    await welcomed(s);
  } finally {
    (globalThis as { reportError?: unknown }).reportError = prev;
  }
  assert.deepEqual(seen, ["second"]);
  assert.equal(errors.length, 1);
  s.session.close();
});

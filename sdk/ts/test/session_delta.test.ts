// The session's snapshots in both encodings, on fake sockets: it asks for
// deltas unless told otherwise, hands its listeners whole snapshots either
// way, and closes with 1002 on a delta it cannot apply.
import assert from "node:assert/strict";
import { test } from "node:test";

import { create, type MessageInitShape } from "@bufbuild/protobuf";

import { MAX_SNAPSHOT_ENTITIES } from "../src/arena/index.js";
import { SnapshotEncoding, SnapshotSchema, type ServerMessageSchema, type Snapshot } from "../src/gen/arbiter/v1/arbiter_pb.js";
import { deltaSnapshots, Session, type SessionOptions } from "../src/session.js";
import { arenaWelcome, chessWelcome, FakeClock, flush, Sockets, type FakeSocket } from "./fakes.js";

const URL1 = "ws://arbiter.test/v1/play?token=j1";

type ServerInit = MessageInitShape<typeof ServerMessageSchema>;
type DeltaInit = Extract<ServerInit["kind"], { case: "snapshotDelta" }>["value"];

// setup connects a session to URL1 on fake sockets and plays the server's
// Welcome; snaps collects what the snapshot listeners get.
async function setup(welcome: ServerInit, opts: SessionOptions = {}) {
  const sockets = new Sockets();
  const clock = new FakeClock();
  const session = new Session(URL1, { webSocket: sockets.factory, clock, backoff: { jitter: (b) => b }, ...opts });
  const snaps: Snapshot[] = [];
  session.on("snapshot", (s) => snaps.push(s));
  const p = session.connect();
  sockets.last.open();
  sockets.last.serve(welcome);
  await p;
  return { sockets, clock, session, snaps };
}

const deltaWelcome = arenaWelcome({ snapshots: SnapshotEncoding.DELTA });

function delta(sock: FakeSocket, d: DeltaInit): void {
  sock.serve({ kind: { case: "snapshotDelta", value: d } });
}

function snap(init: MessageInitShape<typeof SnapshotSchema>): Snapshot {
  return create(SnapshotSchema, init);
}

test("the play URL asks for delta snapshots unless told otherwise", async () => {
  const tests: { name: string; url: string; full?: boolean; want: string }[] = [
    { name: "default", url: URL1, want: `${URL1}&snapshots=delta` },
    { name: "full asked", url: URL1, full: true, want: URL1 },
    { name: "the URL chooses full", url: `${URL1}&snapshots=full`, want: `${URL1}&snapshots=full` },
    { name: "the URL chooses delta", url: `${URL1}&snapshots=delta`, full: true, want: `${URL1}&snapshots=delta` },
    { name: "a URL without a query", url: "ws://arbiter.test/v1/play", want: "ws://arbiter.test/v1/play?snapshots=delta" },
    { name: "a URL with an empty query", url: "ws://arbiter.test/v1/play?", want: "ws://arbiter.test/v1/play?snapshots=delta" },
  ];
  for (const tt of tests) {
    const sockets = new Sockets();
    const session = new Session(tt.url, { webSocket: sockets.factory, clock: new FakeClock(), fullSnapshots: tt.full ?? false });
    void session.connect().catch(() => {});
    assert.equal(sockets.last.url, tt.want, tt.name);
    session.close();
  }
});

test("delta snapshots: listeners get whole ones, with the own acknowledgements", async () => {
  const s = await setup(deltaWelcome);
  assert.ok(deltaSnapshots(s.session.welcome!));
  const sock = s.sockets.last;
  // A key: every entity added, from nothing.
  delta(sock, {
    tick: 10,
    added: [
      { id: 2, x: 500, y: 600, hp: 100, score: 1 },
      { id: 1, x: 10, y: 20, hp: 100 },
    ],
    lastInputSeq: 5,
    inputBacklog: 2,
  });
  // Tick 11 was skipped; 12 from 10: entity 1 moved, entity 2 hit, 3 joined.
  delta(sock, { tick: 12, baseTick: 10, added: [{ id: 3, x: 1, y: 1, hp: 100 }], moved: [1, 466, -471], hp: [0, 75], lastInputSeq: 6 });
  // Nothing changed but the acknowledgement; then 2 leaves.
  delta(sock, { tick: 13, baseTick: 12, lastInputSeq: 7, inputBacklog: 1 });
  delta(sock, { tick: 14, baseTick: 13, removed: [0], moved: [0, -1, 0] });
  assert.deepEqual(s.snaps, [
    snap({
      tick: 10,
      entities: [
        { id: 2, x: 500, y: 600, hp: 100, score: 1 },
        { id: 1, x: 10, y: 20, hp: 100, lastInputSeq: 5, inputBacklog: 2 },
      ],
    }),
    snap({
      tick: 12,
      entities: [
        { id: 2, x: 500, y: 600, hp: 75, score: 1 },
        { id: 1, x: 476, y: -451, hp: 100, lastInputSeq: 6 },
        { id: 3, x: 1, y: 1, hp: 100 },
      ],
    }),
    snap({
      tick: 13,
      entities: [
        { id: 2, x: 500, y: 600, hp: 75, score: 1 },
        { id: 1, x: 476, y: -451, hp: 100, lastInputSeq: 7, inputBacklog: 1 },
        { id: 3, x: 1, y: 1, hp: 100 },
      ],
    }),
    snap({
      tick: 14,
      entities: [
        { id: 1, x: 475, y: -451, hp: 100 },
        { id: 3, x: 1, y: 1, hp: 100 },
      ],
    }),
  ]);
  assert.equal(s.session.lastSnapshot, s.snaps.at(-1), "lastSnapshot is the one handed over");
  // The acknowledgements feed the pacing and the seqs, as full snapshots do.
  assert.equal(s.session.sendInput({}), 8, "after the server's last_input_seq, 7");
  // A full Snapshot on a delta connection is a new base, taken as it is.
  sock.serve({
    kind: {
      case: "snapshot",
      value: { tick: 20, entities: [{ id: 1, x: 5, hp: 100, lastInputSeq: 8 }, { id: 4, x: 9, hp: 50, lastInputSeq: 33 }] },
    },
  });
  delta(sock, { tick: 21, baseTick: 20, score: [1, 2], lastInputSeq: 8 });
  assert.deepEqual(s.snaps.slice(-2), [
    snap({ tick: 20, entities: [{ id: 1, x: 5, hp: 100, lastInputSeq: 8 }, { id: 4, x: 9, hp: 50, lastInputSeq: 33 }] }),
    snap({ tick: 21, entities: [{ id: 1, x: 5, hp: 100, lastInputSeq: 8 }, { id: 4, x: 9, hp: 50, score: 2 }] }),
  ]);
  assert.ok(s.session.connected);
  s.session.close();
});

test("delta snapshots: a resumed connection starts from its own key", async () => {
  const s = await setup(deltaWelcome);
  delta(s.sockets.last, { tick: 10, added: [{ id: 1, x: 10 }] });
  s.sockets.last.drop();
  await flush();
  assert.equal(s.sockets.all.length, 2);
  s.sockets.last.open();
  s.sockets.last.serve(deltaWelcome);
  await flush();
  delta(s.sockets.last, { tick: 15, added: [{ id: 1, x: 20 }, { id: 2 }] });
  delta(s.sockets.last, { tick: 16, baseTick: 15, removed: [1] });
  assert.deepEqual(
    s.snaps.map((x) => [x.tick, x.entities.length]),
    [
      [10, 1],
      [15, 2],
      [16, 1],
    ],
  );
  s.session.close();
});

test("a delta the session cannot apply closes the connection with 1002, for good", async () => {
  const key: DeltaInit = { tick: 10, added: [{ id: 1 }, { id: 2 }] };
  const tests: { name: string; welcome?: ServerInit; run: (s: Awaited<ReturnType<typeof setup>>) => Promise<void> | void; want: RegExp }[] = [
    { name: "before any snapshot", run: (s) => delta(s.sockets.last, { tick: 11, baseTick: 10 }), want: /before any snapshot/ },
    {
      name: "from another snapshot than the last",
      run: (s) => {
        delta(s.sockets.last, key);
        delta(s.sockets.last, { tick: 12, baseTick: 11 });
      },
      want: /delta from tick 11, last snapshot 10/,
    },
    {
      name: "from the last snapshot of the previous connection",
      run: async (s) => {
        delta(s.sockets.last, key);
        s.sockets.last.drop();
        await flush();
        s.sockets.last.open();
        s.sockets.last.serve(deltaWelcome);
        await flush();
        delta(s.sockets.last, { tick: 11, baseTick: 10 });
      },
      want: /before any snapshot/,
    },
    {
      name: "moving an entity that is not kept",
      run: (s) => {
        delta(s.sockets.last, key);
        delta(s.sockets.last, { tick: 11, baseTick: 10, removed: [1], moved: [1, 1, 1] });
      },
      want: /moved index 1 of 1 kept/,
    },
    {
      name: "hp not in pairs",
      run: (s) => {
        delta(s.sockets.last, key);
        delta(s.sockets.last, { tick: 11, baseTick: 10, hp: [0] });
      },
      want: /not pairs/,
    },
    {
      name: "adding more entities than a snapshot may have",
      run: (s) => delta(s.sockets.last, { tick: 10, added: Array.from({ length: MAX_SNAPSHOT_ENTITIES + 1 }, (_, i) => ({ id: i + 1 })) }),
      want: /adding 4097 entities/,
    },
    { name: "on a full connection", welcome: arenaWelcome({ snapshots: SnapshotEncoding.FULL }), run: (s) => delta(s.sockets.last, key), want: /Welcome says FULL/ },
    { name: "from a server older than deltas", welcome: arenaWelcome(), run: (s) => delta(s.sockets.last, key), want: /Welcome says UNSPECIFIED/ },
    { name: "in chess", welcome: chessWelcome(), run: (s) => delta(s.sockets.last, key), want: /match of chess/ },
  ];
  for (const tt of tests) {
    const s = await setup(tt.welcome ?? deltaWelcome);
    const before = s.snaps.length;
    await tt.run(s);
    assert.equal(s.session.connected, false, `${tt.name}: the session took the delta`);
    const end = await s.session.closed;
    assert.equal(end.close.code, 1002, `${tt.name}: code`);
    assert.equal(end.close.reason, "protocol", `${tt.name}: reason`);
    assert.equal(end.close.local, true, `${tt.name}: local`);
    assert.match(String(end.close.error), tt.want, tt.name);
    // A browser may send only 1000 (and 3000–4999): the reason word goes with it.
    assert.deepEqual(s.sockets.last.closedWith, { code: 1000, reason: "protocol" }, `${tt.name}: close frame`);
    const sockets = s.sockets.all.length;
    await s.clock.advance(60_000);
    assert.equal(s.sockets.all.length, sockets, `${tt.name}: reconnected after the server broke the protocol`);
    assert.ok(s.snaps.length <= before + 1, `${tt.name}: the bad delta reached the listeners`);
  }
});

test("full snapshots: asked for, handed over as the server sent them", async () => {
  const s = await setup(arenaWelcome({ snapshots: SnapshotEncoding.FULL }), { fullSnapshots: true });
  assert.equal(s.sockets.last.url, URL1);
  assert.equal(deltaSnapshots(s.session.welcome!), false);
  const sent = [
    snap({ tick: 1, entities: [{ id: 1, x: 10, hp: 100, lastInputSeq: 3, inputBacklog: 1 }, { id: 2, x: 5, hp: 100, lastInputSeq: 9 }] }),
    snap({ tick: 3, entities: [{ id: 2, x: 6, hp: 75, lastInputSeq: 10 }] }),
  ];
  for (const x of sent) {
    s.sockets.last.serve({ kind: { case: "snapshot", value: x } });
  }
  assert.deepEqual(s.snaps, sent, "other entities' acknowledgements included");
  assert.equal(s.session.sendInput({}), 4);
  s.session.close();
});

// applyDelta and the Session against the Go library's delta decoder
// (testdata/snapshot_delta.json, written by the Go test TestSDKVectors with
// arbiterv1.DeltaEncoder and arbiterv1.ApplyDelta): the same frames give
// the same snapshots, through skipped snapshots, resumes, full snapshots
// and unpacked fields; every delta Go refuses is refused, for the same
// reason. Then random mutations of those frames: nothing but a DeltaError
// ever comes out of applyDelta, and the session closes on them as the
// protocol says.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";

import { applyDelta, DeltaError } from "../src/delta.js";
import {
  EntitySchema,
  ServerMessageSchema,
  SnapshotDeltaSchema,
  SnapshotEncoding,
  SnapshotSchema,
  type ServerMessage,
  type Snapshot,
  type SnapshotDelta,
} from "../src/gen/arbiter/v1/arbiter_pb.js";
import { Session } from "../src/session.js";
import { arenaWelcome, FakeClock, flush, Sockets } from "./fakes.js";

type Row = [id: number, x: number, y: number, hp: number, score: number, lastInputSeq: number, inputBacklog: number];

interface SnapRows {
  tick: number;
  entities: Row[];
}

interface Frame {
  resume?: boolean;
  hex: string;
  want: SnapRows;
}

interface Stream {
  name: string;
  self: number;
  frames: Frame[];
}

interface Case {
  name: string;
  base: SnapRows | null;
  self: number;
  hex: string;
  want?: SnapRows;
  error?: "base" | "malformed";
}

const vectors = JSON.parse(readFileSync(new URL("../../testdata/snapshot_delta.json", import.meta.url), "utf8")) as {
  streams: Stream[];
  cases: Case[];
};

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

// buffer returns b's bytes as the ArrayBuffer of a binary frame.
function buffer(b: Uint8Array): ArrayBuffer {
  return b.slice().buffer as ArrayBuffer;
}

function rows(s: Snapshot): SnapRows {
  return { tick: s.tick, entities: s.entities.map((e) => [e.id, e.x, e.y, e.hp, e.score, e.lastInputSeq, e.inputBacklog]) };
}

function snapshot(r: SnapRows): Snapshot {
  return create(SnapshotSchema, {
    tick: r.tick,
    entities: r.entities.map(([id, x, y, hp, score, lastInputSeq, inputBacklog]) => ({ id, x, y, hp, score, lastInputSeq, inputBacklog })),
  });
}

// decodeFrame returns the snapshot a client has after frame m, on a delta
// connection whose last snapshot is base: a full one as it is, a delta
// applied.
function decodeFrame(m: ServerMessage, base: Snapshot | undefined, self: number): Snapshot {
  switch (m.kind.case) {
    case "snapshot":
      return m.kind.value;
    case "snapshotDelta":
      return applyDelta(base, m.kind.value, self);
  }
  throw new Error(`frame of ${m.kind.case}, not a snapshot`);
}

describe("applyDelta, against the Go decoder", () => {
  it("decodes every stream to the snapshots Go decodes, leaving each base as it was", () => {
    assert.ok(vectors.streams.length >= 4);
    for (const st of vectors.streams) {
      let base: Snapshot | undefined;
      const seen = { resumes: 0, full: 0, deltas: 0, keys: 0 };
      st.frames.forEach((f, i) => {
        const where = `${st.name}, frame ${i} (tick ${f.want.tick})`;
        if (f.resume === true) {
          base = undefined; // a new connection
          seen.resumes++;
        }
        const m = fromBinary(ServerMessageSchema, bytes(f.hex));
        if (m.kind.case === "snapshotDelta") {
          seen[m.kind.value.baseTick === 0 ? "keys" : "deltas"]++;
        } else {
          seen.full++;
        }
        const was = base === undefined ? undefined : structuredClone(rows(base));
        const got = decodeFrame(m, base, st.self);
        assert.deepEqual(rows(got), f.want, where);
        if (base !== undefined) {
          assert.deepEqual(rows(base), was, `${where}: the base changed`);
          assert.ok(got.entities.every((e) => !base!.entities.includes(e)), `${where}: an entity shared with the base`);
        }
        base = got;
      });
      for (const [k, n] of Object.entries(seen)) {
        assert.ok(n > 0, `${st.name}: no ${k}`);
      }
    }
  });

  it("gives each case Go's snapshot, or refuses it for Go's reason", () => {
    let refused = 0;
    for (const c of vectors.cases) {
      const m = fromBinary(ServerMessageSchema, bytes(c.hex));
      assert.equal(m.kind.case, "snapshotDelta", c.name);
      const d = m.kind.value as SnapshotDelta;
      const base = c.base === null ? undefined : snapshot(c.base);
      if (c.error !== undefined) {
        refused++;
        assert.throws(
          () => applyDelta(base, d, c.self),
          (err: unknown) => err instanceof DeltaError && err.kind === c.error,
          `${c.name}: want a DeltaError (${c.error})`,
        );
        continue;
      }
      assert.deepEqual(rows(applyDelta(base, d, c.self)), c.want, c.name);
    }
    assert.ok(refused > 10 && refused < vectors.cases.length - 10, `${refused} of ${vectors.cases.length} cases refused: want both kinds`);
  });

  it("decodes the worked example of docs/protocol.md", () => {
    const base = create(SnapshotSchema, {
      tick: 41,
      entities: [
        { id: 1, x: 100, y: 200, hp: 100 },
        { id: 2, x: 50, y: 50, hp: 75, score: 3 },
        { id: 3, x: 9, y: 9, hp: 100 },
      ],
    });
    const d = create(SnapshotDeltaSchema, {
      tick: 42,
      baseTick: 41,
      removed: [1],
      added: [{ id: 4, x: 7, y: 8, hp: 100 }],
      moved: [0, 466, -471],
      hp: [1, 50],
      lastInputSeq: 12,
    });
    const got = applyDelta(base, d, 1);
    assert.deepEqual(got, create(SnapshotSchema, {
      tick: 42,
      entities: [
        { id: 1, x: 566, y: -271, hp: 100, lastInputSeq: 12 },
        { id: 3, x: 9, y: 9, hp: 50 },
        { id: 4, x: 7, y: 8, hp: 100 },
      ],
    }));
    // A message like any decoded one: it encodes.
    assert.deepEqual(fromBinary(SnapshotSchema, toBinary(SnapshotSchema, got)), got);
  });

  it("refuses numbers no decoded message holds", () => {
    const base = create(SnapshotSchema, { tick: 1, entities: [{ id: 1 }, { id: 2 }] });
    const tests: { name: string; give: Partial<SnapshotDelta> }[] = [
      { name: "NaN removed", give: { removed: [NaN] } },
      { name: "fractional removed", give: { removed: [0.5] } },
      { name: "negative removed", give: { removed: [-1] } },
      { name: "NaN moved index", give: { moved: [NaN, 1, 1] } },
      { name: "fractional moved index", give: { moved: [0.5, 1, 1] } },
      { name: "move beyond int32", give: { moved: [0, 2 ** 31, 0] } },
      { name: "NaN move", give: { moved: [0, 0, NaN] } },
      { name: "hp beyond uint32", give: { hp: [0, 2 ** 32] } },
      { name: "negative score", give: { score: [0, -1] } },
      { name: "score index Infinity", give: { score: [Infinity, 1] } },
      { name: "fractional tick", give: { tick: 1.5 } },
      { name: "negative acknowledgement", give: { lastInputSeq: -1 } },
    ];
    for (const tt of tests) {
      const d = { ...create(SnapshotDeltaSchema, { tick: 2, baseTick: 1 }), ...tt.give } as SnapshotDelta;
      assert.throws(() => applyDelta(base, d, 1), (err: unknown) => err instanceof DeltaError && err.kind === "malformed", tt.name);
    }
  });
});

// rand is a small deterministic generator (mulberry32): a failing run
// repeats.
function rand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// mutate returns b with one to four random changes: bits flipped, bytes
// set, inserted or removed, a cut, or a span repeated.
function mutate(b: Uint8Array, r: () => number): Uint8Array {
  const out = Array.from(b);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * (out.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0:
        if (i < out.length) out[i]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        if (i < out.length) out[i] = Math.floor(r() * 256);
        break;
      case 2:
        out.splice(i, 0, Math.floor(r() * 256));
        break;
      case 3:
        out.splice(i, 1);
        break;
      case 4:
        out.length = Math.min(out.length, i);
        break;
      default: {
        const j = Math.floor(r() * (out.length + 1));
        out.splice(i, 0, ...out.slice(Math.min(i, j), Math.max(i, j)).slice(0, 64));
      }
    }
  }
  return Uint8Array.from(out);
}

// oddNumber returns one of the values that break the format's rules, or a
// number near them.
function oddNumber(r: () => number, n: number): number {
  const odd = [-1, n, n + 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32, 0.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER];
  return r() < 0.5 ? Math.floor(r() * (n + 2)) : odd[Math.floor(r() * odd.length)]!;
}

// checkApplied holds a result of applyDelta to the format: the kept
// entities then the added ones, protocol integers, acknowledgements on
// self only.
function checkApplied(got: Snapshot, base: Snapshot | undefined, d: SnapshotDelta, self: number, where: string): void {
  const from = d.baseTick === 0 || base === undefined ? 0 : base.entities.length;
  const kept = from - d.removed.length;
  assert.equal(got.tick, d.tick, where);
  assert.equal(got.entities.length, kept + d.added.length, `${where}: entities`);
  d.added.forEach((a, i) => assert.equal(got.entities[kept + i]!.id, a.id, `${where}: added ${i}`));
  for (const e of got.entities) {
    assert.ok(e.x === (e.x | 0) && e.y === (e.y | 0), `${where}: position ${e.x}, ${e.y} not int32s`);
    if (e.id !== self) {
      assert.ok(e.lastInputSeq === 0 && e.inputBacklog === 0, `${where}: entity ${e.id} carries acknowledgements`);
    }
  }
}

describe("applyDelta, fuzzed", () => {
  // The frames of the vectors with the base each applies to.
  const frames: { base: Snapshot | undefined; bytes: Uint8Array; self: number }[] = [];
  for (const st of vectors.streams) {
    let base: Snapshot | undefined;
    for (const f of st.frames) {
      if (f.resume === true) {
        base = undefined;
      }
      frames.push({ base, bytes: bytes(f.hex), self: st.self });
      base = decodeFrame(fromBinary(ServerMessageSchema, bytes(f.hex)), base, st.self);
    }
  }

  it("random mutations of valid frames: a snapshot in the format, or a DeltaError", { timeout: 60_000 }, () => {
    const r = rand(1);
    const seen = { undecodable: 0, other: 0, applied: 0, refused: 0 };
    for (let n = 0; n < 20_000; n++) {
      const f = frames[Math.floor(r() * frames.length)]!;
      // Against its own base, mostly; sometimes another's, or none.
      const base = r() < 0.8 ? f.base : r() < 0.5 ? undefined : frames[Math.floor(r() * frames.length)]!.base;
      const b = mutate(f.bytes, r);
      let m: ServerMessage;
      try {
        m = fromBinary(ServerMessageSchema, b);
      } catch {
        seen.undecodable++; // the session closes with 1007 bad_frame
        continue;
      }
      if (m.kind.case !== "snapshotDelta") {
        seen.other++;
        continue;
      }
      const d = m.kind.value;
      const was = base === undefined ? undefined : rows(base);
      const where = `mutation ${n} (${Buffer.from(b).toString("hex")})`;
      try {
        checkApplied(applyDelta(base, d, f.self), base, d, f.self, where);
        seen.applied++;
      } catch (err) {
        if (!(err instanceof DeltaError)) {
          throw err;
        }
        seen.refused++;
      }
      if (base !== undefined) {
        assert.deepEqual(rows(base), was, `${where}: the base changed`);
      }
    }
    for (const [k, n] of Object.entries(seen)) {
      assert.ok(n > 100, `${n} ${k}: the mutations do not reach every outcome (${JSON.stringify(seen)})`);
    }
  });

  it("random changes of decoded deltas' fields: a snapshot in the format, or a DeltaError", { timeout: 60_000 }, () => {
    const r = rand(2);
    const seen = { applied: 0, refused: 0 };
    const lists = ["removed", "moved", "hp", "score"] as const;
    for (let n = 0; n < 20_000; n++) {
      const f = frames[Math.floor(r() * frames.length)]!;
      const m = fromBinary(ServerMessageSchema, f.bytes);
      if (m.kind.case !== "snapshotDelta") {
        continue;
      }
      const d = m.kind.value;
      const size = f.base?.entities.length ?? 0;
      for (let k = Math.floor(r() * 3); k >= 0; k--) {
        const field = lists[Math.floor(r() * lists.length)]!;
        const list = d[field];
        switch (Math.floor(r() * 4)) {
          case 0:
            list.push(oddNumber(r, size));
            break;
          case 1:
            if (list.length > 0) list[Math.floor(r() * list.length)] = oddNumber(r, size);
            break;
          case 2:
            list.pop();
            break;
          default:
            if (r() < 0.3) d.baseTick = oddNumber(r, f.base?.tick ?? 0);
            else d.added.push(create(EntitySchema, { id: Math.floor(r() * 4) }));
        }
      }
      const where = `change ${n}: ${JSON.stringify({ ...d, $typeName: undefined, added: d.added.length })}`;
      try {
        checkApplied(applyDelta(f.base, d, f.self), f.base, d, f.self, where);
        seen.applied++;
      } catch (err) {
        if (!(err instanceof DeltaError)) {
          throw new Error(`${where}: ${String(err)}`, { cause: err });
        }
        seen.refused++;
      }
    }
    assert.ok(seen.applied > 100 && seen.refused > 100, JSON.stringify(seen));
  });

  it("a session given mutated frames hands over snapshots or closes as the protocol says", { timeout: 60_000 }, async () => {
    const r = rand(3);
    const closes = new Map<string, number>();
    for (let n = 0; n < 300; n++) {
      const st = vectors.streams[n % vectors.streams.length]!;
      const sockets = new Sockets();
      const session = new Session("ws://arbiter.test/v1/play?token=j", { webSocket: sockets.factory, clock: new FakeClock() });
      const p = session.connect();
      sockets.last.open();
      sockets.last.serve(arenaWelcome({ entityId: st.self, snapshots: SnapshotEncoding.DELTA }));
      await p;
      let snaps = 0;
      session.on("snapshot", () => snaps++);
      // The stream's first connection, some of its frames mutated.
      const resume = st.frames.findIndex((f, i) => i > 0 && f.resume === true);
      const frames = resume < 0 ? st.frames : st.frames.slice(0, resume);
      let intact = 0;
      let mutated = 0;
      for (const f of frames) {
        if (r() < 0.1) {
          sockets.last.raw(buffer(mutate(bytes(f.hex), r)));
          mutated++;
        } else {
          sockets.last.raw(buffer(bytes(f.hex)));
          intact++;
        }
        if (!session.connected) {
          break;
        }
      }
      if (session.connected) {
        // A mutation may make another message (a Pong, a Kick, an unknown
        // kind), which is no snapshot.
        assert.ok(snaps >= intact && snaps <= intact + mutated, `run ${n}: ${snaps} snapshots of ${intact} intact and ${mutated} mutated frames`);
        session.close();
        closes.set("none", (closes.get("none") ?? 0) + 1);
        continue;
      }
      const end = await session.closed;
      const k = `${end.close.code} ${end.close.reason}`;
      assert.ok(["1002 protocol", "1007 bad_frame"].includes(k), `run ${n}: closed with ${k}: ${String(end.close.error)}`);
      closes.set(k, (closes.get(k) ?? 0) + 1);
      await flush();
      assert.equal(sockets.all.length, 1, `run ${n}: no reconnection after the server broke the protocol`);
    }
    assert.ok(closes.has("1002 protocol") && closes.has("1007 bad_frame"), `closes ${JSON.stringify([...closes])}: want runs that end each way`);
  });
});

describe("Session, against the Go decoder", () => {
  it("hands its listeners the snapshots Go decodes, across resumes", async () => {
    for (const st of vectors.streams) {
      const sockets = new Sockets();
      const session = new Session("ws://arbiter.test/v1/play?token=j", { webSocket: sockets.factory, clock: new FakeClock(), backoff: { jitter: (b) => b } });
      const got: SnapRows[] = [];
      session.on("snapshot", (s) => got.push(rows(s)));
      let closed = "";
      session.on("close", (e) => (closed = `${e.close.code} ${e.close.reason}: ${String(e.close.error)}`));
      const welcome = arenaWelcome({ entityId: st.self, snapshots: SnapshotEncoding.DELTA });
      const p = session.connect();
      sockets.last.open();
      sockets.last.serve(welcome);
      await p;
      for (const [i, f] of st.frames.entries()) {
        if (f.resume === true && i > 0) {
          sockets.last.drop();
          await flush();
          sockets.last.open();
          sockets.last.serve(welcome);
          await flush();
        }
        assert.ok(session.connected, `${st.name}, frame ${i}: not connected (${closed})`);
        sockets.last.raw(buffer(bytes(f.hex)));
      }
      assert.ok(session.connected, `${st.name}: the session closed: ${closed}`);
      assert.deepEqual(
        got,
        st.frames.map((f) => f.want),
        st.name,
      );
      assert.equal(sockets.all.length, 1 + st.frames.filter((f, i) => f.resume === true && i > 0).length, `${st.name}: connections`);
      assert.ok(sockets.all.every((s) => s.url.endsWith("&snapshots=delta")), `${st.name}: a URL that does not ask for deltas`);
      session.close();
    }
  });
});

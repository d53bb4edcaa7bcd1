// ArenaView against the Go client's bookkeeping for the same Welcome,
// Snapshots, inputs and clock (testdata/arena_view.json, written by the Go
// test TestSDKVectors by driving a client.Client without a connection): two
// connections, the second resuming the first.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import type { Message } from "@bufbuild/protobuf";

import {
  ArenaProtocolError,
  ArenaView,
  MAX_SNAPSHOT_ENTITIES,
  type SnapshotEntityLike,
  type WelcomeLike,
} from "../src/arena/index.js";

type Step =
  | { op: "snapshot"; at: number; tick: number; entities: [number, number, number, number, number, number, number][] }
  | { op: "input"; at: number; controls: [number, number, number, number, number]; want: number[] }
  | {
      op: "query";
      at: number;
      predicted: [number, number];
      stats: [number, number, number, number];
      pending: number;
      lastSeq: number;
      renderTick: number;
      viewTick: number;
      interpolated: [number, number, number, number, number][];
    };

interface Connection {
  name: string;
  welcome: WelcomeLike;
  interpolationDelayMillis: number;
  initialSeq: number;
  resumed: boolean;
  steps: Step[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../testdata/arena_view.json", import.meta.url), "utf8"),
) as { connections: Connection[] };

describe("ArenaView, against the Go client's bookkeeping", () => {
  it("replays both connections", () => {
    assert.equal(vectors.connections.length, 2);
    let prev: ArenaView | undefined;
    for (const conn of vectors.connections) {
      const v: ArenaView = new ArenaView(conn.welcome, 0, {
        interpolationDelayMillis: conn.interpolationDelayMillis,
        initialSeq: conn.initialSeq,
        resumeFrom: conn.resumed ? prev : undefined,
      });
      const counts = { snapshot: 0, input: 0, query: 0 };
      conn.steps.forEach((step, i) => {
        const where = `${conn.name}, step ${i} (${step.op} at ${step.at} ms)`;
        counts[step.op]++;
        switch (step.op) {
          case "snapshot": {
            const entities: SnapshotEntityLike[] = step.entities.map(([id, x, y, hp, score, lastInputSeq, inputBacklog]) => ({
              id, x, y, hp, score, lastInputSeq, inputBacklog,
            }));
            const self = v.snapshot({ tick: step.tick, entities }, step.at);
            assert.equal(self?.id, conn.welcome.entityId, `${where}: own entity`);
            break;
          }
          case "input": {
            const [moveX, moveY, buttons, aimX, aimY] = step.controls;
            const got = v.nextInput({ moveX, moveY, buttons, aimX, aimY }, step.at);
            assert.deepEqual(
              [got.seq, got.moveX, got.moveY, got.buttons, got.aimX, got.aimY, got.viewTick],
              step.want,
              `${where}: [seq, moveX, moveY, buttons, aimX, aimY, viewTick]`,
            );
            break;
          }
          case "query": {
            const s = v.predictionError;
            assert.deepEqual(
              {
                predicted: [v.predicted.x, v.predicted.y],
                stats: [s.checked, s.corrections, s.last, s.max],
                pending: v.pendingInputs,
                lastSeq: v.lastSeq,
                viewTick: v.viewTick(step.at),
                interpolated: v.interpolated(step.at).map((e) => [e.id, e.x, e.y, e.hp, e.score]),
              },
              {
                predicted: step.predicted,
                stats: step.stats,
                pending: step.pending,
                lastSeq: step.lastSeq,
                viewTick: step.viewTick,
                interpolated: step.interpolated,
              },
              where,
            );
            const rt = v.renderTick(step.at);
            assert.ok(Object.is(rt, step.renderTick), `${where}: renderTick = ${rt}, want ${step.renderTick}`);
            break;
          }
        }
      });
      assert.ok(counts.snapshot > 10 && counts.input > 10 && counts.query > 10, `${conn.name}: ${JSON.stringify(counts)}`);
      prev = v;
    }
  });
});

// The shapes protoc-gen-es gives the generated messages (arbiter.v1):
// ArenaView, the Predictor and the Interpolator must take them as they are.
type GenWelcome = Message<"arbiter.v1.Welcome"> & {
  matchId: string; entityId: number; tickRate: number; tick: number; playerId: string; mode: string;
  lastInputSeq: number; game: string; lastActionSeq: number;
};
type GenEntity = Message<"arbiter.v1.Entity"> & {
  id: number; x: number; y: number; hp: number; score: number; lastInputSeq: number; inputBacklog: number;
};
type GenSnapshot = Message<"arbiter.v1.Snapshot"> & { tick: number; entities: GenEntity[] };

describe("ArenaView", () => {
  it("takes the generated messages as they are", () => {
    const e: GenEntity = { $typeName: "arbiter.v1.Entity", id: 2, x: 10, y: 20, hp: 100, score: 0, lastInputSeq: 0, inputBacklog: 0 };
    const w: GenWelcome = {
      $typeName: "arbiter.v1.Welcome", matchId: "m", entityId: 2, tickRate: 30, tick: 1, playerId: "p", mode: "duel",
      lastInputSeq: 0, game: "arena", lastActionSeq: 0,
    };
    const s: GenSnapshot = { $typeName: "arbiter.v1.Snapshot", tick: 2, entities: [e, { ...e, id: 3 }] };
    const v = new ArenaView(w, 0);
    assert.equal(v.snapshot(s, 0), e);
    assert.deepEqual(v.predicted, { x: 10, y: 20 });
    assert.deepEqual(v.interpolated(0).map((x) => x.id), [3]);
  });

  const welcome: WelcomeLike = { entityId: 2, tickRate: 30, tick: 100, lastInputSeq: 0 };

  const refused: { name: string; give: WelcomeLike }[] = [
    { name: "tick rate 0", give: { ...welcome, tickRate: 0 } },
    { name: "tick rate 61", give: { ...welcome, tickRate: 61 } },
    { name: "entity 0", give: { ...welcome, entityId: 0 } },
  ];
  for (const tt of refused) {
    it(`refuses a Welcome with ${tt.name}`, () => {
      assert.throws(() => new ArenaView(tt.give, 0), ArenaProtocolError);
    });
  }

  it("refuses a snapshot with too many entities, taking nothing", () => {
    const v = new ArenaView(welcome, 0);
    const entity = { id: 3, x: 1, y: 1, hp: 100, score: 0, lastInputSeq: 0 };
    assert.throws(() => v.snapshot({ tick: 101, entities: new Array(MAX_SNAPSHOT_ENTITIES + 1).fill(entity) }, 0), ArenaProtocolError);
    assert.equal(v.lastSnapshot, undefined);
    assert.deepEqual(v.interpolated(1000), []);
  });

  it("continues after every seq it knows of", () => {
    const tests: { name: string; welcomeSeq: number; initialSeq?: number; want: number }[] = [
      { name: "fresh", welcomeSeq: 0, want: 1 },
      { name: "after a reload", welcomeSeq: 41, want: 42 },
      { name: "initial seq higher", welcomeSeq: 41, initialSeq: 50, want: 51 },
    ];
    for (const tt of tests) {
      const v = new ArenaView({ ...welcome, lastInputSeq: tt.welcomeSeq }, 0, { initialSeq: tt.initialSeq });
      assert.equal(v.nextInput({}, 0).seq, tt.want, tt.name);
    }
  });

  it("sends what the wire can carry, whatever the game hands over", () => {
    const v = new ArenaView(welcome, 0);
    const got = v.nextInput({ moveX: 1000.4, moveY: -1000.4, buttons: 1.7, aimX: NaN, aimY: -3.5 }, 0);
    assert.deepEqual(
      [got.moveX, got.moveY, got.buttons, got.aimX, got.aimY],
      [706, -706, 1, 0, -4],
    );
    assert.deepEqual(v.nextInput({ buttons: -1 }, 0).buttons, 0);
  });

  it("numbers inputs after an acknowledgement beyond what it sent", () => {
    const v = new ArenaView(welcome, 0);
    v.snapshot({ tick: 101, entities: [{ id: 2, x: 1, y: 1, hp: 100, score: 0, lastInputSeq: 7 }] }, 0);
    assert.equal(v.nextInput({}, 0).seq, 8);
  });

  it("runs its render clock from the first snapshot, then only from newer ones", () => {
    const v = new ArenaView(welcome, 0); // tick 100 at 0 ms
    const snap = (tick: number, at: number) => v.snapshot({ tick, entities: [] }, at);
    snap(90, 10); // the first snapshot sets the clock, even if older than the Welcome
    snap(95, 20);
    snap(93, 30); // older than the newest: the clock stays
    // 95 + 10 ms · 30/s − 100 ms · 30/s
    assert.equal(v.renderTick(30), 95 + 0.3 - 3);
    assert.equal(v.viewTick(30), 92);
  });

  it("never shows a view tick ahead of the newest snapshot", () => {
    const v = new ArenaView(welcome, 0, { interpolationDelayMillis: -5 });
    assert.equal(v.interpolationDelayMillis, 0);
    assert.equal(v.viewTick(10_000), 100);
  });

  it("ignores a resumed view of another entity", () => {
    const old = new ArenaView({ ...welcome, entityId: 3 }, 0);
    old.snapshot({ tick: 101, entities: [{ id: 3, x: 500, y: 500, hp: 100, score: 0, lastInputSeq: 0 }] }, 10);
    old.nextInput({ moveX: 1000 }, 20);
    const v = new ArenaView(welcome, 0, { resumeFrom: old });
    assert.deepEqual(v.predicted, { x: 0, y: 0 });
    assert.equal(v.nextInput({}, 0).seq, 2, "seqs still continue");
  });
});

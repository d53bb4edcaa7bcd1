// The Predictor against the Go Predictor's results for the same calls
// (testdata/arena_prediction.json, written by the Go test TestSDKVectors):
// a duel against a real server simulation over a lossy, stalling network,
// with deaths, respawns, surplus and invalid inputs; out-of-order and foreign
// acknowledgements; a resume.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { DEFAULT_MAX_PENDING, Predictor, type InputLike, type Vec } from "../src/arena/index.js";

interface Step {
  op: "apply" | "reconcile" | "carry";
  args: number[];
  got?: [number, number];
  state: number[];
}

interface Scenario {
  name: string;
  tickRate: number;
  entity: number;
  maxPending: number;
  events?: Record<string, number>;
  steps: Step[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../testdata/arena_prediction.json", import.meta.url), "utf8"),
) as { scenarios: Scenario[] };

/** The Predictor's state in the vectors' order. */
function state(p: Predictor): number[] {
  const pos = p.position;
  const s = p.stats;
  return [pos.x, pos.y, p.known ? 1 : 0, p.pending, p.lastSeq, s.checked, s.corrections, s.last, s.max];
}

function input(args: number[]): InputLike {
  const [seq, moveX, moveY, buttons, aimX, aimY, viewTick] = args as [number, number, number, number, number, number, number];
  return { seq, moveX, moveY, buttons, aimX, aimY, viewTick };
}

describe("Predictor, against Go's vectors", () => {
  assert.ok(vectors.scenarios.length >= 5, "scenarios missing");
  for (const sc of vectors.scenarios) {
    it(sc.name, () => {
      const p = new Predictor(sc.tickRate, sc.entity, sc.maxPending);
      assert.equal(p.entity, sc.entity);
      sc.steps.forEach((step, i) => {
        let got: Vec | undefined;
        switch (step.op) {
          case "apply":
            got = p.apply(input(step.args));
            break;
          case "reconcile": {
            const [x, y, ack] = step.args as [number, number, number];
            got = p.reconcile({ x, y }, ack);
            break;
          }
          case "carry": {
            const [x, y, checked, corrections, last, max] = step.args as number[] as [number, number, number, number, number, number];
            p.carryOver({ x, y }, { checked, corrections, last, max });
            break;
          }
        }
        const where = `step ${i} (${step.op} ${JSON.stringify(step.args)})`;
        if (step.got !== undefined) {
          assert.deepEqual([got?.x, got?.y], step.got, `${where}: result`);
        }
        assert.deepEqual(state(p), step.state, `${where}: state [x, y, known, pending, lastSeq, checked, corrections, last, max]`);
      });
    });
  }
});

describe("Predictor", () => {
  for (const rate of [0, 19, 61, 29.5]) {
    it(`refuses tick rate ${rate}`, () => {
      assert.throws(() => new Predictor(rate, 1), RangeError);
    });
  }

  const bounds: { give: number; want: number }[] = [
    { give: 0, want: DEFAULT_MAX_PENDING },
    { give: -3, want: DEFAULT_MAX_PENDING },
    { give: 2.5, want: DEFAULT_MAX_PENDING },
    { give: 7, want: 7 },
  ];
  for (const tt of bounds) {
    it(`bounds pending inputs: maxPending ${tt.give} means ${tt.want}`, () => {
      assert.equal(new Predictor(30, 1, tt.give).maxPending, tt.want);
    });
  }

  it("keeps its own copy of an applied input", () => {
    const p = new Predictor(30, 1);
    p.reconcile({ x: 50000, y: 50000 }, 0);
    const reused = { seq: 1, moveX: 1000, moveY: 0, buttons: 0, aimX: 0, aimY: 0, viewTick: 0 };
    p.apply(reused);
    reused.moveX = -1000; // the game's next frame
    assert.deepEqual(p.reconcile({ x: 50000, y: 50000 }, 0), { x: 50666, y: 50000 });
  });

  it("hands out copies of its statistics", () => {
    const p = new Predictor(30, 1);
    p.stats.checked = 99;
    assert.equal(p.stats.checked, 0);
  });

  it("ignores a NaN seq", () => {
    const p = new Predictor(30, 1);
    p.apply({ seq: NaN, moveX: 1000, moveY: 0, buttons: 0, aimX: 0, aimY: 0, viewTick: 0 });
    assert.equal(p.pending, 0);
  });
});

// The Interpolator and the render-tick clock against the Go client's results
// (testdata/arena_interpolation.json, written by the Go test TestSDKVectors).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import {
  DEFAULT_INTERPOLATION_DELAY_MILLIS,
  Interpolator,
  interpolationCapacity,
  renderTick,
  viewTick,
  type EntityView,
} from "../src/arena/index.js";

type Row = [number, number, number, number, number];

type Step =
  | { op: "push"; tick: number; entities: Row[]; ok: boolean; len: number; oldest: number; newest: number }
  | { op: "sample"; renderTick: number; want: Row[] };

interface Scenario {
  name: string;
  self: number;
  tickRate: number;
  capacity: number;
  steps: Step[];
}

interface Vectors {
  renderTicks: [number, number, number, number, number, number][];
  capacities: [number, number, number][];
  scenarios: Scenario[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../testdata/arena_interpolation.json", import.meta.url), "utf8"),
) as Vectors;

function entity([id, x, y, hp, score]: Row): EntityView {
  return { id, x, y, hp, score };
}

/** The delay the Go client uses for its option: 0 is the default, negative none. */
function effectiveDelay(option: number): number {
  return option === 0 ? DEFAULT_INTERPOLATION_DELAY_MILLIS : Math.max(option, 0);
}

describe("render ticks, against Go's vectors", () => {
  it("computes the Go client's render tick and view tick, to the bit", () => {
    assert.ok(vectors.renderTicks.length > 100);
    for (const [refTick, elapsed, rate, delay, wantRender, wantView] of vectors.renderTicks) {
      const rt = renderTick(refTick, elapsed, rate, effectiveDelay(delay));
      const what = `renderTick(${refTick}, ${elapsed}, ${rate}, ${delay})`;
      assert.ok(Object.is(rt, wantRender), `${what} = ${rt}, want ${wantRender}`);
      assert.equal(viewTick(rt, refTick), wantView, `viewTick after ${what}`);
    }
  });

  it("sizes the history as the Go client does", () => {
    for (const [rate, delay, want] of vectors.capacities) {
      assert.equal(interpolationCapacity(rate, effectiveDelay(delay)), want, `interpolationCapacity(${rate}, ${delay})`);
    }
  });
});

describe("Interpolator, against Go's vectors", () => {
  assert.ok(vectors.scenarios.length >= 2, "scenarios missing");
  for (const sc of vectors.scenarios) {
    it(sc.name, () => {
      const ip = new Interpolator(sc.self, sc.tickRate, sc.capacity);
      let samples = 0;
      sc.steps.forEach((step, i) => {
        if (step.op === "push") {
          const ok = ip.push(step.tick, step.entities.map(entity));
          const where = `step ${i}: push(${step.tick})`;
          assert.equal(ok, step.ok, where);
          assert.deepEqual([ip.length, ip.oldest, ip.newest], [step.len, step.oldest, step.newest], `${where}: length, oldest, newest`);
        } else {
          samples++;
          assert.deepEqual(ip.sample(step.renderTick), step.want.map(entity), `step ${i}: sample(${step.renderTick})`);
        }
      });
      assert.ok(samples > 0);
    });
  }
});

describe("Interpolator", () => {
  for (const rate of [0, 61, 30.5]) {
    it(`refuses tick rate ${rate}`, () => {
      assert.throws(() => new Interpolator(1, rate), RangeError);
    });
  }

  const capacities: { give: number; want: number }[] = [
    { give: 0, want: 30 },
    { give: -1, want: 30 },
    { give: 1, want: 2 },
    { give: 4.5, want: 30 },
    { give: 9, want: 9 },
  ];
  for (const tt of capacities) {
    it(`remembers capacity ${tt.give} as ${tt.want} at 30 Hz`, () => {
      assert.equal(new Interpolator(1, 30, tt.give).capacity, tt.want);
    });
  }

  function twoFrames(): Interpolator {
    const ip = new Interpolator(1, 30);
    ip.push(10, [{ id: 2, x: 0, y: -1, hp: 100, score: 0 }]);
    ip.push(11, [{ id: 2, x: 600, y: 0, hp: 75, score: 1 }]);
    return ip;
  }

  const samples: { name: string; give: number; want: EntityView }[] = [
    { name: "halfway, halves away from zero", give: 10.5, want: { id: 2, x: 300, y: -1, hp: 75, score: 1 } },
    { name: "NaN shows the newest", give: NaN, want: { id: 2, x: 600, y: 0, hp: 75, score: 1 } },
    { name: "-Infinity shows the oldest", give: -Infinity, want: { id: 2, x: 0, y: -1, hp: 100, score: 0 } },
    { name: "Infinity shows the newest", give: Infinity, want: { id: 2, x: 600, y: 0, hp: 75, score: 1 } },
  ];
  for (const tt of samples) {
    it(`samples: ${tt.name}`, () => {
      assert.deepEqual(twoFrames().sample(tt.give), [tt.want]);
    });
  }

  it("hands out copies: changing a sample or the pushed entities changes no history", () => {
    const ip = new Interpolator(1, 30);
    const es = [{ id: 2, x: 5, y: 5, hp: 100, score: 0 }];
    ip.push(1, es);
    es[0]!.x = 99;
    ip.sample(1)[0]!.y = 99;
    assert.deepEqual(ip.sample(1), [{ id: 2, x: 5, y: 5, hp: 100, score: 0 }]);
  });

  it("interpolates crowds as it does a duel", () => {
    // Past 32 entities the lookup is a map: same results, duplicates too.
    const frame = (dx: number) =>
      Array.from({ length: 100 }, (_, i) => ({ id: 2 + (i % 90), x: 1000 * i + dx, y: i, hp: 100, score: 0 }));
    const ip = new Interpolator(1, 30);
    ip.push(1, frame(0));
    ip.push(2, frame(600));
    const got = ip.sample(1.5);
    assert.equal(got.length, 100);
    got.forEach((e, i) => {
      // An id's first entity in the older frame is the one it moves from:
      // the duplicates (i ≥ 90) are 90000 away from it, beyond walking, and
      // snap to the newer frame at the half.
      const want = i < 90 ? [2 + i, 1000 * i + 300, i] : [2 + i - 90, 1000 * i + 600, i];
      assert.deepEqual([e.id, e.x, e.y], want, `entity ${i}`);
    });
  });

  it("keeps only the fields it shows", () => {
    const ip = new Interpolator(1, 30);
    ip.push(1, [{ id: 2, x: 5, y: 5, hp: 100, score: 0, lastInputSeq: 9, $typeName: "arbiter.v1.Entity" } as EntityView]);
    assert.deepEqual(Object.keys(ip.sample(1)[0]!).sort(), ["hp", "id", "score", "x", "y"]);
  });
});

describe("viewTick", () => {
  const tests: { give: [number, number]; want: number }[] = [
    { give: [10.9, 20], want: 10 },
    { give: [25.5, 20], want: 20 },
    { give: [-0.5, 20], want: 0 },
    { give: [NaN, 20], want: 0 },
  ];
  for (const tt of tests) {
    it(`viewTick(${tt.give}) = ${tt.want}`, () => {
      assert.ok(Object.is(viewTick(...tt.give), tt.want));
    });
  }
});

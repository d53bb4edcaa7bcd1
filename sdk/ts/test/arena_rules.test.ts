// The arena's movement rules against the Go code's results
// (testdata/arena_rules.json, written by the Go test TestSDKVectors), and
// what only the TypeScript port has to decide: numbers that are not int32.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import * as arena from "../src/arena/index.js";

interface RulesVectors {
  constants: Record<string, number>;
  spawnPoints: [number, number, number][];
  rates: [number, number, number, number][];
  clamp: [number, number, number, number][];
  validate: [number, number, number, number, string][];
  move: [number, number, number, number, number, number, number][];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../testdata/arena_rules.json", import.meta.url), "utf8"),
) as RulesVectors;

/** Fails with the first few rows whose result differs, and how many did. */
function expectRows<R>(rows: readonly R[], check: (row: R) => string | undefined): void {
  assert.ok(rows.length > 0, "no vectors");
  const bad: string[] = [];
  for (const row of rows) {
    const msg = check(row);
    if (msg !== undefined) {
      bad.push(msg);
    }
  }
  assert.equal(bad.length, 0, `${bad.length} of ${rows.length} rows differ from Go:\n${bad.slice(0, 10).join("\n")}`);
}

describe("arena rules, against Go's vectors", () => {
  it("has Go's constants", () => {
    const exported = arena as unknown as Record<string, unknown>;
    for (const [name, want] of Object.entries(vectors.constants)) {
      assert.equal(exported[name], want, `${name}`);
    }
  });

  it("spawns where Go spawns", () => {
    expectRows(vectors.spawnPoints, ([n, x, y]) => {
      const got = arena.spawnPoint(n);
      return got.x === x && got.y === y ? undefined : `spawnPoint(${n}) = (${got.x}, ${got.y}), want (${x}, ${y})`;
    });
  });

  it("converts durations to ticks as Go does at every tick rate", () => {
    assert.equal(vectors.rates.length, arena.MAX_TICK_RATE - arena.MIN_TICK_RATE + 1);
    expectRows(vectors.rates, ([r, cooldown, rewind, respawn]) => {
      const got = [arena.cooldownTicks(r), arena.rewindTicks(r), arena.respawnTicks(r)];
      return got[0] === cooldown && got[1] === rewind && got[2] === respawn
        ? undefined
        : `rate ${r}: cooldown, rewind, respawn = ${got}, want ${[cooldown, rewind, respawn]}`;
    });
  });

  it("clamps move vectors as Go's ClampMove", () => {
    expectRows(vectors.clamp, ([x, y, wx, wy]) => {
      const [gx, gy] = arena.clampMove(x, y);
      return Object.is(gx, wx) && Object.is(gy, wy) ? undefined : `clampMove(${x}, ${y}) = (${gx}, ${gy}), want (${wx}, ${wy})`;
    });
  });

  it("validates inputs as Go's Validate", () => {
    expectRows(vectors.validate, ([moveX, moveY, aimX, aimY, want]) => {
      const got = arena.validate({ moveX, moveY, aimX, aimY });
      return got === want ? undefined : `validate(${moveX}, ${moveY}, ${aimX}, ${aimY}) = ${got}, want ${want}`;
    });
  });

  it("moves as Go's Move at every tick rate", () => {
    const rates = new Set(vectors.move.map((row) => row[4]));
    assert.equal(rates.size, arena.MAX_TICK_RATE - arena.MIN_TICK_RATE + 1, "every tick rate has vectors");
    expectRows(vectors.move, ([x, y, moveX, moveY, rate, wx, wy]) => {
      const got = arena.move({ x, y }, { moveX, moveY }, rate);
      return Object.is(got.x, wx) && Object.is(got.y, wy)
        ? undefined
        : `move((${x}, ${y}), (${moveX}, ${moveY}), ${rate}) = (${got.x}, ${got.y}), want (${wx}, ${wy})`;
    });
  });
});

// clampReference is ClampMove in BigInt throughout: an oracle independent
// of the port's fast path in doubles.
function clampReference(x: number, y: number): [number, number] {
  const bx = BigInt(x);
  const by = BigInt(y);
  const l2 = bx * bx + by * by;
  if (l2 <= 1000n * 1000n) {
    return [x, y];
  }
  let lo = 0n;
  let hi = 1n << 32n;
  while (lo < hi) {
    // The least n with n² ≥ l2: ⌈√l2⌉.
    const mid = (lo + hi) >> 1n;
    if (mid * mid >= l2) {
      hi = mid;
    } else {
      lo = mid + 1n;
    }
  }
  return [Number((bx * 1000n) / lo), Number((by * 1000n) / lo)];
}

// mulberry32 is a small seeded generator, so that failures repeat.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let z = seed;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

describe("clampMove", () => {
  it("agrees with a BigInt oracle at every scale (both of its paths)", () => {
    const rand = mulberry32(7);
    const scales = [1002, 1 << 12, 1 << 24, 1 << 25, (1 << 25) + 3, 2 ** 31];
    for (const scale of scales) {
      for (let i = 0; i < 20000; i++) {
        const x = Math.max(Math.floor((rand() * 2 - 1) * scale), -(2 ** 31));
        const y = Math.max(Math.floor((rand() * 2 - 1) * scale), -(2 ** 31));
        const want = clampReference(x, y);
        const got = arena.clampMove(x, y);
        if (!Object.is(got[0], want[0] + 0) || !Object.is(got[1], want[1] + 0)) {
          assert.fail(`clampMove(${x}, ${y}) = ${got}, want ${want}`);
        }
      }
    }
  });

  it("never returns a vector longer than MAX_MOVE", () => {
    for (let x = -1010; x <= 1010; x += 3) {
      for (let y = -1010; y <= 1010; y += 7) {
        const [cx, cy] = arena.clampMove(x, y);
        assert.ok(cx * cx + cy * cy <= arena.MAX_MOVE * arena.MAX_MOVE, `clampMove(${x}, ${y}) = (${cx}, ${cy})`);
      }
    }
  });

  const tests: { name: string; give: [number, number]; want: [number, number] }[] = [
    { name: "a rounded analog stick", give: [707.4, 707.4], want: [707, 707] },
    { name: "halves round away from zero", give: [-0.5, 0.5], want: [-1, 1] },
    { name: "a diagonal of full axes", give: [1000, 1000], want: [706, 706] },
    { name: "NaN is no move", give: [NaN, 1000], want: [0, 1000] },
    { name: "infinities saturate", give: [Infinity, -Infinity], want: [707, -707] },
    { name: "beyond int32 saturates", give: [2 ** 40, 0], want: [1000, 0] },
    { name: "no negative zero", give: [-0.2, -1e-9], want: [0, 0] },
    { name: "a small negative component truncates to zero", give: [5000, -1], want: [999, 0] },
  ];
  for (const tt of tests) {
    it(`takes numbers that are not int32: ${tt.name}`, () => {
      const got = arena.clampMove(...tt.give);
      assert.ok(Object.is(got[0], tt.want[0]) && Object.is(got[1], tt.want[1]), `clampMove(${tt.give}) = ${got}, want ${tt.want}`);
    });
  }
});

describe("toInt32", () => {
  const tests: { give: number; want: number }[] = [
    { give: 0, want: 0 },
    { give: -0, want: 0 },
    { give: 2.5, want: 3 },
    { give: -2.5, want: -3 },
    { give: -2.4, want: -2 },
    { give: 2147483647.4, want: 2147483647 },
    { give: 2147483648, want: 2147483647 },
    { give: -2147483649, want: -2147483648 },
    { give: NaN, want: 0 },
  ];
  for (const tt of tests) {
    it(`toInt32(${tt.give}) = ${tt.want}`, () => {
      assert.ok(Object.is(arena.toInt32(tt.give), tt.want), `got ${arena.toInt32(tt.give)}`);
    });
  }
});

describe("move", () => {
  for (const rate of [0, 19, 61, 30.5, NaN]) {
    it(`refuses tick rate ${rate}`, () => {
      assert.throws(() => arena.move({ x: 0, y: 0 }, { moveX: 1000, moveY: 0 }, rate), RangeError);
    });
  }

  it("covers 200 units a second at full stick, at every tick rate", () => {
    for (let rate = arena.MIN_TICK_RATE; rate <= arena.MAX_TICK_RATE; rate++) {
      let p: arena.Vec = { x: 0, y: 50000 };
      for (let i = 0; i < rate; i++) {
        p = arena.move(p, { moveX: 1000, moveY: 0 }, rate);
      }
      // Each step truncates: at most one unit a tick short.
      assert.ok(p.x <= arena.SPEED && p.x > arena.SPEED - rate, `rate ${rate}: ${p.x}`);
    }
  });
});

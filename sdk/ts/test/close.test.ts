import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { backoffCap, backoffDelay } from "../src/backoff.js";
import { closeCode, closeReasons, isCloseReason, isResumable, isResumableReason, type CloseInfo } from "../src/close.js";

// The Go vocabulary, proto/arbiter/v1/close.go: the words of its constants
// and its closeReasons table, read from the source so that the two lists
// cannot drift apart.
function goVocabulary(): { reason: string; code: number; resumable: boolean }[] {
  const src = readFileSync(new URL("../../../../proto/arbiter/v1/close.go", import.meta.url), "utf8");
  const words = new Map<string, string>();
  for (const m of src.matchAll(/^\s*(Close\w+)\s+CloseReason\s*=\s*"(\w+)"/gm)) {
    words.set(m[1]!, m[2]!);
  }
  const rows = [...src.matchAll(/^\s*\{(Close\w+),\s*(\d+),\s*(true|false)\},/gm)].map((m) => ({
    reason: words.get(m[1]!) ?? `unknown constant ${m[1]}`,
    code: Number(m[2]),
    resumable: m[3] === "true",
  }));
  assert.ok(rows.length >= 15, `read ${rows.length} rows from close.go: the test is not testing`);
  return rows;
}

test("close vocabulary: the Go server's, word for word, in order", () => {
  const want = goVocabulary();
  assert.deepEqual(closeReasons(), want.map((r) => r.reason));
  for (const r of want) {
    assert.equal(closeCode(r.reason), r.code, `closeCode(${r.reason})`);
    assert.equal(isResumableReason(r.reason), r.resumable, `isResumableReason(${r.reason})`);
    assert.ok(isCloseReason(r.reason));
  }
  assert.equal(closeCode("from_the_future"), 1011);
  assert.equal(isResumableReason("from_the_future"), false);
  assert.equal(isCloseReason("from_the_future"), false);
});

test("isResumable: the Go client's CloseError.Resumable cases", () => {
  const k = (reason: string) => ({ reason, message: "" });
  const tests: [CloseInfo, boolean][] = [
    [{ code: 1006, reason: "", local: false }, true],
    [{ code: 1000, reason: "", local: true }, true],
    [{ code: 1007, reason: "bad_frame", local: true }, true],
    [{ code: 1001, reason: "shutdown", local: false, kick: k("shutdown") }, true],
    [{ code: 1001, reason: "idle", local: false }, true],
    [{ code: 1011, reason: "internal_error", local: false, kick: k("internal_error") }, true],
    [{ code: 1012, reason: "", local: false }, true],
    [{ code: 1008, reason: "slow_consumer", local: false, kick: k("slow_consumer") }, true],
    [{ code: 1006, reason: "", local: false, kick: k("slow_consumer") }, true],
    [{ code: 1000, reason: "match_over", local: false, kick: k("match_over") }, false],
    [{ code: 1000, reason: "", local: false }, false],
    [{ code: 4000, reason: "replaced", local: false, kick: k("replaced") }, false],
    [{ code: 4000, reason: "", local: false }, false],
    [{ code: 1008, reason: "cheat", local: false, kick: k("cheat") }, false],
    [{ code: 1008, reason: "input_flood", local: false }, false],
    [{ code: 1008, reason: "", local: false }, false],
    [{ code: 1003, reason: "text_frame", local: false }, false],
    [{ code: 1007, reason: "bad_frame", local: false }, false],
    [{ code: 4001, reason: "", local: false }, false],
    [{ code: 4001, reason: "forfeited", local: false, kick: k("forfeited") }, false],
    [{ code: 1006, reason: "", local: false, kick: k("forfeited") }, false],
    // A verdict announced by a Kick stands even if its close frame was
    // lost, or this side closed first.
    [{ code: 1006, reason: "", local: false, kick: k("match_over") }, false],
    [{ code: 1000, reason: "", local: true, kick: k("cheat") }, false],
  ];
  for (const [give, want] of tests) {
    assert.equal(isResumable(give), want, `isResumable(${JSON.stringify(give)})`);
  }
});

test("backoff: capped exponential bounds, jitter within them", () => {
  const tests: { give: Parameters<typeof backoffCap>[0]; want: number[] }[] = [
    { give: {}, want: [100, 200, 400, 800, 1600, 3200, 5000, 5000] },
    { give: { initialMs: 50, maxMs: 300, multiplier: 3 }, want: [50, 150, 300, 300, 300, 300, 300, 300] },
    { give: { multiplier: 0.5 }, want: [100, 200, 400, 800, 1600, 3200, 5000, 5000] },
  ];
  for (const tt of tests) {
    assert.deepEqual(
      tt.want.map((_, n) => backoffCap(tt.give, n)),
      tt.want,
      JSON.stringify(tt.give),
    );
  }
  assert.equal(backoffCap({}, 10_000), 5000, "a long outage does not overflow");
  for (let n = 0; n < 10; n++) {
    const d = backoffDelay({}, n);
    assert.ok(d >= 0 && d <= backoffCap({}, n), `backoffDelay({}, ${n}) = ${d}`);
  }
  assert.equal(backoffDelay({ jitter: (b) => b * 2 }, 0), 100, "a jitter beyond the bound is capped");
  assert.equal(backoffDelay({ jitter: () => -5 }, 0), 0);
});

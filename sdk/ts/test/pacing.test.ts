// The Pacer's tests, ported from netcode/client/pacer_test.go and
// pacer_sim_test.go: unit cases, and a deterministic virtual-time model of
// one player's input path (a client paced by a Pacer or by a fixed ticker,
// a link each way, the server's input rules) run against the same bars as
// the Go tests. No real time passes and all randomness is seeded.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { MAX_DILATION, Pacer, TICK_CLOCK_MAX_SKEW, TickClock } from "../src/pacing.js";

// Rng is Go's math/rand/v2 PCG (128-bit LCG, DXSM output) with its Int64N
// and Float64, bit for bit: the simulation draws the same numbers as the Go
// tests' with the same seeds, so that it plays the same runs and its
// results can be held to the same bars, and compared with the Go table.
const M64 = (1n << 64n) - 1n;
class Rng {
  #hi: bigint;
  #lo: bigint;
  constructor(seed1: bigint, seed2: bigint) {
    this.#hi = seed1 & M64;
    this.#lo = seed2 & M64;
  }
  uint64(): bigint {
    const mul = (2549297995355413924n << 64n) | 4865540595714422341n;
    const inc = (6364136223846793005n << 64n) | 1442695040888963407n;
    const state = (((this.#hi << 64n) | this.#lo) * mul + inc) & ((1n << 128n) - 1n);
    this.#hi = state >> 64n;
    this.#lo = state & M64;
    let hi = this.#hi;
    hi ^= hi >> 32n;
    hi = (hi * 0xda942042e4dd58b5n) & M64;
    hi ^= hi >> 48n;
    hi = (hi * (this.#lo | 1n)) & M64;
    return hi;
  }
  // int64n is Go's Rand.Int64N(n): uniform in [0, n).
  int64n(n: number): number {
    const nn = BigInt(n);
    if ((nn & (nn - 1n)) === 0n) {
      return Number(this.uint64() & (nn - 1n));
    }
    let prod = this.uint64() * nn;
    let lo = prod & M64;
    if (lo < nn) {
      const thresh = ((1n << 64n) - nn) % nn;
      while (lo < thresh) {
        prod = this.uint64() * nn;
        lo = prod & M64;
      }
    }
    return Number(prod >> 64n);
  }
  // float64 is Go's Rand.Float64: uniform in [0, 1).
  float64(): number {
    return Number(this.uint64() & ((1n << 53n) - 1n)) / 2 ** 53;
  }
}

test("Pacer: the nominal pace before any snapshot", () => {
  for (const rate of [20, 30, 60]) {
    const p = new Pacer(rate);
    const period = 1000 / rate;
    assert.equal(p.due(), undefined, `${rate} Hz: due() before the first input`);
    let at = 1_000_000;
    for (let seq = 1; seq <= 100; seq++) {
      p.sent(seq, at);
      const due = p.due()!;
      assert.ok(Math.abs(due - at - period) < 1e-6, `${rate} Hz: due() after input ${seq} = send + ${due - at}, want + ${period}`);
      at = due;
    }
    const s = p.stats();
    assert.ok(Math.abs(s.dilation) < 1e-6 && s.leadMs === 0, `${rate} Hz: stats() = ${JSON.stringify(s)}, want no dilation and no lead`);
  }
});

test("Pacer: ignores stale calls", () => {
  const p = new Pacer(30);
  p.sent(5, 0);
  const due = p.due();
  p.sent(5, 1);
  p.sent(4, 2);
  assert.equal(p.due(), due, "due() after repeated and older seqs");
  p.observe(10, 5, 0, 100);
  p.observe(10, 3, 7, 110); // same tick again
  p.observe(9, 3, 7, 120); // older
  const s = p.stats();
  assert.deepEqual([s.backlog, s.starved, s.dropped], [0, 0, 0], `stats() after stale snapshots = ${JSON.stringify(s)}`);
});

// ---- The simulation ----
//
// Virtual time is in integer nanoseconds, as Go's time.Duration, so that the
// runs are the Go tests' runs; the Pacer gets the client's clock in
// milliseconds.

const MS = 1_000_000; // ns
const SECOND = 1000 * MS;

// SimLink is one direction of a network path: every message takes the
// latency at its sending time plus uniform jitter, and is delivered in
// order (like TCP). During a stall nothing is delivered; what would have
// arrived is delivered when it ends.
class SimLink {
  last = 0;
  // stalls are further stalls, each like stallFrom–stallTo: the receiving
  // process not scheduled for a while on a loaded machine.
  stalls: [number, number][] = [];
  constructor(
    readonly rng: Rng,
    readonly latency: (t: number) => number,
    readonly jitter: number,
    readonly stallFrom: number,
    readonly stallTo: number,
  ) {}

  deliver(sent: number, extra: number): number {
    let d = this.latency(sent) + extra;
    if (this.jitter > 0) {
      d += this.rng.int64n(2 * this.jitter + 1) - this.jitter;
    }
    let a = sent + Math.max(d, 0);
    if (this.stallTo > this.stallFrom && a >= this.stallFrom && sent < this.stallTo) {
      a = Math.max(a, this.stallTo);
    }
    for (const st of this.stalls) {
      if (a >= st[0] && sent < st[1]) {
        a = Math.max(a, st[1]);
      }
    }
    a = Math.max(a, this.last);
    this.last = a;
    return a;
  }
}

interface Arrival {
  seq: number;
  at: number;
}

// SimServer applies one player's inputs by the server's rules, per tick:
// pending beyond maxBacklog+1 (⌈rate/10⌉+1) drops all but the newest; at
// the end of every window of SIM_STANDING_WINDOW × rate ticks (match's
// standingWindow) whose least queue was ≥ 2, the excess is dropped; the
// oldest pending input is applied. Before the first
// tick only the newest input is kept; stale seqs are ignored.
// SIM_STANDING_WINDOW is the server's standing-excess window in seconds.
const SIM_STANDING_WINDOW = 2;

class SimServer {
  readonly maxBacklog: number;
  started = false;
  pending: Arrival[] = [];
  processed = 0;
  received = 0;
  windowMin = 0;
  windowPos = 0;
  dropped = 0;
  applied: Arrival = { seq: 0, at: 0 };
  starved = false;

  constructor(readonly tickRate: number) {
    this.maxBacklog = Math.floor((tickRate + 9) / 10);
  }

  receive(seq: number, at: number): void {
    if (seq <= this.processed || seq <= this.received) {
      return;
    }
    this.received = seq;
    if (!this.started) {
      this.pending = [];
    }
    this.pending.push({ seq, at });
  }

  tick(): [ack: number, backlog: number] {
    this.started = true;
    this.dropped = 0;
    this.starved = false;
    const q = this.pending.length;
    if (q > this.maxBacklog + 1) {
      this.drop(q - 1);
    }
    if (this.windowPos === 0 || q < this.windowMin) {
      this.windowMin = q;
    }
    this.windowPos++;
    if (this.windowPos === SIM_STANDING_WINDOW * this.tickRate) {
      if (this.windowMin >= 2) {
        this.drop(Math.min(this.windowMin - 1, this.pending.length - 1));
      }
      this.windowPos = 0;
    }
    if (this.pending.length === 0) {
      this.starved = true;
    } else {
      this.applied = this.pending.shift()!;
      this.processed = this.applied.seq;
    }
    return [this.processed, this.pending.length];
  }

  drop(n: number): void {
    if (n <= 0) {
      return;
    }
    this.processed = this.pending[n - 1]!.seq;
    this.pending = this.pending.slice(n);
    this.dropped += n;
  }
}

// Scenario is one network and clock condition; times in ns.
interface Scenario {
  name?: string;
  tickRate: number;
  latency: (t: number) => number; // one-way, both directions
  jitter?: number; // ± uniform, each direction
  skew?: number; // client clock rate − 1
  stall?: [number, number]; // both directions: nothing arrives
  skip?: number; // share of snapshots the client never sees
  stepDown?: number; // when the latency drops, if it does
  steps?: number[]; // when the latency changes
  frame?: number; // the period of the game's frame loop, if it has one
}

// SimLoad is a loaded machine, as a browser tab on a busy computer sees it.
// The client's input loop runs like Session.runInputs (after an input it
// sleeps until the next is due, at least half a tick) and its timers fire
// late by late; during clientStalls nothing runs on the client (no input
// goes out, and the snapshots that arrive are handled when the stall ends);
// during serverStalls the server's tick loop runs nothing, and then runs at
// most SIM_MAX_CATCH_UP ticks back to back and skips the rest, as the
// server's schedule does (the ticks it runs keep their numbers: from then
// on each comes later than the tick clock had it). Times in ns.
interface SimLoad {
  late?: (rng: Rng) => number;
  clientStalls?: [number, number][];
  serverStalls?: [number, number][];
}

// SIM_MAX_CATCH_UP is the server's default catch-up cap.
const SIM_MAX_CATCH_UP = 3;

// stalled returns the end of the stall t is within, if any.
function stalled(stalls: [number, number][] | undefined, t: number): number | undefined {
  for (const s of stalls ?? []) {
    if (t >= s[0] && t < s[1]) {
      return s[1];
    }
  }
  return undefined;
}

const constLatency = (d: number) => () => d;
const latencyStep = (at: number, before: number, after: number) => (t: number) => (t >= at ? after : before);

// SIM_START is when the match starts (its first tick follows one period
// later); the client is connected, and sending, from 0.
const SIM_START = 700 * MS;
const SIM_WARMUP = 5 * SECOND;
const SIM_DURATION = 60 * SECOND;
const SIM_STEADY = 10 * SECOND;
const SIM_SETTLE = 3 * SECOND;

const EV_SEND = 0;
const EV_INPUT_ARRIVES = 1;
const EV_TICK = 2;
const EV_SNAP_ARRIVES = 3;

interface SimEvent {
  at: number;
  order: number;
  kind: number;
  seq: number;
  tick: number;
  ack: number;
  back: number;
  catchUp: boolean; // a tick the server runs when a stall ends
}

// EventQueue is a binary min-heap by (at, order).
class EventQueue {
  readonly #h: SimEvent[] = [];
  get length(): number {
    return this.#h.length;
  }
  peek(): SimEvent | undefined {
    return this.#h[0];
  }
  push(e: SimEvent): void {
    const h = this.#h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) {
        break;
      }
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): SimEvent {
    const h = this.#h;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at !== b.at ? a.at < b.at : a.order < b.order;
}

interface SimTick {
  at: number;
  starved: boolean;
  dropped: number;
  backlog: number;
  wait: number;
}

interface SimResult {
  ticks: number;
  starved: number;
  steadyTicks: number;
  steadyStarved: number;
  starvedAt: number[];
  dropAt: number[];
  drops: number;
  waits: number[];
  acks: number[];
  runP99: number[];
}

function emptyResult(): SimResult {
  return { ticks: 0, starved: 0, steadyTicks: 0, steadyStarved: 0, starvedAt: [], dropAt: [], drops: 0, waits: [], acks: [], runP99: [] };
}

// SimWorld is one run: a client, the links and the server, driven by an
// event queue in virtual time.
class SimWorld {
  readonly up: SimLink;
  readonly down: SimLink;
  readonly srv: SimServer;
  readonly pacer: Pacer;
  readonly period: number;
  readonly rng: Rng;
  readonly q = new EventQueue();
  order = 0;
  now = 0;
  seq = 0;

  // load, if set, is a loaded machine; skipped counts the ticks its server
  // stalls made the tick loop skip.
  load?: SimLoad;
  skipped = 0;
  // held: the client's input loop waits for a snapshot (the Pacer holds the
  // next input back). ignoreHold makes the client send when the schedule
  // says, whatever the in-flight limit (for comparison).
  held = false;
  ignoreHold = false;

  extraDelay?: (seq: number) => number;
  paused?: (t: number) => boolean;
  onTick?: (w: SimWorld, tick: number) => void;
  onSend?: (w: SimWorld, seq: number, dueMs: number) => void;

  readonly measureFrom = SIM_START + SIM_WARMUP;
  readonly res = emptyResult();
  readonly sentAt = new Map<number, number>();
  acked = 0;

  constructor(
    readonly sc: Scenario,
    readonly paced: boolean,
    offset: number,
    seed: number,
  ) {
    this.rng = new Rng(BigInt(seed), 0x9e3779b97f4a7c15n);
    const stall = sc.stall ?? [0, 0];
    this.up = new SimLink(this.rng, sc.latency, sc.jitter ?? 0, stall[0], stall[1]);
    this.down = new SimLink(this.rng, sc.latency, sc.jitter ?? 0, stall[0], stall[1]);
    this.srv = new SimServer(sc.tickRate);
    this.pacer = new Pacer(sc.tickRate);
    this.period = Math.trunc(SECOND / sc.tickRate);
    this.push({ at: offset, kind: EV_SEND });
    this.push({ at: SIM_START + this.period, kind: EV_TICK, tick: 1 });
  }

  push(e: Partial<SimEvent> & { at: number; kind: number }): void {
    this.q.push({ seq: 0, tick: 0, ack: 0, back: 0, catchUp: false, ...e, order: this.order++ });
  }

  // localMs is the client's clock at virtual time t, in ms.
  localMs(t: number): number {
    return Math.trunc(t * (1 + (this.sc.skew ?? 0))) / MS;
  }

  // virtual is the virtual time at which the client's clock shows ms.
  virtual(ms: number): number {
    return Math.trunc(Math.round(ms * MS) / (1 + (this.sc.skew ?? 0)));
  }

  run(end: number): void {
    while (this.q.length > 0 && this.q.peek()!.at <= end) {
      const e = this.q.pop();
      if ((e.kind === EV_SEND || e.kind === EV_SNAP_ARRIVES) && this.load !== undefined) {
        const to = stalled(this.load.clientStalls, e.at);
        if (to !== undefined) {
          // Nothing runs on the client until the stall ends; then what
          // waited runs in the order it came.
          e.at = to;
          this.q.push(e);
          continue;
        }
      }
      this.now = e.at;
      switch (e.kind) {
        case EV_SEND:
          this.send(e.at);
          break;
        case EV_INPUT_ARRIVES:
          this.srv.receive(e.seq, e.at);
          break;
        case EV_TICK:
          this.tick(e);
          break;
        case EV_SNAP_ARRIVES:
          this.ack(e.ack);
          if (this.paced) {
            this.pacer.observe(e.tick, e.ack, e.back, this.localMs(e.at));
          }
          if (this.held) {
            // The input loop wakes on the snapshot.
            this.held = false;
            this.push({ at: e.at + this.late(), kind: EV_SEND });
          }
          break;
      }
    }
    this.now = end;
  }

  send(at: number): void {
    let next = at + Math.trunc(this.period / (1 + (this.sc.skew ?? 0)));
    if (this.paused?.(at)) {
      // A paused game asks again a little later.
      this.push({ at: at + Math.trunc(this.period / 4), kind: EV_SEND });
      return;
    }
    if (this.paced && this.load !== undefined) {
      // runInputs: a wake-up before the input is due sleeps again.
      const due = this.pacer.due();
      if (due !== undefined && this.virtual(due) > at) {
        this.push({ at: this.virtual(due) + this.late(), kind: EV_SEND });
        return;
      }
    }
    if (this.paced && !this.ignoreHold && this.pacer.held(this.localMs(at))) {
      // The input loop waits for a snapshot.
      this.held = true;
      return;
    }
    this.seq++;
    this.sentAt.set(this.seq, at);
    const extra = this.extraDelay?.(this.seq) ?? 0;
    this.push({ at: this.up.deliver(at, extra), kind: EV_INPUT_ARRIVES, seq: this.seq });
    if (this.paced) {
      this.pacer.sent(this.seq, this.localMs(at));
      const due = this.pacer.due()!;
      this.onSend?.(this, this.seq, due);
      next = Math.max(this.virtual(due), at + 1);
      if (this.load !== undefined) {
        // runInputs: at least half a tick after an input, and the timer
        // fires late.
        next = Math.max(this.virtual(due), at + Math.trunc(this.period / 2)) + this.late();
      }
      const f = this.sc.frame;
      if (f !== undefined && f > 0) {
        next = Math.floor((next + f - 1) / f) * f;
      }
    }
    this.push({ at: next, kind: EV_SEND });
  }

  // late returns how late the client's next timer fires.
  late(): number {
    return this.load?.late?.(this.rng) ?? 0;
  }

  // ack records, for every input a snapshot just received acknowledges for
  // the first time, the time since it was sent (but for the inputs sent in
  // the second before a stall or during it).
  ack(ack: number): void {
    for (; this.acked < ack; this.acked++) {
      const at = this.sentAt.get(this.acked + 1);
      const s = this.sc.stall;
      if (at === undefined || (s !== undefined && s[1] > s[0] && at >= s[0] - SECOND && at < s[1])) {
        continue;
      }
      if (at >= this.measureFrom) {
        this.res.acks.push(this.now - at);
      }
    }
  }

  tick(e: SimEvent): void {
    if (this.load !== undefined) {
      const to = stalled(this.load.serverStalls, e.at);
      if (to !== undefined) {
        // The tick loop wakes when the stall ends.
        this.push({ at: to, kind: EV_TICK, tick: e.tick, catchUp: true });
        return;
      }
    }
    if (e.catchUp) {
      // It runs the ticks due, at most SIM_MAX_CATCH_UP back to back, and
      // skips the rest.
      const due = Math.floor((e.at - SIM_START) / this.period) - (e.tick + this.skipped) + 1;
      const run = Math.min(due, SIM_MAX_CATCH_UP);
      for (let i = 0; i < run; i++) {
        this.runTick(e.tick + i, e.at);
      }
      this.skipped += due - run;
      const next = e.tick + run;
      this.push({ at: SIM_START + (next + this.skipped) * this.period, kind: EV_TICK, tick: next });
      return;
    }
    this.runTick(e.tick, e.at);
    this.push({ at: e.at + this.period, kind: EV_TICK, tick: e.tick + 1 });
  }

  // runTick runs the server's tick at virtual time at.
  runTick(tick: number, at: number): void {
    const [ack, back] = this.srv.tick();
    const arr = this.down.deliver(at, 0);
    this.now = at;
    this.onTick?.(this, tick);
    if (this.steady(at)) {
      this.res.steadyTicks++;
      if (this.srv.starved) {
        this.res.steadyStarved++;
      }
    }
    if (at >= this.measureFrom) {
      const r = this.res;
      r.ticks++;
      if (this.srv.starved) {
        r.starved++;
        r.starvedAt.push(at);
      } else {
        r.waits.push(at - this.srv.applied.at);
      }
      if (this.srv.dropped > 0) {
        r.drops += this.srv.dropped;
        r.dropAt.push(at);
      }
    }
    if (this.rng.float64() >= (this.sc.skip ?? 0)) {
      this.push({ at: arr, kind: EV_SNAP_ARRIVES, tick, ack, back });
    }
  }

  steady(t: number): boolean {
    if (t < SIM_START + SIM_STEADY) {
      return false;
    }
    const s = this.sc.stall;
    if (s !== undefined && s[1] > s[0] && t >= s[0] && t < s[1] + SIM_SETTLE) {
      return false;
    }
    return !(this.sc.steps ?? []).some((c) => t >= c && t < c + SIM_SETTLE);
  }

  result(): SimResult {
    const r = { ...this.res, acks: [...this.res.acks].sort((a, b) => a - b) };
    r.runP99 = [quantile(r.acks, 0.99)];
    return r;
  }
}

function recordTicks(w: SimWorld, from: number): SimTick[] {
  const ticks: SimTick[] = [];
  w.onTick = (w) => {
    if (w.now < from) {
      return;
    }
    ticks.push({
      at: w.now,
      starved: w.srv.starved,
      dropped: w.srv.dropped,
      backlog: w.srv.pending.length,
      wait: w.srv.starved ? 0 : w.now - w.srv.applied.at,
    });
  };
  return ticks;
}

const between = (ticks: SimTick[], from: number, to: number) => ticks.filter((tk) => tk.at >= from && tk.at < to);
const count = (ticks: SimTick[], f: (tk: SimTick) => boolean) => ticks.filter(f).length;
const starvedTick = (tk: SimTick) => tk.starved;
const dropTick = (tk: SimTick) => tk.dropped > 0;

// meanWait is Go's: the integer mean of the waits of the ticks that applied an input.
function meanWait(ticks: SimTick[]): number {
  return mean(ticks.filter((tk) => !tk.starved).map((tk) => tk.wait));
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : Math.trunc(xs.reduce((a, b) => a + b, 0) / xs.length);
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) {
    return 0;
  }
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(Math.floor(q * s.length), s.length - 1)]!;
}

const ms = (ns: number) => (ns / MS).toFixed(1);

describe("Pacer in the simulation", () => {
  test("finds the edge: started almost a tick early, it probes later and stays", () => {
    for (const rate of [30, 60]) {
      const period = Math.trunc(SECOND / rate);
      const sc: Scenario = { tickRate: rate, latency: constLatency(40 * MS) };
      // With 40 ms each way, a client starting at this offset sends its
      // inputs to arrive 0.9 tick before their tick.
      const offset = (SIM_START + period - 40 * MS - Math.trunc((period * 9) / 10)) % period;
      const end = SIM_START + 65 * SECOND;
      const w = new SimWorld(sc, true, offset, 1);
      const ticks = recordTicks(w, 0);
      w.run(end);
      const fixed = new SimWorld(sc, false, offset, 1);
      const fixedTicks = recordTicks(fixed, 0);
      fixed.run(end);

      const late = between(ticks, SIM_START + 5 * SECOND, end);
      const fixedWait = meanWait(between(fixedTicks, SIM_START + 5 * SECOND, end));
      assert.ok(
        meanWait(late) <= 5 * MS,
        `${rate} Hz: mean wait at the server after 5 s = ${ms(meanWait(late))} ms, want at most 5 ms (a fixed ticker's: ${ms(fixedWait)})`,
      );
      assert.equal(count(ticks, dropTick), 0, `${rate} Hz: ticks with drops`);
      const starved = count(late, starvedTick);
      assert.ok(starved <= 2, `${rate} Hz: ${starved} starved ticks in the minute after the first 5 s, want at most 2`);
    }
  });

  test("sheds a standing backlog when the link gets faster", () => {
    for (const rate of [30, 60]) {
      const period = Math.trunc(SECOND / rate);
      const change = SIM_START + 10 * SECOND;
      const w = new SimWorld({ tickRate: rate, latency: latencyStep(change, 150 * MS, 50 * MS) }, true, 0, 1);
      const ticks = recordTicks(w, SIM_START + 5 * SECOND);
      w.run(SIM_START + 15 * SECOND);

      assert.equal(count(ticks, dropTick), 0, `${rate} Hz: ticks with drops`);
      // 100 ms less latency is a backlog of 100 ms: it must be gone within a second.
      const after = between(ticks, change, SIM_START + 15 * SECOND);
      const peak = Math.max(...after.map((tk) => tk.backlog));
      assert.ok(peak >= Math.trunc((100 * MS) / period), `${rate} Hz: peak backlog after the change = ${peak}: the test is not testing`);
      const rest = between(ticks, change + SECOND, SIM_START + 15 * SECOND);
      const left = count(rest, (tk) => tk.backlog > 0);
      assert.ok(left <= rest.length / 10, `${rate} Hz: backlog left in ${left} of ${rest.length} ticks from 1 s after the change, want it shed`);
      assert.ok(meanWait(rest) <= period / 2, `${rate} Hz: mean wait from 1 s after the change = ${ms(meanWait(rest))} ms, want under half a tick`);
    }
  });

  test("one late input: sheds the tick it cost", () => {
    for (const rate of [30, 60]) {
      const period = Math.trunc(SECOND / rate);
      const w = new SimWorld({ tickRate: rate, latency: constLatency(60 * MS) }, true, 0, 1);
      const lateSeq = Math.trunc((600 * rate) / 60); // about 10 s in
      w.extraDelay = (seq) => (seq === lateSeq ? Math.trunc(period / 2) : 0);
      const ticks = recordTicks(w, SIM_START + 5 * SECOND);
      w.run(SIM_START + 8 * SECOND);
      const before = w.pacer.stats();
      w.run(SIM_START + 16 * SECOND);

      assert.equal(count(ticks, dropTick), 0, `${rate} Hz: ticks with drops`);
      const late = ticks.find((tk) => tk.starved && tk.at > SIM_START + 9 * SECOND)?.at;
      assert.ok(late !== undefined, `${rate} Hz: the late input starved no tick: the test is not testing`);
      // The extra tick of lead is gone within a second.
      const rest = between(ticks, late + SECOND, late + 5 * SECOND);
      const left = count(rest, (tk) => tk.backlog > 0);
      assert.ok(left <= rest.length / 10, `${rate} Hz: backlog left in ${left} of ${rest.length} ticks from 1 s after the starvation`);
      const starved = count(between(ticks, late, late + 2 * SECOND), starvedTick);
      assert.ok(starved <= 2, `${rate} Hz: ${starved} starved ticks in the 2 s after the late input, want at most 2`);
      const grew = w.pacer.stats().starved - before.starved;
      assert.ok(grew <= 4, `${rate} Hz: stats().starved grew by ${grew}, want at most 4`);
    }
  });

  test("the link gets slower: keeps the ticks it had to add", () => {
    for (const rate of [30, 60]) {
      const period = Math.trunc(SECOND / rate);
      const change = SIM_START + 10 * SECOND;
      const w = new SimWorld({ tickRate: rate, latency: latencyStep(change, 50 * MS, 130 * MS) }, true, 0, 1);
      const ticks = recordTicks(w, SIM_START + 5 * SECOND);
      w.run(SIM_START + 16 * SECOND);

      assert.equal(count(ticks, dropTick), 0, `${rate} Hz: ticks with drops`);
      // 80 ms more latency starves ⌈80 ms / period⌉ ticks at least.
      const unavoidable = Math.ceil((80 * MS) / period);
      const starved = count(between(ticks, change, change + 3 * SECOND), starvedTick);
      assert.ok(starved <= unavoidable + 2, `${rate} Hz: ${starved} starved ticks in the 3 s after the change, want at most ${unavoidable + 2}`);
      const wait = meanWait(between(ticks, change + 3 * SECOND, SIM_START + 16 * SECOND));
      assert.ok(wait <= period / 2, `${rate} Hz: mean wait from 3 s after the change = ${ms(wait)} ms, want under half a tick`);
    }
  });

  // A stall of the path makes the server starve, then receive a burst, which
  // it drops once. The Pacer holds inputs back once twice the round trip's
  // worth are unacknowledged, so that the burst is that, not the whole
  // stall's; it neither catches up on the starved ticks nor sheds the
  // dropped ones twice. (The input it held back goes out when the stall
  // ends, and the next at once, as after a pause; none after those early.)
  test("after a stall: a burst of the in-flight limit, no catching up, one drop", () => {
    for (const rate of [30, 60]) {
      const period = Math.trunc(SECOND / rate);
      const stallEnd = SIM_START + 12 * SECOND;
      const sc: Scenario = { tickRate: rate, latency: constLatency(60 * MS), stall: [SIM_START + 10 * SECOND, stallEnd] };
      const w = new SimWorld(sc, true, 0, 1);
      let minPeriod = Infinity;
      let resumed = 0;
      w.onSend = (w, _seq, due) => {
        if (w.now >= stallEnd && resumed < 2) {
          resumed++;
          return;
        }
        if (w.now > stallEnd - SECOND) {
          minPeriod = Math.min(minPeriod, w.virtual(due) - w.now);
        }
      };
      const ticks = recordTicks(w, SIM_START + 5 * SECOND);
      w.run(SIM_START + 18 * SECOND);

      assert.equal(count(ticks, dropTick), 1, `${rate} Hz: ticks with drops, want 1 (the burst after the stall)`);
      const dropped = ticks.reduce((n, tk) => n + tk.dropped, 0);
      // 120 ms of round trip is 3.6 ticks at 30 Hz, 7.2 at 60.
      const limit = 2 * (2 + Math.trunc((120 * MS) / period));
      assert.ok(dropped <= limit, `${rate} Hz: ${dropped} inputs dropped, want at most ${limit} (the in-flight limit)`);
      const bad = count(between(ticks, stallEnd + SECOND, SIM_START + 18 * SECOND), (tk) => tk.starved || tk.dropped > 0);
      assert.ok(bad <= 3, `${rate} Hz: ${bad} ticks starved or with drops from 1 s after the stall, want at most 3`);
      assert.ok(minPeriod >= (period * 95) / 100, `${rate} Hz: shortest send period around the stall = ${ms(minPeriod)} ms, want no catching up`);
    }
  });

  // A client and its server on one loaded machine, over loopback — the
  // browser demo's case: the page's timers fire 20–150 ms late at times and
  // the tab stalls for 300 ms now and then, and the server's tick loop
  // stalls too, then runs at most three ticks at once and skips the rest, so
  // that each tick from then on comes later than the client's tick clock has
  // it. For a minute the server drops no input: no burst beyond ⌈tick
  // rate/10⌉ + 1 waiting, no backlog of two or more standing through the
  // server's window. A client that sends whenever the schedule says,
  // whatever the in-flight limit, loses inputs in the same runs.
  describe("a loaded machine: no input dropped", () => {
    const at = (s: number) => SIM_START + Math.trunc(s * SECOND);
    // One timer in four fires 20–150 ms late, the others within 3 ms.
    const late = (rng: Rng) => (rng.int64n(4) === 0 ? 20 * MS + rng.int64n(130 * MS) : rng.int64n(3 * MS));
    const fixed: SimLoad = {
      late,
      clientStalls: [
        [at(8), at(8.3)],
        [at(21), at(21.3)],
        [at(37.5), at(37.8)],
        [at(52), at(52.3)],
      ],
      serverStalls: [
        [at(5), at(5.15)],
        [at(13.2), at(13.45)],
        [at(17), at(17.3)],
        [at(21.1), at(21.2)],
        [at(29), at(29.12)],
        [at(37.6), at(37.9)],
        [at(44), at(44.25)],
        [at(58), at(58.3)],
      ],
    };
    // randomLoad is harsher: the tab (if busy) busy for 20–150 ms every
    // 0.3 s on average, stalled for 300 ms every 5 s, the server for
    // 50–300 ms every 2 s.
    const randomLoad = (seed: number, busy: boolean): SimLoad => {
      const rng = new Rng(BigInt(seed), 99n);
      const end = at(62);
      const stalls = (every: number, lo: number, hi: number): [number, number][] => {
        const out: [number, number][] = [];
        for (let t = SIM_START + rng.int64n(2 * every); t < end; t += rng.int64n(2 * every)) {
          const d = lo + rng.int64n(hi - lo + 1);
          out.push([t, t + d]);
          t += d;
        }
        return out;
      };
      const l: SimLoad = {};
      if (busy) {
        l.late = late;
        l.clientStalls = [...stalls(300 * MS, 20 * MS, 150 * MS), ...stalls(5 * SECOND, 300 * MS, 300 * MS)];
      }
      l.serverStalls = stalls(2 * SECOND, 50 * MS, 300 * MS);
      return l;
    };
    const cases: [string, number, SimLoad][] = [
      ["stalls/30Hz", 30, fixed],
      ["stalls/60Hz", 60, fixed],
      ["random/30Hz/1", 30, randomLoad(1, true)],
      ["random/30Hz/2", 30, randomLoad(2, true)],
      ["random/60Hz/3", 60, randomLoad(3, true)],
      // The server stalls, the tab does not: no held input hides the ticks
      // the server lost.
      ["server/30Hz/1", 30, randomLoad(1, false)],
      ["server/60Hz/4", 60, randomLoad(4, false)],
    ];
    for (const [name, rate, load] of cases) {
      test(name, () => {
        const run = (ignoreHold: boolean): [number, SimWorld] => {
          const w = new SimWorld({ tickRate: rate, latency: constLatency(200_000) }, true, 0, 1);
          w.load = load;
          w.ignoreHold = ignoreHold;
          const ticks = recordTicks(w, SIM_START + 2 * SECOND);
          w.run(at(62));
          return [ticks.reduce((n, tk) => n + tk.dropped, 0), w];
        };
        const [dropped, w] = run(false);
        assert.equal(dropped, 0, "inputs the server dropped");
        assert.ok(w.skipped > 0, "the server skipped no tick: the test is not testing");
        const s = w.pacer.stats();
        assert.ok(s.heldBack > 0 && s.inFlightLimit > 0, `stats() = ${JSON.stringify(s)}: the Pacer held nothing back`);
        const [unlimited] = run(true);
        assert.ok(unlimited > 0, "a client ignoring the in-flight limit lost no input either: the test is not testing");
      });
    }
  });

  // The server's reading of the inputs stalls for 10–80 ms every 0.6 s on
  // average, over loopback (a loaded machine that does not schedule the
  // server's goroutine; issue 14): the Go TestPacerStalledReads, with the
  // same seeds. Each stall starves a tick or two; the Pacer raises its lead
  // after each, and now and then keeps a tick of inputs waiting for a while
  // before its standing-backlog rule sheds it. For a minute the server
  // drops no input.
  test("stalled reads at the server: no input dropped", () => {
    for (const rate of [30, 60]) {
      for (let seed = 1; seed <= 4; seed++) {
        const end = SIM_START + 62 * SECOND;
        const rng = new Rng(BigInt(seed), 14n);
        const stalls: [number, number][] = [];
        for (let at = rng.int64n(1200 * MS); at < end; at += rng.int64n(1200 * MS)) {
          const d = 10 * MS + rng.int64n(70 * MS);
          stalls.push([at, at + d]);
          at += d;
        }
        const w = new SimWorld({ tickRate: rate, latency: constLatency(200_000) }, true, 0, seed);
        w.up.stalls = stalls;
        const ticks = recordTicks(w, SIM_START);
        w.run(end);
        const starved = count(ticks, starvedTick);
        assert.ok(starved >= 10, `${rate} Hz, seed ${seed}: ${starved} ticks starved, want the stalls to starve some: the test is not testing`);
        const dropped = ticks.reduce((n, tk) => n + tk.dropped, 0);
        assert.equal(dropped, 0, `${rate} Hz, seed ${seed}: inputs the server dropped`);
      }
    }
  });

  // The server stalls for 300 ms in a match's first ticks, over loopback:
  // the start is when a loaded machine stalls (two browser tabs start
  // drawing, the server starts the room). The in-flight limit of a short
  // round trip holds from the first acknowledgement, so what arrives when
  // the stall ends is no more than the server takes at once. (With the
  // limit only after eight acknowledgements, the server dropped all but the
  // newest of the burst: 6, 9 and 18 inputs at 20, 30 and 60 Hz, a
  // correction of the prediction that cmd/arbiter's TestBrowserDuel saw.)
  test("a stall in the match's first ticks: no input dropped", () => {
    for (const rate of [20, 30, 60]) {
      const period = Math.trunc(SECOND / rate);
      for (let after = 2; after <= 10; after++) {
        const from = SIM_START + after * period + period / 2;
        const w = new SimWorld({ tickRate: rate, latency: constLatency(200_000) }, true, 0, 1);
        w.load = { serverStalls: [[from, from + 300 * MS]] };
        const ticks = recordTicks(w, SIM_START);
        w.run(SIM_START + 5 * SECOND);
        const dropped = ticks.reduce((n, tk) => n + tk.dropped, 0);
        assert.equal(dropped, 0, `${rate} Hz, stalled after tick ${after}: inputs the server dropped`);
        assert.ok(w.skipped > 0 && w.pacer.stats().heldBack > 0, `${rate} Hz, stalled after tick ${after}: the server skipped no tick or the Pacer held nothing back: the test is not testing`);
      }
    }
  });

  // stats().leadMs is how long before the snapshot of its tick arrives an
  // input goes out: about the round trip and the jitter of the way there on
  // a link, a few ms over loopback — also while the server's tick loop loses
  // ticks, which move the Pacer's own target lead (against its tick clock,
  // which does not follow them) by a period each.
  test("leadMs: against the snapshots' arrivals, also when the server loses ticks", () => {
    const at = (s: number) => SIM_START + Math.trunc(s * SECOND);
    const stalls: [number, number][] = [];
    for (let s = 4; s < 60; s += 3) {
      stalls.push([at(s), at(s + 0.2)]);
    }
    const cases: [string, Scenario, SimLoad | undefined, number, number][] = [
      ["60±20ms", { tickRate: 30, latency: constLatency(60 * MS), jitter: 20 * MS }, undefined, 120, 180],
      ["loopback", { tickRate: 30, latency: constLatency(200_000) }, undefined, 0, 40],
      ["loopback, server stalls", { tickRate: 30, latency: constLatency(200_000) }, { serverStalls: stalls }, 0, 40],
    ];
    for (const [name, sc, load, lo, hi] of cases) {
      const w = new SimWorld(sc, true, 0, 1);
      if (load !== undefined) {
        w.load = load;
      }
      let out = 0;
      let n = 0;
      for (let s = 5; s <= 60; s += 0.5) {
        w.run(at(s));
        n++;
        const l = w.pacer.stats().leadMs;
        if (l < lo || l > hi) {
          out++;
        }
      }
      assert.ok(out <= n / 20, `${name}: leadMs outside [${lo}, ${hi}] at ${out} of ${n} times, want at most 5 %`);
    }
  });

  test("an idle client is not late", () => {
    const w = new SimWorld({ tickRate: 30, latency: constLatency(60 * MS) }, true, 0, 1);
    const pauseFrom = SIM_START + 8 * SECOND;
    const pauseTo = SIM_START + 9 * SECOND;
    w.paused = (t) => t >= pauseFrom && t < pauseTo;
    const ticks = recordTicks(w, SIM_START + 5 * SECOND);
    w.run(pauseFrom);
    const before = w.pacer.stats();
    w.run(SIM_START + 14 * SECOND);
    const after = w.pacer.stats();

    const idle = count(between(ticks, pauseFrom, pauseTo + 200 * MS), starvedTick);
    assert.ok(idle >= 25, `the server starved ${idle} ticks during the pause, want about 30: the test is not testing`);
    const grew = after.starved - before.starved;
    assert.ok(grew <= 3, `stats().starved grew by ${grew} across a pause of ${idle} idle ticks, want the idle ones not counted`);
    const bad = count(between(ticks, pauseTo + SECOND, SIM_START + 14 * SECOND), (tk) => tk.starved || tk.dropped > 0 || tk.backlog > 1);
    assert.ok(bad <= 3, `${bad} ticks starved, with drops or a backlog from 1 s after the pause, want at most 3`);
  });

  // On a link with a round trip near zero (loopback, a LAN), the edge is at
  // the tick's own time: an input the probe moves past it starves its tick
  // and must count as late, not idle, or the probe runs away (a Pacer
  // sending 25 % slower than the ticks, for good, and starving a fifth of
  // them).
  test("a round trip near zero: finds the edge, no runaway", () => {
    const tests: Scenario[] = [
      { name: "0 ms", tickRate: 30, latency: constLatency(0) },
      { name: "0.1 ms", tickRate: 30, latency: constLatency(100_000) },
      { name: "0.1±0.1 ms", tickRate: 60, latency: constLatency(100_000), jitter: 100_000 },
      { name: "0 ms, 144 fps loop", tickRate: 30, latency: constLatency(0), frame: Math.trunc(SECOND / 144) },
    ];
    for (const tt of tests) {
      const w = new SimWorld(tt, true, 0, 1);
      const ticks = recordTicks(w, SIM_START + 5 * SECOND);
      const sentAt5 = () => [...w.sentAt.values()].filter((at) => at >= SIM_START + 5 * SECOND).length;
      w.run(SIM_START + 35 * SECOND);
      const starved = count(ticks, starvedTick);
      assert.ok(starved <= ticks.length / 100, `${tt.name}: ${starved} of ${ticks.length} ticks starved after 5 s, want at most 1 %`);
      assert.equal(count(ticks, dropTick), 0, `${tt.name}: ticks with drops`);
      const sent = sentAt5();
      assert.ok(Math.abs(sent - ticks.length) <= 3, `${tt.name}: ${sent} inputs sent for ${ticks.length} ticks, want one per tick`);
      const st = w.pacer.stats();
      assert.ok(Math.abs(st.dilation) < MAX_DILATION, `${tt.name}: dilation ${st.dilation}: the schedule is running away`);
      assert.ok(meanWait(ticks) <= Math.trunc(SECOND / tt.tickRate) / 2, `${tt.name}: mean wait ${ms(meanWait(ticks))} ms, want under half a tick`);
    }
  });

  const dilationCases: Scenario[] = [
    { name: "jitter", tickRate: 30, latency: constLatency(60 * MS), jitter: 30 * MS },
    { name: "stall", tickRate: 60, latency: constLatency(60 * MS), jitter: 20 * MS, stall: [SIM_START + 10 * SECOND, SIM_START + 13 * SECOND] },
    { name: "steps", tickRate: 20, jitter: 30 * MS, latency: (t) => (20 + (Math.trunc(t / (3 * SECOND)) % 4) * 60) * MS },
    { name: "skew and skips", tickRate: 60, latency: constLatency(100 * MS), jitter: 30 * MS, skew: 0.005, skip: 0.5 },
  ];
  for (const tt of dilationCases) {
    // Whatever the network does, the Pacer never asks for two inputs less
    // than (1−MAX_DILATION) periods apart, nor more than (1+MAX_DILATION),
    // give or take the skew estimate, when the caller sends on time (an input
    // the Pacer held back goes out late, and keeps its slot).
    test(`bounded dilation: ${tt.name}`, () => {
      const period = 1000 / tt.tickRate; // ms
      const lo = (1 - MAX_DILATION) * period * (1 - TICK_CLOCK_MAX_SKEW);
      const hi = (1 + MAX_DILATION) * period * (1 + TICK_CLOCK_MAX_SKEW);
      const w = new SimWorld(tt, true, 0, 7);
      let n = 0;
      let asked: number | undefined; // when the input now sent was due
      const bad: string[] = [];
      w.onSend = (w, seq, due) => {
        const now = w.localMs(w.now);
        // An input the Pacer held back goes out late, and keeps its slot.
        const d = due - now;
        if ((asked === undefined || now - asked <= 1) && (d < lo || d > hi)) {
          bad.push(`input ${seq}: next due in ${(d / period).toFixed(2)} periods`);
        }
        asked = due;
        n++;
      };
      w.run(SIM_START + 30 * SECOND);
      assert.deepEqual(bad.slice(0, 5), [], `want within [${(lo / period).toFixed(2)}, ${(hi / period).toFixed(2)}]`);
      assert.ok(n >= 25 * tt.tickRate, `${n} inputs sent in 30 s, want about ${30 * tt.tickRate}`);
    });
  }

  // The scenarios of the Go TestPacerSimulation, with the same seeds (the
  // client starting at four phases of the tick), held to the same bars: no
  // drops (but the one burst a stall or a latency drop delivers); at most
  // 0.2 % of the steady-state ticks and 2 % of all starved (but the
  // stall's own); inputs wait at the server less than a fixed ticker's by
  // at least a sixth of a tick; the median input→ack latency below a fixed
  // ticker's, and the 99th percentile no more than 2 ms above it (pooled,
  // and at its median phase). Each test's diagnostic is its row of the Go
  // test's table.
  const stepUp = SIM_START + 25 * SECOND;
  const stepDown = SIM_START + 45 * SECOND;
  const steps = (t: number) => (t >= stepDown ? 60 * MS : t >= stepUp ? 120 * MS : 60 * MS);
  const stall: [number, number] = [SIM_START + 30 * SECOND, SIM_START + 32 * SECOND];
  const scenarios: Scenario[] = [];
  for (const rate of [30, 60]) {
    const ms20 = 20 * MS;
    const ms30 = 30 * MS;
    const ms60 = 60 * MS;
    scenarios.push(
      { name: "20±20ms", tickRate: rate, latency: constLatency(ms20), jitter: ms20 },
      { name: "60±20ms", tickRate: rate, latency: constLatency(ms60), jitter: ms20 },
      { name: "60±30ms", tickRate: rate, latency: constLatency(ms60), jitter: ms30 },
      { name: "150±30ms", tickRate: rate, latency: constLatency(150 * MS), jitter: ms30 },
      { name: "60→120→60±20ms", tickRate: rate, latency: steps, jitter: ms20, stepDown, steps: [stepUp, stepDown] },
      { name: "60→120→60±30ms", tickRate: rate, latency: steps, jitter: ms30, stepDown, steps: [stepUp, stepDown] },
      { name: "stall 2s, 60±20ms", tickRate: rate, latency: constLatency(ms60), jitter: ms20, stall },
      { name: "skew +0.5%, 60±30ms", tickRate: rate, latency: constLatency(ms60), jitter: ms30, skew: 0.005 },
      { name: "skew -0.5%, 60±30ms", tickRate: rate, latency: constLatency(ms60), jitter: ms30, skew: -0.005 },
      { name: "50% skipped, 150±30ms", tickRate: rate, latency: constLatency(150 * MS), jitter: ms30, skip: 0.5 },
      { name: "60 fps loop, 60±20ms", tickRate: rate, latency: constLatency(ms60), jitter: ms20, frame: Math.trunc(SECOND / 60) },
    );
  }
  // GO_TABLE is the Go TestPacerSimulation's table (go test -v -run
  // TestPacerSimulation ./netcode/client), row for row: the port plays the
  // same runs with the same numbers, so a change to either Pacer that the
  // other does not follow fails here.
  const GO_TABLE = new Map<string, string>([
  ["20±20ms 30Hz", "paced: 66.0 88.6 26.3 0.02% 0.01% 0 | fixed: 74.1 105.1 93.7 34.0 0.00% 0.00% 0"],
  ["60±20ms 30Hz", "paced: 146.9 170.2 27.1 0.02% 0.01% 0 | fixed: 155.4 187.0 175.4 35.7 0.00% 0.00% 0"],
  ["60±30ms 30Hz", "paced: 152.1 181.9 31.3 0.06% 0.07% 0 | fixed: 164.6 204.3 193.5 43.1 0.00% 0.00% 0"],
  ["150±30ms 30Hz", "paced: 337.8 370.4 36.9 0.02% 0.01% 0 | fixed: 346.4 386.3 375.1 44.8 0.02% 0.01% 1"],
  ["60→120→60±20ms 30Hz", "paced: 157.7 290.4 28.4 0.02% 0.32% 0 | fixed: 170.0 300.9 293.1 37.8 0.00% 0.10% 7"],
  ["60→120→60±30ms 30Hz", "paced: 169.9 300.8 33.0 0.09% 0.33% 0 | fixed: 181.8 316.7 311.0 44.2 0.00% 0.15% 11"],
  ["stall 2s, 60±20ms 30Hz", "paced: 149.8 173.8 29.8 0.02% 3.44% 38 | fixed: 155.5 187.0 175.3 35.6 0.00% 3.36% 242"],
  ["skew +0.5%, 60±30ms 30Hz", "paced: 154.3 192.4 33.4 0.05% 0.14% 0 | fixed: 177.3 217.3 217.2 55.7 0.00% 0.00% 36"],
  ["skew -0.5%, 60±30ms 30Hz", "paced: 154.9 190.5 33.8 0.06% 0.14% 0 | fixed: 163.5 203.0 202.7 41.9 0.50% 0.50% 0"],
  ["50% skipped, 150±30ms 30Hz", "paced: 356.9 537.5 34.5 0.05% 0.04% 0 | fixed: 367.2 546.5 543.8 44.8 0.02% 0.01% 1"],
  ["60 fps loop, 60±20ms 30Hz", "paced: 143.6 163.0 23.5 0.06% 0.06% 0 | fixed: 155.4 187.0 175.4 35.7 0.00% 0.00% 0"],
  ["20±20ms 60Hz", "paced: 63.4 82.8 20.9 0.04% 0.03% 0 | fixed: 69.2 92.9 87.5 26.5 0.00% 0.00% 0"],
  ["60±20ms 60Hz", "paced: 143.8 163.2 21.3 0.03% 0.03% 0 | fixed: 150.8 174.4 169.2 28.0 0.02% 0.02% 3"],
  ["60±30ms 60Hz", "paced: 157.3 182.5 28.0 0.05% 0.05% 0 | fixed: 162.7 192.3 187.3 33.6 0.00% 0.00% 0"],
  ["150±30ms 60Hz", "paced: 337.3 362.4 28.0 0.06% 0.06% 0 | fixed: 344.3 373.4 369.0 35.1 0.04% 0.03% 5"],
  ["60→120→60±20ms 60Hz", "paced: 154.4 283.0 22.9 0.00% 0.18% 0 | fixed: 162.2 289.9 286.7 30.3 0.01% 0.10% 15"],
  ["60→120→60±30ms 60Hz", "paced: 169.9 302.4 30.2 0.09% 0.36% 7 | fixed: 174.5 307.1 304.3 33.6 0.00% 0.17% 24"],
  ["stall 2s, 60±20ms 60Hz", "paced: 144.6 163.9 21.8 0.01% 3.42% 71 | fixed: 150.9 174.3 169.2 28.0 0.02% 3.36% 484"],
  ["skew +0.5%, 60±30ms 60Hz", "paced: 157.7 184.1 28.8 0.07% 0.10% 0 | fixed: 175.6 205.8 205.2 46.4 0.00% 0.00% 72"],
  ["skew -0.5%, 60±30ms 60Hz", "paced: 157.2 183.0 28.2 0.05% 0.10% 0 | fixed: 160.2 189.7 189.8 31.2 0.50% 0.50% 0"],
  ["50% skipped, 150±30ms 60Hz", "paced: 349.8 442.0 28.6 0.06% 0.06% 0 | fixed: 356.4 450.2 452.7 35.1 0.04% 0.03% 5"],
  ["60 fps loop, 60±20ms 60Hz", "paced: 144.6 162.9 21.9 0.04% 0.03% 0 | fixed: 150.8 174.4 169.2 28.0 0.02% 0.02% 3"],
  ]);
  for (const sc of scenarios) {
    test(`against a fixed ticker: ${sc.name} at ${sc.tickRate} Hz`, (t) => {
      const period = Math.trunc(SECOND / sc.tickRate);
      const paced = emptyResult();
      const fixed = emptyResult();
      const runs = 4;
      for (let i = 0; i < runs; i++) {
        const offset = Math.trunc((i * period) / runs);
        const p = runSim(sc, true, offset, i + 1);
        checkDrops(sc, p.dropAt);
        merge(paced, p);
        merge(fixed, runSim(sc, false, offset, i + 1));
      }
      const got = `paced: ${row(paced, false)} | fixed: ${row(fixed, true)}`;
      t.diagnostic(got);
      assert.equal(got, GO_TABLE.get(`${sc.name} ${sc.tickRate}Hz`), "the row of the Go Pacer's table");
      let starved = paced.starved;
      for (const at of paced.starvedAt) {
        if (sc.stall !== undefined && at >= sc.stall[0] && at < sc.stall[1] + SECOND) {
          starved--;
        }
      }
      assert.ok(starved / paced.ticks <= 0.02, `paced: ${starved} of ${paced.ticks} ticks starved, want at most 2 %`);
      const steadyShare = paced.steadyStarved / Math.max(paced.steadyTicks, 1);
      assert.ok(steadyShare <= 0.002, `paced: ${paced.steadyStarved} of ${paced.steadyTicks} ticks starved in steady state, want at most 0.2 %`);
      const pw = mean(paced.waits);
      const fw = mean(fixed.waits);
      assert.ok(pw <= fw - period / 6, `paced: mean wait at the server ${ms(pw)} ms, want at most a fixed ticker's ${ms(fw)} less a sixth of a tick`);
      const p50 = quantile(paced.acks, 0.5);
      const f50 = quantile(fixed.acks, 0.5);
      assert.ok(p50 < f50, `paced: median input→ack latency ${ms(p50)} ms, want below a fixed ticker's ${ms(f50)}`);
      const p99 = quantile(paced.acks, 0.99);
      const f99 = quantile(fixed.acks, 0.99);
      assert.ok(p99 <= f99 + 2 * MS, `paced: p99 input→ack latency ${ms(p99)} ms, want at most a fixed ticker's ${ms(f99)} + 2`);
      const fm = medianOf(fixed.runP99);
      assert.ok(p99 <= fm + 2 * MS, `paced: p99 input→ack latency ${ms(p99)} ms, want at most a fixed ticker's at its median phase, ${ms(fm)}, + 2`);
    });
  }
});

// row formats r as a row of the Go TestPacerSimulation's table: p50, p99
// (and the median of the runs' p99s), mean wait, starved in steady state
// and in all, drops.
function row(r: SimResult, med99: boolean): string {
  let p99 = ms(quantile(r.acks, 0.99));
  if (med99) {
    p99 += ` ${ms(medianOf(r.runP99))}`;
  }
  const pct = (a: number, b: number) => ((100 * a) / Math.max(b, 1)).toFixed(2) + "%";
  return `${ms(quantile(r.acks, 0.5))} ${p99} ${ms(mean(r.waits))} ${pct(r.steadyStarved, r.steadyTicks)} ${pct(r.starved, r.ticks)} ${r.drops}`;
}

function runSim(sc: Scenario, paced: boolean, offset: number, seed: number): SimResult {
  const w = new SimWorld(sc, paced, offset, seed);
  w.run(SIM_START + SIM_WARMUP + SIM_DURATION);
  return w.result();
}

function merge(r: SimResult, o: SimResult): void {
  r.ticks += o.ticks;
  r.starved += o.starved;
  r.steadyTicks += o.steadyTicks;
  r.steadyStarved += o.steadyStarved;
  r.drops += o.drops;
  r.starvedAt.push(...o.starvedAt);
  r.dropAt.push(...o.dropAt);
  r.waits.push(...o.waits);
  r.acks.push(...o.acks);
  r.runP99.push(...o.runP99);
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) {
    return 0;
  }
  return n % 2 === 0 ? Math.trunc((s[n / 2 - 1]! + s[n / 2]!) / 2) : s[(n - 1) / 2]!;
}

// checkDrops fails if a paced run had server drops other than the one burst
// a stall or a drop of the latency may deliver, once, in the second after.
function checkDrops(sc: Scenario, dropAt: number[]): void {
  let burst = -1;
  if (sc.stall !== undefined && sc.stall[1] > 0) {
    burst = sc.stall[1];
  } else if (sc.stepDown !== undefined) {
    burst = sc.stepDown;
  }
  const unexpected: number[] = [];
  let bursts = 0;
  for (const at of dropAt) {
    if (burst >= 0 && at >= burst && at < burst + SECOND) {
      bursts++;
      continue;
    }
    unexpected.push(at);
  }
  assert.ok(unexpected.length === 0 && bursts <= 1, `paced: server drops at ${dropAt.map(ms).join(", ")} ms, want none (but one burst in the second after ${ms(burst)})`);
}

test("TickClock: the rate follows the server's clock through jitter, a latency step and a stall", () => {
  for (const skew of [-0.005, 0, 0.002, 0.005]) {
    const rate = 30;
    const nominal = 1000 / rate;
    const tc = new TickClock(nominal, rate);
    const rng = new Rng(1n, 2n);
    for (let k = 1; k < 40 * rate; k++) {
      if (k > 20 * rate && k < 22 * rate) {
        continue; // a stall: nothing arrives
      }
      let at = k * nominal * (1 + skew);
      at += rng.int64n(30 * MS) / MS; // jitter
      if (k > 12 * rate) {
        at += 60; // latency step
      }
      tc.add(k, at);
    }
    assert.ok(Math.abs(tc.skew - skew) <= 0.0003, `skew ${skew}: estimated ${tc.skew}, want within 0.03 %`);
  }
});

test("TickClock: the time of a tick stays within a few ms through latency steps", () => {
  for (const rate of [30, 60]) {
    for (const skew of [-0.005, 0, 0.002, 0.005]) {
      const nominal = 1000 / rate;
      const tc = new TickClock(nominal, rate);
      const rng = new Rng(1n, 2n);
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 1; k < 60 * rate; k++) {
        const server = k * nominal * (1 + skew);
        let at = server + rng.int64n(60 * MS) / MS; // jitter
        if (k > 20 * rate && k < 40 * rate) {
          at += 60; // latency steps
        }
        tc.add(k, at);
        if (k > 10 * rate) {
          const off = tc.at(k) - server;
          lo = Math.min(lo, off);
          hi = Math.max(hi, off);
        }
      }
      assert.ok(Math.abs(tc.skew - skew) <= 0.0003, `${rate} Hz, skew ${skew}: estimated ${tc.skew}, want within 0.03 %`);
      assert.ok(hi - lo <= 5, `${rate} Hz, skew ${skew}: the time of a tick moved by ${(hi - lo).toFixed(2)} ms relative to the server's from 10 s on, want at most 5 ms`);
    }
  }
});

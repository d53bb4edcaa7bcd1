import { chebyshev } from "./predictor.js";
import { isTickRate, MAX_TICK_RATE, MIN_TICK_RATE, SPEED } from "./rules.js";

/**
 * How far behind the estimated server tick other entities are shown, in
 * milliseconds, unless told otherwise: three ticks at 30 Hz, enough to ride
 * out a late snapshot without extrapolating. The Go client's default too.
 */
export const DEFAULT_INTERPOLATION_DELAY_MILLIS = 100;

/**
 * The most entities a snapshot may carry: more is a server breaking the
 * protocol (the arena has at most ten), refused so that a hostile server
 * cannot make the interpolator's history huge.
 */
export const MAX_SNAPSHOT_ENTITIES = 4096;

/**
 * One entity of a snapshot as the interpolator reads it: the fields of the
 * generated `Entity` message (`arbiter.v1.Entity`), named as protobuf-es
 * names them, so that `snapshot.entities` can be passed as it is.
 */
export interface EntityLike {
  /** The entity's ID (never 0). */
  readonly id: number;
  /** Position, in centi-units. */
  readonly x: number;
  /** Position, in centi-units. */
  readonly y: number;
  /** Hit points; 0 while dead. */
  readonly hp: number;
  /** Kills. */
  readonly score: number;
}

/**
 * One entity as the client shows it: its position (interpolated) in
 * centi-units, its hit points and score as the server last reported them.
 * The same shape as {@link EntityLike}, so a renderer can draw either.
 */
export interface EntityView {
  /** The entity's ID. */
  id: number;
  /** Position, in centi-units (an integer). */
  x: number;
  /** Position, in centi-units (an integer). */
  y: number;
  /** Hit points. */
  hp: number;
  /** Kills. */
  score: number;
}

/** One remembered snapshot. */
interface Frame {
  tick: number;
  entities: EntityView[]; // in the server's order, without self
}

/**
 * Remembers the last few snapshots of the other entities and shows them
 * between two of them, so that remote players move smoothly although
 * snapshots arrive at a fixed rate and with jitter. The same algorithm as
 * the Go client's (`client.Interpolator`), with the same results for the
 * same snapshots and render ticks.
 *
 * Pure: no clocks, no I/O. The caller turns time into a render tick with
 * {@link renderTick}.
 */
export class Interpolator {
  /** The entity left out of every frame: the caller shows it by prediction. */
  readonly self: number;
  /** Simulation ticks per second of the match. */
  readonly tickRate: number;
  /** The most snapshots remembered. */
  readonly capacity: number;

  // A ring of at most capacity frames in increasing tick order, the
  // oldest at #head.
  #frames: Frame[] = [];
  #head = 0;
  #n = 0;

  /**
   * Returns an Interpolator that remembers at most capacity snapshots (not a
   * positive integer: one second's worth, tickRate; below 2: 2, the least
   * that can be interpolated between) and leaves out entity self.
   *
   * @throws RangeError if tickRate is not an integer in [20, 60].
   */
  constructor(self: number, tickRate: number, capacity = 0) {
    if (!isTickRate(tickRate)) {
      throw new RangeError(`arena: tick rate ${tickRate} not an integer in [${MIN_TICK_RATE}, ${MAX_TICK_RATE}]`);
    }
    this.self = self;
    this.tickRate = tickRate;
    this.capacity = Math.max(Number.isInteger(capacity) && capacity > 0 ? capacity : tickRate, 2);
  }

  /** The number of snapshots remembered. */
  get length(): number {
    return this.#n;
  }

  /** The tick of the newest snapshot remembered, or undefined if there is none. */
  get newest(): number | undefined {
    return this.#n === 0 ? undefined : this.#at(this.#n - 1).tick;
  }

  /** The tick of the oldest snapshot remembered, or undefined if there is none. */
  get oldest(): number | undefined {
    return this.#n === 0 ? undefined : this.#at(0).tick;
  }

  #at(i: number): Frame {
    return this.#frames[(this.#head + i) % this.capacity]!;
  }

  /**
   * Remembers the entities of the snapshot of tick (entity self is left out;
   * the entities are copied). A snapshot not newer than the newest one
   * remembered is ignored and push returns false. When full, the oldest
   * snapshot is forgotten.
   */
  push(tick: number, entities: readonly EntityLike[]): boolean {
    const newest = this.newest;
    if (newest !== undefined && !(tick > newest)) {
      return false;
    }
    const kept: EntityView[] = [];
    for (const e of entities) {
      if (e.id !== this.self) {
        kept.push({ id: e.id, x: e.x, y: e.y, hp: e.hp, score: e.score });
      }
    }
    const f: Frame = { tick, entities: kept };
    if (this.#n < this.capacity) {
      this.#frames[(this.#head + this.#n) % this.capacity] = f;
      this.#n++;
    } else {
      this.#frames[this.#head] = f;
      this.#head = (this.#head + 1) % this.capacity;
    }
    return true;
  }

  /**
   * Returns the entities as they were at renderTick, a possibly fractional
   * server tick (see {@link renderTick}).
   *
   * Between two remembered snapshots a and b (a.tick ≤ renderTick ≤ b.tick)
   * an entity present in both is placed on the straight line between its two
   * positions (rounded to the nearest integer, halves away from zero); one
   * only in b is shown at b; one only in a is gone. HP and score are b's. A
   * renderTick before the oldest or after the newest snapshot is clamped to
   * it: the client never extrapolates (NaN counts as after the newest). An
   * entity that moved further than it could have by walking (a respawn) is
   * not slid across the arena but snaps to whichever end is nearer in time
   * (the newer on a tie).
   */
  sample(renderTick: number): EntityView[] {
    const n = this.#n;
    if (n === 0) {
      return [];
    }
    const oldest = this.#at(0);
    const newest = this.#at(n - 1);
    if (renderTick <= oldest.tick || n === 1) {
      return copyViews(oldest.entities);
    }
    if (renderTick >= newest.tick || Number.isNaN(renderTick)) {
      return copyViews(newest.entities);
    }
    // The newest frame at or before renderTick, searched from the newest
    // end: the render tick normally sits a few ticks behind it.
    let i = n - 2;
    while (i > 0 && this.#at(i).tick > renderTick) {
      i--;
    }
    const a = this.#at(i);
    const b = this.#at(i + 1);
    const span = b.tick - a.tick;
    const t = (renderTick - a.tick) / span;
    // Fastest legal move over the span, with slack for rounding (exact:
    // below 2^53 for any uint32 span).
    const reach = Math.trunc((span * SPEED) / this.tickRate) + 1;
    const out: EntityView[] = [];
    const find = finder(a.entities);
    for (const eb of b.entities) {
      const v: EntityView = { ...eb };
      const ea = find(eb.id);
      if (ea !== undefined) {
        if (chebyshev(ea, eb) > reach) {
          if (t < 0.5) {
            v.x = ea.x;
            v.y = ea.y;
          }
        } else {
          v.x = lerp(ea.x, eb.x, t);
          v.y = lerp(ea.y, eb.y, t);
        }
      }
      out.push(v);
    }
    return out;
  }
}

// finder returns a lookup of es by id (the first entity with it, as a scan
// finds). Snapshots hold a handful of entities, ten in ffa, so a scan beats a
// map; a hostile server's thousands get a map, not a quadratic sample.
function finder(es: readonly EntityView[]): (id: number) => EntityView | undefined {
  if (es.length <= 32) {
    return (id) => es.find((e) => e.id === id);
  }
  const byID = new Map<number, EntityView>();
  for (const e of es) {
    if (!byID.has(e.id)) {
      byID.set(e.id, e);
    }
  }
  return (id) => byID.get(id);
}

function copyViews(es: readonly EntityView[]): EntityView[] {
  return es.map((e) => ({ ...e }));
}

// lerp is Go's int32(math.Round(float64(a) + (float64(b)-float64(a))*t)):
// the same double operations in the same order, and Go's rounding (halves
// away from zero).
function lerp(a: number, b: number, t: number): number {
  const v = a + (b - a) * t;
  return (v < 0 ? -Math.round(-v) : Math.round(v)) + 0;
}

/**
 * Returns the (fractional) server tick at which other entities are shown:
 * the estimated current server tick less the interpolation delay, where the
 * current tick is estimated as refTick — the newest snapshot's tick (or the
 * Welcome's before any snapshot) — plus the time elapsed since it arrived:
 * `refTick + elapsed·tickRate/1000 − delay·tickRate/1000`.
 *
 * The Go client computes the same in nanoseconds; the results are the same
 * double whenever the milliseconds given here are a whole number of
 * nanoseconds that a double holds exactly (for instance any multiple of
 * 1/64 ms).
 */
export function renderTick(refTick: number, elapsedMillis: number, tickRate: number, delayMillis: number): number {
  const elapsed = (elapsedMillis * tickRate) / 1000;
  const delay = (delayMillis * tickRate) / 1000;
  return refTick + elapsed - delay;
}

/**
 * Returns the whole tick a client displays at render tick rt, for an input's
 * `viewTick` (lag compensation): rt rounded down, never after newestTick (the
 * newest tick the client has heard of: it cannot display the future, and
 * the server counts a view tick ahead of its own as cheating) nor negative.
 * NaN gives 0.
 */
export function viewTick(rt: number, newestTick: number): number {
  if (Number.isNaN(rt)) {
    return 0;
  }
  return Math.min(Math.max(Math.floor(rt), 0), newestTick) + 0;
}

/**
 * Returns how many snapshots an {@link Interpolator} should remember for a
 * match at tickRate shown delayMillis behind: one second's worth, plus what
 * the delay needs, plus two — the Go client's sizing. A negative delay
 * counts as none.
 */
export function interpolationCapacity(tickRate: number, delayMillis: number): number {
  const d = Math.max(delayMillis, 0);
  // As Go's Duration.Seconds: whole seconds plus the rest.
  const whole = Math.trunc(d / 1000);
  const seconds = whole + (d - whole * 1000) / 1000;
  return tickRate + Math.ceil(seconds * tickRate) + 2;
}

import { isTickRate, MAX_TICK_RATE, MIN_TICK_RATE, move, toInt32, validate, type InputLike, type Vec } from "./rules.js";

/**
 * The number of unacknowledged inputs a {@link Predictor} remembers unless
 * told otherwise: at 60 Hz, a little over four seconds without a single
 * acknowledgement.
 */
export const DEFAULT_MAX_PENDING = 256;

/**
 * How far client-side prediction was from the server's authoritative result.
 * Distances are in centi-units, measured as the Chebyshev distance
 * max(|dx|, |dy|), exact in integers.
 */
export interface PredictionStats {
  /** Acknowledged inputs whose predicted position could be compared with the server's. */
  checked: number;
  /** The checks whose error was not zero. */
  corrections: number;
  /** The error of the most recent check (what a client shows as "the last correction"). */
  last: number;
  /** The largest error seen. */
  max: number;
}

/** An input the server has not processed yet, with the position expected after it. */
interface Pending {
  readonly input: InputLike;
  pos: Vec;
  // Whether pos was predicted from a known server position; inputs
  // predicted before the first snapshot are not compared.
  checkable: boolean;
}

const ORIGIN: Vec = Object.freeze({ x: 0, y: 0 });

/**
 * Client-side prediction with reconciliation for the client's own entity,
 * the same algorithm as the Go client's (`client.Predictor`), with the same
 * results for the same calls.
 *
 * The client calls {@link Predictor.apply} for every input it sends and
 * {@link Predictor.reconcile} for every snapshot (with its own entity's
 * position and `lastInputSeq`). Because the server applies each input at
 * most once, in seq order, and reports the highest seq it has processed, the
 * server's position plus the inputs after that seq, replayed through
 * {@link move}, is exactly what the server will compute — unless the server
 * dropped or will drop one (surplus of a burst, an invalid input), or moved
 * the entity itself: then the prediction is off when that input is
 * acknowledged, the error is measured ({@link Predictor.stats}), and the
 * rebase corrects it.
 *
 * The Predictor knows nothing of life and death: while the entity is dead
 * the server does not move it, so inputs acknowledged then are measured as
 * corrections (the prediction walked, the server did not), and a respawn is
 * one correction the size of the jump to the spawn point. The prediction
 * follows the server's position on every snapshot either way.
 *
 * At most `maxPending` inputs are remembered; beyond that the oldest is
 * forgotten (its effect stays folded into the prediction), so a server that
 * never acknowledges cannot make the client grow without bound.
 *
 * Pure: no clocks, no I/O. Positions returned are fresh objects.
 */
export class Predictor {
  /** Simulation ticks per second of the match. */
  readonly tickRate: number;
  /** The entity whose movement is predicted. */
  readonly entity: number;
  /** The bound of {@link Predictor.pending}. */
  readonly maxPending: number;

  // pos is the last authoritative position with every pending input
  // replayed; hasBase reports whether there has been one.
  #pos: Vec = ORIGIN;
  #hasBase = false;
  #pending: Pending[] = []; // in seq order, at most maxPending
  #lastSeq = 0; // highest seq applied or acknowledged
  #stats: PredictionStats = { checked: 0, corrections: 0, last: 0, max: 0 };

  /**
   * Returns a Predictor for entity at tickRate with no known position.
   * A maxPending that is not a positive integer means
   * {@link DEFAULT_MAX_PENDING}.
   *
   * @throws RangeError if tickRate is not an integer in [20, 60].
   */
  constructor(tickRate: number, entity: number, maxPending = DEFAULT_MAX_PENDING) {
    if (!isTickRate(tickRate)) {
      throw new RangeError(`arena: tick rate ${tickRate} not an integer in [${MIN_TICK_RATE}, ${MAX_TICK_RATE}]`);
    }
    this.tickRate = tickRate;
    this.entity = entity;
    this.maxPending = Number.isInteger(maxPending) && maxPending > 0 ? maxPending : DEFAULT_MAX_PENDING;
  }

  /**
   * Records an input the client has just sent and returns the predicted
   * position after it (an input {@link validate} rejects does not move: the
   * server drops it). Inputs must be applied in increasing seq order; one
   * whose seq is not greater than every seq applied or acknowledged so far
   * is ignored, as the server ignores it, and the current prediction is
   * returned.
   */
  apply(input: InputLike): Vec {
    if (!(input.seq > this.#lastSeq)) {
      return this.#pos;
    }
    this.#lastSeq = input.seq;
    if (this.#pending.length >= this.maxPending) {
      // Forget the oldest; its effect stays folded into the prediction.
      this.#pending.shift();
    }
    this.#pos = this.#move(this.#pos, input);
    this.#pending.push({ input: copyInput(input), pos: this.#pos, checkable: this.#hasBase });
    return this.#pos;
  }

  /**
   * Takes the server's position of the entity and the highest input seq the
   * server has processed for it (the snapshot entity's `lastInputSeq`), and
   * rewinds and replays: if the input with that seq is pending, its
   * predicted position is compared with serverPos and the error recorded;
   * every pending input with a seq not greater than lastInputSeq is
   * forgotten; the prediction restarts from serverPos and replays the rest.
   * It returns the new prediction. A lastInputSeq of 0, or one older than
   * every pending input, only rebases.
   */
  reconcile(serverPos: Vec, lastInputSeq: number): Vec {
    const base: Vec = { x: toInt32(serverPos.x), y: toInt32(serverPos.y) };
    let drop = 0;
    for (const pi of this.#pending) {
      if (pi.input.seq > lastInputSeq) {
        break;
      }
      drop++;
      if (pi.input.seq === lastInputSeq && pi.checkable) {
        this.#record(chebyshev(pi.pos, base));
      }
    }
    if (drop > 0) {
      this.#pending.splice(0, drop);
    }
    this.#lastSeq = Math.max(this.#lastSeq, lastInputSeq);
    this.#hasBase = true;
    let pos = base;
    for (const pi of this.#pending) {
      pos = this.#move(pos, pi.input);
      pi.pos = pos;
      pi.checkable = true;
    }
    this.#pos = pos;
    return pos;
  }

  /**
   * Starts this (fresh) Predictor from what an earlier one of the same
   * entity knew, for a session that resumed the match on a new connection:
   * its predicted position becomes the provisional, unchecked base until the
   * first reconcile, and its statistics continue. Pending inputs are not
   * carried: the server either processed them (the next snapshot's
   * `lastInputSeq` covers them) or never got them and never will.
   */
  carryOver(position: Vec, stats: PredictionStats): void {
    this.#pos = { x: position.x, y: position.y };
    this.#stats = { ...stats };
  }

  /**
   * The predicted position: the last server position with every
   * unacknowledged input replayed. Before the first reconcile it is relative
   * to (0, 0) (or to the position carried over).
   */
  get position(): Vec {
    return this.#pos;
  }

  /** Whether the Predictor has had a server position. */
  get known(): boolean {
    return this.#hasBase;
  }

  /** The number of inputs not yet acknowledged by the server. */
  get pending(): number {
    return this.#pending.length;
  }

  /** The highest input seq applied or acknowledged so far; the next input must have a greater one. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The prediction error measured so far (a copy). */
  get stats(): PredictionStats {
    return { ...this.#stats };
  }

  // The server's rule for one input: an invalid input is dropped without
  // moving the entity, a valid one moves it.
  #move(pos: Vec, input: InputLike): Vec {
    if (validate(input) !== "none") {
      return pos;
    }
    return move(pos, input, this.tickRate);
  }

  #record(d: number): void {
    const s = this.#stats;
    s.checked++;
    s.last = d;
    s.max = Math.max(s.max, d);
    if (d !== 0) {
      s.corrections++;
    }
  }
}

// copyInput keeps the fields the replay reads, so that a caller reusing its
// input object does not rewrite history.
function copyInput(i: InputLike): InputLike {
  return { seq: i.seq, moveX: i.moveX, moveY: i.moveY, buttons: i.buttons, aimX: i.aimX, aimY: i.aimY, viewTick: i.viewTick };
}

/** Returns max(|dx|, |dy|) between a and b, in centi-units (exact: below 2^33). */
export function chebyshev(a: Vec, b: Vec): number {
  return Math.max(Math.abs(a.x - b.x), Math.abs(a.y - b.y));
}

import {
  DEFAULT_INTERPOLATION_DELAY_MILLIS,
  Interpolator,
  interpolationCapacity,
  MAX_SNAPSHOT_ENTITIES,
  renderTick,
  viewTick,
  type EntityLike,
  type EntityView,
} from "./interpolator.js";
import { DEFAULT_MAX_PENDING, Predictor, type PredictionStats } from "./predictor.js";
import { clampMove, isTickRate, MAX_TICK_RATE, MIN_TICK_RATE, toInt32, type InputLike, type Vec } from "./rules.js";

/**
 * The fields of the generated `Welcome` message (`arbiter.v1.Welcome`) an
 * {@link ArenaView} reads.
 */
export interface WelcomeLike {
  /** The entity this connection controls. */
  readonly entityId: number;
  /** Simulation ticks per second. */
  readonly tickRate: number;
  /** The server tick when the connection was admitted. */
  readonly tick: number;
  /** The highest input seq the server has received from this player in this match. */
  readonly lastInputSeq: number;
}

/**
 * One entity of a snapshot with the fields prediction needs: the generated
 * `Entity` message fits.
 */
export interface SnapshotEntityLike extends EntityLike {
  /** The highest input seq the server has processed for this entity's player. */
  readonly lastInputSeq: number;
  /** How many of the player's inputs were still waiting at the server after this tick (for pacing). */
  readonly inputBacklog?: number;
}

/**
 * The fields of the generated `Snapshot` message (`arbiter.v1.Snapshot`) an
 * {@link ArenaView} reads.
 */
export interface SnapshotLike {
  /** The tick the snapshot describes. */
  readonly tick: number;
  /** Every entity, full state. */
  readonly entities: readonly SnapshotEntityLike[];
}

/**
 * What the player does now, as a game hands it over: per-mille move
 * components (any length, any number: they are rounded and clamped), the
 * fire button, an aim direction. Missing fields are 0.
 */
export interface Controls {
  /** Horizontal move, per-mille of full speed (clamped to length 1000 with moveY). */
  readonly moveX?: number;
  /** Vertical move, per-mille of full speed. */
  readonly moveY?: number;
  /** Bit 0 (`BUTTON_FIRE`) fires. */
  readonly buttons?: number;
  /** Aim direction, horizontal. */
  readonly aimX?: number;
  /** Aim direction, vertical. */
  readonly aimY?: number;
}

/** Options of an {@link ArenaView}. */
export interface ArenaViewOptions {
  /**
   * How far behind the estimated server tick other entities are shown, in
   * milliseconds. Undefined or 0 means {@link DEFAULT_INTERPOLATION_DELAY_MILLIS};
   * a negative value means no delay (the newest snapshot).
   */
  readonly interpolationDelayMillis?: number;
  /**
   * The seq to continue after, beside the Welcome's `lastInputSeq`: a
   * session resuming a match on a new connection passes the earlier view's
   * {@link ArenaView.lastSeq}.
   */
  readonly initialSeq?: number;
  /**
   * The view of the earlier connection, for a session that resumed the
   * match: if it is of the same entity, its prediction (position and
   * statistics) continues here and its seqs are not repeated.
   */
  readonly resumeFrom?: ArenaView;
  /** The bound of unacknowledged inputs remembered; default {@link DEFAULT_MAX_PENDING}. */
  readonly maxPending?: number;
}

/**
 * A snapshot or Welcome no arena server sends: the session should close the
 * connection as a protocol error (WebSocket close 1002), as the Go client
 * does.
 */
export class ArenaProtocolError extends Error {
  /** Returns an error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "ArenaProtocolError";
  }
}

/**
 * The views a game client needs of a running arena match, kept from the
 * server's messages: its own entity predicted ({@link ArenaView.predicted}),
 * every other entity interpolated a fixed delay behind
 * ({@link ArenaView.interpolated}), the inputs to send numbered and clamped
 * ({@link ArenaView.nextInput}). It is the bookkeeping of the Go client
 * (`client.Client`'s Welcome, Snapshot and SendInput handling) without the
 * connection: a session creates one per Welcome, hands it every Snapshot,
 * and sends what nextInput returns, at the pace its pacer sets.
 *
 * Times are milliseconds on any monotonic clock (`performance.now()`), the
 * same one for every call. Pure: no timers, no I/O.
 */
export class ArenaView {
  /** The entity this connection controls. */
  readonly entityId: number;
  /** Simulation ticks per second. */
  readonly tickRate: number;
  /** The interpolation delay in use, in milliseconds (never negative). */
  readonly interpolationDelayMillis: number;

  readonly #predictor: Predictor;
  readonly #interpolator: Interpolator;
  #seq: number; // highest seq sent, or to continue after
  // The newest tick heard of and when: the base of the render tick.
  #refTick: number;
  #refAt: number;
  #haveSnapshot = false;
  #last: SnapshotLike | undefined;

  /**
   * Starts the views of a connection from its Welcome, received at
   * nowMillis.
   *
   * @throws ArenaProtocolError if the Welcome's tick rate is not in [20, 60]
   * or its entity is 0.
   */
  constructor(welcome: WelcomeLike, nowMillis: number, options: ArenaViewOptions = {}) {
    if (!isTickRate(welcome.tickRate)) {
      throw new ArenaProtocolError(`arena: welcome with tick rate ${welcome.tickRate}, not in [${MIN_TICK_RATE}, ${MAX_TICK_RATE}]`);
    }
    if (!welcome.entityId) {
      throw new ArenaProtocolError("arena: welcome with entity 0");
    }
    this.entityId = welcome.entityId;
    this.tickRate = welcome.tickRate;
    const delay = options.interpolationDelayMillis || DEFAULT_INTERPOLATION_DELAY_MILLIS;
    this.interpolationDelayMillis = Math.max(delay, 0);
    const prev = options.resumeFrom;
    this.#seq = Math.max(options.initialSeq ?? 0, welcome.lastInputSeq, prev?.lastSeq ?? 0);
    this.#predictor = new Predictor(this.tickRate, this.entityId, options.maxPending ?? DEFAULT_MAX_PENDING);
    if (prev !== undefined && prev.entityId === this.entityId) {
      this.#predictor.carryOver(prev.predicted, prev.predictionError);
    }
    this.#interpolator = new Interpolator(
      this.entityId,
      this.tickRate,
      interpolationCapacity(this.tickRate, this.interpolationDelayMillis),
    );
    this.#refTick = welcome.tick;
    this.#refAt = nowMillis;
  }

  /**
   * Takes a snapshot received at nowMillis: reconciles the prediction with
   * the own entity's position and `lastInputSeq`, hands every other entity
   * to the interpolator, and moves the render clock on if the snapshot is
   * the newest yet. It returns the own entity as the snapshot has it (its
   * `lastInputSeq` and `inputBacklog` feed the pacer), or undefined if the
   * snapshot does not carry it.
   *
   * @throws ArenaProtocolError for a snapshot of more than
   * {@link MAX_SNAPSHOT_ENTITIES} entities (nothing is taken).
   */
  snapshot(s: SnapshotLike, nowMillis: number): SnapshotEntityLike | undefined {
    if (s.entities.length > MAX_SNAPSHOT_ENTITIES) {
      throw new ArenaProtocolError(`arena: snapshot with ${s.entities.length} entities`);
    }
    let self: SnapshotEntityLike | undefined;
    for (const e of s.entities) {
      if (e.id === this.entityId) {
        this.#predictor.reconcile(e, e.lastInputSeq);
        self = e;
      }
    }
    this.#interpolator.push(s.tick, s.entities);
    if (!this.#haveSnapshot || s.tick > this.#refTick) {
      this.#refTick = s.tick;
      this.#refAt = nowMillis;
      this.#haveSnapshot = true;
    }
    this.#last = s;
    return self;
  }

  /**
   * Returns the next input to send for controls at nowMillis, and predicts
   * it: the move clamped to length 1000 ({@link clampMove}, the server's
   * rule, so a game may hand over (1000, 1000) or a rounded analog stick),
   * every component an int32 ({@link toInt32}), the seq one more than the
   * last sent or acknowledged (or the Welcome's `lastInputSeq`), the view
   * tick the tick the client displays ({@link ArenaView.viewTick}). An input
   * the server will still reject (an aim out of range) is returned as it is
   * and predicted as no movement.
   *
   * Call it once per input actually sent, in order, at the pacer's pace:
   * the server applies at most one input per tick and drops the surplus.
   */
  nextInput(controls: Controls, nowMillis: number): InputLike {
    const [moveX, moveY] = clampMove(controls.moveX ?? 0, controls.moveY ?? 0);
    const seq = Math.max(this.#seq, this.#predictor.lastSeq) + 1;
    this.#seq = seq;
    const input: InputLike = {
      seq,
      moveX,
      moveY,
      buttons: toUint32(controls.buttons ?? 0),
      aimX: toInt32(controls.aimX ?? 0),
      aimY: toInt32(controls.aimY ?? 0),
      viewTick: this.viewTick(nowMillis),
    };
    this.#predictor.apply(input);
    return input;
  }

  /**
   * The predicted position of the own entity: the server's last word plus
   * every input it has not processed yet. Before the first snapshot it is
   * (0, 0), or the earlier view's prediction when resumed.
   */
  get predicted(): Vec {
    return this.#predictor.position;
  }

  /** Whether a snapshot has given the own entity's position yet. */
  get known(): boolean {
    return this.#predictor.known;
  }

  /**
   * How far the prediction has been from the server when it acknowledged
   * inputs (see {@link PredictionStats}); a resumed view continues the
   * earlier one's. Stays zero while the server applies every input sent.
   */
  get predictionError(): PredictionStats {
    return this.#predictor.stats;
  }

  /** The number of inputs sent and not yet acknowledged. */
  get pendingInputs(): number {
    return this.#predictor.pending;
  }

  /** The highest input seq sent or acknowledged: the next input gets the one after. */
  get lastSeq(): number {
    return Math.max(this.#seq, this.#predictor.lastSeq);
  }

  /** The newest snapshot taken, or undefined. Shared: do not modify it. */
  get lastSnapshot(): SnapshotLike | undefined {
    return this.#last;
  }

  /**
   * The (fractional) server tick other entities are shown at, at nowMillis:
   * the newest snapshot's tick plus the time since it arrived, less the
   * interpolation delay (see {@link renderTick}).
   */
  renderTick(nowMillis: number): number {
    return renderTick(this.#refTick, nowMillis - this.#refAt, this.tickRate, this.interpolationDelayMillis);
  }

  /**
   * The whole tick the client displays at nowMillis, for an input's
   * `viewTick`: never after the newest tick heard of, never negative.
   */
  viewTick(nowMillis: number): number {
    return viewTick(this.renderTick(nowMillis), this.#refTick);
  }

  /**
   * Every other entity as it should be drawn at nowMillis: interpolated
   * between the two snapshots around {@link ArenaView.renderTick}. The own
   * entity is left out; draw it at {@link ArenaView.predicted}. The array
   * is the caller's.
   */
  interpolated(nowMillis: number): EntityView[] {
    return this.#interpolator.sample(this.renderTick(nowMillis));
  }
}

// toUint32 is v as the wire's uint32 carries it: an integer in [0, 2^32),
// saturated; NaN is 0.
function toUint32(v: number): number {
  if (!(v > 0)) {
    return 0;
  }
  return Math.min(Math.trunc(v), 0xffffffff);
}

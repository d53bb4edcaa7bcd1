// The arena's shared integer rules: the movement a predicting client replays
// exactly as the server applies it (docs/arena.md). Every function here gives
// the same result as its Go twin in package sim for every input the Go
// function accepts; the comments say where JavaScript numbers are exact and
// where BigInt takes over.

/** A position or a displacement, in centi-units (integers). */
export interface Vec {
  /** Horizontal coordinate, in centi-units. */
  readonly x: number;
  /** Vertical coordinate, in centi-units. */
  readonly y: number;
}

/**
 * The movement part of an input: the fields of the generated `Input` message
 * (`arbiter.v1.Input`) that {@link move} reads, so that a generated message
 * can be passed as it is.
 */
export interface MoveLike {
  /** Horizontal move, per-mille of full speed. */
  readonly moveX: number;
  /** Vertical move, per-mille of full speed. */
  readonly moveY: number;
}

/**
 * One input as the wire carries it: the fields of the generated `Input`
 * message (`arbiter.v1.Input`), named as protobuf-es names them, so that a
 * generated message plugs in without conversion and an `InputLike` can be
 * handed to `create(InputSchema, …)`.
 */
export interface InputLike extends MoveLike {
  /** Starts at 1 and strictly increases per player within a match. */
  readonly seq: number;
  /** Bit 0 ({@link BUTTON_FIRE}) fires. */
  readonly buttons: number;
  /** Aim direction, horizontal; only the direction matters. */
  readonly aimX: number;
  /** Aim direction, vertical. */
  readonly aimY: number;
  /** The server tick the client was displaying, for lag compensation. */
  readonly viewTick: number;
}

/** The extent of the arena on both axes: positions lie in [0, ARENA_SIZE]. */
export const ARENA_SIZE = 100000;
/** The distance a full-length move covers per second, in centi-units. */
export const SPEED = 20000;
/** The largest length of a move vector as applied (per-mille of SPEED). */
export const MAX_MOVE = 1000;
/**
 * The largest length of a valid input's move vector: an analog stick's unit
 * vector, times 1000 and rounded per axis, is up to 0.71 longer than
 * {@link MAX_MOVE}. {@link clampMove} scales vectors between the two back to
 * MAX_MOVE; the server counts longer ones as a violation.
 */
export const MOVE_TOLERANCE = 1001;
/** A fresh entity's hit points. */
export const MAX_HP = 100;
/** The lowest tick rate a match runs at, in ticks a second. */
export const MIN_TICK_RATE = 20;
/** The highest tick rate a match runs at, in ticks a second. */
export const MAX_TICK_RATE = 60;
/** The `Input.buttons` bit that fires. */
export const BUTTON_FIRE = 1;
/** How far a shot reaches from the shooter, in centi-units. */
export const RANGE = 30000;
/** The radius of every entity's hit circle, in centi-units. */
export const HIT_RADIUS = 1500;
/** The hit points one hit takes. */
export const DAMAGE = 25;
/** The least time between two shots of one entity, in milliseconds. */
export const FIRE_COOLDOWN_MILLIS = 250;
/** The time from death to respawn, in milliseconds. */
export const RESPAWN_MILLIS = 2000;
/** How far in the past lag compensation tests a shot, in milliseconds. */
export const MAX_REWIND_MILLIS = 200;
/**
 * The bound of each component of an input's aim vector: a larger one is a
 * violation (`aim_range`).
 */
export const MAX_AIM = 1 << 20;

/**
 * Where entities appear, in join order (the n-th entity at
 * `SPAWN_POINTS[n % 10]`); a respawn picks the one farthest from every
 * living entity.
 */
export const SPAWN_POINTS: readonly Vec[] = Object.freeze(
  [
    [20000, 20000], [80000, 80000], [80000, 20000], [20000, 80000],
    [50000, 10000], [50000, 90000], [10000, 50000], [90000, 50000],
    [35000, 35000], [65000, 65000],
  ].map(([x, y]) => Object.freeze({ x: x!, y: y! })),
);

/**
 * Returns the spawn position of the n-th entity (0-based) to join a match.
 * A negative or fractional n is taken as 0 and its integer part.
 */
export function spawnPoint(n: number): Vec {
  const i = Number.isFinite(n) && n > 0 ? Math.trunc(n) % SPAWN_POINTS.length : 0;
  return SPAWN_POINTS[i]!;
}

/**
 * Returns the fire cooldown at tickRate in whole ticks, rounded up so that it
 * is never shorter than {@link FIRE_COOLDOWN_MILLIS}: 8 at 30 Hz, 15 at 60 Hz,
 * 5 at 20 Hz.
 */
export function cooldownTicks(tickRate: number): number {
  return Math.trunc((FIRE_COOLDOWN_MILLIS * tickRate + 999) / 1000);
}

/**
 * Returns the most ticks lag compensation rewinds at tickRate, rounded down
 * so that it never exceeds {@link MAX_REWIND_MILLIS}: 6 at 30 Hz.
 */
export function rewindTicks(tickRate: number): number {
  return Math.trunc((MAX_REWIND_MILLIS * tickRate) / 1000);
}

/** Returns the time from death to respawn at tickRate, in ticks (2·tickRate). */
export function respawnTicks(tickRate: number): number {
  return Math.trunc((RESPAWN_MILLIS * tickRate) / 1000);
}

/**
 * Reports whether tickRate is a tick rate a match can run at: an integer in
 * [{@link MIN_TICK_RATE}, {@link MAX_TICK_RATE}].
 */
export function isTickRate(tickRate: number): boolean {
  return Number.isInteger(tickRate) && tickRate >= MIN_TICK_RATE && tickRate <= MAX_TICK_RATE;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Returns v as the wire's sint32 carries it: rounded to the nearest integer
 * (halves away from zero, as a game rounds an analog stick's per-mille
 * value), saturated to the int32 range; NaN is 0. For an integer in the
 * int32 range it is v itself. The functions of this module pass every
 * component through it, so that a game may hand them floats.
 */
export function toInt32(v: number): number {
  if (Number.isNaN(v)) {
    return 0;
  }
  // Math.round breaks ties towards +∞; mirrored, that is away from zero.
  const r = v < 0 ? -Math.round(-v) : Math.round(v);
  return Math.min(Math.max(r, INT32_MIN), INT32_MAX) + 0; // + 0: no -0
}

// Below FAST_LIMIT per axis, x² + y² ≤ 2^51 and every product of
// clampMove is an exact integer in a double; beyond it BigInt takes over.
const FAST_LIMIT = 2 ** 25;

/**
 * Returns the move vector (x, y) scaled to length at most {@link MAX_MOVE}:
 * unchanged if x² + y² ≤ MAX_MOVE², else each component times MAX_MOVE / n,
 * truncated towards zero, where n = ⌈√(x² + y²)⌉. It is the server's own rule
 * (Go's `sim.ClampMove`), bit for bit for every int32 pair; a client clamps
 * whatever the game hands it before sending, so that it never sends an
 * invalid vector: an analog stick's (600, 801) (length ≤ 1001) becomes (599,
 * 800), and (1000, 1000) becomes (706, 706).
 *
 * Components are first passed through {@link toInt32}.
 */
export function clampMove(x: number, y: number): [x: number, y: number] {
  x = toInt32(x);
  y = toInt32(y);
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  if (ax <= MAX_MOVE && ay <= MAX_MOVE && ax * ax + ay * ay <= MAX_MOVE * MAX_MOVE) {
    return [x, y];
  }
  if (ax < FAST_LIMIT && ay < FAST_LIMIT) {
    // l2 < 2^51, n < 2^26, x·1000 < 2^35: all exact, and a truncated
    // quotient of exact integers below 2^53 is the integer quotient.
    const n = ceilSqrt(ax * ax + ay * ay);
    return [Math.trunc((x * MAX_MOVE) / n) + 0, Math.trunc((y * MAX_MOVE) / n) + 0];
  }
  // x² + y² reaches 2^63: BigInt, as Go's uint64.
  const bx = BigInt(x);
  const by = BigInt(y);
  const l2 = bx * bx + by * by;
  let n = isqrtBig(l2);
  if (n * n < l2) {
    n += 1n;
  }
  // BigInt division truncates towards zero, as Go's.
  return [Number((bx * BigInt(MAX_MOVE)) / n), Number((by * BigInt(MAX_MOVE)) / n)];
}

/** Returns ⌈√l2⌉ for an integer 0 ≤ l2 < 2^51, exactly. */
function ceilSqrt(l2: number): number {
  // Math.sqrt is correctly rounded; the floor may still be one off near a
  // square, so settle it with exact integer products (r < 2^26).
  let r = Math.floor(Math.sqrt(l2));
  while (r * r > l2) {
    r--;
  }
  while ((r + 1) * (r + 1) <= l2) {
    r++;
  }
  return r * r < l2 ? r + 1 : r;
}

/** Returns ⌊√n⌋ for 0 ≤ n < 2^64, by Go's digit-by-digit method. */
function isqrtBig(n: bigint): bigint {
  let r = 0n;
  let bit = 1n << 62n;
  while (bit > n) {
    bit >>= 2n;
  }
  while (bit !== 0n) {
    if (n >= r + bit) {
      n -= r + bit;
      r = (r >> 1n) + bit;
    } else {
      r >>= 1n;
    }
    bit >>= 2n;
  }
  return r;
}

/**
 * Returns where an entity at p ends up after applying input for one tick at
 * tickRate: (mx, my) = clampMove(moveX, moveY), dx = trunc(mx · SPEED /
 * (MAX_MOVE · tickRate)), the same for y, then each axis clamped to [0,
 * ARENA_SIZE]. It is the server's own rule (Go's `sim.Move`), bit for bit.
 * It does not check the input: a predicting client asks {@link validate}
 * first, as the server does (see {@link Predictor}).
 *
 * The arithmetic is exact in doubles: after the clamp |mx| ≤ 1000, so the
 * products stay below 2^25, and the sum of an int32 coordinate and a step
 * below 2^32.
 *
 * @throws RangeError if tickRate is not an integer in [20, 60].
 */
export function move(p: Vec, input: MoveLike, tickRate: number): Vec {
  if (!isTickRate(tickRate)) {
    throw new RangeError(`arena: tick rate ${tickRate} not an integer in [${MIN_TICK_RATE}, ${MAX_TICK_RATE}]`);
  }
  const [mx, my] = clampMove(input.moveX, input.moveY);
  const den = MAX_MOVE * tickRate;
  const dx = Math.trunc((mx * SPEED) / den);
  const dy = Math.trunc((my * SPEED) / den);
  return { x: clampAxis(toInt32(p.x) + dx), y: clampAxis(toInt32(p.y) + dy) };
}

function clampAxis(v: number): number {
  return Math.min(Math.max(v, 0), ARENA_SIZE) + 0;
}

/**
 * Why the server rejects an input, as the wire and the server's logs name
 * it: `none` for an acceptable input.
 */
export type Violation = "none" | "move_length" | "aim_range" | "view_tick";

/**
 * Checks an input against the arena's stateless rules, as the server does
 * (Go's `sim.Validate`): a move vector longer than {@link MOVE_TOLERANCE} is
 * `move_length`, an aim component beyond ±{@link MAX_AIM} is `aim_range`.
 * The server drops a rejected input without moving the entity; a predicting
 * client therefore predicts no movement for it. (The server also refuses a
 * view tick ahead of its own tick, which only it can check.)
 *
 * Components are first passed through {@link toInt32}.
 */
export function validate(input: MoveLike & { readonly aimX: number; readonly aimY: number }): Violation {
  const mx = toInt32(input.moveX);
  const my = toInt32(input.moveY);
  // Bound each axis first, as Go does; then the squares are small.
  if (
    mx < -MOVE_TOLERANCE || mx > MOVE_TOLERANCE || my < -MOVE_TOLERANCE || my > MOVE_TOLERANCE ||
    mx * mx + my * my > MOVE_TOLERANCE * MOVE_TOLERANCE
  ) {
    return "move_length";
  }
  const ax = toInt32(input.aimX);
  const ay = toInt32(input.aimY);
  if (ax < -MAX_AIM || ax > MAX_AIM || ay < -MAX_AIM || ay > MAX_AIM) {
    return "aim_range";
  }
  return "none";
}

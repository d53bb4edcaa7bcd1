/**
 * The retry schedule of a {@link Session}'s resume: capped exponential
 * backoff with full jitter, as the Go client's `Backoff`.
 *
 * @module
 */

/** Default of {@link Backoff.initialMs}: the bound of the delay before the first retry. */
export const DEFAULT_BACKOFF_INITIAL_MS = 100;
/** Default of {@link Backoff.maxMs}: the cap of the bound of every delay. */
export const DEFAULT_BACKOFF_MAX_MS = 5000;
/** Default of {@link Backoff.multiplier}: the growth of the bound per retry. */
export const DEFAULT_BACKOFF_MULTIPLIER = 2;
/**
 * Default of {@link Backoff.attemptTimeoutMs}: the bound of one attempt
 * (connect, upgrade, Welcome), so that a server that accepts but never
 * answers costs one attempt.
 */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
/**
 * Default of {@link Backoff.giveUpAfterMs}: how long a session tries to
 * come back before it gives up. Far beyond the server's grace period (15 s
 * by default: a player away longer has forfeited, and is told so when it
 * comes back) and the takeover of a dead server's chess games (within
 * about 30 s).
 */
export const DEFAULT_GIVE_UP_AFTER_MS = 120_000;

/**
 * The retry schedule: the delay before retry n (n = 0 after the first
 * failed attempt) is drawn uniformly from [0, cap(n)], cap(n) = min(maxMs,
 * initialMs·multiplier^n), so that the players of a room dropped together
 * by one network blip do not all come back in the same instant. Every field
 * is optional: `{}` is 100 ms, 200 ms, 400 ms, … 5 s, 5 s, …, for up to two
 * minutes, each attempt at most 10 s.
 */
export interface Backoff {
  /** The bound of the delay before the first retry, ms; default {@link DEFAULT_BACKOFF_INITIAL_MS}. */
  readonly initialMs?: number;
  /** The cap of the bound of every delay, ms; default {@link DEFAULT_BACKOFF_MAX_MS}. */
  readonly maxMs?: number;
  /** The growth of the bound per retry; values below 1 mean {@link DEFAULT_BACKOFF_MULTIPLIER}. */
  readonly multiplier?: number;
  /** The most connection attempts; 0 or absent: no bound but giveUpAfterMs. */
  readonly maxAttempts?: number;
  /** The bound of one attempt, ms; default {@link DEFAULT_ATTEMPT_TIMEOUT_MS}. */
  readonly attemptTimeoutMs?: number;
  /** How long to keep trying, ms from the disconnection; default {@link DEFAULT_GIVE_UP_AFTER_MS}, 0 no bound. */
  readonly giveUpAfterMs?: number;
  /**
   * Returns the delay to wait given its bound, in [0, bound]; absent:
   * uniformly random (full jitter). Tests inject a deterministic one.
   */
  readonly jitter?: (boundMs: number) => number;
}

/** Returns the upper bound of the delay before retry n: min(maxMs, initialMs·multiplier^n). */
export function backoffCap(b: Backoff, n: number): number {
  const initial = b.initialMs !== undefined && b.initialMs > 0 ? b.initialMs : DEFAULT_BACKOFF_INITIAL_MS;
  const cap = b.maxMs !== undefined && b.maxMs > 0 ? b.maxMs : DEFAULT_BACKOFF_MAX_MS;
  const mult = b.multiplier !== undefined && b.multiplier >= 1 ? b.multiplier : DEFAULT_BACKOFF_MULTIPLIER;
  return Math.min(cap, initial * Math.pow(mult, Math.max(n, 0)));
}

/** Returns the delay before retry n: {@link backoffCap}, jittered. */
export function backoffDelay(b: Backoff, n: number): number {
  const bound = backoffCap(b, n);
  const d = b.jitter !== undefined ? b.jitter(bound) : Math.random() * bound;
  return Math.min(Math.max(d, 0), bound);
}

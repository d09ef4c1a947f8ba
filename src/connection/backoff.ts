/**
 * Exponential back-off with optional jitter, used between reconnect attempts.
 *
 * The class is pure: it never reads a clock and never calls `Math.random`.
 * The caller passes the random number, which keeps every delay reproducible
 * in tests and lets the connection state machine stay a pure definition.
 *
 * @module
 */

/** Options of {@link ExponentialBackoff}. Every value is in milliseconds except `multiplier` and `jitter`. */
export interface ExponentialBackoffOptions {
  /** Wait before the first retry, in ms. At least 0. Default `100`. */
  readonly initial?: number | undefined;
  /** Growth factor applied for every further retry. At least 1. Default `2`. */
  readonly multiplier?: number | undefined;
  /** Upper bound of the un-jittered wait, in ms. At least `initial`. Default `10_000`. */
  readonly max?: number | undefined;
  /**
   * Fraction of the wait that may be taken off at random, in `[0, 1]`.
   * `0` gives exactly the base wait; `1` gives a wait anywhere in `(0, base]`.
   * Default `0.5`.
   */
  readonly jitter?: number | undefined;
}

/** Default {@link ExponentialBackoffOptions.initial}, in ms. */
export const DEFAULT_BACKOFF_INITIAL = 100;
/** Default {@link ExponentialBackoffOptions.multiplier}. */
export const DEFAULT_BACKOFF_MULTIPLIER = 2;
/**
 * Default {@link ExponentialBackoffOptions.max}, in ms: 2 s, the cap ioredis's
 * default retry strategy uses too, so a client is back within about 2 s of a
 * short outage's end (it was 10 s, which kept clients down 5–10 s after the
 * server returned).
 */
export const DEFAULT_BACKOFF_MAX = 2_000;
/** Default {@link ExponentialBackoffOptions.jitter}. */
export const DEFAULT_BACKOFF_JITTER = 0.5;

/**
 * Reads one numeric option: a `TypeError` unless it is a number (NaN
 * included), a `RangeError` unless it is finite.
 */
function numberOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`ExponentialBackoff: option "${name}" must be a number, got ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`ExponentialBackoff: option "${name}" must be finite, got ${value}`);
  }
  return value;
}

/** A short description of a bad value for error messages. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  return typeof value;
}

/**
 * Exponential back-off: the wait before retry number `n` (1-based) is
 * `min(max, initial * multiplier^(n - 1))`, then shortened by a random
 * fraction of at most `jitter`.
 *
 * @example
 * ```ts
 * const backoff = new ExponentialBackoff({ initial: 200, max: 5_000, jitter: 0.2 });
 * backoff.baseDelay(1); // 200
 * backoff.baseDelay(3); // 800
 * backoff.delay(3, Math.random()); // somewhere in [640, 800]
 * ```
 */
export class ExponentialBackoff {
  readonly #initial: number;
  readonly #multiplier: number;
  readonly #max: number;
  readonly #jitter: number;

  /**
   * @param options - See {@link ExponentialBackoffOptions}; every field is optional.
   * @throws TypeError when an option is given but is not a number (or is NaN).
   * @throws RangeError when an option is not finite, `initial < 0`,
   *   `multiplier < 1`, `max < initial`, or `jitter` is outside `[0, 1]`.
   *   The message names the option.
   */
  constructor(options: ExponentialBackoffOptions = {}) {
    const initial = numberOption('initial', options.initial, DEFAULT_BACKOFF_INITIAL);
    const multiplier = numberOption('multiplier', options.multiplier, DEFAULT_BACKOFF_MULTIPLIER);
    const max = numberOption('max', options.max, DEFAULT_BACKOFF_MAX);
    const jitter = numberOption('jitter', options.jitter, DEFAULT_BACKOFF_JITTER);
    if (initial < 0) {
      throw new RangeError(`ExponentialBackoff: option "initial" must be at least 0, got ${initial}`);
    }
    if (multiplier < 1) {
      throw new RangeError(`ExponentialBackoff: option "multiplier" must be at least 1, got ${multiplier}`);
    }
    if (max < initial) {
      throw new RangeError(`ExponentialBackoff: option "max" (${max}) must be at least "initial" (${initial})`);
    }
    if (jitter < 0 || jitter > 1) {
      throw new RangeError(`ExponentialBackoff: option "jitter" must be between 0 and 1, got ${jitter}`);
    }
    this.#initial = initial;
    this.#multiplier = multiplier;
    this.#max = max;
    this.#jitter = jitter;
  }

  /** Wait before the first retry, in ms. */
  get initial(): number {
    return this.#initial;
  }

  /** Growth factor applied for every further retry. */
  get multiplier(): number {
    return this.#multiplier;
  }

  /** Upper bound of the un-jittered wait, in ms. */
  get max(): number {
    return this.#max;
  }

  /** Largest fraction of the wait that jitter may take off. */
  get jitter(): number {
    return this.#jitter;
  }

  /**
   * The wait before retry number `attempt`, without jitter:
   * `min(max, initial * multiplier^(attempt - 1))`. Never decreases as
   * `attempt` grows, and never passes `max`.
   *
   * @param attempt - 1-based retry number: `1` is the wait before the first retry.
   * @throws RangeError unless `attempt` is an integer of at least 1.
   */
  baseDelay(attempt: number): number {
    if (!Number.isInteger(attempt) || attempt < 1) {
      throw new RangeError(`ExponentialBackoff: attempt must be an integer of at least 1, got ${String(attempt)}`);
    }
    // 0 * Infinity would be NaN once multiplier^(attempt - 1) overflows.
    if (this.#initial === 0) return 0;
    return Math.min(this.#max, this.#initial * this.#multiplier ** (attempt - 1));
  }

  /**
   * The wait before retry number `attempt`, with jitter:
   * `baseDelay(attempt) * (1 - jitter * random)`. The result lies in
   * `[base * (1 - jitter), base]`; with `jitter = 1` it is in `(0, base]`.
   *
   * @param attempt - 1-based retry number: `1` is the wait before the first retry.
   * @param random - A number in `[0, 1)`, typically `Math.random()`. `0` gives the full base wait.
   * @throws RangeError unless `attempt` is an integer of at least 1 and `random` is in `[0, 1)`.
   */
  delay(attempt: number, random: number): number {
    const base = this.baseDelay(attempt);
    if (!(random >= 0 && random < 1)) {
      throw new RangeError(`ExponentialBackoff: random must be in [0, 1), got ${String(random)}`);
    }
    const delay = base * (1 - this.#jitter * random);
    // A positive wait stays positive: a subnormal base (under ~1e-308 ms) times a small factor would round to 0.
    return delay > 0 || base === 0 ? delay : Number.MIN_VALUE;
  }
}

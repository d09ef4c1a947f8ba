/**
 * The run-time check of per-request options (`{ signal, timeout }`), for
 * plain-JavaScript callers whom TypeScript never checks: `Connection.send`
 * and every command of the client and the fleet (which add their own keys,
 * `replace` for COPY, `key` for the fleet's `sendCommand`).
 *
 * Cheap on the request path: nothing to do for `undefined`; for an object,
 * one walk over its own keys and two type checks, no allocation unless it
 * throws.
 *
 * @module
 */

import { MAX_TIMER_DELAY } from './machine.js';
import { optionNames, unknownOptionMessage } from './option-keys.js';
import type { RequestOptions } from './requests.js';

/** The keys of {@link RequestOptions}. */
export const REQUEST_OPTION_NAMES = optionNames({ signal: true, timeout: true } satisfies Record<keyof RequestOptions, true>);

/** Option names (lower case) that ask for an expiry, as other clients spell it: zcached has none. */
const EXPIRY_NAMES = new Set([
  'ex', 'px', 'exat', 'pxat', 'keepttl', 'ttl', 'pttl', 'expire', 'expires', 'expiresin', 'expiresat', 'expireat', 'expiry', 'expiration', 'maxage',
]);

/** Whether `name` (any case) is how another client asks for an expiry: `EX`, `px`, `ttl`, `expiresIn`, `maxAge`... */
export function isExpiryName(name: string): boolean {
  return EXPIRY_NAMES.has(name.toLowerCase());
}

/**
 * The message for an expiry asked of zcached: it has none, and the Keyv
 * adapter is where a TTL lives. `given` says what was given (`"EX"`,
 * `option "ttl"`).
 */
export function noExpiryMessage(owner: string, given: string): string {
  return (
    `${owner}: zcached has no expiry (${given} given): keys live until they are deleted or flushed. ` +
    `For entries that expire, use Keyv over the zcached/keyv adapter and Keyv's ttl: ` +
    `new Keyv({ store: new KeyvZCached(client) }).set(key, value, ttlMs); nothing was sent`
  );
}

/** What a value is, for a message: `the string "x"`, `the number 200`, `null`, `an array`, `an AbortSignal`. */
export function describeArgument(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'bigint':
      return `the bigint ${String(value)}n`;
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return 'an array';
      if (isPlainObject(value)) return 'an object';
      return withArticle(className(value as object));
  }
}

function className(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'object';
}

function withArticle(name: string): string {
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** An object literal (or `Object.create(null)`): what an options object is. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** An `AbortSignal`, or an object that behaves as one (a polyfill's). */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { aborted?: unknown }).aborted === 'boolean' &&
    typeof (value as { addEventListener?: unknown }).addEventListener === 'function'
  );
}

/**
 * Checks the per-request options of a call at run time: `undefined`, or a
 * plain object whose own keys are all in `valid` (by default `signal` and
 * `timeout`), with `signal` an `AbortSignal` and `timeout` a positive
 * integer of milliseconds a Node.js timer can hold (at most 2^31 - 1), each
 * of them `undefined` when not given. Keys of `valid` beyond those two are
 * left for the caller to check. Messages start with `owner`
 * (`'Connection.send'`, `'ZCached.get'`).
 * @throws TypeError for something else than a plain object (`200`, `'b'`,
 *   an array, an `AbortSignal` itself), an unknown key (naming the closest
 *   valid one; an expiry such as `ttl` or `EX` gets a message saying zcached
 *   has none), a `signal` that is no `AbortSignal`, a `timeout` that is not a number
 * @throws RangeError for a `timeout` that is not an integer > 0, or past 2^31 - 1 ms
 */
export function assertRequestOptions(options: unknown, owner: string, valid: readonly string[] = REQUEST_OPTION_NAMES): asserts options is RequestOptions | undefined {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new TypeError(`${owner}: options must be an object { ${valid.map((name) => `${name}?`).join(', ')} }, got ${describeArgument(options)}`);
  }
  for (const key in options) {
    if (!Object.hasOwn(options, key) || valid.includes(key)) continue;
    throw new TypeError(isExpiryName(key) ? noExpiryMessage(owner, `option ${JSON.stringify(key)}`) : unknownOptionMessage(owner, key, valid));
  }
  const { signal, timeout } = options;
  if (signal !== undefined && !isAbortSignal(signal)) throw new TypeError(`${owner}: signal must be an AbortSignal, got ${describeArgument(signal)}`);
  if (timeout !== undefined) assertTimeout(timeout, owner);
}

function assertTimeout(timeout: unknown, owner: string): void {
  if (typeof timeout !== 'number') throw new TypeError(`${owner}: timeout must be a number of milliseconds, got ${describeArgument(timeout)}`);
  if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new RangeError(`${owner}: timeout must be a positive integer (ms), got ${timeout}`);
  if (timeout > MAX_TIMER_DELAY) {
    throw new RangeError(`${owner}: timeout must be at most ${MAX_TIMER_DELAY} ms (the longest timer Node.js can hold), got ${timeout}`);
  }
}

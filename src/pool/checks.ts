/**
 * Argument checks of `ConnectionPool`: sizes, iterables, whether a value
 * is a connection the pool can hold, and its options
 * ({@link ConnectionPoolOptions}). Pure.
 *
 * @module
 */

import type { PoolConnection } from './pool-connection.js';

/** @throws TypeError when `value` is not a number, RangeError when it is not an integer (both naming `name`). */
export function assertInteger(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value)) throw new RangeError(`${name} must be an integer, got ${value}`);
}

/** @throws as {@link assertInteger}, and RangeError for a negative integer. */
export function assertSize(value: unknown, name: string): asserts value is number {
  assertInteger(value, name);
  if (value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** True for an object with a `[Symbol.iterator]` method. */
export function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

/** True when `value` has every required member of {@link PoolConnection}. */
export function isPoolConnection(value: unknown): value is PoolConnection {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof PoolConnection, unknown>>;
  return (
    typeof candidate.id === 'string' &&
    typeof candidate.state === 'string' &&
    typeof candidate.pendingRequests === 'number' &&
    typeof candidate.isConnected === 'function' &&
    typeof candidate.connect === 'function' &&
    typeof candidate.tryReconnect === 'function' &&
    typeof candidate.close === 'function' &&
    typeof candidate.subscribe === 'function'
  );
}

/** A short description of a value of the wrong kind, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value === 'function' ? 'a function' : String(value);
}

/**
 * Checks `ConnectionPool`'s options; returns `largeRequestConnections` (undefined when not given).
 * @throws TypeError for options that are not an object, an unknown key, or a non-number
 * @throws RangeError for a `largeRequestConnections` that is not a positive integer
 */
export function checkPoolOptions(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`ConnectionPool options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'largeRequestConnections') {
      throw new TypeError(`ConnectionPool options: unknown option '${key}' (known: largeRequestConnections)`);
    }
  }
  const value = Object.hasOwn(options, 'largeRequestConnections') ? (options as { largeRequestConnections?: unknown }).largeRequestConnections : undefined;
  if (value === undefined) return undefined;
  assertInteger(value, 'largeRequestConnections');
  if (value < 1 || !Number.isSafeInteger(value)) throw new RangeError(`largeRequestConnections must be a positive integer, got ${value}`);
  return value;
}

/** Options of a `ConnectionPool` beyond the Python original's two arguments. */
export interface ConnectionPoolOptions {
  /**
   * How many connections requests larger than one write (`'etx'`: over
   * 1400 bytes, see `Connection.largeRequestBytes`) may hold at once. Each
   * such request holds its connection alone for a round trip; giving them
   * few connections keeps the others free for small requests (issue 19).
   * Raise it when large requests are a large share of the traffic and their
   * latency matters more than the small ones'. An integer >= 1; default a
   * quarter of `poolSize`, at least 1. No effect on dialects without a write
   * limit (every request is then routed least-loaded).
   */
  readonly largeRequestConnections?: number | undefined;
}

/**
 * How large a request will be on the wire, without encoding it: enough to
 * route it (the pool keeps requests over one segment off the connections
 * that small ones use, see `ConnectionPool.getConnectionForRequest`).
 *
 * @module
 */

import { Float } from './values.js';

/** Bytes a value adds at most beyond its content: a type byte, a length of up to 20 digits, two CRLFs. */
const FRAMING_BYTES = 26;
/** What a number, bigint, boolean, null or `Float` takes at most, framing included. */
const SCALAR_BYTES = 48;
/** Deeper values are left to the encoder, which refuses them (it allows 512 levels). */
const MAX_DEPTH = 600;

/**
 * True when `command` will encode to more than `limit` bytes, as the
 * encoder counts them (a few bytes either way at the limit: each value's
 * framing is estimated).
 *
 * O(1) per argument for the usual request (strings and byte arrays whose
 * upper bound, 3 bytes per UTF-16 code unit, stays under the limit); exact
 * UTF-8 lengths only when the bounds disagree; it stops as soon as the
 * answer is known, so cyclic or absurdly deep values cost at most `limit`
 * steps. Never throws: a value the encoder refuses counts as what it has
 * seen so far.
 *
 * @param command - a command as `Connection.send` takes it (name first)
 * @param limit - bytes; `Infinity` always answers false
 */
export function encodedSizeExceeds(command: readonly unknown[], limit: number): boolean {
  if (limit === Infinity) return false;
  let upper = FRAMING_BYTES;
  let lower = 0;
  for (let i = 0; i < command.length; i++) {
    const argument = command[i];
    if (typeof argument === 'string') {
      upper += 3 * argument.length + FRAMING_BYTES;
      lower += argument.length;
    } else if (argument instanceof Uint8Array) {
      upper += argument.byteLength + FRAMING_BYTES;
      lower += argument.byteLength;
    } else if (typeof argument === 'object' && argument !== null && !(argument instanceof Float)) {
      return new SizeWalk(limit).exceeds(command);
    } else {
      upper += SCALAR_BYTES;
    }
  }
  if (upper <= limit) return false;
  if (lower > limit) return true;
  return new SizeWalk(limit).exceeds(command);
}

/** The exact walk: UTF-8 lengths, nested arrays, maps, sets and plain objects; stops past the limit. */
class SizeWalk {
  readonly #limit: number;
  #bytes = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  exceeds(command: readonly unknown[]): boolean {
    this.#bytes = FRAMING_BYTES;
    for (let i = 0; i < command.length; i++) if (this.#add(command[i], 1)) return true;
    return false;
  }

  /** Adds a value's bytes; true once past the limit. */
  #add(value: unknown, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    if (typeof value === 'string') this.#bytes += Buffer.byteLength(value, 'utf8') + FRAMING_BYTES;
    else if (value instanceof Uint8Array) this.#bytes += value.byteLength + FRAMING_BYTES;
    else if (typeof value !== 'object' || value === null || value instanceof Float) this.#bytes += SCALAR_BYTES;
    else {
      this.#bytes += FRAMING_BYTES;
      if (this.#bytes > this.#limit) return true;
      if (Array.isArray(value) || value instanceof Set) {
        for (const item of value as Iterable<unknown>) if (this.#add(item, depth + 1)) return true;
      } else if (value instanceof Map) {
        for (const [key, item] of value) if (this.#add(key, depth + 1) || this.#add(item, depth + 1)) return true;
      } else {
        for (const key of Object.keys(value)) if (this.#add(key, depth + 1) || this.#add((value as Record<string, unknown>)[key], depth + 1)) return true;
      }
    }
    return this.#bytes > this.#limit;
  }
}

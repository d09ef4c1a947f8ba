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
/** What a number, bigint, boolean, null or `Float` takes at most, framing included (`,-1.2345678901234567e-308\r\n`: 27). */
const SCALAR_BYTES = 32;
/** Deeper values are left to the encoder, which refuses them (it allows 512 levels). */
const MAX_DEPTH = 600;

/**
 * True when `command` will encode to more than `limit` bytes, as the
 * encoder counts them, terminator included. Exact for strings, byte arrays
 * and containers; a number, bigint, boolean, null or `Float` counts as 32
 * bytes (its most), so a request of scalars near the limit may count as
 * over it (never the other way round).
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
    this.#bytes = header(command.length) + 1; // and the terminator
    for (let i = 0; i < command.length; i++) if (this.#add(command[i], 1)) return true;
    return false;
  }

  /** Adds a value's bytes (at least 4 per visit, so that cycles end within `limit / 4` visits); true once past the limit. */
  #add(value: unknown, depth: number): boolean {
    if (depth > MAX_DEPTH) {
      this.#bytes += SCALAR_BYTES; // the encoder refuses it; every visit adds bytes, so the walk ends
      return this.#bytes > this.#limit;
    }
    if (typeof value === 'string') this.#bytes += bulk(Buffer.byteLength(value, 'utf8'));
    else if (value instanceof Uint8Array) this.#bytes += bulk(value.byteLength);
    else if (typeof value !== 'object' || value === null || value instanceof Float) this.#bytes += SCALAR_BYTES;
    else {
      // The container's own header (`*n`, `~n`, `%n`): at least 4 bytes a visit.
      const size = Array.isArray(value) ? value.length : value instanceof Set || value instanceof Map ? value.size : Object.keys(value).length;
      this.#bytes += header(size);
      if (this.#bytes > this.#limit) return true;
      if (Array.isArray(value)) {
        for (const item of value as unknown[]) if (this.#add(item, depth + 1)) return true;
      } else if (value instanceof Set) {
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

/** `$<n>\r\n` + n bytes + `\r\n`. */
function bulk(n: number): number {
  return header(n) + n + 2;
}

/** A type byte, the decimal length, CRLF. */
function header(n: number): number {
  return 3 + (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10_000 ? 4 : String(n).length);
}

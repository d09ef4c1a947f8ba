/**
 * The request writer: JavaScript values and commands to wire bytes, into
 * one growing buffer (encoder.ts re-exports it, beside the one-shot
 * encoders built on it).
 *
 * The hot path is {@link RequestWriter.append}: it writes a whole request
 * straight into one growing buffer (no intermediate string per value), checks
 * it against the dialect's value rules as it goes (no path tracked, nothing
 * allocated per value), and rolls back if anything is wrong, so a refused
 * request leaves no bytes behind. Only then is the request walked again
 * (`value-rules.ts`) to name the part at fault in a {@link DialectError}.
 *
 * @module
 */

import { ETX, type Dialect } from './dialect.js';
import {
  MAX_DEPTH,
  bytesHoldForbidden,
  commandFaultError,
  forbiddenUnits,
  isPlainObject,
  stringHoldsForbidden,
  tooLargeError,
  valueFaultError,
} from './value-rules.js';
import { Float, type Value, type WireValue } from './values.js';
import { formatFloat, writeWire, type WireSink } from './wire-encoder.js';

/** A writer's buffer larger than this, in bytes, is replaced by a small one once taken (1 MiB). */
const MAX_KEPT_BUFFER_BYTES = 1024 * 1024;

/** A command: its name followed by its arguments, e.g. `['SET', 'key', 42]`. */
export type Command = readonly [name: string, ...args: Value[]];

const CRLF = 0x0d0a;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
/** Thrown inside the writer when a value breaks a dialect rule; `append` turns it into a DialectError. */
const FAULT: unique symbol = Symbol('dialect fault');

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return typeof value;
}

/**
 * Writes requests (or values) into one growing buffer.
 *
 * Each {@link append} validates as it writes and rolls the buffer back when
 * the value is invalid or the dialect cannot carry the request, so the bytes
 * taken with {@link take} are always whole, valid requests.
 *
 * The dialect's value rules ({@link Dialect.forbidLineFeed},
 * {@link Dialect.forbidCarriageReturn}, {@link Dialect.forbidEtx},
 * {@link Dialect.forbidEmpty}) apply to every string of a request: the
 * command name, keys, values, map keys, and elements of arrays, sets and maps
 * at any depth; JavaScript strings and `Uint8Array`/`Buffer` alike.
 */
export class RequestWriter {
  #buf: Buffer;
  #len = 0;
  #start = 0;
  readonly #dialect: Dialect | undefined;
  /** Code units refused inside strings, as a bit mask ({@link forbiddenUnits}). */
  readonly #forbidden: number;
  readonly #forbidEmpty: boolean;
  readonly #ancestors = new Set<object>();
  /** The primitives {@link writeWire} writes through. */
  readonly #wireSink: WireSink = {
    header: (prefix, n) => this.#header(prefix, n),
    line: (prefix, text) => this.#line(prefix, text, 'utf8'),
    bytes: (bytes) => this.appendBytes(bytes),
  };

  /**
   * @param dialect - the framing rules to enforce; without one, no terminator
   *   is added and no dialect rule applies (used to encode bare values).
   * @param initialSize - starting capacity in bytes
   */
  constructor(dialect?: Dialect, initialSize = 16 * 1024) {
    this.#dialect = dialect;
    this.#forbidden = forbiddenUnits(dialect);
    this.#forbidEmpty = dialect?.forbidEmpty === true;
    this.#buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#len;
  }

  /**
   * Encodes one request (`command[0]` is the name) at the end of the buffer,
   * followed by 0x03 when the dialect wants it. On any error nothing stays
   * written.
   * @returns the number of bytes the request took, terminator included
   * @throws TypeError for a value with no wire form (undefined, function,
   *   symbol, cycle, non-string map key) or a non-string command name
   * @throws RangeError for a bigint outside signed 64-bit, or nesting deeper than 512
   * @throws DialectError when the dialect cannot carry the request: a string
   *   holding a byte it refuses (LF, CR, 0x03), an empty string or map where
   *   it refuses them, or a request over `maxRequestBytes`. The error names
   *   the argument by position (`argument 2[1]`), the reason and the server
   *   behaviour behind the rule (see {@link DialectError}).
   */
  append(command: Command): number {
    const name = command[0];
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('command: the first element must be a non-empty command name string');
    }
    this.#start = this.#len;
    try {
      this.#header(0x2a /* * */, command.length);
      for (let i = 0; i < command.length; i++) this.#value(command[i] as Value, 1);
      this.#finishRequest(name);
    } catch (error) {
      this.#len = this.#start;
      this.#ancestors.clear();
      throw error === FAULT ? commandFaultError(this.#dialect as Dialect, command) : error;
    }
    return this.#len - this.#start;
  }

  /**
   * Encodes one bare value: no terminator and no size limit, but the
   * writer's dialect value rules apply (none without a dialect). On any
   * error nothing stays written.
   * @returns the number of bytes the value took
   * @throws TypeError / RangeError as {@link append}
   * @throws DialectError as {@link append}, with paths starting at `value`
   */
  appendValue(value: Value): number {
    this.#start = this.#len;
    try {
      this.#value(value, 0);
    } catch (error) {
      this.#len = this.#start;
      this.#ancestors.clear();
      throw error === FAULT ? valueFaultError(this.#dialect as Dialect, value) : error;
    }
    return this.#len - this.#start;
  }

  /** Drops what was written after the first `length` bytes (e.g. a request refused after encoding). */
  truncate(length: number): void {
    if (length >= 0 && length < this.#len) this.#len = length;
  }

  /** Encodes one {@link WireValue} exactly as tagged (no terminator). */
  appendWire(value: WireValue): number {
    const start = this.#len;
    writeWire(this.#wireSink, value);
    return this.#len - start;
  }

  /** Appends raw bytes (e.g. a terminator). */
  appendBytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /**
   * Takes everything written so far as one buffer and leaves the writer
   * empty. The returned buffer is never written to again.
   */
  take(): Buffer {
    const out = this.#buf.subarray(0, this.#len);
    const rest = this.#buf.length - this.#len;
    const grown = this.#buf.buffer.byteLength > MAX_KEPT_BUFFER_BYTES;
    // Keep writing into the unused tail when it is big enough; the taken part is never touched again.
    // A buffer that grew past MAX_KEPT_BUFFER_BYTES in a burst is let go once taken: memory shrinks back.
    if (rest >= 4096 && !grown) this.#buf = this.#buf.subarray(this.#len);
    else this.#buf = Buffer.allocUnsafe(grown ? 16 * 1024 : Math.max(16 * 1024, this.#buf.length));
    this.#len = 0;
    return out;
  }

  #finishRequest(name: string): void {
    const dialect = this.#dialect;
    if (dialect === undefined) return;
    if (dialect.requestTerminator) {
      this.#reserve(1);
      this.#buf[this.#len++] = ETX;
    }
    const size = this.#len - this.#start;
    if (size > dialect.maxRequestBytes) throw tooLargeError(dialect, name, size);
  }

  #reserve(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    let size = Math.max(this.#buf.length * 2, 1024);
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#len);
    this.#buf = next;
  }

  /** Writes `<prefix><n>\r\n` for a non-negative integer n. */
  #header(prefix: number, n: number): void {
    this.#reserve(24);
    const buf = this.#buf;
    let len = this.#len;
    buf[len++] = prefix;
    if (n < 10) {
      buf[len++] = 0x30 + n;
    } else if (n < 100) {
      buf[len++] = 0x30 + ((n / 10) | 0);
      buf[len++] = 0x30 + (n % 10);
    } else if (n < 1000) {
      buf[len++] = 0x30 + ((n / 100) | 0);
      buf[len++] = 0x30 + (((n / 10) | 0) % 10);
      buf[len++] = 0x30 + (n % 10);
    } else {
      len += buf.write(String(n), len, 'latin1');
    }
    buf[len++] = 0x0d;
    buf[len++] = 0x0a;
    this.#len = len;
  }

  /** Writes `<prefix><text>\r\n`. */
  #line(prefix: number, text: string, encoding: 'latin1' | 'utf8' = 'latin1'): void {
    this.#reserve(text.length * 3 + 3);
    this.#buf[this.#len++] = prefix;
    this.#len += this.#buf.write(text, this.#len, encoding);
    this.#buf.writeUInt16BE(CRLF, this.#len);
    this.#len += 2;
  }

  #string(value: string): void {
    const n = value.length;
    // Hot path: a short string is written byte by byte while it stays ASCII, checking the
    // dialect's forbidden units on the way (one compare for printable text); a refused unit
    // throws, anything else takes the general path below.
    if (n < 64) {
      if (n === 0 && this.#forbidEmpty) throw FAULT;
      this.#reserve(n + 24);
      const start = this.#len;
      this.#header(0x24 /* $ */, n);
      const buf = this.#buf;
      const body = this.#len;
      const forbidden = this.#forbidden;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80 || (c < 0x0e && ((forbidden >> c) & 1) !== 0)) break;
        buf[body + i] = c;
      }
      if (i === n) {
        buf[body + n] = 0x0d;
        buf[body + n + 1] = 0x0a;
        this.#len = body + n + 2;
        return;
      }
      if (value.charCodeAt(i) < 0x80) throw FAULT;
      this.#len = start;
    }
    if (this.#forbidden !== 0 && stringHoldsForbidden(value, this.#forbidden)) throw FAULT;
    // One byte per UTF-16 unit for ASCII; at most three otherwise.
    this.#reserve(n * 3 + 24);
    const byteLength = n < 64 ? Buffer.byteLength(value) : -1;
    if (byteLength >= 0) {
      this.#header(0x24, byteLength);
      this.#len += this.#buf.write(value, this.#len);
    } else {
      // Long string: write it after a header sized for its UTF-16 length (right when it is
      // ASCII), then move the body if the byte length needs a longer header.
      const headerAt = this.#len;
      const bodyAt = headerAt + 3 + decimalDigits(n);
      const written = this.#buf.write(value, bodyAt);
      const headerEnd = headerAt + 3 + decimalDigits(written);
      if (headerEnd !== bodyAt) this.#buf.copy(this.#buf, headerEnd, bodyAt, bodyAt + written);
      this.#header(0x24, written);
      this.#len += written;
    }
    this.#buf[this.#len++] = 0x0d;
    this.#buf[this.#len++] = 0x0a;
  }

  #bytes(value: Uint8Array): void {
    if (value.length === 0 ? this.#forbidEmpty : this.#forbidden !== 0 && bytesHoldForbidden(value, this.#forbidden)) throw FAULT;
    this.#header(0x24, value.length);
    this.appendBytes(value);
    this.#reserve(2);
    this.#buf.writeUInt16BE(CRLF, this.#len);
    this.#len += 2;
  }

  #number(value: number): void {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
      this.#line(0x3a /* : */, String(value));
    } else {
      this.#line(0x2c /* , */, formatFloat(value));
    }
  }

  #bigint(value: bigint): void {
    if (value < MIN_INT64 || value > MAX_INT64) {
      throw new RangeError(`the integer ${value} is outside the signed 64-bit range the server stores`);
    }
    this.#line(0x3a, value.toString());
  }

  #value(value: Value, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.#string(value);
        return;
      case 'number':
        this.#number(value);
        return;
      case 'bigint':
        this.#bigint(value);
        return;
      case 'boolean':
        this.#reserve(4);
        this.#buf.writeUInt32BE(value ? 0x23740d0a : 0x23660d0a, this.#len);
        this.#len += 4;
        return;
      case 'object':
        break;
      default:
        throw new TypeError(`cannot send ${describe(value)}: it has no zcached wire form`);
    }
    if (value === null) {
      this.#reserve(3);
      this.#buf[this.#len++] = 0x5f; // _
      this.#buf.writeUInt16BE(CRLF, this.#len);
      this.#len += 2;
      return;
    }
    if (value instanceof Uint8Array) {
      this.#bytes(value);
      return;
    }
    if (value instanceof Float) {
      if (typeof value.value !== 'number') throw new TypeError('float(): the value must be a number');
      this.#line(0x2c, formatFloat(value.value));
      return;
    }
    if (depth >= MAX_DEPTH) throw new RangeError(`cannot send a value nested deeper than ${MAX_DEPTH} levels`);
    if (this.#ancestors.has(value)) throw new TypeError('cannot send a value that contains itself (a cycle)');
    this.#ancestors.add(value);
    if (Array.isArray(value)) {
      this.#header(0x2a, value.length);
      for (let i = 0; i < value.length; i++) this.#value(value[i] as Value, depth + 1);
    } else if (value instanceof Map) {
      if (value.size === 0 && this.#forbidEmpty) throw FAULT;
      this.#header(0x25 /* % */, value.size);
      for (const [key, item] of value as ReadonlyMap<unknown, Value>) {
        if (typeof key !== 'string') throw new TypeError(`cannot send a map key of type ${describe(key)}: keys must be strings`);
        this.#string(key);
        this.#value(item, depth + 1);
      }
    } else if (value instanceof Set) {
      this.#header(0x7e /* ~ */, value.size);
      for (const item of value as ReadonlySet<Value>) this.#value(item, depth + 1);
    } else if (isPlainObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0 && this.#forbidEmpty) throw FAULT;
      this.#header(0x25, keys.length);
      for (const key of keys) {
        this.#string(key);
        this.#value((value as Record<string, Value>)[key] as Value, depth + 1);
      }
    } else {
      throw new TypeError(`cannot send ${describe(value)}: it has no zcached wire form`);
    }
    this.#ancestors.delete(value);
  }
}

/** How many decimal digits a non-negative integer has (no string made: this runs per long string). */
function decimalDigits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10_000) return 4;
  if (n < 100_000) return 5;
  if (n < 1_000_000) return 6;
  return String(n).length;
}

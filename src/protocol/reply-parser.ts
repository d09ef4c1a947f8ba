/**
 * The resumable parser under both streaming decoders, and the two builders
 * that turn parsed pieces into JavaScript values ({@link jsBuilder}) or exact
 * wire values ({@link wireBuilder}).
 *
 * @module
 */

import { ProtocolError, type ProtocolErrorReason, ServerError } from '../errors.js';
import type { DecoderLimits } from './decoder-limits.js';
import type { DecodedReply, Reply, WireValue } from './values.js';

/** Thrown internally when the buffered bytes end before the value does. Never escapes. */
export const INCOMPLETE: unique symbol = Symbol('incomplete');

/** Longest header line (`*<n>`, `:<n>` ...) accepted, CRLF excluded. */
const MAX_HEADER_BYTES = 64;

const FLOAT_SYNTAX = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** How the parser turns wire pieces into output values: one builder per output model. */
export interface Builder<T> {
  simple(buf: Buffer, start: number, end: number): T;
  bulk(buf: Buffer, start: number, end: number): T;
  integer(buf: Buffer, start: number, end: number): T;
  float(value: number): T;
  boolean(value: boolean): T;
  null(): T;
  error(text: string): T;
  array(items: T[]): T;
  set(items: T[]): T;
  /** `entries` alternates key, value. */
  map(entries: T[]): T;
}

function fail(reason: ProtocolErrorReason, message: string): never {
  throw new ProtocolError(message, { reason });
}

/** Parses a validated integer field as a number when safe, else as a bigint. */
function integerValue(buf: Buffer, start: number, end: number): number | bigint {
  let i = start;
  let negative = false;
  const sign = buf[i];
  if (sign === 0x2d || sign === 0x2b) {
    negative = sign === 0x2d;
    i++;
  }
  if (i === end) fail('integer', 'an integer reply has no digits');
  if (end - i <= 15) {
    let n = 0;
    for (; i < end; i++) {
      const d = (buf[i] as number) - 0x30;
      if (d < 0 || d > 9) fail('integer', `malformed integer ${JSON.stringify(buf.toString('latin1', start, end))}`);
      n = n * 10 + d;
    }
    return negative ? -n : n;
  }
  for (let j = i; j < end; j++) {
    const d = (buf[j] as number) - 0x30;
    if (d < 0 || d > 9) fail('integer', `malformed integer ${JSON.stringify(buf.toString('latin1', start, end))}`);
  }
  if (end - i > 40) fail('integer', 'an integer reply has too many digits');
  const big = BigInt(buf.toString('latin1', i, end));
  const value = negative ? -big : big;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/**
 * UTF-8 text of `buf[start, end)`. Node's `Buffer#utf8Slice` (what
 * `toString('utf8', start, end)` ends in, without its argument checks and
 * encoding lookup) where the runtime has it; `toString` elsewhere.
 */
const utf8Text: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { utf8Slice?: unknown }).utf8Slice === 'function'
    ? (buf, start, end) => (buf as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

const jsBuilder = (bulkAsBuffer: boolean): Builder<DecodedReply> => ({
  simple: (buf, start, end) => (end - start === 2 && buf[start] === 0x4f && buf[start + 1] === 0x4b ? 'OK' : buf.toString('utf8', start, end)),
  bulk: bulkAsBuffer ? (buf, start, end) => Buffer.copyBytesFrom(buf, start, end - start) : utf8Text,
  integer: integerValue,
  float: (value) => value,
  boolean: (value) => value,
  null: () => null,
  error: (text) => new ServerError(text),
  array: (items) => items as Reply[],
  set: (items) => new Set(items as Reply[]),
  map: (entries) => {
    const map = new Map<string, Reply>();
    for (let i = 0; i < entries.length; i += 2) {
      const key = entries[i];
      const keyText = typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : undefined;
      if (keyText === undefined) fail('type', 'a map key in a reply is not a string');
      map.set(keyText, entries[i + 1] as Reply);
    }
    return map;
  },
});

/** Bulk strings as `string`s (UTF-8), the default; shared by every decoder. */
export const TEXT_BUILDER: Builder<DecodedReply> = jsBuilder(false);
/** Bulk strings as `Buffer`s (copies: a reply never holds a socket chunk); map keys stay strings. */
export const BYTES_BUILDER: Builder<DecodedReply> = jsBuilder(true);

export const wireBuilder: Builder<WireValue> = {
  simple: (buf, start, end) => ({ type: 'simple', value: buf.toString('utf8', start, end) }),
  bulk: (buf, start, end) => ({ type: 'bulk', value: Buffer.copyBytesFrom(buf, start, end - start) }),
  integer: (buf, start, end) => {
    const value = integerValue(buf, start, end);
    return { type: 'integer', value: typeof value === 'bigint' ? value : BigInt(value) };
  },
  float: (value) => ({ type: 'float', value }),
  boolean: (value) => ({ type: 'boolean', value }),
  null: () => ({ type: 'null' }),
  error: (text) => ({ type: 'error', value: text }),
  array: (items) => ({ type: 'array', value: items }),
  set: (items) => ({ type: 'set', value: items }),
  map: (entries) => {
    const pairs: (readonly [WireValue, WireValue])[] = [];
    for (let i = 0; i < entries.length; i += 2) pairs.push([entries[i] as WireValue, entries[i + 1] as WireValue]);
    return { type: 'map', value: pairs };
  },
};

/** An aggregate being filled: its type prefix, the elements still to come, and those decoded. */
interface Frame<T> {
  readonly prefix: number;
  remaining: number;
  readonly items: T[];
}

/** Estimated memory of one decoded element beyond its bytes (a slot, a small object header). */
const ELEMENT_COST = 16;
/** Estimated memory of an empty array. */
const ARRAY_COST = 64;
/** Estimated memory of an empty `Map` or `Set`. */
const HASHED_COST = 192;

/** Returned by `Parser.#element` for an aggregate header whose elements come next. */
const OPENED: unique symbol = Symbol('opened');

/**
 * The parser shared by both decoders. It is resumable: aggregates being
 * filled live on an explicit stack, so when the bytes run out in the middle
 * of a large array only the element that did not fit is parsed again when
 * more bytes arrive, never the elements already decoded.
 */
export class Parser<T> {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** After {@link INCOMPLETE}: how many bytes (from the start of `buf`) are needed before trying again. */
  need = 0;
  /** Aggregates of the value being decoded that are not complete yet, outermost first. */
  readonly stack: Frame<T>[] = [];
  /** Estimated memory the value being decoded already holds, in bytes (its bytes plus per-element overhead). */
  #spent = 0;

  /**
   * @param builder - turns wire pieces into values; it may be swapped between
   *   values (a request that asked for bytes: see `ReplyDecoder.bytes`)
   */
  constructor(
    public builder: Builder<T>,
    private readonly limits: DecoderLimits,
  ) {}

  /** Forgets a half-decoded value. */
  clear(): void {
    this.stack.length = 0;
    this.#spent = 0;
  }

  /**
   * Decodes (or resumes decoding) one whole value from `pos`.
   * @throws INCOMPLETE with `pos` at the start of the element that did not fit
   */
  next(): T {
    for (;;) {
      const start = this.pos;
      let element: T | typeof OPENED;
      try {
        element = this.#element();
      } catch (error) {
        if (error === INCOMPLETE) this.pos = start;
        throw error;
      }
      // Charge what the element will hold in memory, not only its bytes: a million empty maps
      // are 4 MB on the wire but far more once decoded.
      const cost = this.pos - start + ELEMENT_COST;
      if (this.stack.length === 0 && element !== OPENED) {
        // A lone scalar reply (the common case) or an empty aggregate: nothing to attach it to.
        if (cost > this.limits.maxBufferedBytes) fail('limit', `one value takes more than ${this.limits.maxBufferedBytes} bytes`);
        this.#spent = 0;
        return element;
      }
      this.#spent += cost;
      if (this.#spent > this.limits.maxBufferedBytes) {
        fail('limit', `one value would take more than ${this.limits.maxBufferedBytes} bytes of memory once decoded`);
      }
      if (element === OPENED) continue;
      let value = element;
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) {
          this.#spent = 0;
          return value;
        }
        top.items.push(value);
        if (--top.remaining > 0) break;
        this.stack.pop();
        value = this.#close(top);
      }
    }
  }

  #close(frame: Frame<T>): T {
    if (frame.prefix === 0x2a) return this.builder.array(frame.items);
    if (frame.prefix === 0x7e) return this.builder.set(frame.items);
    return this.builder.map(frame.items);
  }

  /** Opens an aggregate of `count` elements, or returns it at once when empty. */
  #open(prefix: number, count: number): T | typeof OPENED {
    if (count > this.limits.maxAggregateLength) {
      fail('limit', `an aggregate of ${count} elements passes the limit of ${this.limits.maxAggregateLength}`);
    }
    this.#spent += prefix === 0x2a ? ARRAY_COST : HASHED_COST;
    if (count === 0) return this.#close({ prefix, remaining: 0, items: [] });
    if (this.stack.length >= this.limits.maxDepth) fail('limit', `nesting passes the depth limit of ${this.limits.maxDepth}`);
    this.stack.push({ prefix, remaining: prefix === 0x25 ? count * 2 : count, items: [] });
    return OPENED;
  }

  /** Index of the CR that ends the line starting at `pos`; advances nothing. */
  #lineEnd(maxBytes: number): number {
    const buf = this.buf;
    const cr = buf.indexOf(0x0d, this.pos);
    if (cr === -1 || cr - this.pos > maxBytes) {
      if (buf.length - this.pos > maxBytes) {
        fail(maxBytes === MAX_HEADER_BYTES ? 'framing' : 'limit', `a line is longer than ${maxBytes} bytes`);
      }
      this.need = buf.length + 1;
      throw INCOMPLETE;
    }
    if (cr + 1 >= buf.length) {
      this.need = cr + 2;
      throw INCOMPLETE;
    }
    if (buf[cr + 1] !== 0x0a) fail('framing', 'a line ends with CR without LF');
    return cr;
  }

  /** Reads the length in a `$`/`*`/`%`/`~` header; -1 for the RESP2 null form. */
  #length(): number {
    // The common case in plain code: up to 15 digits then CRLF, all in the buffer (no native indexOf).
    const buf = this.buf;
    const start = this.pos;
    const last = Math.min(buf.length - 1, start + 16);
    let n = 0;
    for (let i = start; i < last; i++) {
      const byte = buf[i] as number;
      if (byte === 0x0d) {
        if (i === start || buf[i + 1] !== 0x0a) break;
        this.pos = i + 2;
        return n;
      }
      const d = byte - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    return this.#lengthSlow();
  }

  /** {@link #length} for the rest: `-1`, a header not all in the buffer yet, and malformed ones. */
  #lengthSlow(): number {
    const start = this.pos;
    const end = this.#lineEnd(MAX_HEADER_BYTES);
    const buf = this.buf;
    if (end - start === 2 && buf[start] === 0x2d && buf[start + 1] === 0x31) {
      this.pos = end + 2;
      return -1;
    }
    if (end === start || end - start > 15) fail('length', 'a length header is empty or too long');
    let n = 0;
    for (let i = start; i < end; i++) {
      const d = (buf[i] as number) - 0x30;
      if (d < 0 || d > 9) fail('length', `malformed length ${JSON.stringify(buf.toString('latin1', start, end))}`);
      n = n * 10 + d;
    }
    this.pos = end + 2;
    return n;
  }

  /** Parses one scalar, or one aggregate header (opening a frame). */
  #element(): T | typeof OPENED {
    const buf = this.buf;
    if (this.pos >= buf.length) {
      this.need = this.pos + 1;
      throw INCOMPLETE;
    }
    const prefix = buf[this.pos++] as number;
    const builder = this.builder;
    switch (prefix) {
      case 0x2b: /* + */ {
        const start = this.pos;
        const end = this.#lineEnd(this.limits.maxBulkBytes);
        this.pos = end + 2;
        return builder.simple(buf, start, end);
      }
      case 0x24: /* $ */ {
        const length = this.#length();
        if (length === -1) return builder.null();
        if (length > this.limits.maxBulkBytes) {
          fail('limit', `a bulk string of ${length} bytes passes the limit of ${this.limits.maxBulkBytes}`);
        }
        const start = this.pos;
        const end = start + length;
        if (end + 2 > buf.length) {
          this.need = end + 2;
          throw INCOMPLETE;
        }
        if (buf[end] !== 0x0d || buf[end + 1] !== 0x0a) fail('framing', 'a bulk string is not followed by CRLF');
        this.pos = end + 2;
        return builder.bulk(buf, start, end);
      }
      case 0x3a: /* : */ {
        const start = this.pos;
        const end = this.#lineEnd(MAX_HEADER_BYTES);
        this.pos = end + 2;
        return builder.integer(buf, start, end);
      }
      case 0x2c: /* , */ {
        const start = this.pos;
        const end = this.#lineEnd(1024);
        this.pos = end + 2;
        const text = buf.toString('latin1', start, end);
        const lower = text.toLowerCase();
        if (lower === 'inf' || lower === '+inf') return builder.float(Infinity);
        if (lower === '-inf') return builder.float(-Infinity);
        if (lower === 'nan') return builder.float(Number.NaN);
        if (!FLOAT_SYNTAX.test(text)) fail('float', `malformed float ${JSON.stringify(text)}`);
        return builder.float(Number(text));
      }
      case 0x23: /* # */ {
        const start = this.pos;
        const end = this.#lineEnd(MAX_HEADER_BYTES);
        this.pos = end + 2;
        const c = end - start === 1 ? buf[start] : undefined;
        if (c === 0x74 || c === 0x54) return builder.boolean(true);
        if (c === 0x66 || c === 0x46) return builder.boolean(false);
        return fail('boolean', `malformed boolean ${JSON.stringify(buf.toString('latin1', start, end))}`);
      }
      case 0x5f: /* _ */ {
        const end = this.#lineEnd(MAX_HEADER_BYTES);
        if (end !== this.pos) fail('framing', 'a null has trailing bytes');
        this.pos = end + 2;
        return builder.null();
      }
      case 0x2d: /* - */ {
        const start = this.pos;
        const end = this.#lineEnd(this.limits.maxBulkBytes);
        this.pos = end + 2;
        return builder.error(buf.toString('utf8', start, end));
      }
      case 0x2a: /* * */ {
        const count = this.#length();
        return count === -1 ? builder.null() : this.#open(prefix, count);
      }
      case 0x7e: /* ~ */
      case 0x25: /* % */ {
        const count = this.#length();
        if (count === -1) fail('length', `a ${prefix === 0x25 ? 'map' : 'set'} cannot have length -1`);
        return this.#open(prefix, count);
      }
      default:
        return fail('type', `unknown type prefix 0x${prefix.toString(16).padStart(2, '0')}`);
    }
  }
}

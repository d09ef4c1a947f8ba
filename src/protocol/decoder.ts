/**
 * Streaming decoders: feed socket chunks of any size and split, get complete
 * values out, in order.
 *
 * - {@link ReplyDecoder} yields JavaScript values (the client's hot path).
 * - {@link WireDecoder} yields exact {@link WireValue}s (the embedded server,
 *   tools, tests).
 *
 * Both accept an optional 0x03 after each value, the RESP2 null forms `$-1`
 * and `*-1`, and throw nothing but {@link ProtocolError}. Hard limits bound
 * what a hostile or broken peer can make them hold in memory.
 *
 * @module
 */

import { ProtocolError, type ProtocolErrorReason, ServerError } from '../errors.js';
import { ETX } from './dialect.js';
import type { DecodedReply, Reply, WireValue } from './values.js';

/** Bounds on what one decoded value may claim or hold. */
export interface DecoderLimits {
  /** Largest bulk string, simple string or error line, in bytes. Default 64 MiB. */
  readonly maxBulkBytes: number;
  /** Most elements in one array or set, or pairs in one map. Default 16 Mi. */
  readonly maxAggregateLength: number;
  /** Deepest nesting of arrays, maps and sets. Default 128. */
  readonly maxDepth: number;
  /**
   * Most bytes one value may take: its bytes on the wire, plus an estimate of
   * what its decoded elements cost in memory. Default 256 MiB.
   */
  readonly maxBufferedBytes: number;
}

/** The limits used when none are given. */
export const DEFAULT_DECODER_LIMITS: DecoderLimits = Object.freeze({
  maxBulkBytes: 64 * 1024 * 1024,
  maxAggregateLength: 16 * 1024 * 1024,
  maxDepth: 128,
  maxBufferedBytes: 256 * 1024 * 1024,
});

function resolveLimits(limits: Partial<DecoderLimits> | undefined): DecoderLimits {
  const resolved = { ...DEFAULT_DECODER_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`decoder limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}

/** Thrown internally when the buffered bytes end before the value does. Never escapes. */
const INCOMPLETE: unique symbol = Symbol('incomplete');

/** Longest header line (`*<n>`, `:<n>` ...) accepted, CRLF excluded. */
const MAX_HEADER_BYTES = 64;

const FLOAT_SYNTAX = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** How the parser turns wire pieces into output values: one builder per output model. */
interface Builder<T> {
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

/** Options of {@link ReplyDecoder}. */
export interface ReplyDecoderOptions {
  /** Bounds on a single reply. */
  readonly limits?: Partial<DecoderLimits>;
  /** Decode bulk strings to `Buffer` instead of `string` (map keys stay strings). */
  readonly bulkAsBuffer?: boolean;
}

const jsBuilder = (bulkAsBuffer: boolean): Builder<DecodedReply> => ({
  simple: (buf, start, end) => (end - start === 2 && buf[start] === 0x4f && buf[start + 1] === 0x4b ? 'OK' : buf.toString('utf8', start, end)),
  bulk: bulkAsBuffer ? (buf, start, end) => Buffer.copyBytesFrom(buf, start, end - start) : (buf, start, end) => buf.toString('utf8', start, end),
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

const wireBuilder: Builder<WireValue> = {
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
class Parser<T> {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** After {@link INCOMPLETE}: how many bytes (from the start of `buf`) are needed before trying again. */
  need = 0;
  /** Aggregates of the value being decoded that are not complete yet, outermost first. */
  readonly stack: Frame<T>[] = [];
  /** Estimated memory the value being decoded already holds, in bytes (its bytes plus per-element overhead). */
  #spent = 0;

  constructor(
    private readonly builder: Builder<T>,
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

/**
 * The streaming engine behind both decoders: buffers chunks, decodes whole
 * values, and waits (without re-parsing) until as many bytes as the parser
 * asked for have arrived.
 */
class StreamDecoder<T> {
  readonly #parser: Parser<T>;
  readonly #limits: DecoderLimits;
  /** Unparsed bytes; the element being decoded starts at index 0. */
  #buf: Buffer = Buffer.alloc(0);
  /** Chunks received since `#buf` was last assembled, kept apart until enough have arrived. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = 0;
  /** Bytes already consumed by the value being decoded (in its finished elements). */
  #consumed = 0;
  #failure: ProtocolError | undefined;
  #generation = 0;

  constructor(builder: Builder<T>, limits: Partial<DecoderLimits> | undefined) {
    this.#limits = resolveLimits(limits);
    this.#parser = new Parser(builder, this.#limits);
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  get inProgress(): boolean {
    return this.#buffered > 0 || this.#parser.stack.length > 0;
  }

  reset(): void {
    this.#buf = Buffer.alloc(0);
    this.#chunks = [];
    this.#buffered = 0;
    this.#need = 0;
    this.#consumed = 0;
    this.#failure = undefined;
    this.#parser.clear();
    this.#generation++;
  }

  push(chunk: Buffer, onValue: (value: T) => void): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (chunk.length === 0) return;
    this.#buffered += chunk.length;
    if (this.#consumed + this.#buffered > this.#limits.maxBufferedBytes && this.#buffered < this.#need) {
      this.#fail(new ProtocolError(`one value spans more than ${this.#limits.maxBufferedBytes} bytes`, { reason: 'limit' }));
    }
    if (this.#buffered < this.#need) {
      this.#chunks.push(chunk);
      return;
    }
    if (this.#buf.length === 0 && this.#chunks.length === 0) {
      this.#buf = chunk;
    } else {
      this.#chunks.unshift(this.#buf);
      this.#chunks.push(chunk);
      this.#buf = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
    }
    this.#drain(onValue);
  }

  #fail(error: ProtocolError): never {
    this.#failure = error;
    this.#buf = Buffer.alloc(0);
    this.#chunks = [];
    this.#buffered = 0;
    this.#parser.clear();
    throw error;
  }

  #drain(onValue: (value: T) => void): void {
    const parser = this.#parser;
    const buf = this.#buf;
    const generation = this.#generation;
    parser.buf = buf;
    let pos = 0;
    /** Where the value being decoded started in this buffer (0 when it started in an earlier one). */
    let valueStart = 0;
    this.#need = 0;
    try {
      for (;;) {
        if (parser.stack.length === 0) {
          while (pos < buf.length && buf[pos] === ETX) pos++;
          valueStart = pos;
        }
        if (pos >= buf.length) break;
        parser.pos = pos;
        let value: T;
        try {
          value = parser.next();
        } catch (error) {
          if (error === INCOMPLETE) {
            this.#consumed += parser.pos - valueStart;
            pos = parser.pos;
            this.#need = parser.need - pos;
            if (this.#consumed + (buf.length - pos) > this.#limits.maxBufferedBytes) {
              this.#fail(new ProtocolError(`one value spans more than ${this.#limits.maxBufferedBytes} bytes`, { reason: 'limit' }));
            }
            break;
          }
          if (error instanceof ProtocolError) this.#fail(error);
          this.#fail(new ProtocolError('malformed reply', { cause: error }));
        }
        pos = parser.pos;
        this.#consumed = 0;
        onValue(value);
        if (this.#generation !== generation) return;
      }
    } finally {
      if (this.#generation === generation && this.#failure === undefined) {
        this.#buf = pos >= buf.length ? Buffer.alloc(0) : buf.subarray(pos);
        this.#buffered = this.#buf.length;
        parser.buf = this.#buf;
      }
    }
  }
}

/**
 * Decodes a stream of replies into JavaScript values. Error replies come out
 * as {@link ServerError} values (not thrown): the caller decides what to do.
 *
 * @example
 * ```ts
 * const decoder = new ReplyDecoder();
 * socket.on('data', (chunk) => decoder.push(chunk, (reply) => settleNext(reply)));
 * ```
 */
export class ReplyDecoder {
  readonly #stream: StreamDecoder<DecodedReply>;

  /** @throws RangeError for a limit that is not a positive integer */
  constructor(options: ReplyDecoderOptions = {}) {
    this.#stream = new StreamDecoder(jsBuilder(options.bulkAsBuffer === true), options.limits);
  }

  /** Bytes held for a value that is not complete yet. */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes;
  }

  /** True while a value is partly decoded (its finished elements may hold no bytes any more). */
  get inProgress(): boolean {
    return this.#stream.inProgress;
  }

  /**
   * Adds a chunk and calls `onReply` for every reply it completes, in order.
   * @throws ProtocolError on bytes that break the protocol or a limit; the
   *   decoder then refuses more input until {@link reset}.
   */
  push(chunk: Buffer, onReply: (reply: DecodedReply) => void): void {
    this.#stream.push(chunk, onReply);
  }

  /** Forgets buffered bytes and any failure (for a new socket). */
  reset(): void {
    this.#stream.reset();
  }
}

/** Options of {@link WireDecoder}. */
export interface WireDecoderOptions {
  /** Bounds on a single value. */
  readonly limits?: Partial<DecoderLimits>;
}

/** Decodes a stream of values into exact {@link WireValue}s, keeping every wire type apart. */
export class WireDecoder {
  readonly #stream: StreamDecoder<WireValue>;

  /** @throws RangeError for a limit that is not a positive integer */
  constructor(options: WireDecoderOptions = {}) {
    this.#stream = new StreamDecoder(wireBuilder, options.limits);
  }

  /** Bytes held for a value that is not complete yet. */
  get bufferedBytes(): number {
    return this.#stream.bufferedBytes;
  }

  /** True while a value is partly decoded (its finished elements may hold no bytes any more). */
  get inProgress(): boolean {
    return this.#stream.inProgress;
  }

  /**
   * Adds a chunk and calls `onValue` for every value it completes, in order.
   * @throws ProtocolError as {@link ReplyDecoder.push}
   */
  push(chunk: Buffer, onValue: (value: WireValue) => void): void {
    this.#stream.push(chunk, onValue);
  }

  /** Forgets buffered bytes and any failure. */
  reset(): void {
    this.#stream.reset();
  }
}

/**
 * Decodes one value from the start of `bytes` (no leading 0x03 skipped).
 * @returns the value and the offset just past it, or `undefined` when the bytes end first
 * @throws ProtocolError on malformed bytes or a passed limit
 */
export function decodeWire(bytes: Buffer, limits?: Partial<DecoderLimits>): { value: WireValue; end: number } | undefined {
  const parser = new Parser(wireBuilder, resolveLimits(limits));
  parser.buf = bytes;
  try {
    const value = parser.next();
    return { value, end: parser.pos };
  } catch (error) {
    if (error === INCOMPLETE) return undefined;
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError('malformed value', { cause: error });
  }
}

/**
 * Decodes every complete reply in `bytes` (a convenience for tests and tools).
 * @throws ProtocolError on malformed bytes or when the last reply is incomplete
 */
export function decodeReplies(bytes: Buffer, options: ReplyDecoderOptions = {}): DecodedReply[] {
  const decoder = new ReplyDecoder(options);
  const replies: DecodedReply[] = [];
  decoder.push(bytes, (reply) => replies.push(reply));
  if (decoder.inProgress) throw new ProtocolError('the bytes end inside a reply', { reason: 'framing' });
  return replies;
}

export type { Reply };

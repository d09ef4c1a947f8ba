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

import { ProtocolError } from '../errors.js';
import { DEFAULT_DECODER_LIMITS, resolveLimits, type DecoderLimits } from './decoder-limits.js';
import { ETX } from './dialect.js';
import { BYTES_BUILDER, INCOMPLETE, Parser, TEXT_BUILDER, wireBuilder, type Builder } from './reply-parser.js';
import type { DecodedReply, Reply, WireValue } from './values.js';

export { DEFAULT_DECODER_LIMITS, type DecoderLimits };

/**
 * How a decoder treats the 0x03 byte between values:
 * - `'optional'`: skipped wherever it stands between values (tools, the
 *   embedded server reading requests);
 * - `'required'`: exactly one after every value, and a value is handed on
 *   only once its 0x03 has arrived (current servers end every reply so);
 * - `'forbidden'`: a 0x03 anywhere between values is refused (2024 and 2025
 *   servers never send one).
 * A breach is a {@link ProtocolError} (reason `'framing'`) naming the
 * server generation it points to.
 */
export type ReplyTerminator = 'optional' | 'required' | 'forbidden';

function missingTerminator(buf: Buffer, pos: number): ProtocolError {
  return new ProtocolError(
    `a reply was not followed by 0x03 (got 0x${(buf[pos] as number).toString(16).padStart(2, '0')}), as every reply of a current zcached server ('etx') is: ` +
      "the server is likely a 2024 ('legacy') or 2025 ('etx-request') one; use dialect 'auto'",
    { reason: 'framing' },
  );
}

function strayTerminator(mode: ReplyTerminator): ProtocolError {
  return new ProtocolError(
    mode === 'forbidden'
      ? "a 0x03 byte in the reply stream, which only current zcached servers ('etx') send: the server is likely a current one; use dialect 'auto'"
      : 'a 0x03 byte where a reply should start (a current server sends exactly one after each reply): the reply stream is out of step',
    { reason: 'framing' },
  );
}

/** Options of {@link ReplyDecoder}. */
export interface ReplyDecoderOptions {
  /** Bounds on a single reply. */
  readonly limits?: Partial<DecoderLimits>;
  /** Decode bulk strings to `Buffer` instead of `string` (map keys stay strings). */
  readonly bulkAsBuffer?: boolean;
  /** How 0x03 after a reply is treated ({@link ReplyTerminator}). Default `'optional'`. */
  readonly terminator?: ReplyTerminator;
}

/**
 * A need of this many bytes or fewer past what is buffered may be a line
 * still being scanned for its end (the parser then asks for one more byte
 * each time): such chunks are joined whole, never split byte by byte.
 */
const MAX_LINE_NEED = 64;
/** A chunk is split at the end of the value under way only when at least this much of it follows (bytes). */
const SPLIT_REST_BYTES = 4096;

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
  /** How 0x03 after a value is treated. */
  #terminator: ReplyTerminator = 'optional';
  /** With a required terminator: a complete value whose 0x03 has not arrived yet. */
  #owed = false;
  #held: T | undefined;

  constructor(builder: Builder<T>, limits: Partial<DecoderLimits> | undefined) {
    this.#limits = resolveLimits(limits);
    this.#parser = new Parser(builder, this.#limits);
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  get inProgress(): boolean {
    return this.#buffered > 0 || this.#parser.stack.length > 0 || this.#owed;
  }

  set terminator(mode: ReplyTerminator) {
    this.#terminator = mode;
  }

  /** The builder of the values from the next one on (never swapped inside a value: see `ReplyDecoder.bytes`). */
  set builder(builder: Builder<T>) {
    this.#parser.builder = builder;
  }

  reset(): void {
    this.#owed = false;
    this.#held = undefined;
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
    } else if (this.#need - (this.#buffered - chunk.length) > MAX_LINE_NEED && this.#buffered - this.#need >= SPLIT_REST_BYTES) {
      // A large value ends early in a large chunk: copy only the bytes that complete it, and
      // decode the rest of the chunk where it lies (copying all of it, e.g. 10 KB replies in
      // 64 KB reads, cost a copy of every read and its garbage).
      const take = this.#need - (this.#buffered - chunk.length);
      this.#chunks.unshift(this.#buf);
      this.#chunks.push(chunk.subarray(0, take));
      this.#buffered = this.#need;
      this.#buf = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      const generation = this.#generation;
      this.#drain(onValue);
      if (this.#generation === generation) this.push(chunk.subarray(take), onValue);
      return;
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
          if (this.#owed) {
            // The value before waits for its 0x03: deliver it only once the 0x03 is there.
            if (pos >= buf.length) break;
            if (buf[pos] !== ETX) this.#fail(missingTerminator(buf, pos));
            pos++;
            this.#owed = false;
            const value = this.#held as T;
            this.#held = undefined;
            onValue(value);
            if (this.#generation !== generation) return;
            continue;
          }
          if (this.#terminator === 'optional') {
            while (pos < buf.length && buf[pos] === ETX) pos++;
          } else if (pos < buf.length && buf[pos] === ETX) {
            this.#fail(strayTerminator(this.#terminator));
          }
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
        if (this.#terminator === 'required') {
          if (pos < buf.length) {
            // The common case: the 0x03 came with the reply.
            if (buf[pos] !== ETX) this.#fail(missingTerminator(buf, pos));
            pos++;
          } else {
            this.#owed = true;
            this.#held = value;
            break;
          }
        }
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
  /** The builder of the `bulkAsBuffer` option. */
  readonly #base: Builder<DecodedReply>;

  /** @throws RangeError for a limit that is not a positive integer */
  constructor(options: ReplyDecoderOptions = {}) {
    this.#base = options.bulkAsBuffer === true ? BYTES_BUILDER : TEXT_BUILDER;
    this.#stream = new StreamDecoder(this.#base, options.limits);
    this.#stream.terminator = options.terminator ?? 'optional';
  }

  /**
   * Decodes the bulk strings of the replies from the next one on as
   * `Buffer`s (true), or as the `bulkAsBuffer` option says (false): the
   * form of one request's reply (`getBuffer`). Set it only between replies,
   * as a connection does when the request at the head of its wire changes;
   * it costs nothing per reply (the parser's builder is swapped).
   */
  set bytes(on: boolean) {
    this.#stream.builder = on ? BYTES_BUILDER : this.#base;
  }

  /** Changes how 0x03 after a reply is treated (a connection does so when it learns its server's generation). */
  set terminator(mode: ReplyTerminator) {
    this.#stream.terminator = mode;
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

/**
 * Every error this library produces. All of them carry a stable `name` and a
 * machine-readable `code`, and wrap the underlying failure as `cause` when
 * there is one. `instanceof ZCachedError` is true for every one of them,
 * including {@link PoolEmptyError}, which also is a `RangeError` (the Python
 * original raises `IndexError` there).
 *
 * `instanceof` works across the two copies of the package that an
 * application gets when it loads both the ES module and the CommonJS build:
 * a `TimeoutError` made by one copy is `instanceof TimeoutError` (and
 * `ZCachedError`) of the other, also for subclasses of your own. Other
 * classes, such as `ConnectionPool`, keep the ordinary `instanceof`.
 *
 * @module
 */

import { brandRoot, fixErrorKeys, isBrandedInstance } from './error-brand.js';
import type { ServerGeneration } from './protocol/dialect.js';

/** Options accepted by every error constructor of this library. */
export interface ZCachedErrorOptions {
  /** The underlying failure, when there is one. */
  readonly cause?: unknown;
}

/** Base class of every error raised by zcached. */
export class ZCachedError extends Error {
  /** A stable, machine-readable code, such as `ETIMEOUT` or `ERR`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ZCachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /**
   * The ordinary prototype check, or else: `value` is an error of this class
   * made by another copy of the package (the ES module and the CommonJS
   * build loaded side by side). `instanceof ZCachedError` also holds for
   * {@link PoolEmptyError}, which is a `RangeError`.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBrandedInstance(this, value);
  }
}

/** The server answered with an error reply (`-ERR ...`, `-TYPERR ...`). `code` is its first word. */
export class ServerError extends ZCachedError {
  /** The whole error text as the server sent it, without the leading `-`. */
  readonly reply: string;

  constructor(reply: string) {
    const space = reply.indexOf(' ');
    const code = space === -1 ? reply : reply.slice(0, space);
    super(code === '' ? 'ERR' : code, space === -1 ? reply : reply.slice(space + 1));
    this.reply = reply;
  }
}

/** What was wrong with the bytes a {@link ProtocolError} is about. */
export type ProtocolErrorReason =
  | 'type' // unknown type prefix
  | 'integer' // malformed integer
  | 'float' // malformed float
  | 'boolean' // malformed boolean
  | 'length' // malformed or negative length
  | 'framing' // missing CRLF or other structural damage
  | 'limit'; // a decoder limit (bulk size, aggregate length, depth, buffered bytes) was passed

/** The bytes from the server do not follow the protocol, or break a decoder limit. Code `EPROTOCOL`. */
export class ProtocolError extends ZCachedError {
  /** What was wrong, for callers (such as the embedded server) that answer differently per case. */
  readonly reason: ProtocolErrorReason;

  constructor(message: string, options?: ZCachedErrorOptions & { readonly reason?: ProtocolErrorReason }) {
    super('EPROTOCOL', message, options);
    this.reason = options?.reason ?? 'framing';
  }
}

/**
 * What a {@link DialectError} refuses:
 * - `'line-feed'`: a string holds LF (0x0a). Every real server generation
 *   reads strings as lines: the 2024 and 2025 servers answer
 *   `-ERR bad request`, the current one stores the string cut at its first LF.
 * - `'carriage-return'`: a string holds CR (0x0d) (the 2024 servers).
 * - `'etx'`: a string holds the byte 0x03, which ends a request in the ETX
 *   framings (2025 and current servers).
 * - `'empty-string'`: an empty string or empty bytes, as a key, a value or a
 *   map key (the current server answers `-ERR unprocessable`).
 * - `'empty-map'`: an empty `Map` or plain object `{}` (the current server
 *   answers `-ERR unprocessable`).
 * - `'too-large'`: the whole request is over the dialect's `maxRequestBytes`.
 *
 * Source: the protocol reference ("Framing", "What real servers answer to
 * odd requests") and the current server's main branch as of August 2026.
 * Empty arrays and empty sets are not refused: the current server stores
 * `*0` and `~0` (its parser refuses `%0` only).
 */
export type DialectErrorReason = 'line-feed' | 'carriage-return' | 'etx' | 'empty-string' | 'empty-map' | 'too-large';

/**
 * One step from an argument down to the part of it at fault (see
 * {@link DialectError.location}):
 * - `index`: element `index` of an array;
 * - `set-element`: the `index`-th element of a `Set`, in iteration order;
 * - `entry`: the value stored under `key` in a `Map` (`container: 'map'`) or
 *   a plain object (`container: 'object'`);
 * - `map-key`: the key `key` itself of a `Map` or plain object (always the last step).
 */
export type ValuePathStep =
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'set-element'; readonly index: number }
  | { readonly kind: 'entry'; readonly key: string; readonly container: 'map' | 'object' }
  | { readonly kind: 'map-key'; readonly key: string; readonly container: 'map' | 'object' };

/** The structured fields of a {@link DialectError}. */
export interface DialectErrorDetails {
  /** What is refused. */
  readonly reason: DialectErrorReason;
  /** The dialect's name: `'legacy'`, `'etx-request'`, `'etx'` or `'custom'`. */
  readonly dialect: string;
  /** The command's name as given (`'SET'`); undefined for a bare value. */
  readonly command?: string | undefined;
  /**
   * The position of the argument at fault in the command array (0 is the
   * command name, 1 the first argument); undefined for `'too-large'` and bare values.
   */
  readonly argument?: number | undefined;
  /** Where the fault is, for people: `'value[1]'`, `'map key "a\nb" in value'`, `'request'`. */
  readonly path: string;
  /** The steps from the argument down to the part at fault; empty when the argument itself is. */
  readonly location?: readonly ValuePathStep[] | undefined;
  /** `'too-large'` only: the request's encoded size, in bytes. */
  readonly size?: number | undefined;
  /** `'too-large'` only: the dialect's `maxRequestBytes`. */
  readonly limit?: number | undefined;
}

/**
 * A request that its dialect cannot carry: a string the server would mangle
 * or refuse (holding LF, CR or 0x03, or empty), an empty map, or a request
 * too large. Raised synchronously by the encoder (hence by every command)
 * before a single byte is written. Code `EDIALECT`.
 *
 * The message names the command, the part at fault and the root cause, e.g.
 * `SET: value[1] holds a line feed (0x0a), which the 'etx' dialect cannot
 * carry: current zcached servers store the string cut at its first line
 * feed; nothing was sent. ...`. The same facts are in the fields below.
 *
 * Paths start at the argument's name when the client knows it (`key`,
 * `value`, `newKey`, `mset entry 3 value`, `mget key #2`), else at its
 * position (`argument 2`), then follow JavaScript: `[1]` for an array
 * element, `.get("k")` for a `Map` entry, `["k"]` for an object property,
 * `[...value][2]` for the third element of a `Set`, and
 * `map key "k" in value` for a key itself.
 */
export class DialectError extends ZCachedError {
  /** What is refused. */
  readonly reason: DialectErrorReason;
  /** The dialect's name: `'legacy'`, `'etx-request'`, `'etx'` or `'custom'`. */
  readonly dialect: string;
  /** The command's name as given (`'SET'`); undefined for a bare value. */
  readonly command: string | undefined;
  /** The argument at fault's position in the command array (0: the command name); undefined for `'too-large'`. */
  readonly argument: number | undefined;
  /** Where the fault is, for people: `'value[1]'`, `'map key "k" in value'`, `'request'`. */
  readonly path: string;
  /** The steps from the argument down to the part at fault ({@link ValuePathStep}). */
  readonly location: readonly ValuePathStep[];
  /** `'too-large'` only: the request's encoded size, in bytes. */
  readonly size: number | undefined;
  /** `'too-large'` only: the largest request the dialect carries, in bytes. */
  readonly limit: number | undefined;

  /**
   * @param message - the whole message
   * @param options - `cause` and the structured fields; a field not given
   *   defaults as for a request too large (`reason: 'too-large'`,
   *   `path: 'request'`, `dialect: 'custom'`)
   */
  constructor(message: string, options?: ZCachedErrorOptions & Partial<DialectErrorDetails>) {
    super('EDIALECT', message, options);
    this.reason = options?.reason ?? 'too-large';
    this.dialect = options?.dialect ?? 'custom';
    this.command = options?.command;
    this.argument = options?.argument;
    this.path = options?.path ?? 'request';
    this.location = Object.freeze([...(options?.location ?? [])]);
    this.size = options?.size;
    this.limit = options?.limit;
  }
}

/**
 * An argument that cannot be sent (wrong type, out of range), as a
 * ZCachedError: the fp view wraps the `TypeError`/`RangeError` that the
 * promise API throws in it (the original is its `cause`). Code `EINVAL`.
 */
export class InvalidArgumentError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('EINVAL', message, options);
  }
}

/** A request got no reply within its time limit. Code `ETIMEOUT`. */
export class TimeoutError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('ETIMEOUT', message, options);
  }
}

/** The caller aborted a request through its `AbortSignal`. Code `EABORT`. */
export class AbortError extends ZCachedError {
  constructor(message = 'The request was aborted', options?: ZCachedErrorOptions) {
    super('EABORT', message, options);
  }
}

/** A connection could not be established after all its attempts. Code `ECONNECT`. */
export class ConnectError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('ECONNECT', message, options);
  }
}

/**
 * The connection a request was on broke (socket dropped, reply stream out of
 * step, another request timed out) before its reply arrived. Code `ECONNECTION`.
 */
export class ConnectionError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('ECONNECTION', message, options);
  }
}

/** The connection or pool was closed (by the user or by a pool reduce) before the request settled. Code `ECLOSED`. */
export class ConnectionClosedError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('ECLOSED', message, options);
  }
}

/** A connection's request queue is at its `maxPending` bound. Code `EQUEUEFULL`. */
export class QueueFullError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('EQUEUEFULL', message, options);
  }
}

/**
 * The pool has no connected connection to hand out. It is a `RangeError`
 * (the Python original raises `IndexError`) and also `instanceof ZCachedError`.
 * Code `EPOOLEMPTY`.
 */
export class PoolEmptyError extends RangeError {
  /** Always `EPOOLEMPTY`. */
  readonly code = 'EPOOLEMPTY';

  constructor(message = 'The connection pool has no connected connection', options?: ZCachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return 'PoolEmptyError';
  }

  /** The ordinary prototype check, or else: `value` is a `PoolEmptyError` of another copy of the package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isBrandedInstance(this, value);
  }
}

/**
 * A stored value that the client's value codec could not decode: for
 * `codec: 'json'`, a value that is not JSON text (written by something that
 * did not use the codec); for a codec of your own, whatever its `decode`
 * threw, as `cause`. `get` and `mget` reject with it. Code `ECODEC`.
 */
export class CodecError extends ZCachedError {
  /** The key whose stored value could not be decoded; undefined when not known. */
  readonly key: string | undefined;
  /** The codec's name: `'json'`, or the `name` of your codec (`'custom'` without one). */
  readonly codec: string;

  constructor(message: string, options?: ZCachedErrorOptions & { readonly key?: string | undefined; readonly codec?: string | undefined }) {
    super('ECODEC', message, options);
    this.key = options?.key;
    this.codec = options?.codec ?? 'custom';
  }
}

/**
 * The server answered the connect-time generation handshake in a way no
 * zcached generation does (or stopped answering it), so the connection
 * cannot tell how to frame requests and is not used. Code `EGENERATION`.
 * `received` shows the bytes the server sent, escaped.
 */
export class ServerGenerationError extends ZCachedError {
  /** What the server sent during the handshake, escaped (`+PONG\\r\\n\\x03`). */
  readonly received: string;

  constructor(message: string, options?: ZCachedErrorOptions & { readonly received?: string | undefined }) {
    super('EGENERATION', message, options);
    this.received = options?.received ?? '';
  }
}

/**
 * The client was given an explicit dialect (`'legacy'`, `'etx-request'`,
 * `'etx'`, or a custom one with that `base`) and the connect-time handshake
 * found a server of another generation. The connection is not used: its
 * replies would go to the wrong requests. Code `EDIALECTMISMATCH`.
 */
export class DialectMismatchError extends ZCachedError {
  /** The dialect the client was given. */
  readonly expected: string;
  /** The generation the handshake found: `'legacy'` (2024), `'etx-request'` (2025) or `'etx'` (current). */
  readonly detected: ServerGeneration;

  constructor(message: string, options: ZCachedErrorOptions & { readonly expected: string; readonly detected: ServerGeneration }) {
    super('EDIALECTMISMATCH', message, options);
    this.expected = options.expected;
    this.detected = options.detected;
  }
}

fixErrorKeys({
  ZCachedError,
  ServerError,
  ProtocolError,
  DialectError,
  InvalidArgumentError,
  TimeoutError,
  AbortError,
  ConnectError,
  ConnectionError,
  ConnectionClosedError,
  QueueFullError,
  PoolEmptyError,
  CodecError,
  ServerGenerationError,
  DialectMismatchError,
});
brandRoot(ZCachedError, ['ZCachedError']);
// A PoolEmptyError is a RangeError, and counts as a ZCachedError too.
brandRoot(PoolEmptyError, ['PoolEmptyError', 'ZCachedError']);

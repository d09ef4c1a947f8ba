/**
 * Every error this library produces. All of them carry a stable `name` and a
 * machine-readable `code`, and wrap the underlying failure as `cause` when
 * there is one. `instanceof ZCachedError` is true for every one of them,
 * including {@link PoolEmptyError}, which also is a `RangeError` (the Python
 * original raises `IndexError` there).
 *
 * @module
 */

const brand: unique symbol = Symbol.for('zcached.error');

/** Options accepted by every error constructor of this library. */
export interface ZCachedErrorOptions {
  /** The underlying failure, when there is one. */
  readonly cause?: unknown;
}

/** Base class of every error raised by zcached. */
export class ZCachedError extends Error {
  /** A stable, machine-readable code, such as `ETIMEOUT` or `ERR`. */
  readonly code: string;
  /** @internal */
  readonly [brand] = true;

  constructor(code: string, message: string, options?: ZCachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** True for every zcached error, even those whose prototype chain is not this class. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === ZCachedError) {
      return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
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
 * A request that its dialect cannot carry: too large, or holding a byte the
 * framing forbids (0x03, CR or LF). Raised before anything is written. Code `EDIALECT`.
 */
export class DialectError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('EDIALECT', message, options);
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
  /** @internal */
  readonly [brand] = true;

  constructor(message = 'The connection pool has no connected connection', options?: ZCachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
  }

  override get name(): string {
    return 'PoolEmptyError';
  }
}

/**
 * Framing dialects: the three generations of zcached servers frame requests
 * and replies differently (see the protocol reference, "Framing").
 *
 * @module
 */

/** The 0x03 (ETX) byte that ends requests, and replies, in the newer dialects. */
export const ETX = 0x03;

/** A custom framing, for servers that are not one of the named generations. */
export interface DialectOptions {
  /** Append 0x03 after every request. */
  readonly requestTerminator: boolean;
  /** Allow many requests on the wire at once (replies matched in order). */
  readonly pipelining: boolean;
  /** Refuse requests whose encoded size passes this many bytes. Default: 10 MB. */
  readonly maxRequestBytes?: number;
}

/** The names of the built-in dialects. */
export type DialectName = 'legacy' | 'etx-request' | 'etx';

/** A dialect as a name or a custom object. `'etx'` is the default. */
export type DialectInput = DialectName | DialectOptions;

/** A fully resolved dialect: every rule the encoder and connection need. */
export interface Dialect {
  /** The preset's name, or `'custom'`. */
  readonly name: DialectName | 'custom';
  /** Append 0x03 after every request. */
  readonly requestTerminator: boolean;
  /** Allow many requests on the wire at once. */
  readonly pipelining: boolean;
  /** The largest encoded request, terminator included, in bytes. */
  readonly maxRequestBytes: number;
  /** Refuse CR and LF inside values (the plain 2024 servers split on them). */
  readonly forbidLineBreaks: boolean;
  /** Refuse the byte 0x03 inside a request (it ends a request in this framing). */
  readonly forbidEtx: boolean;
}

/** Requests up to 10 MB on current servers. */
export const DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** The built-in dialects, by name. */
export const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze({
  /** 2024 servers: no terminator, one request per read, at most 4096 bytes, no CR/LF inside values. */
  legacy: Object.freeze({
    name: 'legacy',
    requestTerminator: false,
    pipelining: false,
    maxRequestBytes: 4096,
    forbidLineBreaks: true,
    forbidEtx: false,
  }),
  /** 2025 servers: 0x03 after each request, plain replies, no pipelining. */
  'etx-request': Object.freeze({
    name: 'etx-request',
    requestTerminator: true,
    pipelining: false,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    forbidLineBreaks: false,
    forbidEtx: true,
  }),
  /** Current servers: 0x03 after requests and replies; pipelining works. */
  etx: Object.freeze({
    name: 'etx',
    requestTerminator: true,
    pipelining: true,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    forbidLineBreaks: false,
    forbidEtx: true,
  }),
});

/**
 * Turns a dialect name or custom object into a full {@link Dialect}.
 * @throws TypeError for an unknown name or a malformed object
 * @throws RangeError for a `maxRequestBytes` that is not a positive integer
 */
export function resolveDialect(input: DialectInput = 'etx'): Dialect {
  if (typeof input === 'string') {
    const preset = Object.hasOwn(DIALECTS, input) ? DIALECTS[input] : undefined;
    if (preset === undefined) {
      throw new TypeError(`dialect: unknown dialect ${JSON.stringify(input)}; expected 'legacy', 'etx-request', 'etx' or an object`);
    }
    return preset;
  }
  if (typeof input !== 'object' || input === null) {
    throw new TypeError('dialect: expected a dialect name or { requestTerminator, pipelining, maxRequestBytes? }');
  }
  const { requestTerminator, pipelining, maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES } = input;
  if (typeof requestTerminator !== 'boolean' || typeof pipelining !== 'boolean') {
    throw new TypeError('dialect: requestTerminator and pipelining must be booleans');
  }
  if (!Number.isSafeInteger(maxRequestBytes) || maxRequestBytes <= 0) {
    throw new RangeError(`dialect: maxRequestBytes must be a positive integer, got ${String(maxRequestBytes)}`);
  }
  return Object.freeze({
    name: 'custom',
    requestTerminator,
    pipelining,
    maxRequestBytes,
    forbidLineBreaks: false,
    forbidEtx: requestTerminator,
  });
}

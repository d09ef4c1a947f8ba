/**
 * Framing dialects: the three generations of zcached servers frame requests
 * and replies differently, and each has its own faults a client must keep
 * away from (see the protocol reference, "Framing", and README "Server
 * compatibility").
 *
 * A dialect holds two kinds of rules:
 * - value rules: which strings the server would mangle or refuse, checked
 *   by the encoder before a byte is sent ({@link Dialect.forbidLineFeed},
 *   {@link Dialect.forbidEmpty}, ...);
 * - the send policy: how requests may share the wire
 *   ({@link Dialect.pipelining}, {@link Dialect.maxWriteBytes},
 *   {@link Dialect.maxUnansweredBytes}), applied by the connection.
 *
 * @module
 */

/** The 0x03 (ETX) byte that ends requests, and replies, in the newer dialects. */
export const ETX = 0x03;

/** The names of the built-in dialects: one per real server generation. */
export type DialectName = 'legacy' | 'etx-request' | 'etx';

/**
 * A zcached server generation, named by the dialect that speaks it:
 * `'legacy'` (2024 servers), `'etx-request'` (2025), `'etx'` (current).
 */
export type ServerGeneration = DialectName;

/** How each generation is named in messages: `a 2025 zcached server ('etx-request')`. */
export const GENERATION_LABELS: Readonly<Record<ServerGeneration, string>> = Object.freeze({
  legacy: "a 2024 zcached server ('legacy')",
  'etx-request': "a 2025 zcached server ('etx-request')",
  etx: "a current zcached server ('etx')",
});

/**
 * A custom framing, for servers that are not one of the named generations
 * (a Redis server, a proxy, a fixed zcached), or a named one with other
 * send-policy limits (`{ base: 'etx', maxWriteBytes: 8948 }` on a network
 * with jumbo frames).
 *
 * Without `base`, every rule not given is off: the dialect is binary-safe and
 * pipelines without limits.
 */
export interface DialectOptions {
  /** A built-in dialect whose rules this one starts from. Default: none. */
  readonly base?: DialectName;
  /** Append 0x03 after every request. Required without `base`. */
  readonly requestTerminator?: boolean;
  /**
   * The server ends every reply with 0x03: required after each reply when
   * true, refused anywhere when false (a reply that breaks this breaks the
   * connection with a `ProtocolError`). Default: the base's, else not
   * checked (a 0x03 between replies is skipped).
   */
  readonly replyTerminator?: boolean;
  /** Allow many requests on the wire at once (replies matched in order). Required without `base`. */
  readonly pipelining?: boolean;
  /** Refuse requests whose encoded size passes this many bytes. Default: 10 MB. */
  readonly maxRequestBytes?: number;
  /** Refuse strings holding a line feed (LF, 0x0a): the server reads strings as lines. Default false. */
  readonly forbidLineFeed?: boolean;
  /** Refuse strings holding a carriage return (CR, 0x0d). Default false. */
  readonly forbidCarriageReturn?: boolean;
  /** Refuse empty strings (keys and values) and empty maps. Default false. */
  readonly forbidEmpty?: boolean;
  /** Most bytes in one socket write when pipelining, in bytes. Default: no limit. */
  readonly maxWriteBytes?: number;
  /** Most bytes of written requests still waiting for their replies, in bytes. Default: no limit. */
  readonly maxUnansweredBytes?: number;
}

/**
 * A dialect as a name, `'auto'`, or a custom object. `'auto'` is the
 * default: each connection finds its server's generation at connect
 * (a handshake) and speaks it. A named dialect, or a custom one with a
 * `base`, is checked by the same handshake; a custom one without `base`
 * (Redis, a proxy) is trusted as given.
 */
export type DialectInput = DialectName | 'auto' | DialectOptions;

/** A fully resolved dialect: every rule the encoder and connection need. */
export interface Dialect {
  /** The preset's name, `'custom'`, or `'auto'` for the rules used before a handshake ({@link AUTO_DIALECT}). */
  readonly name: DialectName | 'custom' | 'auto';
  /** Append 0x03 after every request. */
  readonly requestTerminator: boolean;
  /**
   * Every reply ends with 0x03 (current servers): the decoder requires it
   * after each reply, and refuses a 0x03 anywhere else. False: a 0x03 in the
   * reply stream is refused (2024 and 2025 servers send none).
   * `undefined` (custom dialects that do not say): not checked, a 0x03
   * between replies is skipped.
   */
  readonly replyTerminator: boolean | undefined;
  /**
   * The generation whose handshake a connection checks at connect: the
   * preset's own, a custom dialect's `base`, or `undefined` (not checked).
   */
  readonly generation: ServerGeneration | undefined;
  /** Allow many requests on the wire at once. */
  readonly pipelining: boolean;
  /** The largest encoded request, terminator included, in bytes. */
  readonly maxRequestBytes: number;
  /**
   * Refuse LF inside strings. Every real generation needs it: the 2024 and
   * 2025 servers answer `-ERR bad request`, the current one stores the string
   * cut at its first LF and answers `+OK` (protocol reference, "Framing").
   */
  readonly forbidLineFeed: boolean;
  /** Refuse CR inside strings (the plain 2024 servers split requests on line breaks). */
  readonly forbidCarriageReturn: boolean;
  /**
   * Refuse empty strings and empty maps: the current server answers
   * `-ERR unprocessable` to `$0`, `+` and `%0`, for keys and values alike.
   */
  readonly forbidEmpty: boolean;
  /** Refuse the byte 0x03 inside a request (it ends a request in this framing). */
  readonly forbidEtx: boolean;
  /**
   * Send policy: the largest socket write of pipelined requests, in bytes
   * (`Infinity`: no limit). A write is made of whole requests; a request
   * larger than this is written alone, with nothing else unanswered before
   * it and nothing written after it until its reply has arrived.
   */
  readonly maxWriteBytes: number;
  /**
   * Send policy: the most bytes of written requests whose replies have not
   * arrived, in bytes (`Infinity`: no limit). A request larger than
   * {@link Dialect.maxWriteBytes} is the exception: it goes alone.
   */
  readonly maxUnansweredBytes: number;
}

/** Requests up to 10 MB on current servers. */
export const DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * The current server reads at most this many bytes per `read()` (protocol
 * reference, "Crash on a split request").
 */
export const SERVER_READ_BYTES = 4096;

/**
 * One TCP segment's worth of payload on an Ethernet path (MSS 1,448 to 1,460,
 * rounded down): the default largest write, and the default bound on
 * unanswered bytes, of the `'etx'` send policy, in bytes.
 *
 * Why the unanswered bound is one segment and not the server's 4,096-byte
 * read: a sender coalesces writes that are still queued (Linux autocorking,
 * Nagle, retransmission) and cuts the result at MSS boundaries, which can
 * fall inside a request. With at most one segment's worth unanswered, any
 * coalesced run of writes still fits one segment, so every segment the
 * server receives starts and ends on a request boundary.
 */
export const SEGMENT_BYTES = 1400;

/** The built-in dialects, by name. */
export const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze({
  /**
   * 2024 servers: no terminator, one request per read, no CR/LF inside
   * strings. The server takes each read holding a line feed as one whole
   * request (4096 bytes at most); a request cut into two segments on the way
   * is answered twice (`-ERR bad request` for each part) and the replies go
   * out of step. So a request is at most one segment ({@link SEGMENT_BYTES});
   * `{ base: 'legacy', maxRequestBytes: 4096 }` allows the server's own limit
   * where writes arrive whole (loopback).
   */
  legacy: Object.freeze({
    name: 'legacy',
    generation: 'legacy',
    replyTerminator: false,
    requestTerminator: false,
    pipelining: false,
    maxRequestBytes: SEGMENT_BYTES,
    forbidLineFeed: true,
    forbidCarriageReturn: true,
    forbidEmpty: false,
    forbidEtx: false,
    maxWriteBytes: Infinity,
    maxUnansweredBytes: Infinity,
  }),
  /** 2025 servers: 0x03 after each request, plain replies, no pipelining, no LF inside strings. */
  'etx-request': Object.freeze({
    name: 'etx-request',
    generation: 'etx-request',
    replyTerminator: false,
    requestTerminator: true,
    pipelining: false,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    forbidLineFeed: true,
    forbidCarriageReturn: false,
    forbidEmpty: false,
    forbidEtx: true,
    maxWriteBytes: Infinity,
    maxUnansweredBytes: Infinity,
  }),
  /**
   * Current servers: 0x03 after requests and replies; pipelining works within
   * the send policy that keeps the server alive; no LF inside strings, no empty
   * strings or maps.
   */
  etx: Object.freeze({
    name: 'etx',
    generation: 'etx',
    replyTerminator: true,
    requestTerminator: true,
    pipelining: true,
    maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
    forbidLineFeed: true,
    forbidCarriageReturn: false,
    forbidEmpty: true,
    forbidEtx: true,
    maxWriteBytes: SEGMENT_BYTES,
    maxUnansweredBytes: SEGMENT_BYTES,
  }),
});

/**
 * The rules a connection with `dialect: 'auto'` uses before its first
 * handshake has found the server's generation: what every generation
 * carries (no line feed in strings; the other rules are checked again with
 * the generation's own, once known, before anything is written). Requests
 * made meanwhile wait for the handshake; none is written under these rules.
 */
export const AUTO_DIALECT: Dialect = Object.freeze({
  name: 'auto',
  generation: undefined,
  replyTerminator: undefined,
  requestTerminator: true,
  pipelining: false,
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  forbidLineFeed: true,
  forbidCarriageReturn: false,
  forbidEmpty: false,
  forbidEtx: false,
  maxWriteBytes: Infinity,
  maxUnansweredBytes: Infinity,
});

/** The framing facts of a generation, which a custom dialect with that `base` may not change. */
const BASE_FACTS = ['requestTerminator', 'replyTerminator', 'pipelining'] as const;
/** Value rules a `base` may tighten (false to true) but never loosen: the generation would mangle or refuse the value. */
const BASE_RULES = ['forbidLineFeed', 'forbidCarriageReturn', 'forbidEmpty'] as const;

/**
 * A custom dialect with `base` keeps the base generation's framing and value
 * rules: that server frames so (a 2024 server given pipelined requests drops
 * all but the first, and every later reply goes to the wrong caller), and
 * mangles what the rules refuse. Only the send-policy limits and
 * `maxRequestBytes` are free, and the rules may be tightened.
 * @throws TypeError naming the field, the base and why
 */
function assertBaseFacts(input: DialectOptions, base: Dialect): void {
  for (const field of BASE_FACTS) {
    const value = input[field];
    if (typeof value === 'boolean' && value !== base[field]) {
      throw new TypeError(
        `dialect: ${field} ${String(value)} contradicts base '${String(base.name)}', whose servers frame with ${field} ${String(base[field])}; ` +
          "leave it out (or use a custom dialect without base for a server that is no zcached generation)",
      );
    }
  }
  for (const field of BASE_RULES) {
    if (input[field] === false && base[field]) {
      throw new TypeError(`dialect: ${field} false loosens base '${String(base.name)}', whose servers mangle or refuse what it forbids; leave it out`);
    }
  }
}

function optionalBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`dialect: ${name} must be a boolean, got ${typeof value}`);
  return value;
}

function positiveLimit(name: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`dialect: ${name} must be a number, got ${typeof value}`);
  if (!(Number.isSafeInteger(value) && value > 0) && !(allowInfinity && value === Infinity)) {
    throw new RangeError(`dialect: ${name} must be a positive integer${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`);
  }
  return value;
}

/**
 * Turns a dialect name or custom object into a full {@link Dialect}.
 * @throws TypeError for an unknown name or a malformed object
 * @throws RangeError for a size limit that is not a positive integer
 */
export function resolveDialect(input: DialectInput = 'auto'): Dialect {
  if (input === 'auto') return AUTO_DIALECT;
  if (typeof input === 'string') {
    const preset = Object.hasOwn(DIALECTS, input) ? DIALECTS[input] : undefined;
    if (preset === undefined) {
      throw new TypeError(`dialect: unknown dialect ${JSON.stringify(input)}; expected 'auto', 'legacy', 'etx-request', 'etx' or an object`);
    }
    return preset;
  }
  if (typeof input !== 'object' || input === null) {
    throw new TypeError('dialect: expected a dialect name or { requestTerminator, pipelining, ... }');
  }
  let base: Dialect | undefined;
  if (input.base !== undefined) {
    base = Object.hasOwn(DIALECTS, input.base) ? DIALECTS[input.base] : undefined;
    if (base === undefined) throw new TypeError(`dialect: unknown base ${JSON.stringify(input.base)}; expected 'legacy', 'etx-request' or 'etx'`);
  } else if (typeof input.requestTerminator !== 'boolean' || typeof input.pipelining !== 'boolean') {
    throw new TypeError('dialect: requestTerminator and pipelining must be booleans');
  }
  if (base !== undefined) assertBaseFacts(input, base);
  const requestTerminator = optionalBoolean('requestTerminator', input.requestTerminator, base?.requestTerminator ?? false);
  const maxWriteBytes = positiveLimit('maxWriteBytes', input.maxWriteBytes, base?.maxWriteBytes ?? Infinity, true);
  const maxUnansweredBytes = positiveLimit('maxUnansweredBytes', input.maxUnansweredBytes, base?.maxUnansweredBytes ?? Infinity, true);
  if (maxUnansweredBytes < maxWriteBytes) {
    throw new RangeError(`dialect: maxUnansweredBytes (${maxUnansweredBytes}) must be at least maxWriteBytes (${maxWriteBytes})`);
  }
  return Object.freeze({
    name: 'custom',
    generation: base?.generation,
    // Without a base, a dialect that pipelines 0x03-terminated requests speaks like a current server,
    // the only generation that pipelines, and whose replies end with 0x03: require it (a 2024 or 2025
    // server then breaks the connection instead of handing replies to the wrong requests).
    replyTerminator:
      input.replyTerminator !== undefined
        ? optionalBoolean('replyTerminator', input.replyTerminator, false)
        : (base?.replyTerminator ?? (requestTerminator && input.pipelining === true ? true : undefined)),
    requestTerminator,
    pipelining: optionalBoolean('pipelining', input.pipelining, base?.pipelining ?? false),
    maxRequestBytes: positiveLimit('maxRequestBytes', input.maxRequestBytes, base?.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, false),
    forbidLineFeed: optionalBoolean('forbidLineFeed', input.forbidLineFeed, base?.forbidLineFeed ?? false),
    forbidCarriageReturn: optionalBoolean('forbidCarriageReturn', input.forbidCarriageReturn, base?.forbidCarriageReturn ?? false),
    forbidEmpty: optionalBoolean('forbidEmpty', input.forbidEmpty, base?.forbidEmpty ?? false),
    forbidEtx: requestTerminator,
    maxWriteBytes,
    maxUnansweredBytes,
  });
}

/**
 * The options of a {@link Connection}: their shapes, defaults and checks.
 *
 * @module
 */

import type { DecoderLimits } from '../protocol/decoder.js';
import { DIALECTS, resolveDialect, type DialectInput, type DialectOptions } from '../protocol/dialect.js';
import { assertPlainHost } from './address.js';
import { ExponentialBackoff, type ExponentialBackoffOptions } from './backoff.js';
import { DEFAULT_STABLE_AFTER, MAX_TIMER_DELAY, validateConnectionMachineInput } from './machine.js';
import { assertKnownOptions, closestName, optionNames } from './option-keys.js';
import type { CloseOptions } from './state.js';
import type { OpenTransport, TlsSetting } from './transport.js';

/** Options of a {@link Connection}. Only `host` and `port` are required. */
export interface ConnectionOptions {
  /**
   * Server host name or IP address (`'cache.local'`, `'10.0.0.2'`, `'::1'`,
   * IPv6 without brackets). A URL, a port (`'h:7556'`) or brackets are a
   * `TypeError` saying what to write instead.
   */
  readonly host: string;
  /** Server TCP port. */
  readonly port: number;
  /** Connect attempts before giving up (per run). Default 3. */
  readonly connectionAttempts?: number;
  /**
   * Reconnect by itself: when a connected socket breaks, and (after resting
   * for the back-off maximum) when a run of attempts has failed. Default true.
   */
  readonly reconnect?: boolean;
  /** Time limit of one request, in ms. Default 10 000. */
  readonly timeoutLimit?: number;
  /** Time limit of one connect attempt, in ms. Default 5 000. */
  readonly connectTimeout?: number;
  /**
   * Framing dialect. Default `'auto'`: the connect-time handshake finds the
   * server's generation and the connection speaks it. A named dialect is
   * checked by the same handshake (a mismatch fails the attempt with a
   * `DialectMismatchError`); a custom object without `base` is trusted.
   */
  readonly dialect?: DialectInput;
  /** TLS: `true` for defaults, or Node's `tls.connect` options. Default off. */
  readonly tls?: TlsSetting;
  /** Initial delay of TCP keep-alive probes on an idle socket, in ms. Default 30 000. */
  readonly keepAliveDelay?: number;
  /** Most requests pending at once; past it requests fail fast with `QueueFullError`. Default 100 000. */
  readonly maxPending?: number;
  /** Send PING after this many ms without traffic; a missing PONG breaks the connection. Default 0 (off). */
  readonly pingInterval?: number;
  /** How a graceful `close()` waits for in-flight requests, in ms. Default 5 000. */
  readonly closeTimeout?: number;
  /** Back-off between connect attempts. Default `{ initial: 100, multiplier: 2, max: 2 000, jitter: 0.5 }`. */
  readonly backoff?: ExponentialBackoff | ExponentialBackoffOptions;
  /** Random numbers in [0, 1) for back-off jitter. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Time connected, in ms, after which a drop starts a fresh run of attempts;
   * a drop sooner counts as a failed attempt (no reconnect storm). Default 1 000.
   */
  readonly stableAfter?: number;
  /** Bounds on a single reply. */
  readonly decoderLimits?: Partial<DecoderLimits>;
  /** Return bulk strings as `Buffer` instead of `string`. Default false. */
  readonly bulkAsBuffer?: boolean;
  /**
   * Opens the socket. Default: TCP or TLS through `node:net`/`node:tls`.
   * Replace it to run over another stream, or with an in-memory fake in tests.
   */
  readonly openTransport?: OpenTransport;
}

/** Every option of {@link ConnectionOptions} (the compiler keeps this list in step with the interface). */
export const CONNECTION_OPTION_NAMES = optionNames({
  host: true,
  port: true,
  connectionAttempts: true,
  reconnect: true,
  timeoutLimit: true,
  connectTimeout: true,
  dialect: true,
  tls: true,
  keepAliveDelay: true,
  maxPending: true,
  pingInterval: true,
  closeTimeout: true,
  backoff: true,
  random: true,
  stableAfter: true,
  decoderLimits: true,
  bulkAsBuffer: true,
  openTransport: true,
} satisfies Record<keyof ConnectionOptions, true>);

const BACKOFF_OPTION_NAMES = optionNames({ initial: true, multiplier: true, max: true, jitter: true } satisfies Record<keyof ExponentialBackoffOptions, true>);

const DECODER_LIMIT_NAMES = optionNames({
  maxBulkBytes: true,
  maxAggregateLength: true,
  maxDepth: true,
  maxBufferedBytes: true,
} satisfies Record<keyof DecoderLimits, true>);

const DIALECT_OPTION_NAMES = optionNames({
  base: true,
  requestTerminator: true,
  replyTerminator: true,
  pipelining: true,
  maxRequestBytes: true,
  forbidLineFeed: true,
  forbidCarriageReturn: true,
  forbidEmpty: true,
  maxWriteBytes: true,
  maxUnansweredBytes: true,
} satisfies Record<keyof DialectOptions, true>);

function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Refuses unknown keys in connection options and in their nested option
 * objects (`backoff`, `decoderLimits`, a custom `dialect`), naming the key
 * and the option most likely meant. `names` are the valid top-level keys
 * (the connection's, or a wider set for the client and the fleet).
 * @throws TypeError for the first unknown key
 */
export function assertKnownConnectionOptions(options: object, owner: string, names: readonly string[] = CONNECTION_OPTION_NAMES): void {
  assertKnownOptions(options, names, owner);
  const { backoff, decoderLimits, dialect } = options as Partial<Record<string, unknown>>;
  if (isPlainObject(backoff)) assertKnownOptions(backoff, BACKOFF_OPTION_NAMES, owner, 'backoff.');
  if (isPlainObject(decoderLimits)) assertKnownOptions(decoderLimits, DECODER_LIMIT_NAMES, owner, 'decoderLimits.');
  if (isPlainObject(dialect)) assertKnownOptions(dialect, DIALECT_OPTION_NAMES, owner, 'dialect.');
}

function positiveInteger(name: string, value: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function nonNegativeNumber(name: string, value: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  return value;
}

/** A duration in ms that a Node.js timer can hold (at most 2^31 - 1 ms, about 24.8 days). */
export function timerDuration(name: string, value: number, allowZero: boolean): number {
  const ms = allowZero ? nonNegativeNumber(name, value) : positiveInteger(name, value);
  if (ms > MAX_TIMER_DELAY) throw new RangeError(`${name} must be at most ${MAX_TIMER_DELAY} ms (the longest timer Node.js can hold), got ${ms}`);
  return ms;
}

/**
 * A dialect name that is not one (`'etc'`), or a custom dialect's unknown
 * `base`, is refused with the name most likely meant, as in a URL.
 */
function checkDialectName(dialect: DialectInput | undefined): DialectInput | undefined {
  const named = typeof dialect === 'string' ? { what: 'dialect', name: dialect } : { what: 'base', name: isPlainObject(dialect) ? dialect.base : undefined };
  if (typeof named.name !== 'string' || Object.hasOwn(DIALECTS, named.name) || (named.what === 'dialect' && named.name === 'auto')) return dialect;
  const names = named.what === 'dialect' ? ['auto', ...Object.keys(DIALECTS)] : Object.keys(DIALECTS);
  const suggestion = closestName(named.name, names);
  throw new TypeError(
    `dialect: unknown ${named.what} ${JSON.stringify(named.name)}; ` +
      (suggestion === undefined ? `expected ${names.map((name) => `'${name}'`).join(', ')}` : `did you mean ${suggestion}?`) +
      (named.what === 'dialect' ? ' (or give a custom dialect object)' : ''),
  );
}

const CLOSE_OPTION_NAMES = optionNames({ force: true, timeout: true } satisfies Record<keyof CloseOptions, true>);

/**
 * Checks the options of `close()`: an object (or `undefined`) with only
 * `force` (a boolean) and `timeout` (ms, 0 to 2^31 - 1).
 * @throws TypeError for something else than an object, an unknown key
 *   (naming the closest valid one) or a `force` that is not a boolean
 * @throws RangeError for a `timeout` out of range
 */
export function resolveCloseOptions(options: CloseOptions | undefined, owner: string): CloseOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw new TypeError(`${owner}: close options must be an object, got ${describeValue(options)}`);
  assertKnownOptions(options, CLOSE_OPTION_NAMES, `${owner}.close()`);
  if (options.force !== undefined && typeof options.force !== 'boolean') {
    throw new TypeError(`${owner}.close(): force must be a boolean, got ${describeValue(options.force)}`);
  }
  if (options.timeout !== undefined) timerDuration('timeout', options.timeout, true);
  return options;
}

/** Checks every option and fills in the defaults. */
export function resolveConnectionOptions(options: ConnectionOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('Connection: options must be an object');
  assertKnownConnectionOptions(options, 'Connection');
  const { host, port } = options;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
  assertPlainHost(host);
  if (typeof port !== 'number') throw new TypeError(`port must be a number, got ${typeof port}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be an integer in 1..65535, got ${port}`);
  const reconnect = options.reconnect ?? true;
  if (typeof reconnect !== 'boolean') throw new TypeError('reconnect must be a boolean');
  const { tls } = options;
  if (tls !== undefined && typeof tls !== 'boolean' && (typeof tls !== 'object' || tls === null || Array.isArray(tls))) {
    throw new TypeError(`tls must be true, false or an object of tls.connect options, got ${describeValue(tls)}`);
  }
  if (options.bulkAsBuffer !== undefined && typeof options.bulkAsBuffer !== 'boolean') throw new TypeError('bulkAsBuffer must be a boolean');
  if (options.decoderLimits !== undefined && !isPlainObject(options.decoderLimits)) {
    throw new TypeError(`decoderLimits must be an object, got ${describeValue(options.decoderLimits)}`);
  }
  if (options.random !== undefined && typeof options.random !== 'function') throw new TypeError('random must be a function');
  if (options.openTransport !== undefined && typeof options.openTransport !== 'function') {
    throw new TypeError('openTransport must be a function');
  }
  const machine = {
    connectionAttempts: positiveInteger('connectionAttempts', options.connectionAttempts ?? 3),
    reconnect,
    connectTimeout: timerDuration('connectTimeout', options.connectTimeout ?? 5_000, false),
    backoff: options.backoff instanceof ExponentialBackoff ? options.backoff : new ExponentialBackoff(options.backoff),
    random: options.random ?? Math.random,
    stableAfter: timerDuration('stableAfter', options.stableAfter ?? DEFAULT_STABLE_AFTER, true),
  };
  validateConnectionMachineInput(machine);
  return {
    host,
    port,
    dialect: resolveDialect(checkDialectName(options.dialect)),
    timeoutLimit: timerDuration('timeoutLimit', options.timeoutLimit ?? 10_000, false),
    pingInterval: timerDuration('pingInterval', options.pingInterval ?? 0, true),
    closeTimeout: timerDuration('closeTimeout', options.closeTimeout ?? 5_000, true),
    maxPending: positiveInteger('maxPending', options.maxPending ?? 100_000),
    keepAliveDelay: timerDuration('keepAliveDelay', options.keepAliveDelay ?? 30_000, true),
    machine,
  };
}

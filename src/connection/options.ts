/**
 * The options of a {@link Connection}: their shapes, defaults and checks.
 *
 * @module
 */

import type { DecoderLimits } from '../protocol/decoder.js';
import { resolveDialect, type DialectInput } from '../protocol/dialect.js';
import { ExponentialBackoff, type ExponentialBackoffOptions } from './backoff.js';
import { DEFAULT_STABLE_AFTER, MAX_TIMER_DELAY, validateConnectionMachineInput } from './machine.js';
import type { OpenTransport, TlsSetting } from './transport.js';

/** Options of a {@link Connection}. Only `host` and `port` are required. */
export interface ConnectionOptions {
  /** Server host name or address. */
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
  /** Framing dialect. Default `'etx'` (current servers). */
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
  /** Back-off between connect attempts. Default `{ initial: 100, multiplier: 2, max: 10 000, jitter: 0.5 }`. */
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

function positiveInteger(name: string, value: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
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

/** Checks every option and fills in the defaults. */
export function resolveConnectionOptions(options: ConnectionOptions) {
  if (typeof options !== 'object' || options === null) throw new TypeError('Connection: options must be an object');
  const { host, port } = options;
  if (typeof host !== 'string' || host.length === 0) throw new TypeError('host must be a non-empty string');
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${String(port)}`);
  }
  const reconnect = options.reconnect ?? true;
  if (typeof reconnect !== 'boolean') throw new TypeError('reconnect must be a boolean');
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
    dialect: resolveDialect(options.dialect),
    timeoutLimit: timerDuration('timeoutLimit', options.timeoutLimit ?? 10_000, false),
    pingInterval: timerDuration('pingInterval', options.pingInterval ?? 0, true),
    closeTimeout: timerDuration('closeTimeout', options.closeTimeout ?? 5_000, true),
    maxPending: positiveInteger('maxPending', options.maxPending ?? 100_000),
    keepAliveDelay: timerDuration('keepAliveDelay', options.keepAliveDelay ?? 30_000, true),
    machine,
  };
}

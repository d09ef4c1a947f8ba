/**
 * The errors only a fleet produces. Like every error of this library they
 * are `instanceof ZCachedError` and carry a stable `name`, a `code` and,
 * when there is one, a `cause`.
 *
 * | class | code | when |
 * |---|---|---|
 * | {@link ServerEjectedError} | `EEJECTED` | the key's server is ejected (fail-fast policy), or every server is (rehash policy) |
 * | {@link NoServerError} | `ENOSERVER` | the fleet has no server (none configured, all removed, or closed) |
 * | {@link CrossServerError} | `ECROSSSERVER` | `rename` / `copy` between keys of two different servers |
 * | {@link PartialFailureError} | `EPARTIAL` | `mget` / `mset`: the part of some servers failed (which keys, which server, why) |
 * | {@link FanOutError} | `EFANOUT` | `keys`, `dbsize`, `flush`, `ping`, `save`, `lastsave`: some server failed (every server's outcome) |
 *
 * @module
 */

import { rootCauseText } from '../connection/root-cause.js';
import { ZCachedError, type ZCachedErrorOptions } from '../errors.js';
import type { Reply } from '../protocol/values.js';

/** Options of {@link ServerEjectedError}: a `cause`, a whole `message` instead of the default, the fleet clock's reading. */
export interface ServerEjectedErrorOptions extends ZCachedErrorOptions {
  /** The message, instead of the one built from the server and its retry. */
  readonly message?: string;
  /**
   * The fleet's clock when the request was refused, in ms (the fleet's `now`
   * option; default `performance.now()`, the fleet's default clock): what
   * {@link ServerEjectedError.retryInMs} counts from.
   */
  readonly now?: number;
  /** `failover: 'rehash'`: every server is ejected, not only the key's (the message says so). */
  readonly everyServer?: boolean;
}

/**
 * The server that holds the key is ejected (after `failureLimit`
 * consecutive failures) and the fleet fails fast rather than read from or
 * write to another server. Nothing was sent. Code `EEJECTED`.
 *
 * The message says when the server is probed again: `server 10.0.0.1:7556
 * is ejected after repeated failures; it will be probed again in 12000 ms;
 * nothing was sent (last failure: connect ECONNREFUSED 10.0.0.1:7556)`;
 * `its probe is due now` once the retry timeout has run out, `a probe is
 * under way` while one runs. With `failover: 'rehash'` it is thrown only
 * when every server is ejected, and says so.
 */
export class ServerEjectedError extends ZCachedError {
  /** The ejected server's id. */
  readonly server: string;
  /** When it will be probed, in ms on the fleet's clock (the `now` option's; `undefined` while a probe runs). */
  readonly retryAt: number | undefined;
  /**
   * How long until it is probed, in ms from when the request was refused
   * (rounded, never below 0: 0 when the probe is due); `undefined` while a
   * probe runs. A request for its keys before then fails the same way
   * (with `failover: 'fail-fast'`).
   */
  readonly retryInMs: number | undefined;

  constructor(server: string, retryAt: number | undefined, options?: ServerEjectedErrorOptions) {
    const now = options?.now ?? performance.now();
    const retryInMs = retryAt === undefined ? undefined : Math.max(0, Math.round(retryAt - now));
    const next =
      retryInMs === undefined ? 'a probe is under way' : retryInMs === 0 ? 'its probe is due now' : `it will be probed again in ${retryInMs} ms`;
    super(
      'EEJECTED',
      options?.message ??
        (options?.everyServer === true
          ? `every server of the fleet is ejected (the key's server is ${server}: ${next}); nothing was sent`
          : `server ${server} is ejected after repeated failures; ${next}; nothing was sent`) +
          (options?.cause instanceof Error ? ` (last failure: ${rootCauseText(options.cause)})` : ''),
      options,
    );
    this.server = server;
    this.retryAt = retryAt;
    this.retryInMs = retryInMs;
  }
}

/** The fleet has no server to send to: none configured, all removed, or the fleet is closed. Code `ENOSERVER`. */
export class NoServerError extends ZCachedError {
  constructor(message = 'the fleet has no server', options?: ZCachedErrorOptions) {
    super('ENOSERVER', message, options);
  }
}

/**
 * A command on two keys (`rename`, `copy`) whose keys live on different
 * servers: a zcached server only sees its own keys. Give both keys the same
 * hash tag (`{user42}:old`, `{user42}:new`) to keep them together. Nothing
 * was sent. Code `ECROSSSERVER`.
 */
export class CrossServerError extends ZCachedError {
  /** Each key and the server that holds it. */
  readonly servers: ReadonlyMap<string, string>;

  constructor(command: string, servers: ReadonlyMap<string, string>) {
    const where = [...servers].map(([key, server]) => `${JSON.stringify(key)} on ${server}`).join(', ');
    super('ECROSSSERVER', `${command} needs its keys on one server, but they are on different servers (${where}); give them the same hash tag, e.g. {tag}:a and {tag}:b; nothing was sent`);
    this.servers = servers;
  }
}

/** What one server's part of a multi-key command came to, when it failed. */
export interface ServerFailure {
  /** The server's id. */
  readonly server: string;
  /** The keys that went to it, in the caller's order. */
  readonly keys: readonly string[];
  /** Why its part failed: a `ServerEjectedError`, `TimeoutError`, `ConnectionError`, `ServerError`, ... */
  readonly error: Error;
}

/**
 * `mget` or `mset` reached several servers and the part of at least one
 * failed. `failures` says, per server, which keys failed and why;
 * `failedKeys` lists them in the caller's order; for `mget`, `values` holds
 * what the other servers answered (in the caller's order). Keys of servers
 * that succeeded were read or written. Code `EPARTIAL`.
 */
export class PartialFailureError extends ZCachedError {
  /** `'MGET'` or `'MSET'`. */
  readonly command: string;
  /** Each failed server's part: its keys and the error. */
  readonly failures: ReadonlyMap<string, ServerFailure>;
  /** Every key whose server failed, in the caller's order (once each). */
  readonly failedKeys: readonly string[];
  /** `mget` only: the values of the keys whose servers answered (`null` for a missing key). */
  readonly values: ReadonlyMap<string, Reply>;

  constructor(command: string, failures: ReadonlyMap<string, ServerFailure>, failedKeys: readonly string[], values: ReadonlyMap<string, Reply> = new Map()) {
    const parts = [...failures.values()].map((failure) => `${failure.server} (${failure.keys.length} key${failure.keys.length === 1 ? '' : 's'}): ${failure.error.message}`);
    super('EPARTIAL', `${command}: ${failedKeys.length} key${failedKeys.length === 1 ? '' : 's'} failed on ${failures.size} server${failures.size === 1 ? '' : 's'}: ${parts.join('; ')}`, {
      cause: failures.size === 1 ? [...failures.values()][0]?.error : undefined,
    });
    this.command = command;
    this.failures = failures;
    this.failedKeys = failedKeys;
    this.values = values;
  }
}

/** One server's outcome of a command sent to every server (the shape of `PromiseSettledResult`). */
export type ServerOutcome<T> = { readonly status: 'fulfilled'; readonly value: T } | { readonly status: 'rejected'; readonly reason: Error };

/**
 * A command sent to every server (`keys`, `dbsize`, `flush`, `ping`,
 * `save`, `lastsave`) failed on at least one. `outcomes` holds every
 * server's outcome, successes included, so nothing is hidden; `failures`
 * only the failed ones. Code `EFANOUT`.
 */
export class FanOutError<T = unknown> extends ZCachedError {
  /** The command's name (`'DBSIZE'`). */
  readonly command: string;
  /** Every server's outcome, in fleet order. */
  readonly outcomes: ReadonlyMap<string, ServerOutcome<T>>;
  /** The servers that failed, and why. */
  readonly failures: ReadonlyMap<string, Error>;

  constructor(command: string, outcomes: ReadonlyMap<string, ServerOutcome<T>>) {
    const failures = new Map<string, Error>();
    for (const [server, outcome] of outcomes) if (outcome.status === 'rejected') failures.set(server, outcome.reason);
    const parts = [...failures].map(([server, error]) => `${server}: ${error.message}`);
    super('EFANOUT', `${command} failed on ${failures.size} of ${outcomes.size} servers: ${parts.join('; ')}`, {
      cause: failures.size === 1 ? [...failures.values()][0] : undefined,
    });
    this.command = command;
    this.outcomes = outcomes;
    this.failures = failures;
  }
}

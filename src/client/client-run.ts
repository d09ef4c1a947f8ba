/**
 * `ClientRun`: the start-and-stop state of a `ZCached` client. It holds the
 * `run()` shared by every caller (and what the last one rejected with), the
 * closed-for-good flag set by `close()`, and builds the errors that state
 * explains: a run in which no connection could connect, a command no
 * connection can take (run never called, run failed, client closed).
 *
 * It tells the client's events (client-events.ts) when a run starts and how
 * it ends, as they hold back the connections' `reconnecting` and `error`
 * events meanwhile.
 *
 * None of it runs per request: a command consults it only when the pool
 * has no connection to give.
 *
 * @module
 */

import { formatAddress } from '../connection/address.js';
import type { Connection } from '../connection/connection.js';
import type { CloseOptions } from '../connection/state.js';
import { rootCauseText } from '../connection/root-cause.js';
import { ConnectError, ConnectionClosedError, DialectMismatchError, PoolEmptyError } from '../errors.js';
import { poolHistory } from '../pool/messages.js';
import type { ConnectionPool } from '../pool/pool.js';
import type { RunEvents } from './client-events.js';

/** No-op run hooks, for a `ClientRun` whose client emits no events. */
const NO_EVENTS: RunEvents = { runStarted() {}, runResolved() {}, runRejected() {} };

/** Marks a promise's rejection as handled (its awaiters still get it). */
const ignore = (): void => {};

/** The run and close state of one client over its pool. */
export class ClientRun {
  readonly #pool: ConnectionPool<Connection>;
  /** The client's events, told when a run starts and ends. */
  readonly #events: RunEvents;
  /** The run in progress or done (shared by every `run()` call); cleared when it rejects. */
  #run: Promise<void> | undefined;
  /** What the last `run()` rejected with, until the next one starts. */
  #runFailure: Error | undefined;
  /** `close()` was called: the client is done for good. */
  #closed = false;
  /** The connections the first {@link close} closed (a later `close({ force: true })` hurries them). */
  #closing: readonly Connection[] | undefined;

  /** `events`: the client's event hooks (client-events.ts); none by default. */
  constructor(pool: ConnectionPool<Connection>, events: RunEvents = NO_EVENTS) {
    this.#pool = pool;
    this.#events = events;
  }

  /** `ZCached.run()`: the run in progress or done, a new one after a failure; rejects at once after {@link close}. */
  run(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError('run()'));
    this.#run ??= this.#start();
    return this.#run;
  }

  /**
   * `ZCached.close(options)` (checked): the client is done for good; closes the pool. A run in
   * progress then rejects (see {@link #start}); its promise is marked as
   * handled here, so a `run()` nobody awaited does not become an unhandled
   * rejection (whoever awaits it still gets the error).
   */
  close(options: CloseOptions = {}): Promise<void> {
    // The pool's close() takes no options and empties the pool: each connection gets them first,
    // and the first close's connections are kept for a later `force` to hurry.
    this.#closing ??= [...this.#pool.connections];
    if (options.force === true || options.timeout !== undefined) for (const connection of this.#closing) void connection.close(options);
    this.#closed = true;
    this.#run?.catch(ignore);
    return this.#pool.close();
  }

  /** The error of a command no connection can take: why, from the client's point of view. */
  unavailable(error: PoolEmptyError): Error {
    if (this.#closed) return closedError('commands');
    if (!this.#pool.isEmpty()) return error;
    if (this.#runFailure !== undefined) {
      return new PoolEmptyError(`no connection: run() failed and left nothing running; call run() again (${rootCauseText(this.#runFailure)})`, {
        cause: this.#runFailure,
      });
    }
    // A pool someone else set up (fromConnectionPool) and then emptied: the pool's message says why, not "run()".
    if (this.#run === undefined && this.#pool[poolHistory] === 'new') {
      return new PoolEmptyError(
        `no connection: run() was never called on this client; call \`await client.run()\` before sending commands (${error.message})`,
        { cause: error },
      );
    }
    return error;
  }

  async #start(): Promise<void> {
    this.#runFailure = undefined;
    this.#events.runStarted();
    try {
      // An empty pool is set up; one that already has connections (its owner set it up, or is doing so:
      // fromConnectionPool) keeps them, live ones are never replaced: the run waits for them instead.
      if (this.#pool.isEmpty()) await this.#pool.setup();
      else await connectionsSettled(this.#pool);
      if (this.#closed) {
        throw new ConnectError('run() did not finish: the client was closed while its pool was connecting', {
          cause: new ConnectionClosedError('close() was called while run() was connecting'),
        });
      }
      if (!this.#pool.isWorking()) {
        // A server of another generation than the dialect given: that, not "unreachable", is the news.
        const mismatch = this.#pool.connections.map((c) => c.lastError).find((e) => e instanceof DialectMismatchError);
        const error = mismatch ?? unreachableError(this.#pool);
        // Leave nothing behind: no reconnect timers, no sockets. A later run() starts afresh.
        await this.#pool.close();
        throw error;
      }
    } catch (error) {
      this.#run = undefined;
      this.#runFailure = error instanceof Error ? error : new Error(String(error));
      // The held events are dropped (nothing retries); the run's ConnectError replaces them, unless close() ended the run.
      this.#events.runRejected(error instanceof ConnectError && !this.#closed ? error : undefined);
      throw error;
    }
    this.#events.runResolved();
  }
}

/** Resolves once a connection of `pool` is connected or none is connecting any more (nothing is created or replaced). */
function connectionsSettled(pool: ConnectionPool<Connection>): Promise<void> {
  const settled = (): boolean => pool.isWorking() || !pool.connections.some((connection) => connection.state === 'connecting');
  if (settled()) return Promise.resolve();
  return new Promise((resolve) => {
    const unsubscribe = pool.subscribe(() => {
      if (!settled()) return;
      unsubscribe();
      resolve();
    });
  });
}

/** The ConnectError of a run in which no connection of `pool` could connect. */
function unreachableError(pool: ConnectionPool<Connection>): ConnectError {
  const connections = pool.connections;
  const first = connections[0];
  if (first === undefined) {
    return new ConnectError(`run() has nothing to connect: the pool has no connection (poolSize ${pool.poolSize})`);
  }
  const cause = connections.find((c) => c.lastError !== undefined)?.lastError;
  const count = connections.length;
  const address = formatAddress(first.host, first.port);
  // The root cause (`connect ECONNREFUSED ...`, `getaddrinfo ENOTFOUND ...`) ends the message; the chain stays in `cause`.
  return new ConnectError(
    `cannot reach the zcached server at ${address}: ` +
      `${count === 1 ? 'the connection could not connect' : `none of the ${count} connections could connect`}; ` +
      `the pool was closed, nothing is left running: call run() again to retry${cause === undefined ? '' : ` (${rootCauseText(cause)})`}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The error of `run()` or a command on a closed client. */
function closedError(what: string): ConnectionClosedError {
  return new ConnectionClosedError(`the client was closed: ${what} cannot be used any more; create a new ZCached`);
}

/**
 * `ConnectionPool`: the thin shell around `poolReducer` (reducer.ts): the pool's
 * public operations, its events, and the choice of a connection per
 * request. It owns the real connection objects; running the reducer,
 * performing the effects it asks for (create, connect, reconnect, close)
 * and feeding every connection state change back in as an action is
 * `PoolRunner`'s part (pool-runner.ts).
 *
 * The per-request path, {@link ConnectionPool.getLeastLoadedConnection}
 * and {@link ConnectionPool.getConnectionForRequest}, reads the live
 * connections directly and never runs the reducer.
 *
 * @module
 */

import { Listeners, type Unsubscribe } from '../events.js';
import { encodedSizeExceeds } from '../protocol/request-size.js';
import { runInBackground } from './background.js';
import { assertInteger, assertSize, checkPoolOptions, describe, isIterable, type ConnectionPoolOptions } from './checks.js';
import { Members, type PoolEvent } from './membership.js';
import { noneAvailableMessage, noneConnectedMessage, poolEmptyError, poolHistory, type PoolHistory } from './messages.js';
import type { PoolConnection } from './pool-connection.js';
import { PoolRunner } from './pool-runner.js';
import * as select from './selectors.js';

export type { PoolEvent } from './membership.js';
export type { ConnectionPoolOptions } from './checks.js';

/** The rotation counter wraps here, long before it could lose integer precision. */
const ROTATION_LIMIT = 0x3fff_ffff;

/**
 * After this many large requests in a row (no small one between), large
 * ones may take idle connections past `largeRequestConnections`: nothing
 * suggests small requests are around (a bulk load of large values).
 */
const SPREAD_AFTER_LARGE = 8;

/**
 * A pool of connections to zcached servers, mirroring the Python client's
 * `ConnectionPool` in camelCase.
 *
 * Every lifecycle operation runs through a pure reducer, so the pool stays
 * consistent whatever the interleaving: `close()` during `setup()` or
 * `reconnect()` resolves and leaves nothing open, and a connection removed
 * while it is still connecting is closed. No operation rejects because a
 * server is unreachable: such connections are simply broken.
 *
 * ```ts
 * const pool = new ConnectionPool(4, () => new Connection({ host, port }));
 * await pool.setup();
 * const connection = pool.getLeastLoadedConnection();
 * ```
 *
 * @typeParam C - the connection type the factory creates.
 */
export class ConnectionPool<C extends PoolConnection = PoolConnection> implements select.PoolView<C> {
  readonly #connectionFactory: () => C;
  readonly #events = new Listeners<PoolEvent<C>>();
  /** The connections, by id and in state order (a plain array for the per-request scan). */
  readonly #members = new Members<C>();
  /** The reducer, its state and its effects (pool-runner.ts). */
  readonly #runner: PoolRunner<C>;
  /** Start of the next least-loaded scan: the live counterpart of `PoolState.rotation`. */
  #rotation = 0;
  /** The setup in progress, shared by every `setup()` call made meanwhile. */
  #setup: Promise<void> | undefined;
  /** Whether the pool was ever set up or closed, for the messages of an empty pool. */
  #history: PoolHistory = 'new';
  /** `largeRequestConnections`, when given. */
  readonly #largeRequestConnections: number | undefined;
  /** Large requests routed in a row, no small one between (see `select.forLargeRequest`'s `spread`). */
  #largeInARow = 0;

  /**
   * Creates an empty pool; call {@link ConnectionPool.setup} to fill it.
   *
   * @param poolSize - how many connections the pool aims for; a non-negative integer.
   * @param connectionFactory - returns a new, idle connection each time it is called.
   * @param options - see {@link ConnectionPoolOptions}
   * @throws TypeError when `poolSize` is not a number, `connectionFactory` not a function,
   *   or `options` not an object with known keys.
   * @throws RangeError when `poolSize` is not a non-negative integer, or
   *   `largeRequestConnections` not a positive integer.
   */
  constructor(poolSize: number, connectionFactory: () => C, options?: ConnectionPoolOptions) {
    assertSize(poolSize, 'poolSize');
    if (typeof connectionFactory !== 'function') {
      throw new TypeError(`connectionFactory must be a function, got ${describe(connectionFactory)}`);
    }
    this.#largeRequestConnections = checkPoolOptions(options);
    this.#connectionFactory = connectionFactory;
    this.#runner = new PoolRunner(poolSize, connectionFactory, this.#members, this.#events);
  }

  /** The size the pool aims for. */
  get poolSize(): number {
    return this.#runner.state.poolSize;
  }

  /** The function that creates new connections. */
  get connectionFactory(): () => C {
    return this.#connectionFactory;
  }

  /** Every connection in the pool, in the order they joined. */
  get connections(): readonly C[] {
    return this.#members.view;
  }

  /** The connected connections. */
  get connectedConnections(): readonly C[] {
    return Object.freeze(select.connected(this.#members.list));
  }

  /** The broken connections: every one that is not connected (idle, connecting, broken or closed). */
  get brokenConnections(): readonly C[] {
    return Object.freeze(select.broken(this.#members.list));
  }

  /** Internal ({@link poolHistory}): whether the pool was ever set up or closed. */
  get [poolHistory](): PoolHistory {
    return this.#history;
  }

  /** True when the pool has no connection. */
  isEmpty(): boolean {
    return select.isEmpty(this);
  }

  /** True when the pool has at least `poolSize` connections. */
  isFull(): boolean {
    return select.isFull(this);
  }

  /** True when at least one connection is connected. */
  isWorking(): boolean {
    return select.isWorking(this);
  }

  /**
   * Creates `poolSize` connections with the factory and connects them all
   * in parallel. Connections the pool already has are removed and closed
   * first. Resolves when every new connection has connected or used up its
   * attempts; unreachable servers leave broken connections, not a rejection.
   *
   * Calls made while a setup is in progress share it: they return the same
   * promise, and nothing is created or closed again (so two lazy
   * initialisations at once do not close each other's connections). A call
   * after it has settled sets the pool up anew, as after {@link close}.
   *
   * @throws (rejects) whatever the factory throws, or a TypeError / RangeError
   *   when it returns something that is not a connection or whose id is
   *   already in the pool; the connections created by that call are closed.
   */
  setup(): Promise<void> {
    if (this.#setup !== undefined) return this.#setup;
    this.#history = 'setUp';
    const setup = this.#runner.dispatch({ type: 'setup' }).finally(() => {
      if (this.#setup === setup) this.#setup = undefined;
    });
    this.#setup = setup;
    return setup;
  }

  /**
   * Closes every connection (connected, connecting or broken; no reconnect
   * is left running) and empties the pool; `poolSize` stays. Pending
   * requests are settled by each connection's own close. Resolves when all
   * are closed.
   */
  async close(): Promise<void> {
    // A setup() from now on is a new one, not the one this close ends.
    this.#setup = undefined;
    this.#history = 'closed';
    await this.#runner.dispatch({ type: 'close' });
  }

  /**
   * Creates `size` more connections with the factory and connects them; the
   * pool size grows to the number of connections if that is larger.
   * Resolves when the new ones have connected or failed.
   *
   * @param size - a non-negative integer.
   * @throws (rejects) TypeError / RangeError for a bad `size`; see {@link ConnectionPool.setup} for factory failures.
   */
  async extendPoolBySize(size: number): Promise<void> {
    assertSize(size, 'size');
    await this.#runner.dispatch({ type: 'extendBySize', size });
  }

  /**
   * Adds existing connections and connects them: idle ones get `connect()`,
   * broken ones `tryReconnect()`, the others are left as they are (a closed
   * one stays broken until a cleanup or a reduce removes it). The pool
   * size grows to the number of connections if that is larger. Resolves when
   * the new ones have connected or failed.
   *
   * @param connections - an iterable of connections whose ids are not in the pool yet.
   * @throws (rejects) TypeError when `connections` is not an iterable of
   *   connections, RangeError when an id is repeated or already in the pool.
   *   Nothing is added then.
   */
  async extendPoolByConnections(connections: Iterable<C>): Promise<void> {
    if (!isIterable(connections)) {
      throw new TypeError(`connections must be an iterable of connections, got ${describe(connections)}`);
    }
    const joining: C[] = [];
    const ids = new Set<string>();
    for (const connection of connections) {
      this.#runner.assertJoinable(connection, ids, `connections[${joining.length}]`);
      joining.push(connection);
      ids.add(connection.id);
    }
    await this.#runner.add(joining);
  }

  /**
   * Shrinks the pool by `amount` (nothing happens when `amount <= 0`),
   * towards `max(0, poolSize - amount)` connections. Non-connected
   * connections go first, then connected ones with no pending request.
   * Connections with pending requests go only when `deletePendingConnections`
   * is true, fewest pending first, and are closed with `{ force: true }`, so
   * their requests are rejected with a `ConnectionClosedError`.
   *
   * When the target cannot be reached, the pool size becomes the number of
   * connections left; otherwise it becomes the target. Removed connections
   * leave `connections` at once; resolves when they are closed.
   *
   * @param amount - an integer.
   * @param deletePendingConnections - also remove connections with pending requests. Not recommended.
   * @throws (rejects) TypeError / RangeError for a bad argument.
   */
  async reducePoolConnections(amount: number, deletePendingConnections = false): Promise<void> {
    assertInteger(amount, 'amount');
    if (typeof deletePendingConnections !== 'boolean') {
      throw new TypeError(`deletePendingConnections must be a boolean, got ${describe(deletePendingConnections)}`);
    }
    if (amount <= 0) return;
    void this.#runner.dispatch({
      type: 'pendingSnapshot',
      pendingRequests: new Map(this.#members.list.map((connection) => [connection.id, connection.pendingRequests])),
    });
    await this.#runner.dispatch({ type: 'reduce', amount, deletePendingConnections });
  }

  /** Removes and closes every connection that is not connected; the pool size stays. Resolves when they are closed. */
  async cleanupBrokenConnections(): Promise<void> {
    await this.#runner.dispatch({ type: 'cleanup' });
  }

  /**
   * Reconnects, in parallel with `tryReconnect()`, the connections that are
   * not connected, or every connection when `onlyBrokenConnections` is
   * false. Closed connections are skipped: they cannot reconnect.
   *
   * @returns the number of connected connections once every attempt has settled.
   */
  async reconnect(onlyBrokenConnections = true): Promise<number> {
    await this.#runner.dispatch({ type: 'reconnect', onlyBrokenConnections });
    return select.connected(this.#members.list).length;
  }

  /**
   * The connected connection with the fewest pending requests. Ties are
   * spread: each call starts its scan one position further on.
   *
   * O(n) over the live connections, no sorting, no allocation; it reads
   * `state` and `pendingRequests` directly and never runs the reducer.
   *
   * @throws PoolEmptyError (a RangeError, code `EPOOLEMPTY`) when no
   *   connection is connected; its message says what each connection is
   *   doing (connecting, waiting to retry, resting and retrying in ~T ms,
   *   given up, closed), or why the pool is empty (setup() never called,
   *   closed), and its `cause` is a connection's last failure.
   */
  getLeastLoadedConnection(): C {
    const start = this.#rotation;
    this.#rotation = start === ROTATION_LIMIT ? 0 : start + 1;
    const connection = select.leastLoaded(this.#members.list, start);
    if (connection === undefined) throw poolEmptyError(noneConnectedMessage(this.#members.list, this.#history, this.poolSize), this.#members.list);
    return connection;
  }

  /**
   * The connection a request should go to now: the least-loaded connected
   * one, as {@link getLeastLoadedConnection}; when none is connected, the one
   * that will be connected soonest (see `poolSelectors.soonestToConnect`): a
   * connect attempt running (fewest pending first), else the shortest
   * back-off wait or rest left ({@link PoolConnection.nextAttemptIn}). A
   * request handed to such a connection waits in its queue, at most its
   * timeout.
   *
   * Given the `command`, a request over one write for the connections' send
   * policy (`largeRequestBytes`: 1400 bytes on a current server) goes where
   * large requests are already held, and to at most
   * {@link largeRequestConnections} connections while small requests are
   * around (see `poolSelectors.forLargeRequest`); small ones pass over
   * connections a large request holds. Without it, or without a write
   * limit, every request goes to the least-loaded connection.
   *
   * O(n), no allocation, never runs the reducer; sizing a command reads
   * string lengths (UTF-8 lengths only near the limit).
   *
   * @param command - the request about to be sent, to route it by size
   * @throws TypeError when `command` is given and is not an array
   *
   * @throws PoolEmptyError when no connection is connected or will connect
   *   by itself (every one idle, given up with `reconnect: false`, closing or
   *   closed, or none at all); its message says what each one is doing, or
   *   why the pool is empty.
   */
  getConnectionForRequest(command?: readonly unknown[]): C {
    const start = this.#rotation;
    this.#rotation = start === ROTATION_LIMIT ? 0 : start + 1;
    const list = this.#members.list;
    let connection: C | undefined;
    if (command !== undefined && !Array.isArray(command)) {
      throw new TypeError(`getConnectionForRequest: command must be an array such as ['GET', 'key'] (or nothing), got ${describe(command)}`);
    }
    if (command !== undefined && this.#isLarge(command, list)) {
      connection = select.forLargeRequest(list, start, this.largeRequestConnections, this.#largeInARow >= SPREAD_AFTER_LARGE);
      if (this.#largeInARow < SPREAD_AFTER_LARGE) this.#largeInARow++;
    } else {
      connection = select.leastLoaded(list, start);
      this.#largeInARow = 0;
    }
    connection ??= select.soonestToConnect(list, start);
    if (connection === undefined) throw poolEmptyError(noneAvailableMessage(this.#members.list, this.#history, this.poolSize), this.#members.list);
    return connection;
  }

  /**
   * How many connections requests larger than one write may hold at once:
   * the `largeRequestConnections` option, else a quarter of `poolSize`, at least 1.
   */
  get largeRequestConnections(): number {
    return this.#largeRequestConnections ?? Math.max(1, Math.floor(this.poolSize / 4));
  }

  /** True when `command` is over one write for the first connected connection's send policy. */
  #isLarge(command: readonly unknown[], list: readonly C[]): boolean {
    for (let i = 0; i < list.length; i++) {
      const connection = list[i]!;
      if (connection.state !== 'connected') continue;
      const limit = connection.largeRequestBytes;
      return limit !== undefined && limit !== Infinity && encodedSizeExceeds(command, limit);
    }
    return false;
  }

  /**
   * Listens to pool changes: connections added or removed, connection state
   * changes and pool size changes. Returns the function that unsubscribes.
   */
  subscribe(listener: (event: PoolEvent<C>) => void): Unsubscribe {
    return this.#events.subscribe(listener);
  }

  /** Closes the pool, for `await using pool = new ConnectionPool(...)`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs `fn(...args)` on a later turn of the event loop (`setImmediate`),
   * without blocking the caller. The returned promise settles with its
   * result, or rejects with what it threw or rejected with; left unobserved,
   * that rejection is not reported as an unhandled rejection.
   */
  static runInBackground<A extends readonly unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R> {
    return runInBackground(fn, ...args);
  }

  /**
   * The Python client's `run_in_thread`, kept under its name. Node has no
   * shared-memory threads that could use these sockets, so this is the
   * event-loop equivalent: an alias of {@link ConnectionPool.runInBackground}.
   */
  static runInThread<A extends readonly unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R> {
    return ConnectionPool.runInBackground(fn, ...args);
  }
}

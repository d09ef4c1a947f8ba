/**
 * Pure questions about a pool. Every selector is generic over
 * {@link LoadedConnection}, so the same code answers them for reducer entries
 * ({@link PoolEntry}) and for live connection objects; `ConnectionPool` and
 * the tests share it.
 *
 * @module
 */

import type { ConnectionState } from '../connection/state.js';
import type { PoolEntry, PoolState } from './state.js';

/** The two things the selectors look at in a connection. */
export interface LoadedConnection {
  /** Lifecycle state; only `connected` counts as working. */
  readonly state: ConnectionState;
  /** Requests not settled yet. */
  readonly pendingRequests: number;
  /**
   * A large request holds it (the `'etx'` send policy writes a request over
   * one segment alone, a round trip or more): absent counts as false.
   */
  readonly blocked?: boolean;
}

/**
 * What a blocked connection's load counts for in {@link leastLoaded}: more
 * than any real queue, so that a connection a large request holds gets new
 * requests only when every connected one is blocked (then by pending count).
 */
const BLOCKED_LOAD = 2 ** 30;

/** A pool seen from outside: its size and its connections. `PoolState` and `ConnectionPool` both are one. */
export interface PoolView<T extends LoadedConnection> {
  /** The size the pool aims for. */
  readonly poolSize: number;
  /** Every connection in the pool. */
  readonly connections: readonly T[];
}

/** True when the connection is `connected`. */
export function isConnected(connection: LoadedConnection): boolean {
  return connection.state === 'connected';
}

/** The connected connections, in pool order. */
export function connected<T extends LoadedConnection>(connections: readonly T[]): T[] {
  return connections.filter(isConnected);
}

/** The broken connections: every one that is not connected (idle, connecting, broken, closed), in pool order. */
export function broken<T extends LoadedConnection>(connections: readonly T[]): T[] {
  return connections.filter((connection) => !isConnected(connection));
}

/**
 * A connected connection with the fewest pending requests, or `undefined`
 * when none is connected. A connection that a large request holds
 * ({@link LoadedConnection.blocked}) is chosen only when every connected one
 * is: small requests do not queue behind a large one while another
 * connection can write them now.
 *
 * The scan starts at index `start` (taken modulo the length) and wraps
 * around; among equally loaded connections the first one met wins, so a
 * caller that moves `start` on at every call spreads ties over all of them.
 * It stops early at a connection with no pending request.
 *
 * O(n), no sorting and no allocation: this runs on every request.
 *
 * @param start - a non-negative integer; any value works, the scan position is `start % length`.
 */
export function leastLoaded<T extends LoadedConnection>(connections: readonly T[], start = 0): T | undefined {
  const count = connections.length;
  if (count === 0) return undefined;
  let index = start % count;
  if (index < 0) index += count;
  let best: T | undefined;
  let bestPending = Infinity;
  for (let seen = 0; seen < count; seen++) {
    const connection = connections[index]!;
    if (connection.state === 'connected') {
      const pending = connection.blocked === true ? BLOCKED_LOAD + connection.pendingRequests : connection.pendingRequests;
      if (pending < bestPending) {
        best = connection;
        bestPending = pending;
        if (pending === 0) break;
      }
    }
    index = index + 1 === count ? 0 : index + 1;
  }
  return best;
}

/**
 * The connection a request larger than one write should go to (the
 * `'etx'` send policy writes it alone, a round trip each; see
 * {@link LoadedConnection.blocked}), so that large requests share a few
 * connections and the others stay free for small ones. The connections
 * large requests use ("lanes") are the first `maxHeld` held ones in pool
 * order: when more are held (a burst of large requests spread them), the
 * others get no new large request, empty, and go back to small ones.
 *
 * 0. with `spread` (no small request is around to be displaced: a bulk load
 *    of large values), the connected connection with the fewest pending
 *    requests, held or not: the whole pool carries the load;
 * 1. else a lane with nothing pending (it writes the request at once);
 * 2. else, while fewer than `maxHeld` connections are held, one more: the
 *    least-loaded one, scanning from `start` (its small requests go out
 *    first, then the large one alone);
 * 3. else the lane with the fewest pending requests;
 * 4. `undefined` when none is connected.
 *
 * O(n), no allocation.
 *
 * @param start - where the scan for a new connection starts (modulo the length), as in {@link leastLoaded}
 * @param maxHeld - how many connections large requests may hold at once
 *   (an integer >= 1; at least one is always used)
 * @param spread - no small request was routed lately (see `ConnectionPool`):
 *   any connection may take the request, the least loaded first
 */
export function forLargeRequest<T extends LoadedConnection>(
  connections: readonly T[],
  start: number,
  maxHeld: number,
  spread = false,
): T | undefined {
  const count = connections.length;
  if (count === 0) return undefined;
  let index = start % count;
  if (index < 0) index += count;
  if (spread) {
    let best: T | undefined;
    for (let seen = 0; seen < count; seen++) {
      const connection = connections[index]!;
      if (connection.state === 'connected' && (best === undefined || connection.pendingRequests < best.pendingRequests)) best = connection;
      index = index + 1 === count ? 0 : index + 1;
    }
    return best;
  }
  const lanes = Math.max(1, maxHeld);
  let held = 0;
  let bestLane: T | undefined;
  for (let i = 0; i < count; i++) {
    const connection = connections[i]!;
    if (connection.state !== 'connected' || connection.blocked !== true) continue;
    held++;
    if (held <= lanes && (bestLane === undefined || connection.pendingRequests < bestLane.pendingRequests)) bestLane = connection;
  }
  if (bestLane !== undefined && bestLane.pendingRequests === 0) return bestLane;
  let bestOther: T | undefined;
  for (let seen = 0; seen < count; seen++) {
    const connection = connections[index]!;
    if (connection.state === 'connected' && connection.blocked !== true && (bestOther === undefined || connection.pendingRequests < bestOther.pendingRequests)) {
      bestOther = connection;
    }
    index = index + 1 === count ? 0 : index + 1;
  }
  if (bestOther !== undefined && held < lanes) return bestOther;
  return bestLane ?? bestOther;
}

/** A connection as {@link soonestToConnect} sees it. */
export interface ReconnectingConnection extends LoadedConnection {
  /**
   * ms until its next connect attempt starts by itself (0: one is running);
   * `undefined` when none will. When the member is absent, a `connecting`
   * connection counts as 0 and any other as `undefined`.
   */
  readonly nextAttemptIn?: number | undefined;
}

/** When `connection` starts its next connect attempt by itself, in ms from now; `undefined` for never. */
export function nextAttemptIn(connection: ReconnectingConnection): number | undefined {
  if ('nextAttemptIn' in connection) return connection.nextAttemptIn;
  return connection.state === 'connecting' ? 0 : undefined;
}

/**
 * Where a request should wait when no connection is connected: the
 * connection whose next connect attempt starts soonest (an attempt running
 * counts as 0 ms, then a back-off wait, then a rest after a failed run, by
 * the time left), fewer pending requests first among equals; `undefined`
 * when none will connect by itself.
 *
 * The scan starts at index `start` (modulo the length), so equal candidates
 * take turns as in {@link leastLoaded}. O(n), no allocation.
 *
 * @param start - a non-negative integer; any value works, the scan position is `start % length`.
 */
export function soonestToConnect<T extends ReconnectingConnection>(connections: readonly T[], start = 0): T | undefined {
  const count = connections.length;
  if (count === 0) return undefined;
  let index = start % count;
  if (index < 0) index += count;
  let best: T | undefined;
  let bestIn = Infinity;
  let bestPending = Infinity;
  for (let seen = 0; seen < count; seen++) {
    const connection = connections[index]!;
    const wait = nextAttemptIn(connection);
    if (wait !== undefined && (wait < bestIn || (wait === bestIn && connection.pendingRequests < bestPending))) {
      best = connection;
      bestIn = wait;
      bestPending = connection.pendingRequests;
    }
    index = index + 1 === count ? 0 : index + 1;
  }
  return best;
}

/** The least-loaded connected entry of a pool state, scanning from its rotation. */
export function nextLeastLoaded(state: PoolState): PoolEntry | undefined {
  return leastLoaded(state.connections, state.rotation);
}

/** True when the pool has no connection at all. */
export function isEmpty(pool: PoolView<LoadedConnection>): boolean {
  return pool.connections.length === 0;
}

/** True when the pool has at least `poolSize` connections. */
export function isFull(pool: PoolView<LoadedConnection>): boolean {
  return pool.connections.length >= pool.poolSize;
}

/** True when at least one connection is connected. */
export function isWorking(pool: PoolView<LoadedConnection>): boolean {
  return pool.connections.some(isConnected);
}

/**
 * The connections a reduce may remove, in the order it removes them:
 * not-connected ones before connected ones, and within each group fewer
 * pending requests first (ties keep pool order). Connections with pending
 * requests are left out unless `deletePendingConnections` is true.
 */
export function removalOrder<T extends LoadedConnection>(
  connections: readonly T[],
  deletePendingConnections: boolean,
): T[] {
  const eligible = deletePendingConnections
    ? connections
    : connections.filter((connection) => connection.pendingRequests === 0);
  const byLoad = (a: T, b: T): number => a.pendingRequests - b.pendingRequests;
  return [...broken(eligible).sort(byLoad), ...connected(eligible).sort(byLoad)];
}

/**
 * The messages of the pool's {@link PoolEmptyError}s: they say why no
 * connection can take a request, connection by connection, so that the
 * error tells what the pool will do next; and the error itself. Pure.
 *
 * @module
 */

import { PoolEmptyError } from '../errors.js';
import type { PoolConnection } from './pool-connection.js';

/** What the pool shell has done so far, for the message of an empty pool. */
export type PoolHistory = 'new' | 'setUp' | 'closed';

/**
 * Internal: the key of `ConnectionPool`'s {@link PoolHistory} getter, for a
 * client over a pool it did not make (what to say when the pool is empty).
 */
export const poolHistory: unique symbol = Symbol('zcached.poolHistory');

/** Connections described one by one in a message; the rest are counted. */
const LISTED = 4;

/** One sentence per connection (its `describeState()`, else its id and state), the first few of them. */
export function describeConnections(connections: readonly PoolConnection[]): string {
  const listed = connections.slice(0, LISTED).map((connection) =>
    typeof connection.describeState === 'function' ? connection.describeState() : `connection ${connection.id} is ${connection.state}`,
  );
  const more = connections.length - listed.length;
  return listed.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** Why a pool without a single connection is so. */
export function emptyPoolMessage(history: PoolHistory, poolSize: number): string {
  switch (history) {
    case 'new':
      return 'the connection pool has no connection: setup() was never called';
    case 'closed':
      return 'the connection pool has no connection: it was closed (setup() fills it again)';
    case 'setUp':
      return `the connection pool has no connection (poolSize ${poolSize}): they were removed (reducePoolConnections, cleanupBrokenConnections); extendPoolBySize(n) adds new ones`;
  }
}

/** The message of `getLeastLoadedConnection()` when no connection is connected. */
export function noneConnectedMessage(connections: readonly PoolConnection[], history: PoolHistory, poolSize: number): string {
  if (connections.length === 0) return emptyPoolMessage(history, poolSize);
  return `no connection of the pool is connected: ${describeConnections(connections)}`;
}

/** The message of `getConnectionForRequest()` when no connection is connected or will connect by itself. */
export function noneAvailableMessage(connections: readonly PoolConnection[], history: PoolHistory, poolSize: number): string {
  if (connections.length === 0) return emptyPoolMessage(history, poolSize);
  return `no connection of the pool is connected or will connect by itself: ${describeConnections(connections)}`;
}

/** A PoolEmptyError with `message`, its cause a connection's last failure (the first one found). */
export function poolEmptyError(message: string, connections: readonly PoolConnection[]): PoolEmptyError {
  let cause: Error | undefined;
  for (const connection of connections) {
    cause = connection.lastError;
    if (cause !== undefined) break;
  }
  return new PoolEmptyError(message, cause === undefined ? undefined : { cause });
}

/**
 * The connection pool: the `ConnectionPool` shell, and the pure reducer,
 * state types and selectors it is built on (exported for tests and models).
 *
 * @module
 */

export { ConnectionPool, type PoolEvent } from './pool.js';
export type { PoolConnection } from './pool-connection.js';
export { poolReducer } from './reducer.js';
/** Pure selectors over pool state or live connections: `connected`, `broken`, `leastLoaded`, `isFull`, ... */
export * as poolSelectors from './selectors.js';
export type { LoadedConnection, PoolView, ReconnectingConnection } from './selectors.js';
export {
  initialPoolState,
  type PoolAction,
  type PoolEffect,
  type PoolEntry,
  type PoolState,
  type PoolTransition,
} from './state.js';

/**
 * The pool as plain, immutable data: its state, the actions that change it,
 * and the effects a change asks the outside world to perform.
 *
 * {@link poolReducer} turns `(state, action)` into `[state, effects]`;
 * `ConnectionPool` keeps the real connection objects, performs the effects
 * and feeds what the connections do back in as actions.
 *
 * @module
 */

import type { ConnectionState } from '../connection/state.js';

/** One connection as the pool state sees it. */
export interface PoolEntry {
  /** The connection's id, unique within the pool. */
  readonly id: string;
  /** Its lifecycle state, kept current by `stateChanged` actions. */
  readonly state: ConnectionState;
  /**
   * Its pending requests as of the last `pendingSnapshot` action (or as of
   * `added`). The pool does not track every request here: the shell takes a
   * snapshot right before an action that needs the counts.
   */
  readonly pendingRequests: number;
}

/** The whole pool, as data. */
export interface PoolState {
  /** The size the pool aims for; never negative. */
  readonly poolSize: number;
  /** The connections, in the order they joined; ids are unique. */
  readonly connections: readonly PoolEntry[];
  /**
   * Where the next least-loaded scan over this state starts, so that equally
   * loaded connections take turns without any randomness in the reducer.
   * Advanced by the `leastLoadedChosen` action.
   */
  readonly rotation: number;
}

/**
 * An event or a request the pool reacts to.
 *
 * - `setup`: drop every connection (they get closed) and create `poolSize` new ones.
 * - `added`: connections joined, created by the factory or given by the user;
 *   the pool size grows to fit them. Idle ones get connected, broken ones reconnected.
 * - `extendBySize`: create `size` more connections.
 * - `reduce`: shrink the pool by `amount` (see `poolSelectors.removalOrder` for which go first).
 * - `cleanup`: drop every connection that is not connected; the pool size stays.
 * - `reconnect`: reconnect the not-connected connections, or all of them.
 * - `close`: drop every connection; the pool size stays, so `setup` can run again.
 * - `stateChanged`: a connection moved to another lifecycle state. Unknown ids are ignored.
 * - `pendingSnapshot`: the current pending-request counts, by id. Missing ids keep their count.
 * - `leastLoadedChosen`: a least-loaded choice was made over this state; the next one starts further on.
 *
 * Preconditions (checked by `ConnectionPool`, not here): sizes and amounts are
 * integers, sizes are non-negative.
 */
export type PoolAction =
  | { readonly type: 'setup' }
  | { readonly type: 'added'; readonly connections: readonly PoolEntry[] }
  | { readonly type: 'extendBySize'; readonly size: number }
  | { readonly type: 'reduce'; readonly amount: number; readonly deletePendingConnections: boolean }
  | { readonly type: 'cleanup' }
  | { readonly type: 'reconnect'; readonly onlyBrokenConnections: boolean }
  | { readonly type: 'close' }
  | { readonly type: 'stateChanged'; readonly id: string; readonly state: ConnectionState }
  | { readonly type: 'pendingSnapshot'; readonly pendingRequests: ReadonlyMap<string, number> }
  | { readonly type: 'leastLoadedChosen' };

/**
 * Work the reducer asks the shell to do. Lists of ids are never empty.
 *
 * - `create`: call the connection factory `count` times and report the new
 *   connections with an `added` action.
 * - `connect`: call `connect()` on these connections (they are idle).
 * - `reconnect`: call `tryReconnect()` on these connections (none is closed).
 * - `close`: call `close()` on these connections, with `{ force: true }` when
 *   `force` is set. They have already left the state.
 */
export type PoolEffect =
  | { readonly type: 'create'; readonly count: number }
  | { readonly type: 'connect'; readonly ids: readonly string[] }
  | { readonly type: 'reconnect'; readonly ids: readonly string[] }
  | { readonly type: 'close'; readonly ids: readonly string[]; readonly force: boolean };

/** What one reducer step returns: the next state and the effects to perform, in order. */
export type PoolTransition = readonly [state: PoolState, effects: readonly PoolEffect[]];

/** The state of a pool of size `poolSize` that has no connection yet. */
export function initialPoolState(poolSize: number): PoolState {
  return { poolSize, connections: [], rotation: 0 };
}

/**
 * The pool's decisions, as one pure function. No I/O, no clock, no
 * randomness: the same state and action always give the same result, and
 * the input state is never modified.
 *
 * @module
 */

import { broken, removalOrder } from './selectors.js';
import type { PoolAction, PoolEffect, PoolEntry, PoolState, PoolTransition } from './state.js';

/**
 * Computes the pool's next state and the effects the shell must perform.
 * See {@link PoolAction} for what each action means and {@link PoolEffect}
 * for what each effect asks for.
 *
 * Every connection that leaves the state gets a `close` effect in the same
 * step; `force` is set only for those removed with pending requests.
 */
export function poolReducer(state: PoolState, action: PoolAction): PoolTransition {
  switch (action.type) {
    case 'setup':
      return [
        { ...state, connections: [] },
        [...closeEffects(state.connections, false), ...createEffects(state.poolSize)],
      ];

    case 'added': {
      const known = new Set(state.connections.map((entry) => entry.id));
      const joining = action.connections.filter((entry) => {
        if (known.has(entry.id)) return false;
        known.add(entry.id);
        return true;
      });
      if (joining.length === 0) return [state, []];
      const connections = [...state.connections, ...joining];
      return [
        { ...state, connections, poolSize: Math.max(state.poolSize, connections.length) },
        [
          ...idsEffect('connect', joining.filter((entry) => entry.state === 'idle')),
          ...idsEffect('reconnect', joining.filter((entry) => entry.state === 'broken')),
        ],
      ];
    }

    case 'extendBySize':
      return [state, createEffects(action.size)];

    case 'reduce':
      return reduce(state, action.amount, action.deletePendingConnections);

    case 'cleanup': {
      const leaving = broken(state.connections);
      if (leaving.length === 0) return [state, []];
      return [
        { ...state, connections: state.connections.filter((entry) => entry.state === 'connected') },
        closeEffects(leaving, false),
      ];
    }

    case 'reconnect': {
      const candidates = action.onlyBrokenConnections ? broken(state.connections) : state.connections;
      return [state, idsEffect('reconnect', candidates.filter((entry) => entry.state !== 'closed'))];
    }

    case 'close':
      if (state.connections.length === 0) return [state, []];
      return [{ ...state, connections: [] }, closeEffects(state.connections, false)];

    case 'stateChanged': {
      const index = state.connections.findIndex((entry) => entry.id === action.id);
      const entry = state.connections[index];
      if (entry === undefined || entry.state === action.state) return [state, []];
      return [{ ...state, connections: state.connections.with(index, { ...entry, state: action.state }) }, []];
    }

    case 'pendingSnapshot': {
      const counts = action.pendingRequests;
      const connections = state.connections.map((entry) => {
        const pendingRequests = counts.get(entry.id);
        return pendingRequests === undefined || pendingRequests === entry.pendingRequests
          ? entry
          : { ...entry, pendingRequests };
      });
      return [{ ...state, connections }, []];
    }

    case 'leastLoadedChosen':
      return [{ ...state, rotation: state.rotation + 1 }, []];
  }
}

/**
 * Shrinks the pool towards `poolSize - amount`, removing connections in
 * {@link removalOrder}. When not enough connections may go, the pool size
 * becomes the number left instead.
 */
function reduce(state: PoolState, amount: number, deletePendingConnections: boolean): PoolTransition {
  if (amount <= 0) return [state, []];
  const target = Math.max(0, state.poolSize - amount);
  const excess = state.connections.length - target;
  const leaving = new Set(excess > 0 ? removalOrder(state.connections, deletePendingConnections).slice(0, excess) : []);
  const connections = leaving.size === 0 ? state.connections : state.connections.filter((entry) => !leaving.has(entry));
  const removed = state.connections.filter((entry) => leaving.has(entry));
  return [
    { ...state, connections, poolSize: Math.max(target, connections.length) },
    [
      ...closeEffects(removed.filter((entry) => entry.pendingRequests === 0), false),
      ...closeEffects(removed.filter((entry) => entry.pendingRequests > 0), true),
    ],
  ];
}

function createEffects(count: number): PoolEffect[] {
  return count > 0 ? [{ type: 'create', count }] : [];
}

function closeEffects(entries: readonly PoolEntry[], force: boolean): PoolEffect[] {
  return entries.length > 0 ? [{ type: 'close', ids: entries.map((entry) => entry.id), force }] : [];
}

function idsEffect(type: 'connect' | 'reconnect', entries: readonly PoolEntry[]): PoolEffect[] {
  return entries.length > 0 ? [{ type, ids: entries.map((entry) => entry.id) }] : [];
}

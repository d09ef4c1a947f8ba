/**
 * `NODE_DEBUG=zcached` lines for the pool's decisions: each reducer step
 * that changes membership or asks for work (create, connect, reconnect,
 * close), and the membership events it gives. Nothing is formatted unless
 * `debuglog` is enabled.
 *
 * @module
 */

import { debug } from '../connection/diagnostics.js';
import type { PoolConnection } from './pool-connection.js';
import type { PoolEvent } from './membership.js';
import type { PoolAction, PoolEffect } from './state.js';

/** Logs one reducer step of a pool: the action, the effects it asked for and the membership events. */
export function logPoolStep(action: PoolAction, effects: readonly PoolEffect[], events: readonly PoolEvent<PoolConnection>[]): void {
  if (!debug.enabled) return;
  // A state change with nothing to do is logged by the connection itself; a snapshot is bookkeeping.
  const bookkeeping = action.type === 'pendingSnapshot' || action.type === 'leastLoadedChosen' || action.type === 'stateChanged';
  if (bookkeeping && effects.length === 0 && events.length === 0) return;
  const work = effects.map(describeEffect).join(', ');
  const changes = events.map(describeEvent).join(', ');
  debug('pool %s%s%s', describeAction(action), work === '' ? '' : ` -> ${work}`, changes === '' ? '' : `; ${changes}`);
}

function describeAction(action: PoolAction): string {
  switch (action.type) {
    case 'extendBySize':
      return `extendBySize(${action.size})`;
    case 'reduce':
      return `reduce(${action.amount}${action.deletePendingConnections ? ', deletePendingConnections' : ''})`;
    case 'reconnect':
      return `reconnect(${action.onlyBrokenConnections ? 'broken only' : 'all'})`;
    case 'stateChanged':
      return `stateChanged(${action.id} ${action.state})`;
    case 'added':
      return `added(${action.connections.map((c) => c.id).join(' ')})`;
    default:
      return action.type;
  }
}

function describeEffect(effect: PoolEffect): string {
  switch (effect.type) {
    case 'create':
      return `create ${effect.count}`;
    case 'close':
      return `close${effect.force ? ' (force)' : ''} ${effect.ids.join(' ')}`;
    default:
      return `${effect.type} ${effect.ids.join(' ')}`;
  }
}

function describeEvent(event: PoolEvent<PoolConnection>): string {
  switch (event.type) {
    case 'connectionAdded':
      return `${event.connection.id} joined`;
    case 'connectionRemoved':
      return `${event.connection.id} left`;
    case 'poolSizeChanged':
      return `poolSize ${event.from} -> ${event.to}`;
    default:
      return `${event.connection.id} ${event.change.from} -> ${event.change.to}`;
  }
}

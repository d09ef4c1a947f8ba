/**
 * `NODE_DEBUG=zcached` lines for a fleet's decisions: servers joining and
 * leaving, weight changes, ejections, failed probes and returns. Nothing is
 * formatted unless `debuglog` is enabled.
 *
 * @module
 */

import { debug } from '../connection/diagnostics.js';
import type { FleetEvent } from './state.js';

/** Logs one fleet event. */
export function logFleetEvent(event: FleetEvent): void {
  if (!debug.enabled) return;
  debug('fleet %s', describeFleetEvent(event));
}

function describeFleetEvent(event: FleetEvent): string {
  const why = 'error' in event && event.error !== undefined ? ` (${event.error.message})` : '';
  switch (event.type) {
    case 'serverAdded':
      return `server ${event.server} added (weight ${event.weight})`;
    case 'serverRemoved':
      return `server ${event.server} removed`;
    case 'weightChanged':
      return `server ${event.server} weight ${event.from} -> ${event.to}`;
    case 'serverEjected':
      return `server ${event.server} ejected after ${event.failures} failures${why}; probed again in ${Math.max(0, Math.round(event.retryAt - event.at))} ms`;
    case 'probeFailed':
      return `server ${event.server} probe failed${why}; probed again in ${Math.max(0, Math.round(event.retryAt - event.at))} ms`;
    case 'serverReturned':
      return `server ${event.server} returned after ${Math.round(event.ejectedFor)} ms ejected`;
    case 'serverFenced':
      return `server ${event.server} fenced${event.key === undefined ? '' : ` (a write of ${JSON.stringify(event.key)} unconfirmed)`}${why}; probed, then flushed, in ${Math.max(0, Math.round(event.retryAt - event.at))} ms`;
    case 'serverWarmed':
      return `server ${event.server} warmed up: ${event.copied} keys copied from their other replicas`;
    case 'serverSwept':
      return `server ${event.server} swept: ${event.deleted} copies of moved keys deleted`;
    case 'failover':
      return `${JSON.stringify(event.key)}: read went from ${event.from} to ${event.to} (${event.reason})${why}`;
    case 'readRepaired':
      return `${JSON.stringify(event.key)}: copied from ${event.from} to ${event.to.join(', ')}`;
  }
}

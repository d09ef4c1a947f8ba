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
  }
}

/**
 * The fleet's decisions, as one pure function: membership (add, remove,
 * weight) and the ejection policy (count failures, eject, probe, return).
 * No I/O, no clock (times come in the actions), no randomness; the input
 * state is never modified.
 *
 * The ejection policy follows twemproxy (`auto_eject_hosts`,
 * `server_failure_limit`, `server_retry_timeout`: twemproxy's
 * `server_failure()` in `src/nc_server.c` counts failures and takes the
 * server out of the distribution for the retry timeout) with one change
 * taken from mcrouter's TKO handling: when the timeout ends the server is
 * *probed* before it takes requests again, so no user request is spent to
 * find out that it is still down.
 *
 * @module
 */

import type { FleetAction, FleetEffect, FleetServerState, FleetState, FleetTransition } from './state.js';

const NOTHING: readonly FleetEffect[] = Object.freeze([]);

/**
 * Computes the fleet's next state and the effects the shell must perform.
 * See {@link FleetAction} and {@link FleetEffect}.
 *
 * Invariants (checked by the model-based test): ids stay unique; every
 * server that joins gets one `openPool`, every one that leaves one
 * `closePool`; a server is `ejected` exactly while one retry timer is armed
 * for it (`armRetry` when it enters `ejected`, `cancelRetry` when it leaves
 * the state while `ejected`, the timer's own `retryDue` otherwise); after
 * `close` the state never changes again.
 */
export function fleetReducer(state: FleetState, action: FleetAction): FleetTransition {
  if (state.closed) return [state, NOTHING];
  switch (action.type) {
    case 'addServer': {
      if (indexOf(state, action.id) !== -1) return [state, NOTHING];
      const server: FleetServerState = {
        id: action.id,
        weight: action.weight,
        health: 'up',
        failures: 0,
        ejectedAt: undefined,
        retryAt: undefined,
      };
      return [
        { ...state, servers: [...state.servers, server] },
        [
          { type: 'openPool', id: action.id },
          { type: 'notify', event: { type: 'serverAdded', server: action.id, weight: action.weight } },
        ],
      ];
    }

    case 'removeServer': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined) return [state, NOTHING];
      return [
        { ...state, servers: state.servers.filter((_, at) => at !== index) },
        [
          ...(server.health === 'ejected' ? [{ type: 'cancelRetry', id: server.id } as const] : []),
          { type: 'closePool', id: server.id },
          { type: 'notify', event: { type: 'serverRemoved', server: server.id } },
        ],
      ];
    }

    case 'setWeight': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.weight === action.weight) return [state, NOTHING];
      return [
        replace(state, index, { ...server, weight: action.weight }),
        [{ type: 'notify', event: { type: 'weightChanged', server: server.id, from: server.weight, to: action.weight } }],
      ];
    }

    case 'failed': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'up') return [state, NOTHING];
      const failures = server.failures + 1;
      if (failures < state.config.failureLimit) return [replace(state, index, { ...server, failures }), NOTHING];
      const retryAt = action.at + state.config.retryTimeout;
      return [
        replace(state, index, { ...server, failures, health: 'ejected', ejectedAt: action.at, retryAt }),
        [
          { type: 'armRetry', id: server.id, delay: state.config.retryTimeout },
          { type: 'notify', event: { type: 'serverEjected', server: server.id, at: action.at, failures, retryAt, error: action.error } },
        ],
      ];
    }

    case 'succeeded': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'up' || server.failures === 0) return [state, NOTHING];
      return [replace(state, index, { ...server, failures: 0 }), NOTHING];
    }

    case 'retryDue': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'ejected') return [state, NOTHING];
      return [replace(state, index, { ...server, health: 'probing', retryAt: undefined }), [{ type: 'probe', id: server.id }]];
    }

    case 'probeSucceeded': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'probing') return [state, NOTHING];
      const ejectedFor = action.at - (server.ejectedAt ?? action.at);
      return [
        replace(state, index, { ...server, health: 'up', failures: 0, ejectedAt: undefined, retryAt: undefined }),
        [{ type: 'notify', event: { type: 'serverReturned', server: server.id, at: action.at, ejectedFor } }],
      ];
    }

    case 'probeFailed': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'probing') return [state, NOTHING];
      const retryAt = action.at + state.config.retryTimeout;
      return [
        replace(state, index, { ...server, health: 'ejected', retryAt }),
        [
          { type: 'armRetry', id: server.id, delay: state.config.retryTimeout },
          { type: 'notify', event: { type: 'probeFailed', server: server.id, at: action.at, retryAt, error: action.error } },
        ],
      ];
    }

    case 'close': {
      const effects: FleetEffect[] = [];
      for (const server of state.servers) {
        if (server.health === 'ejected') effects.push({ type: 'cancelRetry', id: server.id });
        effects.push({ type: 'closePool', id: server.id });
      }
      return [{ ...state, servers: [], closed: true }, effects];
    }
  }
}

function indexOf(state: FleetState, id: string): number {
  return state.servers.findIndex((server) => server.id === id);
}

function replace(state: FleetState, index: number, server: FleetServerState): FleetState {
  return { ...state, servers: state.servers.with(index, server) };
}

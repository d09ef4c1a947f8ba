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
 * With `replicas` > 1 it also fences (a write a server could not confirm
 * ejects it at once), flushes every returning server in its probe, and
 * keeps the doubts and sweeps of `reducer-replicas.ts`.
 *
 * @module
 */

import { addDoubts, addWarmUps } from './reducer-replicas.js';
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
  const [after, effects] = step(state, action);
  if (after.replicas <= 1 || after.servers === state.servers || (action.type === 'addServer' && action.initial === true)) return [after, effects];
  const doubted = addDoubts(state, after);
  let next = doubted.state;
  const all = [...effects, ...doubted.effects];
  for (const id of doubted.overflow) {
    const index = indexOf(next, id);
    const [fenced, more] = eject(next, index, 'fenced', 'at' in action ? (action.at ?? 0) : 0, undefined, undefined);
    next = fenced;
    all.push(...more);
  }
  const warmed = addWarmUps(state, next);
  if (all.length === effects.length && warmed.effects.length === 0) return [next, effects];
  return [warmed.state, [...all, ...warmed.effects]];
}

function step(state: FleetState, action: FleetAction): FleetTransition {
  switch (action.type) {
    case 'addServer': {
      if (indexOf(state, action.id) !== -1) return [state, NOTHING];
      // A server that was in this fleet before may hold copies older than writes acknowledged since: flushed before it serves.
      const rejoins = state.replicas > 1 && state.departed.includes(action.id);
      const at = action.at ?? 0;
      const server: FleetServerState = {
        id: action.id,
        weight: action.weight,
        health: rejoins ? 'ejected' : 'up',
        failures: 0,
        ejectedAt: rejoins ? at : undefined,
        retryAt: rejoins ? at : undefined,
        doubts: [],
        sweep: undefined,
        warming: undefined,
      };
      // A new server of a replicated fleet gets copies of its keys (nothing happens before the fleet runs).
      const warm = state.replicas > 1 && !rejoins && action.initial !== true ? state.nextSweep : undefined;
      return [
        {
          ...state,
          servers: [...state.servers, { ...server, warming: warm }],
          departed: rejoins ? state.departed.filter((id) => id !== action.id) : state.departed,
          nextSweep: warm === undefined ? state.nextSweep : warm + 1,
        },
        [
          { type: 'openPool', id: action.id },
          ...(rejoins ? [{ type: 'armRetry', id: action.id, delay: 0 } as const] : []),
          ...(warm === undefined ? [] : [{ type: 'warmUp', id: action.id, warm } as const]),
          { type: 'notify', event: { type: 'serverAdded', server: action.id, weight: action.weight } },
        ],
      ];
    }

    case 'removeServer': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined) return [state, NOTHING];
      const departed = state.replicas > 1 && !state.departed.includes(server.id) ? [...state.departed, server.id] : state.departed;
      return [
        { ...state, servers: state.servers.filter((_, at) => at !== index), departed },
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
      return eject(state, index, 'failures', action.at, action.error, undefined);
    }

    case 'fence': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'up' || state.replicas <= 1) return [state, NOTHING];
      return eject(state, index, 'fenced', action.at, action.error, action.key);
    }

    case 'sweepDone': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.sweep !== action.sweep) return [state, NOTHING];
      const doubts = server.doubts.slice(action.cleared);
      const notify: FleetEffect = { type: 'notify', event: { type: 'serverSwept', server: server.id, deleted: action.deleted } };
      if (doubts.length === 0) return [replace(state, index, { ...server, doubts, sweep: undefined }), [notify]];
      const sweep = state.nextSweep;
      return [
        { ...replace(state, index, { ...server, doubts, sweep }), nextSweep: sweep + 1 },
        [notify, { type: 'sweep', id: server.id, sweep, views: doubts }],
      ];
    }

    case 'warmedUp': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.warming !== action.warm) return [state, NOTHING];
      return [replace(state, index, { ...server, warming: undefined }), [{ type: 'notify', event: { type: 'serverWarmed', server: server.id, copied: action.copied } }]];
    }

    case 'sweepFailed': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.sweep !== action.sweep || server.health !== 'up') return [state, NOTHING];
      // Its doubts cannot be cleared: it may hold old copies, so it goes out and comes back flushed.
      return eject(state, index, 'fenced', action.at, action.error, undefined);
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
      return [replace(state, index, { ...server, health: 'probing', retryAt: undefined }), [{ type: 'probe', id: server.id, flush: state.replicas > 1 }]];
    }

    case 'probeSucceeded': {
      const index = indexOf(state, action.id);
      const server = state.servers[index];
      if (server === undefined || server.health !== 'probing') return [state, NOTHING];
      const ejectedFor = action.at - (server.ejectedAt ?? action.at);
      // Flushed in its probe: with replicas it gets copies of its keys back from their other replicas.
      const warm = state.replicas > 1 ? state.nextSweep : undefined;
      return [
        {
          ...replace(state, index, { ...server, health: 'up', failures: 0, ejectedAt: undefined, retryAt: undefined, warming: warm }),
          nextSweep: warm === undefined ? state.nextSweep : warm + 1,
        },
        [
          { type: 'notify', event: { type: 'serverReturned', server: server.id, at: action.at, ejectedFor } },
          ...(warm === undefined ? [] : [{ type: 'warmUp', id: server.id, warm } as const]),
        ],
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

/**
 * Takes the server at `index` out: `ejected`, a retry timer armed, its
 * doubts and sweep dropped (it is flushed before it returns with
 * `replicas` > 1). `'failures'` reports `serverEjected`, `'fenced'`
 * reports `serverFenced`.
 */
function eject(state: FleetState, index: number, why: 'failures' | 'fenced', at: number, error: Error | undefined, key: string | undefined): FleetTransition {
  const server = state.servers[index]!;
  const failures = why === 'failures' ? server.failures + 1 : server.failures;
  const retryAt = at + state.config.retryTimeout;
  return [
    replace(state, index, { ...server, failures, health: 'ejected', ejectedAt: at, retryAt, doubts: [], sweep: undefined, warming: undefined }),
    [
      { type: 'armRetry', id: server.id, delay: state.config.retryTimeout },
      {
        type: 'notify',
        event:
          why === 'failures'
            ? { type: 'serverEjected', server: server.id, at, failures, retryAt, error }
            : { type: 'serverFenced', server: server.id, at, retryAt, key, error },
      },
    ],
  ];
}

function indexOf(state: FleetState, id: string): number {
  return state.servers.findIndex((server) => server.id === id);
}

function replace(state: FleetState, index: number, server: FleetServerState): FleetState {
  return { ...state, servers: state.servers.with(index, server) };
}

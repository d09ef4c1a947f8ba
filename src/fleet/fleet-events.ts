/**
 * The events of a `ZCachedFleet`, as a typed Node `EventEmitter`: the
 * fleet's own (a server added, removed, reweighted, ejected, probed,
 * returned: the {@link FleetEvent}s of its reducer, each under its `type`),
 * and the connection events of `ZCached` (`connect`, `ready`,
 * `reconnecting`, `end`, `error`) gathered over every server's client,
 * each naming its server.
 *
 * @module
 */

import type { EventEmitter } from 'node:events';
import type { ConnectEvent, ReadyEvent, ReconnectingEvent } from '../client/client-events.js';
import type { ConnectError, ConnectionError } from '../errors.js';
import { guardedEmit } from '../events.js';
import type { FleetServer } from './server.js';
import type { FleetEvent } from './state.js';

/** The {@link FleetEvent} of one `type`: `FleetEventOf<'serverEjected'>`. */
export type FleetEventOf<T extends FleetEvent['type']> = Extract<FleetEvent, { readonly type: T }>;

/** A `connect` event of the fleet: `ZCached`'s, plus the id of the server whose connection it is. */
export interface FleetConnectEvent extends ConnectEvent {
  /** The server's id in the fleet (default `host:port`). */
  readonly server: string;
}

/** A `ready` event of the fleet: the connection that made it ready, and its server. */
export interface FleetReadyEvent extends ReadyEvent {
  /** The server's id in the fleet. */
  readonly server: string;
}

/** A `reconnecting` event of the fleet: `ZCached`'s, plus the server. */
export interface FleetReconnectingEvent extends ReconnectingEvent {
  /** The server's id in the fleet. */
  readonly server: string;
}

/**
 * The events of `ZCachedFleet`, as the type map of its `EventEmitter`
 * (`fleet.on('serverEjected', (event) => event.retryAt)` is typed; `off`,
 * `once` and the rest of `EventEmitter` work as for any emitter).
 *
 * The fleet's own events, each the {@link FleetEvent} of that `type` (what
 * `subscribe` and the `zcached:fleet` diagnostics channel get too); times
 * in ms on the fleet's clock (the `now` option):
 * - `serverAdded` `{ server, weight }`: a server joined (the servers of the
 *   constructor join before a listener can be attached: read `fleet.state`).
 * - `serverRemoved` `{ server }`: it left (`removeServer`; `close()` reports none).
 * - `weightChanged` `{ server, from, to }`.
 * - `serverEjected` `{ server, at, failures, retryAt, error }`: taken out
 *   after `failureLimit` consecutive failures; probed at `retryAt`.
 * - `probeFailed` `{ server, at, retryAt, error }`: the probe found it still
 *   down; probed again at `retryAt`.
 * - `serverReturned` `{ server, at, ejectedFor }`: the probe found it back
 *   (`ejectedFor` in ms); it takes its keys again.
 *
 * With `replicas` > 1 (see docs/fleet.md, "Replicas"):
 * - `serverFenced` `{ server, at, retryAt, key, error }`: a write could not be
 *   confirmed on it (`key`, `error`), or a sweep failed: ejected at once,
 *   flushed in the probe before it returns.
 * - `serverWarmed` `{ server, copied }`: a server that returned (flushed) or
 *   joined got copies of its keys from their other replicas: from now on
 *   its keys have all their copies again.
 * - `serverSwept` `{ server, deleted }`: copies of keys that moved off it were deleted.
 * - `failover` `{ key, from, to, reason, error }`: a read went on from one
 *   replica to the next (`reason` `'miss'` or `'error'`).
 * - `readRepaired` `{ key, from, to }`: a read found the key on `from` and
 *   wrote it back to the replicas `to` that missed it.
 *
 * The connection events of `ZCached` (see `ZCachedEvents`), over every
 * server's connections:
 * - `connect` `(event: FleetConnectEvent)`: a connection's socket is up.
 * - `ready` `(event: FleetReadyEvent)`: the fleet went from no connected
 *   connection, on any server, to at least one. `ready` and `end`
 *   alternate, starting with `ready`.
 * - `reconnecting` `(event: FleetReconnectingEvent)`: a connection will try
 *   again by itself after `event.delay` ms.
 * - `end` `()`: the last connected connection of the fleet is gone (it broke
 *   or its server left the fleet, `close()` included). After `close()`, no
 *   event follows.
 * - `error` `(error: ConnectionError | ConnectError, server: string)`: a
 *   connected connection broke, or one used up a run of connect attempts;
 *   the second argument is the server's id. Emitted only while the fleet
 *   has an `error` listener, so a fleet without one never crashes the
 *   process. `run()` does not emit its rejection (it rejects with it).
 *
 * Unlike `ZCached`, `run()` holds nothing back: each server's events come
 * as they happen. Order when one change causes several, and a listener
 * that throws, as for `ZCached`: the throw skips the listeners after it for
 * that event, this once, and is rethrown from a microtask (an uncaught
 * exception); the fleet goes on.
 */
export type ZCachedFleetEvents = {
  serverAdded: [event: FleetEventOf<'serverAdded'>];
  serverRemoved: [event: FleetEventOf<'serverRemoved'>];
  weightChanged: [event: FleetEventOf<'weightChanged'>];
  serverEjected: [event: FleetEventOf<'serverEjected'>];
  probeFailed: [event: FleetEventOf<'probeFailed'>];
  serverReturned: [event: FleetEventOf<'serverReturned'>];
  serverFenced: [event: FleetEventOf<'serverFenced'>];
  serverSwept: [event: FleetEventOf<'serverSwept'>];
  serverWarmed: [event: FleetEventOf<'serverWarmed'>];
  failover: [event: FleetEventOf<'failover'>];
  readRepaired: [event: FleetEventOf<'readRepaired'>];
  connect: [event: FleetConnectEvent];
  ready: [event: FleetReadyEvent];
  reconnecting: [event: FleetReconnectingEvent];
  end: [];
  error: [error: ConnectionError | ConnectError, server: string];
};

/** What the shell tells the events: a reducer event, a server's pool opened or closed. */
export interface FleetEventSink {
  /** A {@link FleetEvent} the reducer reported. */
  event(event: FleetEvent): void;
  /** A server's pool was created: its client's events now count (called before it connects). */
  opened(server: FleetServer): void;
  /** A server left (its pool is closing): its client's events no longer count. */
  closed(server: FleetServer): void;
}

/**
 * Emits a fleet's events on `emitter`: the reducer's, and its servers'
 * clients' connection events. `also` gets every reducer event too (the
 * `subscribe` listeners, the diagnostics channel).
 */
export function emitFleetEvents(emitter: EventEmitter<ZCachedFleetEvents>, also: (event: FleetEvent) => void): FleetEventSink {
  /** Servers with a connected connection (their client is `ready`). */
  const ready = new Set<string>();
  /** Per server: removes the listeners on its client. */
  const detach = new Map<string, () => void>();

  const emit = guardedEmit<ZCachedFleetEvents>(emitter);
  const down = (id: string): void => {
    if (ready.delete(id) && ready.size === 0) emit('end');
  };

  return {
    event(event: FleetEvent): void {
      also(event);
      (emit as (name: FleetEvent['type'], event: FleetEvent) => void)(event.type, event);
    },
    opened(fleetServer: FleetServer): void {
      const { id: server, client } = fleetServer;
      const onConnect = (event: ConnectEvent): void => emit('connect', { ...event, server });
      const onReady = (event: ReadyEvent): void => {
        if (ready.has(server)) return;
        ready.add(server);
        if (ready.size === 1) emit('ready', { ...event, server });
      };
      const onEnd = (): void => down(server);
      const onReconnecting = (event: ReconnectingEvent): void => emit('reconnecting', { ...event, server });
      // Always listened to, so that the client builds its errors; passed on only to the fleet's own listeners.
      const onError = (error: ConnectionError | ConnectError): void => emit('error', error, server);
      client.on('connect', onConnect).on('ready', onReady).on('end', onEnd).on('reconnecting', onReconnecting).on('error', onError);
      detach.set(server, () => {
        client.off('connect', onConnect).off('ready', onReady).off('end', onEnd).off('reconnecting', onReconnecting).off('error', onError);
      });
    },
    closed(fleetServer: FleetServer): void {
      detach.get(fleetServer.id)?.();
      detach.delete(fleetServer.id);
      down(fleetServer.id);
    },
  };
}

/**
 * The events of a `ZCached` client (`connect`, `ready`, `reconnecting`,
 * `end`, `error`), derived from its pool's subscription: the pool reports
 * every member's state change and every membership change, and this module
 * turns them into Node `EventEmitter` events with the semantics documented
 * on {@link ZCachedEvents}.
 *
 * @module
 */

import type { EventEmitter } from 'node:events';
import { formatAddress } from '../connection/address.js';
import type { Connection } from '../connection/connection.js';
import { ConnectError, ConnectionError } from '../errors.js';
import { guardedEmit, type Unsubscribe } from '../events.js';
import type { ServerGeneration } from '../protocol/dialect.js';
import type { ConnectionPool, PoolEvent } from '../pool/pool.js';

/** The payload of a `connect` event: the connection whose socket is up. */
export interface ConnectEvent {
  /** The connection's id (`<host>:<port>#<n>`). */
  readonly id: string;
  /** Server host. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /**
   * The server generation its handshake found: `'legacy'` (2024),
   * `'etx-request'` (2025) or `'etx'` (current); `undefined` for a custom
   * dialect without `base` (not probed).
   */
  readonly generation: ServerGeneration | undefined;
}

/** The payload of a `ready` event: the connection that made the client ready. */
export interface ReadyEvent {
  /** The connection's id. */
  readonly id: string;
  /** The server generation its handshake found (as {@link ConnectEvent.generation}). */
  readonly generation: ServerGeneration | undefined;
}

/** The payload of a `reconnecting` event: a connection waits before its next connect attempt. */
export interface ReconnectingEvent {
  /** The connection's id. */
  readonly id: string;
  /**
   * How many times this connection has started waiting to reconnect since it
   * was last connected (or since it joined, if it never was): 1 for the first
   * wait, then 2, 3, … across runs of attempts.
   */
  readonly attempt: number;
  /** The wait before that attempt starts, in ms (the back-off drawn, or the rest after a failed run). */
  readonly delay: number;
  /** Why it is not connected: the break or the failed attempt. */
  readonly error: Error | undefined;
}

/**
 * The events of `ZCached`, as the type map of its `EventEmitter`
 * (`client.on('reconnecting', (event) => …)` is typed).
 *
 * Only the connections of the client's pool count; every event is emitted
 * synchronously from the lifecycle change that causes it, except while
 * `run()` is in progress (below).
 *
 * - `connect` `(event: ConnectEvent)`: a connection's socket is up (every
 *   time, for each connection: after `run()`, after each reconnect).
 * - `ready` `(event: ReadyEvent)`: the client went from no connected connection to at least
 *   one. Emitted each time, not once: during `run()` (before its promise
 *   resolves, right after the first `connect`), then after every outage that
 *   `end` reported. `ready` and `end` alternate, starting with `ready`.
 * - `reconnecting` `(event: ReconnectingEvent)`: a connection lost its socket
 *   or failed a connect attempt and will try again by itself after
 *   `event.delay` ms (a back-off wait, or the rest after a failed run of
 *   attempts). Not emitted with `reconnect: false` once a connection gives up.
 * - `end` `()`: the last connected connection is gone: it broke, or it left
 *   the pool (`close()`, `reducePoolConnections`, `cleanupBrokenConnections`).
 *   After `close()`, no event follows.
 * - `error` `(error: ConnectionError | ConnectError)`, both
 *   `ZCachedError`s (a listener may take a `ZCachedError` or an `Error`): a
 *   connected connection broke (a `ConnectionError` naming it, `cause` the
 *   socket error or timeout), or a connection used up a run of connect
 *   attempts (a `ConnectError`, `cause` the last failure), or `run()` failed
 *   (the `ConnectError` it rejects with). Emitted only while the client has
 *   an `error` listener: without one, nothing is emitted, so a client with
 *   no listener never crashes the process (`EventEmitter` throws an `error`
 *   nobody listens to). The commands involved reject with their own errors
 *   either way.
 *
 * While `run()` is in progress, the `reconnecting` and `error` events of the
 * connections are held back (`connect`, `ready` and `end` are not). When the
 * run resolves, the held events are emitted in their order, right before its
 * promise resolves (they still hold: the connections that did not connect
 * retry by themselves). When it rejects, they are dropped (the pool was
 * closed: nothing retries) and one `error` carries the run's `ConnectError`,
 * right before the promise rejects; none when `close()` ended the run.
 *
 * Order when one change causes several: `error`, then `end`, then
 * `reconnecting`; and `connect` before `ready`. The listeners of one event
 * are called in turn, as Node's `EventEmitter` calls them: a listener that
 * throws skips the listeners after it for that event, this once. The throw
 * does not reach the connection or the client, and the other events caused
 * by the same change are still emitted; the error is rethrown from a
 * microtask (`queueMicrotask`), where Node reports it as an uncaught
 * exception (`process.on('uncaughtException')`).
 */
export type ZCachedEvents = {
  connect: [event: ConnectEvent];
  ready: [event: ReadyEvent];
  reconnecting: [event: ReconnectingEvent];
  end: [];
  error: [error: ConnectionError | ConnectError];
};

/**
 * What `run()` tells the events (client-run.ts calls it): a run started, and
 * how it ended.
 */
export interface RunEvents {
  /** A run started: hold back the connections' `reconnecting` and `error` events. */
  runStarted(): void;
  /** The run resolved: emit the held events, in order. */
  runResolved(): void;
  /**
   * The run rejected: drop the held events; emit `error` with `report` (the
   * run's ConnectError; undefined when close() ended the run) when an
   * `error` listener exists.
   */
  runRejected(report: ConnectError | undefined): void;
}

/** The handle on a client's events: the run hooks, and the unsubscribe from the pool. */
export interface ClientEvents extends RunEvents {
  /** Stops listening to the pool. */
  readonly unsubscribe: Unsubscribe;
}

/** One held event: its name and arguments. */
type HeldEvent = { [K in 'reconnecting' | 'error']: { readonly name: K; readonly args: ZCachedEvents[K] } }['reconnecting' | 'error'];

/**
 * Turns the pool's events into the client's: subscribes to `pool` and emits
 * on `emitter`. Returns the run hooks and the function that unsubscribes.
 */
export function emitClientEvents(emitter: EventEmitter<ZCachedEvents>, pool: ConnectionPool<Connection>): ClientEvents {
  /** Ids of the connected members (a pool adopted with connected connections starts ready). */
  const connected = new Set<string>();
  for (const connection of pool.connections) if (connection.isConnected()) connected.add(connection.id);
  /** Waits to reconnect since each member was last connected. */
  const waits = new Map<string, number>();
  /** While a run is in progress: its connections' `reconnecting` and `error` events, in order. */
  let held: HeldEvent[] | undefined;

  /** Emits one event: a throwing listener breaks neither the pool's other listeners nor the events that follow ({@link guardedEmit}). */
  const emit = guardedEmit<ZCachedEvents>(emitter);
  const emitHeld = (event: HeldEvent): void => {
    if (event.name === 'error') emit('error', ...event.args);
    else emit('reconnecting', ...event.args);
  };
  /** Emits a connection's `reconnecting` or `error` now, or holds it while a run is in progress. */
  const emitOrHold = (event: HeldEvent): void => {
    if (held === undefined) emitHeld(event);
    else held.push(event);
  };
  const up = (id: string, generation: ServerGeneration | undefined): void => {
    if (connected.has(id)) return;
    connected.add(id);
    if (connected.size === 1) emit('ready', { id, generation });
  };
  const down = (id: string): void => {
    if (connected.delete(id) && connected.size === 0) emit('end');
  };

  const onEvent = (event: PoolEvent<Connection>): void => {
    switch (event.type) {
      case 'connectionAdded':
        if (event.connection.isConnected()) up(event.connection.id, event.connection.generation);
        return;
      case 'connectionRemoved':
        waits.delete(event.connection.id);
        down(event.connection.id);
        return;
      case 'connectionStateChanged':
        break;
      default:
        return;
    }
    const { connection, change } = event;
    const { id } = connection;
    if (change.to === 'connected') {
      waits.delete(id);
      emit('connect', { id, host: connection.host, port: connection.port, generation: connection.generation });
      up(id, connection.generation);
      return;
    }
    if (change.to !== 'broken') {
      down(id);
      return;
    }
    const retryIn = connection.nextAttemptIn;
    if (emitter.listenerCount('error') > 0) {
      // undefined: a failed attempt with attempts left, which `reconnecting` reports.
      const error = brokenError(connection, change.from, change.error, retryIn);
      if (error !== undefined) emitOrHold({ name: 'error', args: [error] });
    }
    down(id);
    if (retryIn === undefined) return;
    const attempt = (waits.get(id) ?? 0) + 1;
    waits.set(id, attempt);
    emitOrHold({ name: 'reconnecting', args: [{ id, attempt, delay: Math.round(retryIn), error: change.error }] });
  };

  return {
    unsubscribe: pool.subscribe(onEvent),
    runStarted(): void {
      held ??= [];
    },
    runResolved(): void {
      const events = held ?? [];
      held = undefined;
      for (const event of events) emitHeld(event);
    },
    runRejected(report: ConnectError | undefined): void {
      held = undefined;
      if (report !== undefined) emit('error', report);
    },
  };
}

/**
 * The `error` event of a connection that entered `broken`: it broke while
 * connected, or its run of attempts is over; `undefined` for a failed
 * attempt with attempts left (the `reconnecting` event reports it).
 */
function brokenError(
  connection: Connection,
  from: string,
  cause: Error | undefined,
  retryIn: number | undefined,
): ConnectionError | ConnectError | undefined {
  const options = cause === undefined ? undefined : { cause };
  const why = cause === undefined ? '' : `: ${cause.message}`;
  const next = retryIn === undefined ? 'it does not reconnect by itself (reconnect: false)' : `it retries by itself in ~${Math.round(retryIn)} ms`;
  if (from === 'connected') return new ConnectionError(`connection ${connection.id} broke${why}; ${next}`, options);
  if (connection.isConnecting()) return undefined;
  return new ConnectError(`connection ${connection.id} could not connect to ${formatAddress(connection.host, connection.port)}${why}; ${next}`, options);
}

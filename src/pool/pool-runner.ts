/**
 * `PoolRunner`: the reducer side of a `ConnectionPool`. It holds the pool's
 * {@link PoolState}, runs {@link poolReducer} one action at a time, brings
 * the pool's members in line with each new state, tells the listeners, and
 * performs the effects the reducer asks for (create, connect, reconnect,
 * close), turning every member's state change back into an action.
 *
 * Nothing here runs on the per-request path: `ConnectionPool` chooses a
 * connection from the live members directly.
 *
 * @module
 */

import type { ConnectionStateChange } from '../connection/state.js';
import type { Listeners } from '../events.js';
import { describe, isPoolConnection } from './checks.js';
import { settled, untilRemoved, type Members, type Membership, type PoolEvent } from './membership.js';
import type { PoolConnection } from './pool-connection.js';
import { logPoolStep } from './pool-debug.js';
import { poolReducer } from './reducer.js';
import { initialPoolState, type PoolAction, type PoolEffect, type PoolState } from './state.js';

const FORCE = Object.freeze({ force: true });

/** Runs the reducer of one pool over its members (owned by the pool, shared with it). */
export class PoolRunner<C extends PoolConnection> {
  readonly #connectionFactory: () => C;
  readonly #members: Members<C>;
  readonly #events: Listeners<PoolEvent<C>>;
  #state: PoolState;

  constructor(poolSize: number, connectionFactory: () => C, members: Members<C>, events: Listeners<PoolEvent<C>>) {
    this.#connectionFactory = connectionFactory;
    this.#members = members;
    this.#events = events;
    this.#state = initialPoolState(poolSize);
  }

  /** The reducer's state after the last step. */
  get state(): PoolState {
    return this.#state;
  }

  /**
   * Runs one reducer step: commits the state, brings the memberships in line
   * with it, tells the listeners, then performs the effects. Resolves when
   * the effects are done.
   */
  dispatch(action: PoolAction): Promise<void> {
    const before = this.#state;
    const [after, effects] = poolReducer(before, action);
    this.#state = after;
    const { removed, events } = this.#members.sync(before, after);
    logPoolStep(action, effects, events);
    for (const event of events) this.#events.emit(event);
    return this.#perform(effects, removed);
  }

  /** Subscribes to each connection and dispatches `added`. */
  add(connections: readonly C[]): Promise<void> {
    if (connections.length === 0) return Promise.resolve();
    for (const connection of connections) this.#members.join(connection, this.#onConnectionChange);
    return this.dispatch({
      type: 'added',
      connections: connections.map(({ id, state, pendingRequests }) => ({ id, state, pendingRequests })),
    });
  }

  /** Throws unless `candidate` is a connection whose id is neither in the pool nor among `batchIds`. */
  assertJoinable(candidate: unknown, batchIds: ReadonlySet<string>, label: string): asserts candidate is C {
    if (!isPoolConnection(candidate)) {
      throw new TypeError(`${label} is not a connection (id, state, pendingRequests, connect, close...): ${describe(candidate)}`);
    }
    if (this.#members.has(candidate.id) || batchIds.has(candidate.id)) {
      throw new RangeError(`${label} has id "${candidate.id}", which is already in the pool`);
    }
  }

  /** Starts every effect; resolves when all are done. */
  #perform(effects: readonly PoolEffect[], removed: ReadonlyMap<string, Membership<C>>): Promise<void> {
    const work: Promise<void>[] = [];
    for (const effect of effects) {
      switch (effect.type) {
        case 'create':
          work.push(this.#create(effect.count));
          break;
        case 'connect':
          for (const membership of this.#members.stillMembers(effect.ids)) {
            work.push(untilRemoved(membership, () => membership.connection.connect()));
          }
          break;
        case 'reconnect':
          for (const membership of this.#members.stillMembers(effect.ids)) {
            work.push(untilRemoved(membership, () => membership.connection.tryReconnect()));
          }
          break;
        case 'close':
          for (const id of effect.ids) {
            const connection = (removed.get(id) ?? this.#members.get(id))?.connection;
            if (connection === undefined) continue;
            work.push(settled(() => (effect.force ? connection.close(FORCE) : connection.close())));
          }
          break;
      }
    }
    return work.length === 0 ? Promise.resolve() : Promise.all(work).then(() => undefined);
  }

  /** Calls the factory `count` times and adds what it returns; on failure, closes those and rejects. */
  #create(count: number): Promise<void> {
    const factory = this.#connectionFactory;
    const created: C[] = [];
    const ids = new Set<string>();
    try {
      for (let index = 0; index < count; index++) {
        const connection = factory();
        this.assertJoinable(connection, ids, 'connectionFactory()');
        created.push(connection);
        ids.add(connection.id);
      }
    } catch (error) {
      for (const connection of created) void settled(() => connection.close());
      return Promise.reject(error);
    }
    return this.add(created);
  }

  /** A member connection changed state: the reducer learns it, then the listeners. */
  readonly #onConnectionChange = (connection: C, change: ConnectionStateChange): void => {
    void this.dispatch({ type: 'stateChanged', id: connection.id, state: change.to });
    this.#events.emit({ type: 'connectionStateChanged', connection, change });
  };
}

/**
 * The members of a `ConnectionPool`: what it keeps for each connection
 * (its subscription, a promise settled on removal), kept in line with the
 * reducer's state, and the events a change of members gives; plus the
 * promise helpers its effects use so that no pool operation waits on a
 * connection it let go of, nor rejects because a connection did.
 *
 * @module
 */

import type { ConnectionStateChange } from '../connection/state.js';
import type { Unsubscribe } from '../events.js';
import type { PoolConnection } from './pool-connection.js';
import type { PoolState } from './state.js';

/**
 * A change in a pool, as given to `ConnectionPool.subscribe` listeners.
 *
 * - `connectionAdded`: the connection joined the pool.
 * - `connectionRemoved`: the connection left the pool (it is being closed).
 * - `connectionStateChanged`: a connection of the pool changed lifecycle state.
 * - `poolSizeChanged`: `poolSize` went from `from` to `to`.
 */
export type PoolEvent<C extends PoolConnection = PoolConnection> =
  | { readonly type: 'connectionAdded'; readonly connection: C }
  | { readonly type: 'connectionRemoved'; readonly connection: C }
  | { readonly type: 'connectionStateChanged'; readonly connection: C; readonly change: ConnectionStateChange }
  | { readonly type: 'poolSizeChanged'; readonly from: number; readonly to: number };

/** What the pool keeps for each of its connections. */
export interface Membership<C> {
  readonly connection: C;
  readonly unsubscribe: Unsubscribe;
  /** Settles when the connection leaves the pool, so no pool operation waits on a connection it let go of. */
  readonly removal: Promise<void>;
  readonly markRemoved: () => void;
}

/** Runs `start` and resolves once its promise settles either way; a synchronous throw counts as settled. */
export function settled(start: () => PromiseLike<unknown>): Promise<void> {
  try {
    return Promise.resolve(start()).then(
      () => undefined,
      () => undefined,
    );
  } catch {
    return Promise.resolve();
  }
}

/** Like {@link settled}, but also resolves as soon as the connection leaves the pool. */
export function untilRemoved<C>(membership: Membership<C>, start: () => PromiseLike<unknown>): Promise<void> {
  return Promise.race([settled(start), membership.removal]);
}

/** The connections of a pool, by id and in state order. */
export class Members<C extends PoolConnection> {
  readonly #byId = new Map<string, Membership<C>>();
  /**
   * The live connections in state order, replaced (never mutated) whenever
   * membership changes. A plain array: V8 indexes frozen arrays several
   * times slower, and the least-loaded scan runs on every request.
   */
  list: readonly C[] = [];
  /** The frozen copy of {@link Members.list} handed out to callers. */
  view: readonly C[] = Object.freeze([]);

  /** True when a connection with this id is a member (or joining). */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** The membership of this id, if it is a member. */
  get(id: string): Membership<C> | undefined {
    return this.#byId.get(id);
  }

  /**
   * Makes `connection` a member (it enters {@link list} at the next
   * {@link sync}) and subscribes to it: `onChange` hears its state changes
   * for as long as it stays a member.
   */
  join(connection: C, onChange: (connection: C, change: ConnectionStateChange) => void): void {
    let markRemoved!: () => void;
    const removal = new Promise<void>((resolve) => {
      markRemoved = resolve;
    });
    const membership: Membership<C> = {
      connection,
      removal,
      markRemoved,
      unsubscribe: connection.subscribe((change) => {
        if (this.#byId.get(connection.id) === membership) onChange(connection, change);
      }),
    };
    this.#byId.set(connection.id, membership);
  }

  /**
   * Brings the members in line with a reducer step: those that left the
   * state are unsubscribed and marked removed, {@link list} follows `after`.
   * @returns the memberships removed, by id, and the events to emit, in order
   */
  sync(before: PoolState, after: PoolState): { readonly removed: ReadonlyMap<string, Membership<C>>; readonly events: PoolEvent<C>[] } {
    const events: PoolEvent<C>[] = [];
    const removed = new Map<string, Membership<C>>();
    if (!sameMembers(before, after)) {
      const staying = new Set(after.connections.map((entry) => entry.id));
      for (const entry of before.connections) {
        const membership = this.#byId.get(entry.id);
        if (staying.has(entry.id) || membership === undefined) continue;
        this.#byId.delete(entry.id);
        membership.unsubscribe();
        membership.markRemoved();
        removed.set(entry.id, membership);
        events.push({ type: 'connectionRemoved', connection: membership.connection });
      }
      const present = new Set(before.connections.map((entry) => entry.id));
      this.list = after.connections.map((entry) => {
        const membership = this.#byId.get(entry.id);
        if (membership === undefined) throw new Error(`ConnectionPool: no connection with id ${entry.id}`);
        return membership.connection;
      });
      this.view = Object.freeze([...this.list]);
      for (const connection of this.list) {
        if (!present.has(connection.id)) events.push({ type: 'connectionAdded', connection });
      }
    }
    if (before.poolSize !== after.poolSize) {
      events.push({ type: 'poolSizeChanged', from: before.poolSize, to: after.poolSize });
    }
    return { removed, events };
  }

  /** The memberships of these ids that are still in the pool (a listener may have removed some meanwhile). */
  stillMembers(ids: readonly string[]): Membership<C>[] {
    const memberships: Membership<C>[] = [];
    for (const id of ids) {
      const membership = this.#byId.get(id);
      if (membership !== undefined) memberships.push(membership);
    }
    return memberships;
  }
}

/** True when both states hold the same connection ids in the same order. */
function sameMembers(before: PoolState, after: PoolState): boolean {
  if (before.connections === after.connections) return true;
  if (before.connections.length !== after.connections.length) return false;
  return before.connections.every((entry, index) => entry.id === after.connections[index]?.id);
}

/**
 * What `ConnectionPool` keeps for each member connection, and the promise
 * helpers its effects use so that no pool operation waits on a connection it
 * let go of, nor rejects because a connection did.
 *
 * @module
 */

import type { Unsubscribe } from '../events.js';

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

/**
 * One `KeyvZCached` shared by Keyv instances of different namespaces.
 *
 * Keyv 5 keeps a single `namespace` on its store: each Keyv assigns it (its
 * constructor always does, right after it subscribes to the store's `error`
 * event; `keyv.namespace = 'x'` does too), and passes no namespace to
 * `clear()`. A store shared by two Keyvs of different namespaces holds the
 * last one assigned, so `clear()` through the other Keyv would delete the
 * wrong namespace. The adapter tells a new Keyv's assignment from a
 * renaming by that subscription, and refuses `clear()` once two Keyvs of
 * different namespaces share it. (An `error` listener of your own added in
 * the same synchronous run as a renaming looks like a new Keyv: add it
 * before, or rename later.)
 *
 * @module
 */

import { ZCachedError, type ZCachedErrorOptions } from '../errors.js';

/**
 * `KeyvZCached.clear()` refused: Keyv instances with different namespaces
 * share the adapter, and Keyv does not say which one calls `clear()`.
 * Code `EKEYVSHARED`; `namespaces` holds the two namespaces met (`undefined`
 * for a Keyv without one). Nothing was deleted. Give each Keyv its own
 * `KeyvZCached` (they may share one `ZCached` client).
 */
export class KeyvSharedStoreError extends ZCachedError {
  /** The namespace the adapter had, then the different one a second Keyv gave it. */
  readonly namespaces: readonly [string | undefined, string | undefined];

  constructor(message: string, options: ZCachedErrorOptions & { readonly namespaces: readonly [string | undefined, string | undefined] }) {
    super('EKEYVSHARED', message, options);
    this.namespaces = options.namespaces;
  }
}

/** Follows who assigns the adapter's namespace: Keyv instances binding to it, or renamings. */
export class NamespaceBinding {
  #namespace: string | undefined;
  /** Keyv instances that assigned a namespace right after subscribing to `error`. */
  #keyvs = 0;
  /** An `error` listener was added in the current synchronous run (a Keyv constructor does that, then assigns). */
  #subscribed = false;
  #conflict: readonly [string | undefined, string | undefined] | undefined;

  /** The namespace last assigned. */
  get namespace(): string | undefined {
    return this.#namespace;
  }

  /** Whether two Keyvs with different namespaces share the adapter. */
  get shared(): boolean {
    return this.#conflict !== undefined;
  }

  /** Call when an `error` listener is added: a Keyv that assigns the namespace in the same run is a new one. */
  subscribed(): void {
    this.#subscribed = true;
    queueMicrotask(() => {
      this.#subscribed = false;
    });
  }

  /**
   * Records an assignment of the namespace.
   * @returns the error to report when it makes two Keyvs of different namespaces share the adapter (once), else undefined
   */
  assign(namespace: string | undefined): KeyvSharedStoreError | undefined {
    const fromNewKeyv = this.#subscribed;
    this.#subscribed = false;
    const previous = this.#namespace;
    this.#namespace = namespace;
    const keyvsBefore = this.#keyvs;
    if (fromNewKeyv) this.#keyvs++;
    const conflicting = namespace !== previous && (fromNewKeyv ? keyvsBefore >= 1 : keyvsBefore >= 2);
    if (!conflicting || this.#conflict !== undefined) return undefined;
    this.#conflict = [previous, namespace];
    return this.error();
  }

  /** The error of `clear()` when the adapter is shared, else undefined. */
  error(): KeyvSharedStoreError | undefined {
    if (this.#conflict === undefined) return undefined;
    const [first, second] = this.#conflict.map(describe);
    return new KeyvSharedStoreError(
      `KeyvZCached is shared by Keyv instances with different namespaces (${first} and ${second}); Keyv keeps one namespace per store and does not say which Keyv calls clear(), so clear() is refused and nothing was deleted. Give each Keyv its own KeyvZCached (they may share one ZCached client)`,
      { namespaces: this.#conflict },
    );
  }
}

function describe(namespace: string | undefined): string {
  return namespace === undefined ? 'no namespace' : JSON.stringify(namespace);
}

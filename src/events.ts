/**
 * A tiny typed listener list, used for every event this library emits
 * (connection state changes, pool changes). `subscribe` returns the function
 * that unsubscribes. And the guarded `emit` of the clients' EventEmitters.
 *
 * @module
 */

import type { EventEmitter as NodeEventEmitter } from 'node:events';

/** Removes the listener it was returned for. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** A set of listeners for events of type `T`. */
export class Listeners<T> {
  #listeners: ((event: T) => void)[] = [];

  /** Number of listeners currently subscribed. */
  get size(): number {
    return this.#listeners.length;
  }

  /** Adds a listener; returns its {@link Unsubscribe}. */
  subscribe(listener: (event: T) => void): Unsubscribe {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Calls every listener with `event`. A listener that throws does not stop
   * the others or the emitter: its error is rethrown on a later tick, where it
   * surfaces like any uncaught exception.
   */
  emit(event: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners = [];
  }
}

/**
 * An `emit` for `emitter` that keeps one listener's failure from breaking
 * the emitter's caller: a listener that throws skips the listeners after it
 * (Node's `emit`) but not the events that follow, and its error is rethrown
 * from a microtask, where it surfaces as an uncaught exception. `error`
 * goes out only while someone listens to it (an `error` without a listener
 * would throw). Used by `ZCached`'s and `ZCachedFleet`'s events.
 */
export function guardedEmit<E extends Record<keyof E, unknown[]>>(emitter: NodeEventEmitter): <K extends keyof E & string>(name: K, ...args: E[K]) => void {
  return (name, ...args) => {
    if (name === 'error' && emitter.listenerCount(name) === 0) return;
    try {
      emitter.emit(name, ...args);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  };
}

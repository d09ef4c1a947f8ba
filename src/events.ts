/**
 * A tiny typed listener list, used for every event this library emits
 * (connection state changes, pool changes). `subscribe` returns the function
 * that unsubscribes.
 *
 * @module
 */

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

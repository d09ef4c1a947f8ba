/**
 * The AbortSignals of a connection's requests: one 'abort' listener per
 * signal, however many requests share it, removed once none of them is
 * pending (so a long-lived signal passed to many calls holds no listener
 * per call).
 *
 * @module
 */

import { AbortError } from '../errors.js';
import type { PendingRequest } from './request-fifo.js';

/** The requests that share one AbortSignal, and the one listener on it. */
interface SignalGroup {
  readonly requests: Set<PendingRequest>;
  readonly onAbort: () => void;
}

/** Watches the signals of pending requests; `onAbort` settles a signal's requests when it fires. */
export class AbortWatch {
  readonly #groups = new Map<AbortSignal, SignalGroup>();
  readonly #onAbort: (requests: Iterable<PendingRequest>, error: AbortError) => void;

  /** @param onAbort - settles the given requests with `error` (an AbortError whose cause is the signal's reason) */
  constructor(onAbort: (requests: Iterable<PendingRequest>, error: AbortError) => void) {
    this.#onAbort = onAbort;
  }

  /** `request` is pending with `signal`: it settles with an AbortError when the signal fires. */
  watch(request: PendingRequest, signal: AbortSignal): void {
    request.signal = signal;
    let group = this.#groups.get(signal);
    if (group === undefined) {
      const requests = new Set<PendingRequest>();
      const onAbort = (): void => {
        this.#groups.delete(signal);
        for (const member of requests) member.signal = undefined;
        this.#onAbort(requests, new AbortError(undefined, { cause: signal.reason }));
      };
      group = { requests, onAbort };
      this.#groups.set(signal, group);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    group.requests.add(request);
  }

  /** `request` settled: its signal no longer concerns it (the listener goes with the last request). */
  unwatch(request: PendingRequest, signal: AbortSignal): void {
    request.signal = undefined;
    const group = this.#groups.get(signal);
    if (group === undefined) return;
    group.requests.delete(request);
    if (group.requests.size === 0) {
      this.#groups.delete(signal);
      signal.removeEventListener('abort', group.onAbort);
    }
  }
}

/**
 * A connection without a socket, driven by the test. It behaves towards a
 * `ConnectionPool` like a real `Connection`: same lifecycle states, same
 * state-change events, same promise contracts. Use it to test code that
 * holds a pool, or to model-test your own pool usage.
 *
 * ```ts
 * const pool = new ConnectionPool(2, () => new FakeConnection({ connectOutcome: 'hang' }));
 * const ready = pool.setup();
 * const [first, second] = pool.connections;
 * first.resolveConnect();
 * second.failConnect();
 * await ready; // one connected, one broken
 * ```
 *
 * @module
 */

import type { CloseOptions, ConnectionState, ConnectionStateChange } from '../connection/state.js';
import { ConnectError, ConnectionClosedError, ConnectionError } from '../errors.js';
import { Listeners, type Unsubscribe } from '../events.js';
import type { PoolConnection } from '../pool/pool-connection.js';

/**
 * What a connect attempt of a {@link FakeConnection} does:
 * - `succeed`: becomes `connected` on the next microtask;
 * - `fail`: becomes `broken` on the next microtask, as after the last attempt;
 * - `hang`: stays `connecting` until {@link FakeConnection.resolveConnect},
 *   {@link FakeConnection.failConnect} or {@link FakeConnection.close}.
 */
export type ConnectOutcome = 'succeed' | 'fail' | 'hang';

/** Options of the {@link FakeConnection} constructor. */
export interface FakeConnectionOptions {
  /** The id; by default `fake-1`, `fake-2`, ... in creation order. */
  readonly id?: string;
  /** The state it starts in, without emitting a change. Default `idle`. */
  readonly state?: 'idle' | 'connected' | 'broken';
  /** What attempts do once {@link FakeConnectionOptions.connectOutcomes} is used up. Default `succeed`. */
  readonly connectOutcome?: ConnectOutcome;
  /** Outcomes of the next attempts, used one per attempt, before {@link FakeConnectionOptions.connectOutcome}. */
  readonly connectOutcomes?: Iterable<ConnectOutcome>;
  /** How long a graceful close lets pending requests finish, in ms, when `close()` gives no `timeout`. Default 0. */
  readonly closeTimeout?: number;
}

/** One request held by the fake: settled by `finishPending`, a drop or a close. */
interface FakeRequest {
  readonly settle: (error?: Error) => void;
}

/** One connect attempt in flight. */
interface ConnectAttempt {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

let createdCount = 0;

const unattended: FakeRequest = { settle: () => {} };

/**
 * A {@link PoolConnection} whose every move is decided by the test.
 *
 * Like a real connection it emits a {@link ConnectionStateChange} on every
 * state change, never lets `tryReconnect()` or `close()` reject, and once
 * `closed` it stays closed. It also records how it was used:
 * {@link FakeConnection.connectCalls}, {@link FakeConnection.tryReconnectCalls},
 * {@link FakeConnection.closeCalls} and {@link FakeConnection.changes}.
 *
 * Pending requests come from {@link FakeConnection.send} (a promise you can
 * await) or {@link FakeConnection.addPending} (just a count); they settle in
 * order with {@link FakeConnection.finishPending}. A drop rejects them with a
 * `ConnectionError`; a forced close, or a graceful close once its timeout has
 * passed, rejects them with a `ConnectionClosedError`.
 */
export class FakeConnection implements PoolConnection {
  /** Unique id: `fake-1`, `fake-2`, ... unless given. */
  readonly id: string;
  /** What attempts do once {@link FakeConnection.connectOutcomes} is empty. */
  connectOutcome: ConnectOutcome;
  /** Outcomes of the next attempts, first one first; push to it to plan ahead. */
  readonly connectOutcomes: ConnectOutcome[];
  /** How long a graceful close lets pending requests finish, in ms, when `close()` gives no `timeout`. */
  closeTimeout: number;
  /** How many times `connect()` was called. */
  connectCalls = 0;
  /** How many times `tryReconnect()` was called. */
  tryReconnectCalls = 0;
  /** The options of every `close()` call, in order (`undefined` when called without). */
  readonly closeCalls: (CloseOptions | undefined)[] = [];
  /** Every state change emitted, in order. */
  readonly changes: ConnectionStateChange[] = [];

  #state: ConnectionState;
  #requests: FakeRequest[] = [];
  #attempt: ConnectAttempt | undefined;
  #closing: Promise<void> | undefined;
  readonly #listeners = new Listeners<ConnectionStateChange>();

  constructor(options: FakeConnectionOptions = {}) {
    createdCount += 1;
    this.id = options.id ?? `fake-${createdCount}`;
    this.#state = options.state ?? 'idle';
    this.connectOutcome = options.connectOutcome ?? 'succeed';
    this.connectOutcomes = [...(options.connectOutcomes ?? [])];
    this.closeTimeout = options.closeTimeout ?? 0;
  }

  /** Current lifecycle state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Requests not settled yet. */
  get pendingRequests(): number {
    return this.#requests.length;
  }

  /** Number of state-change listeners; 0 once a pool has let go of this connection. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** True while a connect attempt waits for {@link FakeConnection.resolveConnect} or {@link FakeConnection.failConnect}. */
  get hasConnectInFlight(): boolean {
    return this.#attempt !== undefined;
  }

  /** True when `state` is `connected`. */
  isConnected(): boolean {
    return this.#state === 'connected';
  }

  /**
   * Starts a connect attempt (or joins the one in flight). Resolves once
   * connected; rejects with a `ConnectError` when the attempt fails, or with
   * a `ConnectionClosedError` when closed before or meanwhile. Resolves at
   * once when already connected.
   */
  connect(): Promise<void> {
    this.connectCalls += 1;
    if (this.#state === 'closed') {
      return Promise.reject(new ConnectionClosedError(`${this.id} is closed`));
    }
    if (this.#state === 'connected') return Promise.resolve();
    return this.#startAttempt().promise;
  }

  /**
   * Reconnects from any state but `closed` (a connected fake goes back to
   * `connecting`, rejecting its pending requests as a drop would). Resolves
   * with whether it is connected afterwards; never rejects.
   */
  tryReconnect(): Promise<boolean> {
    this.tryReconnectCalls += 1;
    if (this.#state === 'closed') return Promise.resolve(false);
    if (this.#state === 'connected') {
      this.#rejectRequests(new ConnectionError(`${this.id} is reconnecting`));
    }
    return this.#startAttempt().promise.then(
      () => true,
      () => false,
    );
  }

  /** Makes the connect attempt in flight succeed. Throws when there is none. */
  resolveConnect(): void {
    this.#finishAttempt(this.#attemptInFlight('resolveConnect'));
  }

  /** Makes the connect attempt in flight fail (`broken`, with `error` in the change). Throws when there is none. */
  failConnect(error: Error = new ConnectError(`${this.id} could not connect`)): void {
    this.#finishAttempt(this.#attemptInFlight('failConnect'), error);
  }

  /**
   * The socket drops: `connected` → `broken`, pending requests rejected
   * with a `ConnectionError`. Throws unless connected.
   */
  drop(error: Error = new ConnectionError(`${this.id} lost its connection`)): void {
    if (this.#state !== 'connected') {
      throw new Error(`FakeConnection.drop(): ${this.id} is ${this.#state}, not connected`);
    }
    this.#rejectRequests(error);
    this.#moveTo('broken', error);
  }

  /** Adds `count` pending requests that nobody awaits. Throws when closed. */
  addPending(count = 1): void {
    this.#assertOpen('addPending');
    for (let added = 0; added < count; added++) this.#requests.push(unattended);
  }

  /** Settles the `count` oldest pending requests successfully. Throws when fewer are pending. */
  finishPending(count = 1): void {
    if (count > this.#requests.length) {
      throw new RangeError(`FakeConnection.finishPending(${count}): ${this.id} has ${this.#requests.length} pending`);
    }
    for (const request of this.#requests.splice(0, count)) request.settle();
  }

  /**
   * Sends a request: counts as pending until {@link FakeConnection.finishPending}
   * settles it, then resolves. Rejects with a `ConnectionClosedError` when
   * closed (now, or later by force or after the grace timeout), with a
   * `ConnectionError` when the connection drops first.
   */
  send(): Promise<void> {
    if (this.#state === 'closed') {
      return Promise.reject(new ConnectionClosedError(`${this.id} is closed`));
    }
    return new Promise<void>((resolve, reject) => {
      this.#requests.push({ settle: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  /**
   * Closes for good: a connect attempt in flight is rejected, the state
   * becomes `closed`. With `force`, pending requests are rejected at once
   * with a `ConnectionClosedError`; without it they may finish during
   * `timeout` ms (default {@link FakeConnection.closeTimeout}), then the rest
   * are rejected the same way. Resolves when no request is left; never
   * rejects. Calling it again returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    this.closeCalls.push(options);
    if (this.#closing !== undefined) return this.#closing;
    const attempt = this.#attempt;
    this.#attempt = undefined;
    attempt?.reject(new ConnectionClosedError(`${this.id} was closed while connecting`));
    this.#moveTo('closed');
    const timeout = options?.timeout ?? this.closeTimeout;
    this.#closing =
      options?.force === true || timeout <= 0 || this.#requests.length === 0
        ? Promise.resolve(this.#rejectRequests(new ConnectionClosedError(`${this.id} was closed`)))
        : this.#drain(timeout);
    return this.#closing;
  }

  /** Listens to lifecycle state changes. */
  subscribe(listener: (change: ConnectionStateChange) => void): Unsubscribe {
    return this.#listeners.subscribe(listener);
  }

  #startAttempt(): ConnectAttempt {
    if (this.#attempt !== undefined) return this.#attempt;
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    // Whoever awaits the attempt still sees its rejection; nobody awaiting is not an error.
    promise.catch(() => {});
    const attempt: ConnectAttempt = { promise, resolve, reject };
    this.#attempt = attempt;
    this.#moveTo('connecting');
    const outcome = this.connectOutcomes.shift() ?? this.connectOutcome;
    if (outcome === 'succeed') queueMicrotask(() => this.#finishAttempt(attempt));
    if (outcome === 'fail') {
      queueMicrotask(() => this.#finishAttempt(attempt, new ConnectError(`${this.id} could not connect`)));
    }
    return attempt;
  }

  #finishAttempt(attempt: ConnectAttempt, error?: Error): void {
    if (this.#attempt !== attempt) return; // closed meanwhile
    this.#attempt = undefined;
    if (error === undefined) {
      this.#moveTo('connected');
      attempt.resolve();
    } else {
      this.#moveTo('broken', error);
      attempt.reject(error);
    }
  }

  #attemptInFlight(method: string): ConnectAttempt {
    if (this.#attempt === undefined) {
      throw new Error(`FakeConnection.${method}(): ${this.id} has no connect attempt in flight`);
    }
    return this.#attempt;
  }

  #drain(timeout: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const expire = setTimeout(() => {
        this.#rejectRequests(new ConnectionClosedError(`${this.id} was closed`));
        resolve();
      }, timeout);
      const requests = this.#requests;
      const last = requests[requests.length - 1];
      if (last === undefined) return;
      // Resolve as soon as the last request still pending settles, by any means.
      requests[requests.length - 1] = {
        settle: (error) => {
          last.settle(error);
          clearTimeout(expire);
          resolve();
        },
      };
    });
  }

  #rejectRequests(error: Error): void {
    for (const request of this.#requests.splice(0)) request.settle(error);
  }

  #assertOpen(method: string): void {
    if (this.#state === 'closed') throw new Error(`FakeConnection.${method}(): ${this.id} is closed`);
  }

  #moveTo(to: ConnectionState, error?: Error): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    const change: ConnectionStateChange = error === undefined ? { id: this.id, from, to } : { id: this.id, from, to, error };
    this.changes.push(change);
    this.#listeners.emit(change);
  }
}

/**
 * `FleetServer`: one server of a fleet, as the shell holds it. It owns the
 * server's `ConnectionPool` (through a `ZCached` client built on it, so the
 * per-server request path, argument naming and reply shapes are the
 * client's own), turns what its requests and connections do into `failed` /
 * `succeeded` actions, runs the retry timer and the probe.
 *
 * @module
 */

import { ZCached } from '../client/client.js';
import { Connection } from '../connection/connection.js';
import { ConnectError, ConnectionError, PoolEmptyError, ServerError, TimeoutError } from '../errors.js';
import type { Unsubscribe } from '../events.js';
import { ConnectionPool } from '../pool/pool.js';
import type { Dialect } from '../protocol/dialect.js';
import { ServerEjectedError } from './errors.js';
import type { ResolvedServer } from './options.js';
import { Placement } from './placement.js';
import type { FleetAction, FleetServerState, PlacementView, ServerHealth } from './state.js';

/** Placements of doubt views, shared by every server that carries the same view. */
const viewPlacements = new WeakMap<PlacementView, Placement>();
/** The write number (`WriteGuard#writes`) when each doubt view was made: writes numbered above it began after the change. */
const viewSince = new WeakMap<PlacementView, number>();

/** The write number when `view` was made (0 for a view never synced). */
export function doubtSince(view: PlacementView): number {
  return viewSince.get(view) ?? 0;
}

/**
 * True for the failures that count towards ejection: the server is
 * unreachable or silent. A `TimeoutError` (no reply in time), a
 * `PoolEmptyError` (no connection up or coming up), a `ConnectError`.
 * Not counted: `ConnectionError` on a request (the broken connection behind
 * it is counted once, by its state change), error replies (`ServerError`:
 * the server answered), aborts, refused arguments, full queues, closes.
 */
export function isServerFailure(error: unknown): boolean {
  return error instanceof TimeoutError || error instanceof PoolEmptyError || error instanceof ConnectError;
}

/** One server of the fleet: its pool, its client, its health as last decided by the reducer. */
export class FleetServer {
  /** The server's id. */
  readonly id: string;
  /** Its settings, as resolved from the spec. */
  readonly settings: ResolvedServer;
  /**
   * The framing of its connections (for checking arguments before a split
   * command sends anything): with `dialect: 'auto'`, that of the generation
   * its latest connection found (the permissive `AUTO_DIALECT` before any).
   */
  dialect: Dialect;
  /** Its connection pool. */
  readonly pool: ConnectionPool<Connection>;
  /** A client over that pool: the per-server request path. */
  readonly client: ZCached;

  // Mirrors of the reducer state, refreshed after every step (the request path reads them).
  /** Its placement weight. */
  weight: number;
  /** Its health. */
  health: ServerHealth = 'up';
  /** Failures were counted since the last success: the next success must be reported. */
  failing = false;
  /** When the next probe starts (ejected only), in ms on the fleet's clock. */
  retryAt: number | undefined;
  /** Its doubts (see `FleetServerState.doubts`) as placements; empty when it is trusted for every key it holds. */
  doubts: readonly Placement[] = [];
  /** Times it went out (ejected or fenced): a sweep or warm-up started before an outage stops at the next batch. */
  outages = 0;
  /** For each of its {@link doubts}: the write number when it was made (see `WriteGuard#writes`). */
  doubtsSince: readonly number[] = [];
  /** Writes (and repairs) sent to it and not settled yet: a sweep waits for those sent before it. */
  readonly writes = new Set<Promise<unknown>>();

  readonly #report: (action: FleetAction) => void;
  readonly #now: () => number;
  readonly #unsubscribe: Unsubscribe;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Failures count only once the pool was asked to connect (a request before `run()` is not the server's fault). */
  #counting = false;
  #closed = false;

  readonly #hashTags: boolean;

  constructor(settings: ResolvedServer, report: (action: FleetAction) => void, now: () => number, hashTags = true) {
    this.#hashTags = hashTags;
    this.id = settings.id;
    this.settings = settings;
    this.weight = settings.weight;
    this.dialect = settings.dialect;
    this.#report = report;
    this.#now = now;
    const connection = settings.connection;
    this.pool = new ConnectionPool<Connection>(settings.poolSize, () => new Connection(connection));
    this.client = ZCached.fromConnectionPool(this.pool);
    this.#unsubscribe = this.pool.subscribe((event) => {
      if (event.type !== 'connectionStateChanged' || this.#closed) return;
      const { change } = event;
      if (change.to === 'connected') {
        const connection = this.pool.connections.find((c) => c.id === change.id);
        if (connection !== undefined) this.dialect = connection.dialect;
        this.#succeeded();
      }
      else if (change.to === 'broken' && change.error !== undefined && this.#counting) {
        this.#report({ type: 'failed', id: this.id, at: this.#now(), error: change.error });
      }
    });
  }

  /**
   * Copies the reducer's view of this server. `writes`: the write number
   * now (`WriteGuard#writes`), given to doubt views seen for the first
   * time: the shell syncs in the step that made them.
   */
  sync(state: FleetServerState, writes = 0): void {
    if (this.health === 'up' && state.health !== 'up') this.outages++;
    this.weight = state.weight;
    this.health = state.health;
    this.failing = state.failures > 0;
    this.retryAt = state.retryAt;
    if (state.doubts.length !== this.doubts.length || state.doubts.length > 0) {
      this.doubts = state.doubts.map((view) => {
        let placement = viewPlacements.get(view);
        if (placement === undefined) viewPlacements.set(view, (placement = new Placement(view, { hashTags: this.#hashTags })));
        if (!viewSince.has(view)) viewSince.set(view, writes);
        return placement;
      });
      this.doubtsSince = state.doubts.map(doubtSince);
    }
  }

  /**
   * Follows a write (or a repair) sent to this server: tracked as a request
   * ({@link track}) and held in {@link writes} until it settles.
   */
  trackWrite<T>(request: Promise<T>): Promise<T> {
    const tracked = this.track(request);
    const writes = this.writes;
    writes.add(tracked);
    const settled = (): void => {
      writes.delete(tracked);
    };
    tracked.then(settled, settled);
    return tracked;
  }

  /** The error for a request that this ejected server will not take. */
  ejectedError(): ServerEjectedError {
    // The failure behind the ejection (a refused connect, a server of another generation...) as the cause.
    const cause = this.pool.connections.find((connection) => connection.lastError !== undefined)?.lastError;
    return new ServerEjectedError(this.id, this.retryAt, { cause, now: this.#now() });
  }

  /** Connects the pool (`setup()`); resolves when every connection connected or used up its attempts. */
  start(): Promise<void> {
    this.#counting = true;
    this.started = this.pool.setup();
    return this.started;
  }

  /** Settles once {@link start} did (its connections connected or used up their attempts); pending before. */
  started: Promise<void> = new Promise(() => undefined);

  /**
   * Follows a request of this server: a reply (an error reply included)
   * reports a success when failures were being counted; a failure that
   * counts reports it. The returned promise settles as `request` does.
   */
  track<T>(request: Promise<T>): Promise<T> {
    return request.then(this.#onReply, this.#onError) as Promise<T>;
  }

  readonly #onReply = (value: unknown): unknown => {
    if (this.failing) this.#succeeded();
    return value;
  };

  readonly #onError = (error: unknown): never => {
    this.#account(error);
    throw error;
  };

  /** Counts a failed request towards ejection (or, for an error reply, as a sign of life). */
  #account(error: unknown): void {
    if (this.#counting && !this.#closed) {
      if (isServerFailure(error)) this.#report({ type: 'failed', id: this.id, at: this.#now(), error: error as Error });
      else if (error instanceof ServerError && this.failing) this.#succeeded();
    }
  }

  /**
   * Follows a write sent to this server, without a promise of its own (the
   * replicated write path): counted as {@link track} counts, held in
   * {@link writes} until it settles, then `settle(true, value)` or
   * `settle(false, error)`.
   */
  watchWrite<T>(request: Promise<T>, settle: (confirmed: boolean, outcome: unknown) => void): void {
    const writes = this.writes;
    writes.add(request);
    request.then(
      (value) => {
        writes.delete(request);
        if (this.failing) this.#succeeded();
        settle(true, value);
      },
      (error: unknown) => {
        writes.delete(request);
        this.#account(error);
        settle(false, error);
      },
    );
  }

  #succeeded(): void {
    if (this.failing && !this.#closed) this.#report({ type: 'succeeded', id: this.id });
  }

  /** Arms the retry timer (like the pool's sockets, it keeps the process alive until `close()`). */
  armRetry(delay: number, due: () => void): void {
    this.cancelRetry();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) due();
    }, delay);
  }

  /** Stops the retry timer, if armed. */
  cancelRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /**
   * Checks that the server is back: reconnects the connections that are
   * not connected (a fresh run of attempts, now), then sends `PING` (and
   * `FLUSH` when `flush`). Resolves with `undefined` when it answered, or
   * with the error that says why not; never rejects. Probe failures do not
   * count as failures (the server is ejected).
   */
  async probe(flush: boolean): Promise<Error | undefined> {
    try {
      const connected = await this.pool.reconnect(true);
      if (this.#closed) return new ConnectionError(`server ${this.id} left the fleet during its probe`);
      if (connected === 0) {
        const cause = this.pool.connections.find((connection) => connection.lastError !== undefined)?.lastError;
        return new ConnectError(`server ${this.id} is still unreachable: no connection could connect`, cause === undefined ? undefined : { cause });
      }
      const reply = await this.client.ping();
      if (reply !== 'PONG') return new ConnectionError(`server ${this.id} answered the probe with ${String(reply)}`);
      if (flush) await this.client.flush();
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** Leaves the fleet: no more reports, no timer; closes the pool (every connection, timer and socket). */
  close(): Promise<void> {
    this.#closed = true;
    this.cancelRetry();
    this.#unsubscribe();
    return this.client.close();
  }
}

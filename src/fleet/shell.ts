/**
 * `FleetShell`: the effect layer under `ZCachedFleet`. It runs
 * {@link fleetReducer}, performs its effects (open and close a server's
 * pool, arm and cancel retry timers, probe a server, emit events), keeps the
 * `FleetServer`s and the two placement tables in step with the state, and
 * answers the one question of the request path: which server takes a key.
 *
 * @module
 */

import type { ConnectionPool } from '../pool/pool.js';
import type { Connection } from '../connection/connection.js';
import type { ResolvedFleetOptions, ResolvedServer } from './options.js';
import { logFleetEvent } from './fleet-debug.js';
import type { FleetEventSink } from './fleet-events.js';
import { Placement } from './placement.js';
import { fleetReducer } from './reducer.js';
import { FleetServer, doubtSince } from './server.js';
import { initialFleetState, type FleetAction, type FleetServerState, type FleetState, type PlacementView } from './state.js';
import { sweepServer } from './sweep.js';
import type { ReplicaContext } from './replica-reads.js';
import { warmUpServer } from './warm-up.js';

/** The shell of a fleet: state, servers, placement. */
export class FleetShell {
  readonly #options: ResolvedFleetOptions;
  readonly #sink: FleetEventSink;
  readonly #servers = new Map<string, FleetServer>();
  /** Specs of servers whose `addServer` action is being dispatched (read by the `openPool` effect). */
  readonly #joining = new Map<string, ResolvedServer>();
  #state: FleetState;
  /** The servers in state order. */
  #order: readonly FleetServer[] = [];
  /** Rendezvous over every server, and over those that are up (`'rehash'` routes on it). */
  #all: Placement<FleetServer>;
  #live: Placement<FleetServer>;
  #running = false;

  /**
   * @param options - the fleet's resolved options.
   * @param sink - told every event the reducer reports, in order, and each server's pool as it opens and closes.
   */
  constructor(options: ResolvedFleetOptions, sink: FleetEventSink) {
    this.#options = options;
    this.#sink = sink;
    this.#state = initialFleetState(options.ejection, options.replicas);
    this.#all = this.#live = new Placement<FleetServer>([], { hashTags: options.hashTags });
  }

  /** The fleet as data. */
  get state(): FleetState {
    return this.#state;
  }

  /** The servers, in the order they joined. */
  get order(): readonly FleetServer[] {
    return this.#order;
  }

  /** Number of servers (up or not). */
  get size(): number {
    return this.#order.length;
  }

  /** The server with this id, if it is in the fleet. */
  server(id: string): FleetServer | undefined {
    return this.#servers.get(id);
  }

  /** True when a server with this id is in the fleet or joining it. */
  has(id: string): boolean {
    return this.#servers.has(id) || this.#joining.has(id);
  }

  /** A server's pool. */
  pool(id: string): ConnectionPool<Connection> | undefined {
    return this.#servers.get(id)?.pool;
  }

  /**
   * The server that takes `key`: its own (highest rendezvous score among all
   * servers), or with `'rehash'` the best one that is up, falling back to its
   * own when none is. `undefined` when the fleet has no server.
   */
  placeKey(key: string): FleetServer | undefined {
    if (this.#options.failover === 'rehash') {
      const live = this.#live.serverFor(key);
      if (live !== undefined) return live;
    }
    return this.#all.serverFor(key);
  }

  /** Copies of each key (the `replicas` option). */
  get replicas(): number {
    return this.#options.replicas;
  }

  /**
   * With `replicas: k`: the servers that take `key` now, best first: the k
   * best live servers of its ranking (an ejected one's place taken by the
   * next). Empty when no server is up.
   */
  replicasFor(key: string): FleetServer[] {
    return this.#live.replicasFor(key, this.#options.replicas);
  }

  /**
   * Whether `server` may answer a read of `key`: true unless a change of
   * the placement moved the key off it since its last sweep (see
   * `FleetServerState.doubts`) and a write of the key (or of another key
   * of its `WriteGuard` bucket) began since that change: a write that did
   * not reach the server. Until then its copy is the key's current value.
   */
  trusted(server: FleetServer, key: string): boolean {
    const doubts = server.doubts;
    if (doubts.length === 0) return true;
    const guard = this.replicaContext?.guard;
    const bucket = guard?.bucket(key) ?? 0;
    for (let at = 0; at < doubts.length; at++) {
      if (doubts[at]!.holds(key, this.#options.replicas, server.id)) continue;
      if (guard === undefined || guard.writtenSince(bucket, server.doubtsSince[at] ?? 0)) return false;
    }
    return true;
  }

  /** Connects every server's pool; from now on servers that join connect at once. */
  start(): Promise<void> {
    this.#running = true;
    return Promise.all(this.#order.map((server) => server.start())).then(() => undefined);
  }

  /** Adds a server (dispatches `addServer`, `initial` for the fleet's own servers); resolves when its pool connected or failed, if the fleet runs. */
  join(server: ResolvedServer, initial = false): Promise<void> {
    this.#joining.set(server.id, server);
    try {
      return settleAll(this.dispatch({ type: 'addServer', id: server.id, weight: server.weight, at: this.#options.now(), initial }));
    } finally {
      this.#joining.delete(server.id);
    }
  }

  /** Dispatches an action and waits for the pool work it starts (setups, closes). */
  run(action: FleetAction): Promise<void> {
    return settleAll(this.dispatch(action));
  }

  /** Dispatches an action whose work nobody waits for (failures, successes, timers). */
  readonly report = (action: FleetAction): void => {
    void this.dispatch(action);
  };

  /**
   * One reducer step: commits the state, opens and closes pools, refreshes
   * the servers' health and the placement tables, then performs the other
   * effects in order. Returns the pool work started.
   */
  dispatch(action: FleetAction): Promise<void>[] {
    const before = this.#state;
    const [after, effects] = fleetReducer(before, action);
    if (after === before && effects.length === 0) return [];
    this.#state = after;
    if (after.closed) this.#running = false;
    const work: Promise<void>[] = [];
    for (const effect of effects) {
      if (effect.type === 'openPool') {
        const settings = this.#joining.get(effect.id);
        if (settings === undefined || this.#servers.has(effect.id)) continue;
        const server = new FleetServer(settings, this.report, this.#options.now, this.#options.hashTags);
        this.#servers.set(effect.id, server);
        this.#sink.opened(server);
        if (this.#running) work.push(server.start());
      } else if (effect.type === 'closePool') {
        const server = this.#servers.get(effect.id);
        if (server === undefined) continue;
        this.#servers.delete(effect.id);
        this.#sink.closed(server);
        work.push(server.close());
      }
    }
    this.#sync(before, after);
    for (const effect of effects) {
      const server = 'id' in effect ? this.#servers.get(effect.id) : undefined;
      switch (effect.type) {
        case 'armRetry':
          server?.armRetry(effect.delay, () => this.report({ type: 'retryDue', id: effect.id, at: this.#options.now() }));
          break;
        case 'cancelRetry':
          server?.cancelRetry();
          break;
        case 'probe':
          if (server !== undefined) void this.#probe(server, effect.flush || this.#options.flushOnReturn);
          break;
        case 'sweep':
          if (server !== undefined) void this.#sweep(server, effect.sweep, effect.views);
          break;
        case 'warmUp':
          if (server !== undefined) void this.#warmUp(server, effect.warm);
          break;
        case 'notify':
          logFleetEvent(effect.event);
          this.#sink.event(effect.event);
          break;
        default:
          break;
      }
    }
    return work;
  }

  /** The replica paths' context, for warm-ups (set by the routing). */
  replicaContext: ReplicaContext | undefined;

  async #warmUp(server: FleetServer, warm: number): Promise<void> {
    await Promise.resolve(); // after the step that asked for it
    const context = this.replicaContext;
    // Before run(), nothing is copied: the servers hold what they hold.
    const copied = this.#running && context !== undefined ? (await server.started, await warmUpServer(context, server, () => this.#state.servers.find((entry) => entry.id === server.id)?.warming === warm)) : 0;
    if (this.#servers.get(server.id) !== server) return;
    this.report({ type: 'warmedUp', id: server.id, warm, copied });
  }

  async #sweep(server: FleetServer, sweep: number, views: readonly PlacementView[]): Promise<void> {
    const guard = this.replicaContext?.guard;
    // A copy of a key that is the server's again, and was not written since the change that moved it off, is current: it stays.
    const current =
      guard === undefined
        ? undefined
        : (key: string, view: PlacementView): boolean => !guard.writtenSince(guard.bucket(key), doubtSince(view)) && this.replicasFor(key).includes(server);
    const result = await sweepServer(server, views, this.#options.replicas, this.#options.hashTags, current);
    if (this.#servers.get(server.id) !== server) return;
    if (typeof result === 'number') this.report({ type: 'sweepDone', id: server.id, sweep, cleared: views.length, deleted: result });
    else this.report({ type: 'sweepFailed', id: server.id, sweep, at: this.#options.now(), error: result });
  }

  async #probe(server: FleetServer, flush: boolean): Promise<void> {
    const error = await server.probe(flush);
    if (this.#servers.get(server.id) !== server) return; // it left the fleet meanwhile
    const at = this.#options.now();
    this.report(error === undefined ? { type: 'probeSucceeded', id: server.id, at } : { type: 'probeFailed', id: server.id, at, error });
  }

  /** Copies the state into the servers; rebuilds the placement tables when membership, a weight or a health changed. */
  #sync(before: FleetState, after: FleetState): void {
    if (before.servers === after.servers) return;
    const order: FleetServer[] = [];
    for (const entry of after.servers) {
      const server = this.#servers.get(entry.id);
      if (server === undefined) continue;
      server.sync(entry, this.replicaContext?.guard.writes);
      order.push(server);
    }
    this.#order = order;
    if (samePlacement(before.servers, after.servers)) return;
    const options = { hashTags: this.#options.hashTags };
    this.#all = new Placement(order, options);
    this.#live = new Placement(
      order.filter((server) => server.health === 'up'),
      options,
    );
  }
}

/** True when both lists have the same ids, weights and up/ejected split, in order. */
function samePlacement(a: readonly FleetServerState[], b: readonly FleetServerState[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((server, index) => {
    const other = b[index]!;
    return server.id === other.id && server.weight === other.weight && (server.health === 'up') === (other.health === 'up');
  });
}

function settleAll(work: readonly Promise<void>[]): Promise<void> {
  return work.length === 0 ? Promise.resolve() : Promise.all(work).then(() => undefined);
}

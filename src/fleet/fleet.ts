/**
 * `ZCachedFleet`: one client over many zcached servers: the public API.
 * Membership and ejection run through the pure {@link fleetReducer}, under
 * `FleetShell` (`shell.ts`), which holds one `ConnectionPool` per server
 * (through a `FleetServer`); keys are placed by weighted rendezvous hashing
 * (`placement.ts`); multi-key commands are split by server (`multi-key.ts`),
 * server-wide commands sent to every server (`fan-out.ts`).
 *
 * The request path runs no reducer step: placement reads two immutable
 * `Placement` tables rebuilt when membership, a weight or a health changes,
 * and a server's health is a field of its `FleetServer`.
 *
 * @module
 */

import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { CommandOptions } from '../client/client.js';
import type { CodecOption, DecodedValue, EncodableValue, EntriesFor, MgetValue } from '../client/codec.js';
import { checkCall, checkCommandCall, checkKeyCall, checkTwoKeyCall, mgetArguments, requestOptions } from '../client/call-arguments.js';
import { copyCommand, msetCommand, type CopyOptions } from '../client/commands.js';
import { ConnectError, ConnectionClosedError, DialectMismatchError } from '../errors.js';
import { Listeners, type Unsubscribe } from '../events.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';
import type { CrossServerError, FanOutError, PartialFailureError, ServerEjectedError } from './errors.js';
import { perServerCommands, unionOfKeys, type PerServerCommands } from './fan-out.js';
import { fleetFpView, type ZCachedFleetFp } from './fp.js';
import { fleetValues, type FleetValues } from './fleet-codec.js';
import { emitFleetEvents, type ZCachedFleetEvents } from './fleet-events.js';
import { FleetRouting } from './fleet-routing.js';
import { FLEET_CALLS as CALLS, commandKey, type FleetCommandOptions, type FleetServerInfo } from './fleet-calls.js';
import { resolveFleetOptions, resolveServer, type FailoverPolicy, type FleetServerSpec, type ResolvedFleetOptions, type ZCachedFleetOptions } from './options.js';
import { assertWeight } from './placement.js';
import { FleetShell } from './shell.js';
import { READS, anyTrue, checkReplicatedCommand, copyOnly, first } from './replica-shapes.js';
import type { FleetEvent, FleetState } from './state.js';

/** The diagnostics channel on which every {@link FleetEvent} is published as `{ fleet, event }`. */
export const FLEET_CHANNEL = 'zcached:fleet';
const diagnostics = channel(FLEET_CHANNEL);

export type { FleetCommandOptions, FleetServerInfo } from './fleet-calls.js';

/**
 * A client over a fleet of zcached servers, with the commands of `ZCached`
 * and the same `fp` view.
 *
 * - Single-key commands go to the key's server, chosen by weighted
 *   rendezvous hashing of the key's UTF-8 bytes (XXH64), or of its `{tag}`.
 * - `mget` / `mset` are split by server, run in parallel and merged in the
 *   caller's key order; a partial failure rejects with a
 *   {@link PartialFailureError} naming the failed keys per server.
 * - `keys`, `dbsize`, `flush`, `ping`, `save`, `lastsave` go to every
 *   server and merge (sum, union, ...); a failure on any server rejects with
 *   a {@link FanOutError} holding every server's outcome. `byServer` gives
 *   the outcomes without merging.
 * - A server is ejected after `failureLimit` consecutive failures and
 *   probed after `retryTimeout` ms; meanwhile its keys fail fast with a
 *   {@link ServerEjectedError} (`failover: 'fail-fast'`, the default) or go
 *   to their next server (`failover: 'rehash'`).
 * - With `replicas: k` each key lives on k servers: writes go to all,
 *   reads fail over between them (docs/fleet.md, "Replicas").
 *
 * Arguments are checked synchronously as `ZCached` does, for plain
 * JavaScript too (argument count, key types, per-call options: TypeError,
 * RangeError, DialectError; nothing sent), whether or not a server is up.
 * A `codec` works as `ZCached`'s, for the whole fleet: `ZCachedFleet<'json'>`.
 *
 * It is an `EventEmitter` of {@link ZCachedFleetEvents}, as `ZCached` is of
 * its events: the fleet's own (`serverEjected`, `serverReturned`, ...) and
 * `ZCached`'s connection events over every server (`connect`, `ready`,
 * `reconnecting`, `end`, `error`, each naming its server; `error` only
 * while a listener is attached). `subscribe` takes every fleet event with
 * one listener.
 *
 * @example
 * ```ts
 * const fleet = new ZCachedFleet({ servers: ['zcached://10.0.0.1:7556', { host: '10.0.0.2', weight: 2 }], poolSize: 4 });
 * await fleet.run();
 * await fleet.set('{user42}:profile', 'Ada');
 * await fleet.close();
 * ```
 */
export class ZCachedFleet<C extends CodecOption | undefined = undefined> extends EventEmitter<ZCachedFleetEvents> implements AsyncDisposable {
  readonly #options: ResolvedFleetOptions;
  readonly #values: FleetValues;
  readonly #events = new Listeners<FleetEvent>();
  readonly #shell: FleetShell;
  readonly #routing: FleetRouting;
  #closing: Promise<void> | undefined;
  #fp: ZCachedFleetFp | undefined;
  #byServer: PerServerCommands | undefined;

  /**
   * Creates the fleet and a pool per server (nothing connects until {@link run}).
   * @throws TypeError / RangeError for an invalid option, naming it (and the server: `servers[2]: port ...`)
   */
  constructor(options: ZCachedFleetOptions<C>) {
    super();
    this.#options = resolveFleetOptions(options);
    this.#values = fleetValues(this.#options.codec);
    const events = emitFleetEvents(this, (event) => {
      this.#events.emit(event);
      if (diagnostics.hasSubscribers) diagnostics.publish({ fleet: this, event });
    });
    this.#shell = new FleetShell(this.#options, events);
    this.#routing = new FleetRouting(this.#shell, this.#options, (event) => events.event(event));
    for (const server of this.#options.servers) void this.#shell.join(server, true);
  }

  /** The failover policy in force. */
  get failover(): FailoverPolicy {
    return this.#options.failover;
  }

  /** The fleet as data: servers, weights, health (see {@link FleetState}). */
  get state(): FleetState {
    return this.#shell.state;
  }

  /** Every server with its state and pool, in the order they joined. */
  get servers(): readonly FleetServerInfo[] {
    return this.#shell.state.servers.map((server) => ({ ...server, pool: this.#shell.pool(server.id)! }));
  }

  /** The same commands as lazy fp-ts `TaskEither<ZCachedError, T>` values. */
  get fp(): ZCachedFleetFp {
    this.#fp ??= fleetFpView(this as unknown as ZCachedFleet); // typed as a fleet without codec, as ZCached's fp
    return this.#fp;
  }

  /** `ping`, `keys`, `dbsize`, `flush`, `save`, `lastsave`, `sendCommand` on every server, each server's outcome apart. */
  get byServer(): PerServerCommands {
    this.#byServer ??= perServerCommands(() => this.#shell.order);
    return this.#byServer;
  }

  /**
   * The ids of the servers that take `key` now, best first: with
   * `replicas: k`, its k replicas (the k best live servers of its
   * rendezvous ranking, an ejected one's place taken by the next); with
   * `replicas: 1`, the one of {@link serverFor}. Empty when there is none.
   */
  placement(key: string): string[] {
    checkKeyCall(CALLS.placement, arguments.length, key, undefined);
    if (this.#options.replicas === 1) {
      const server = this.#shell.placeKey(key);
      return server === undefined ? [] : [server.id];
    }
    return this.#shell.replicasFor(key).map((server) => server.id);
  }

  /** Copies of each key (the `replicas` option). */
  get replicas(): number {
    return this.#options.replicas;
  }

  /** The id of the server that takes `key` now (after the failover policy), or `undefined` when there is none. */
  serverFor(key: string): string | undefined {
    checkKeyCall(CALLS.serverFor, arguments.length, key, undefined);
    return this.#shell.placeKey(key)?.id;
  }

  /**
   * Listens to every fleet event (server added, removed, weight changed, ejected, returned, probe failed; fenced, swept, warmed, failover, read repair with replicas) with one
   * listener; returns the unsubscribe function. The same events, one by one and typed: `fleet.on('serverEjected', ...)`.
   */
  subscribe(listener: (event: FleetEvent) => void): Unsubscribe {
    checkCall(CALLS.subscribe, arguments.length, undefined);
    if (typeof listener !== 'function') throw new TypeError(`ZCachedFleet.subscribe: listener must be a function, got ${typeof listener}`);
    return this.#events.subscribe(listener);
  }

  /**
   * Connects every server's pool, in parallel. Resolves when each connected
   * or used up its attempts; unreachable servers stay in the fleet (their
   * failures count towards ejection).
   * @throws (rejects) ConnectError when the fleet has servers and not one could connect (a DialectMismatchError
   *   instead when the servers are of another generation than the dialect given); ConnectionClosedError after close()
   */
  async run(): Promise<void> {
    checkCall(CALLS.run, arguments.length, undefined);
    if (this.#shell.state.closed) throw new ConnectionClosedError('the fleet is closed');
    await this.#shell.start();
    const servers = this.#shell.order;
    if (servers.length > 0 && !servers.some((server) => server.pool.isWorking())) {
      const errors = servers.flatMap((server) => server.pool.connections.map((connection) => connection.lastError));
      // Servers of another generation than the dialect given: that, not "unreachable", is the news.
      const mismatch = errors.find((error) => error instanceof DialectMismatchError);
      if (mismatch !== undefined) throw mismatch;
      const cause = errors.find((error) => error !== undefined);
      throw new ConnectError(`no server of the fleet could be reached (${servers.map((server) => server.id).join(', ')})`, cause === undefined ? undefined : { cause });
    }
  }

  /**
   * Closes every server's pool (connections, timers, sockets) and cancels retries. Resolves when all are closed; calling it again returns the same promise.
   * @throws TypeError for any argument: it takes no options (`{ force }` is refused, not ignored)
   */
  close(): Promise<void> {
    checkCall(CALLS.close, arguments.length, undefined);
    this.#closing ??= this.#shell.run({ type: 'close' });
    return this.#closing;
  }

  /** `await using fleet = new ZCachedFleet(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Adds a server: from now on it takes the keys whose top rendezvous score
   * it has (about `weight / total weight` of them; no key moves between
   * other servers). When the fleet runs, resolves once its pool connected
   * or used up its attempts; requests for its keys wait for it meanwhile.
   * @throws (rejects) TypeError / RangeError for an invalid spec or an id already in the fleet; ConnectionClosedError after close()
   */
  async addServer(spec: FleetServerSpec): Promise<void> {
    checkCall(CALLS.addServer, arguments.length, undefined);
    if (this.#shell.state.closed) throw new ConnectionClosedError('the fleet is closed');
    const server = resolveServer(spec, this.#options.shared);
    if (this.#shell.has(server.id)) throw new RangeError(`server ${JSON.stringify(server.id)} is already in the fleet`);
    await this.#shell.join(server);
  }

  /**
   * Removes a server: its keys go to their next server in rendezvous order
   * (no other key moves); its pool is closed (pending requests may finish for `closeTimeout`).
   * @throws (rejects) RangeError when no server has this id
   */
  async removeServer(id: string): Promise<void> {
    checkKeyCall(CALLS.removeServer, arguments.length, id, undefined);
    if (this.#shell.server(id) === undefined) throw new RangeError(`no server ${JSON.stringify(id)} in the fleet`);
    await this.#shell.run({ type: 'removeServer', id });
  }

  /**
   * Changes a server's weight. Raising it moves keys only to this server,
   * lowering it only away from it; raise a new server's weight in steps to
   * warm it up gradually.
   * @throws TypeError / RangeError for a weight that is not a finite number > 0, or an unknown id
   */
  setWeight(id: string, weight: number): void {
    checkKeyCall(CALLS.setWeight, arguments.length, id, undefined);
    assertWeight(weight);
    if (this.#shell.server(id) === undefined) throw new RangeError(`no server ${JSON.stringify(id)} in the fleet`);
    this.#shell.report({ type: 'setWeight', id, weight, at: this.#options.now() });
  }

  // ---- commands -----------------------------------------------------------

  /**
   * Sends any command to the server of its key: `options.key`, else the
   * command's first argument. Commands without a key (PING, FLUSH, KEYS,
   * DBSIZE, SAVE, LASTSAVE, MGET, MSET) need `{ key }`; for every server use
   * `byServer.sendCommand`.
   * @throws TypeError when no key can be found, and as `ZCached.sendCommand`
   */
  sendCommand(command: Command, options?: FleetCommandOptions): Promise<Reply> {
    checkCommandCall(CALLS.sendCommand, arguments.length, command, options);
    const key = commandKey(command, options?.key);
    const request = requestOptions(options); // without `key`
    if (this.#options.replicas > 1) checkReplicatedCommand(command);
    return this.#routing.read(key, command, (client) => client.sendCommand(command, request), READS.answer());
  }

  /** PING on every server: `'PONG'` when all answer; else rejects with a {@link FanOutError}. */
  ping(options?: CommandOptions): Promise<string> {
    checkCall(CALLS.ping, arguments.length, options);
    return this.#routing.merged('PING', () => this.byServer.ping(options), () => 'PONG');
  }

  /** GET on the key's server: the value (decoded, with a codec), or `undefined` when the key does not exist. @throws CodecError (rejection) as `ZCached.get` */
  get<T extends DecodedValue<C> = DecodedValue<C>>(key: string, options?: CommandOptions): Promise<T | undefined> {
    checkKeyCall(CALLS.get, arguments.length, key, options);
    return this.#values.get(key, this.#routing.read(key, ['GET', key], (client) => client.get(key, options), READS.value())) as Promise<T | undefined>;
  }

  /** GET of the stored bytes on the key's server, as `ZCached.getBuffer` (no codec); `undefined` when the key does not exist. */
  getBuffer(key: string, options?: CommandOptions): Promise<Buffer | Exclude<Reply, string> | undefined> {
    checkKeyCall(CALLS.getBuffer, arguments.length, key, options);
    return this.#routing.read(key, ['GET', key], (client) => client.getBuffer(key, options), READS.value());
  }

  /** SET on the key's server; resolves with `'OK'`. @throws DialectError, and TypeError with a codec, as `ZCached.set` */
  set(key: string, value: EncodableValue<C>, options?: CommandOptions): Promise<'OK'> {
    checkKeyCall(CALLS.set, arguments.length, key, options);
    const stored = this.#values.encode(key, value);
    return this.#routing.write(key, ['SET', key, stored], (client, request) => client.set(key, stored, request), first, options);
  }

  /** DELETE on the key's server: true when the key existed. One key, as `ZCached.delete` (`delete('a', 'b')` is refused). */
  delete(key: string, options?: CommandOptions): Promise<boolean> {
    checkKeyCall(CALLS.delete, arguments.length, key, options);
    return this.#routing.write(key, ['DELETE', key], (client, request) => client.delete(key, request), anyTrue, options);
  }

  /** Whether the key exists on its server (a GET; the value is not decoded). */
  exists(key: string, options?: CommandOptions): Promise<boolean> {
    checkKeyCall(CALLS.exists, arguments.length, key, options);
    return this.#routing.read(key, ['GET', key], (client) => client.exists(key, options), READS.exists);
  }

  /** FLUSH on every server; `'OK'` when all did, else a {@link FanOutError}. */
  flush(options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.flush, arguments.length, options);
    return this.#routing.merged('FLUSH', () => this.byServer.flush(options), () => 'OK' as const);
  }

  /** DBSIZE summed over the servers; a {@link FanOutError} when one fails (its `outcomes` have the counts that came). */
  dbsize(options?: CommandOptions): Promise<number> {
    checkCall(CALLS.dbsize, arguments.length, options);
    return this.#routing.merged('DBSIZE', () => this.byServer.dbsize(options), (counts) => counts.reduce((sum, count) => sum + count, 0));
  }

  /** SAVE on every server; `'OK'` when all did (a server with nothing to save fails it: see `byServer.save`). */
  save(options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.save, arguments.length, options);
    return this.#routing.merged('SAVE', () => this.byServer.save(options), () => 'OK' as const);
  }

  /** LASTSAVE: the oldest of the servers' last saves, in Unix seconds (`byServer.lastsave` for each). */
  lastsave(options?: CommandOptions): Promise<number> {
    checkCall(CALLS.lastsave, arguments.length, options);
    return this.#routing.merged('LASTSAVE', () => this.byServer.lastsave(options), (times) => Math.min(...times));
  }

  /** KEYS: every server's keys, once each, in fleet order. */
  keys(options?: CommandOptions): Promise<string[]> {
    checkCall(CALLS.keys, arguments.length, options);
    return this.#routing.merged('KEYS', () => this.byServer.keys(options), unionOfKeys);
  }

  /**
   * MGET split by server, in parallel: a `Map` from each key, in the
   * caller's order (each once), to its value (`null` when missing; with a codec,
   * decoded, `undefined` when missing). When a server's part fails, rejects
   * with a {@link PartialFailureError} (which keys, which server, why; `values` has the rest).
   * The keys may come spread or as one array (`mget(['a', 'b'], options)`), as `ZCached.mget` takes them.
   */
  mget<T extends DecodedValue<C> = DecodedValue<C>>(
    ...keys: string[] | [...keys: string[], options: CommandOptions] | [keys: readonly string[], options?: CommandOptions]
  ): Promise<Map<string, MgetValue<C, T>>> {
    const { keys: list, options } = mgetArguments(CALLS.mget, keys);
    return this.#values.mget(this.#routing.mget(list, options, false)) as Promise<Map<string, MgetValue<C, T>>>;
  }

  /** MGET of the stored bytes, split by server as {@link mget}: each key to its value as `ZCached.getBuffer` gives it, `null` when missing; no codec. */
  mgetBuffer(
    ...keys: string[] | [...keys: string[], options: CommandOptions] | [keys: readonly string[], options?: CommandOptions]
  ): Promise<Map<string, Buffer | Exclude<Reply, string>>> {
    const { keys: list, options } = mgetArguments(CALLS.mgetBuffer, keys);
    return this.#routing.mget(list, options, true) as Promise<Map<string, Buffer | Exclude<Reply, string>>>;
  }

  /**
   * MSET split by server, in parallel; `'OK'` when every part did. When a
   * server's part fails, rejects with a {@link PartialFailureError} naming
   * its keys (the other parts were written).
   * @throws as `ZCached.mset` (a codec's refusals too), with the caller's entry numbers in `DialectError` paths
   */
  mset(entries: EntriesFor<C>, options?: CommandOptions): Promise<'OK'> {
    checkCall(CALLS.mset, arguments.length, options);
    return this.#routing.mset(msetCommand(this.#values.entries(entries)), options);
  }

  /** ECHO (newer servers) on the server its message would be placed on; resolves with the message. */
  echo(message: string, options?: CommandOptions): Promise<string> {
    checkKeyCall(CALLS.echo, arguments.length, message, options);
    return this.#routing.read(message, ['ECHO', message], (client) => client.echo(message, options), READS.answer());
  }

  /** SIZEOF (newer servers) on the key's server. */
  sizeof(key: string, options?: CommandOptions): Promise<number> {
    checkKeyCall(CALLS.sizeof, arguments.length, key, options);
    return this.#routing.read(key, ['SIZEOF', key], (client) => client.sizeof(key, options), READS.sizeof);
  }

  /** RENAME (newer servers): both keys must be on one server (same hash tag), else a {@link CrossServerError}. */
  rename(key: string, newKey: string, options?: CommandOptions): Promise<'OK'> {
    checkTwoKeyCall(CALLS.rename, arguments.length, key, newKey, options);
    return this.#routing.twoKeyWrite('RENAME', key, newKey, ['RENAME', key, newKey], (client, request) => client.rename(key, newKey, request), options);
  }

  /** COPY (newer servers): both keys must be on one server (same hash tag), else a {@link CrossServerError}. */
  copy(source: string, destination: string, options?: CopyOptions & CommandOptions): Promise<'OK'> {
    checkTwoKeyCall(CALLS.copy, arguments.length, source, destination, options);
    const command = copyCommand(source, destination, options);
    return this.#routing.twoKeyWrite('COPY', source, destination, command, (client, request) => client.copy(source, destination, request === undefined ? copyOnly(options) : options), options);
  }

  /** Whether every server answers PING now; never rejects. */
  isAlive(options?: CommandOptions): Promise<boolean> {
    checkCall(CALLS.isAlive, arguments.length, options);
    return this.ping(options).then(
      () => true,
      () => false,
    );
  }
}

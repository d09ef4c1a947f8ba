/**
 * `FleetRouting`: where a `ZCachedFleet` command goes, and the error when
 * it can go nowhere. A single-key command runs on its key's server when
 * that server is up; otherwise it is refused (after its arguments are
 * checked as the client would check them) with a `ServerEjectedError` or a
 * `NoServerError`. Two-key commands need both keys on one server; commands
 * for every server merge their outcomes.
 *
 * @module
 */

import type { ZCached } from '../client/client.js';
import { resolveDialect, type Dialect } from '../protocol/dialect.js';
import type { Command } from '../protocol/encoder.js';
import { CrossServerError, NoServerError, ServerEjectedError, type ServerOutcome } from './errors.js';
import { mergeOutcomes } from './fan-out.js';
import { checkEncodable } from './fleet-calls.js';
import type { ResolvedFleetOptions } from './options.js';
import type { FleetServer } from './server.js';
import type { FleetShell } from './shell.js';
import type { CommandOptions } from '../client/client.js';
import { replicaRead, type ReadShape, type ReplicaContext } from './replica-reads.js';
import { callerView, replicaWrite } from './replica-writes.js';
import type { FleetEvent } from './state.js';
import { WriteGuard } from './write-guard.js';
import { mgetReplicas, msetReplicas } from './replica-multi.js';
import { checkParts, mgetParts, msetArguments, msetParts, splitByServer } from './multi-key.js';
import type { Reply } from '../protocol/values.js';

/** The request path of a fleet over its shell. */
export class FleetRouting {
  readonly #shell: FleetShell;
  readonly #options: ResolvedFleetOptions;
  /** The dialect arguments are checked against when no server says which (none, or not yet connected). */
  readonly #fallbackDialect: Dialect;

  readonly #replicas: ReplicaContext;

  /** @param emit - tells listeners a shell event (`failover`, `readRepaired`). */
  constructor(shell: FleetShell, options: ResolvedFleetOptions, emit: (event: FleetEvent) => void) {
    this.#shell = shell;
    this.#options = options;
    this.#fallbackDialect = resolveDialect(options.shared.connection.dialect);
    this.#replicas = {
      shell,
      guard: new WriteGuard(),
      failoverOnMiss: options.failoverOnMiss,
      emit,
      now: options.now,
      noServer: (command, key) => {
        this.#checkOnEveryServer(command);
        return this.unavailable(key);
      },
      unavailable: (key) => this.unavailable(key),
    };
    shell.replicaContext = this.#replicas;
  }

  /** Runs a single-key command on the key's server, or rejects (after checking the arguments) when there is none up. */
  keyed<T>(key: string, command: Command, run: (client: ZCached) => Promise<T>): Promise<T> {
    const server = this.#shell.placeKey(key);
    if (server !== undefined && server.health === 'up') return server.track(run(server.client));
    this.checkArguments(command, server?.dialect);
    return Promise.reject(server === undefined ? this.noServerError() : this.#ejected(server));
  }

  /** A two-key command: on the keys' server, or a {@link CrossServerError} when they are on two. */
  sameServer<T>(name: string, a: string, b: string, command: Command, run: (client: ZCached) => Promise<T>): Promise<T> {
    const first = this.#shell.placeKey(a);
    const second = this.#shell.placeKey(b);
    if (first !== undefined && second !== undefined && first !== second) {
      this.checkArguments(command, first.dialect);
      return Promise.reject(new CrossServerError(name, new Map([[a, first.id], [b, second.id]])));
    }
    return this.keyed(a, command, run);
  }

  /**
   * A read of `key`: on its server (`replicas: 1`, as {@link keyed}), or on
   * its replicas with failover and read repair (see `replica-reads.ts`).
   */
  read<T>(key: string, command: Command, run: (client: ZCached) => Promise<T>, shape: ReadShape<T>): Promise<T> {
    if (this.#options.replicas === 1) return this.keyed(key, command, run);
    return replicaRead(this.#replicas, key, command, run, shape);
  }

  /**
   * A write of `key`: on its server (`replicas: 1`), or on all its replicas
   * (see `replica-writes.ts` for when it is acknowledged). `run` gets no
   * per-call options with replicas: `signal` and `timeout` stop only the
   * caller's wait.
   */
  write<T>(key: string, command: Command, run: (client: ZCached, options?: CommandOptions) => Promise<T>, merge: (values: T[]) => T, options: CommandOptions | undefined): Promise<T> {
    if (this.#options.replicas === 1) return this.keyed(key, command, (client) => run(client, options));
    return this.#replicated([key], command, run, merge, options);
  }

  /** A write of two keys that must share their server (`replicas: 1`) or their replicas: else a {@link CrossServerError}. */
  twoKeyWrite<T>(name: string, a: string, b: string, command: Command, run: (client: ZCached, options?: CommandOptions) => Promise<T>, options: CommandOptions | undefined): Promise<T> {
    if (this.#options.replicas === 1) return this.sameServer(name, a, b, command, (client) => run(client, options));
    const first = this.#shell.replicasFor(a);
    const second = this.#shell.replicasFor(b);
    // The same servers in another order hold both keys as well: writes go to all of them.
    if (first.length !== second.length || first.some((server) => !second.includes(server))) {
      this.checkArguments(command, first[0]?.dialect);
      const where = (servers: readonly FleetServer[]): string => servers.map((server) => server.id).join(' + ');
      return Promise.reject(new CrossServerError(name, new Map([[a, where(first)], [b, where(second)]])));
    }
    return this.#replicated([a, b], command, run, (values) => values[0]!, options);
  }

  #replicated<T>(keys: readonly string[], command: Command, run: (client: ZCached) => Promise<T>, merge: (values: T[]) => T, options: CommandOptions | undefined): Promise<T> {
    const replicas = this.#shell.replicasFor(keys[0]!);
    if (replicas.length === 0) return this.#refuse(command, keys[0]!);
    // Replicas of one dialect refuse the same arguments, and the first refuses before anything is sent; only
    // replicas of several dialects need every check first, so that nothing is half-sent.
    const dialect = replicas[0]!.dialect;
    if (replicas.some((server) => server.dialect !== dialect)) for (const each of new Set(replicas.map((server) => server.dialect))) this.checkArguments(command, each);
    return callerView(replicaWrite(this.#replicas, keys, replicas, run, merge, options?.signal), options);
  }

  /** Rejects a command no server can take now (after checking its arguments): none in the fleet, or all ejected. */
  #refuse<T>(command: Command, key: string): Promise<T> {
    this.#checkOnEveryServer(command);
    return Promise.reject(this.unavailable(key));
  }

  /**
   * Checks a command no live replica takes against the dialect of every
   * server (those found by their connections), as a replica would check it:
   * not against the permissive fallback, which lets through what the
   * fleet's servers refuse (an empty key on 'etx').
   */
  #checkOnEveryServer(command: Command): void {
    const dialects = new Set(this.#shell.order.map((server) => server.dialect));
    if (dialects.size === 0) this.checkArguments(command);
    for (const dialect of dialects) this.checkArguments(command, dialect);
  }

  /**
   * The error for a command no server can take now: `NoServerError`, or a
   * `ServerEjectedError` when every server is out, naming the key's server
   * (its best-ranked) for a command of one key, else the first one out.
   */
  unavailable(key?: string): Error {
    const placed = key === undefined ? undefined : this.#shell.placeKey(key);
    const out = placed !== undefined && placed.health !== 'up' ? placed : this.#shell.order.find((server) => server.health !== 'up');
    if (this.#shell.size === 0 || out === undefined) return this.noServerError();
    const error = out.ejectedError();
    return new ServerEjectedError(out.id, out.retryAt, { now: this.#options.now(), everyServer: true, cause: error.cause });
  }

  /** What the replica paths share. */
  get replicas(): ReplicaContext {
    return this.#replicas;
  }

  /** MGET split by server (see `multi-key.ts`), or over replicas (see `replica-multi.ts`). */
  mget(list: readonly string[], options: CommandOptions | undefined, bytes: boolean): Promise<Map<string, Reply>> {
    if (list.length === 0) return Promise.resolve(new Map());
    if (this.#shell.size === 0) return this.noServer(['MGET', ...list]);
    if (this.#options.replicas > 1) return mgetReplicas(this.#replicas, list, options, bytes);
    const parts = splitByServer(list, (key) => this.#shell.placeKey(key)!);
    if (parts.size > 1 || [...parts.keys()].some((server) => server.health !== 'up')) checkParts('MGET', parts.values());
    return mgetParts(list, parts, options, bytes);
  }

  /** MSET of an encoded `['MSET', key, value, ...]` command, split by server or over replicas. */
  mset(command: Command, options: CommandOptions | undefined): Promise<'OK'> {
    const { keys, values } = msetArguments(command);
    if (this.#shell.size === 0) return this.noServer(command);
    if (this.#options.replicas > 1) return callerView(msetReplicas(this.#replicas, keys, values, options?.signal), options);
    const parts = splitByServer(keys, (key) => this.#shell.placeKey(key)!, values);
    if (parts.size > 1 || [...parts.keys()].some((server) => server.health !== 'up')) checkParts('MSET', parts.values());
    return msetParts(keys, parts, options);
  }

  /** Throws what the client would throw for these arguments (nothing is sent either way). */
  checkArguments(command: Command, dialect: Dialect = this.#fallbackDialect): void {
    checkEncodable(command, dialect);
  }

  /** The fleet has no server: none configured or left, or it is closed. */
  noServerError(): NoServerError {
    return new NoServerError(this.#shell.state.closed ? 'the fleet is closed' : 'the fleet has no server');
  }

  /** Rejects with {@link noServerError}, after checking the arguments. */
  noServer<T>(command: Command): Promise<T> {
    this.checkArguments(command);
    return Promise.reject(this.noServerError());
  }

  /** A command for every server: its outcomes merged, or a `FanOutError`. */
  merged<T, R>(name: string, each: () => Promise<ReadonlyMap<string, ServerOutcome<T>>>, merge: (values: T[]) => R): Promise<R> {
    if (this.#shell.size === 0) return Promise.reject(this.noServerError());
    return each().then((outcomes) => mergeOutcomes(name, outcomes, merge));
  }

  #ejected(server: FleetServer): ServerEjectedError {
    if (this.#options.failover !== 'rehash') return server.ejectedError();
    return new ServerEjectedError(server.id, server.retryAt, { now: this.#options.now(), everyServer: true });
  }
}

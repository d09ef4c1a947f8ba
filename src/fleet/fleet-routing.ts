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

/** The request path of a fleet over its shell. */
export class FleetRouting {
  readonly #shell: FleetShell;
  readonly #options: ResolvedFleetOptions;
  /** The dialect arguments are checked against when no server says which (none, or not yet connected). */
  readonly #fallbackDialect: Dialect;

  constructor(shell: FleetShell, options: ResolvedFleetOptions) {
    this.#shell = shell;
    this.#options = options;
    this.#fallbackDialect = resolveDialect(options.shared.connection.dialect);
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

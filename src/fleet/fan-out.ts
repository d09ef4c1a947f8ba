/**
 * Commands that go to every server of a fleet (`ping`, `keys`, `dbsize`,
 * `flush`, `save`, `lastsave`, or any command), with every server's outcome
 * kept: `byServer` gives the outcomes themselves, the merged form resolves
 * with one value or rejects with a {@link FanOutError} that holds them all.
 *
 * @module
 */

import type { CommandOptions } from '../client/client.js';
import { checkCall, checkCommandCall } from '../client/call-arguments.js';
import type { Command } from '../protocol/encoder.js';
import type { Reply } from '../protocol/values.js';
import { FanOutError, type ServerOutcome } from './errors.js';
import { BY_SERVER_CALLS as CALLS, checkEncodable } from './fleet-calls.js';
import type { FleetServer } from './server.js';

/** Every server's outcome of one command, by server id, in fleet order. */
export type ServerOutcomes<T> = ReadonlyMap<string, ServerOutcome<T>>;

/**
 * The commands that go to every server, each resolving with every server's
 * outcome (never rejecting for a server's failure; an ejected server's
 * outcome is a `ServerEjectedError`, nothing sent to it). An empty fleet
 * gives an empty map.
 */
export interface PerServerCommands {
  /** PING on every server: `'PONG'` per server. */
  ping(options?: CommandOptions): Promise<ServerOutcomes<string>>;
  /** KEYS on every server: each server's keys. */
  keys(options?: CommandOptions): Promise<ServerOutcomes<string[]>>;
  /** DBSIZE on every server: each server's key count. */
  dbsize(options?: CommandOptions): Promise<ServerOutcomes<number>>;
  /** FLUSH on every server. */
  flush(options?: CommandOptions): Promise<ServerOutcomes<'OK'>>;
  /** SAVE on every server (a server with nothing to save answers a `ServerError`, code `ERR` or `NOSAVE`). */
  save(options?: CommandOptions): Promise<ServerOutcomes<'OK'>>;
  /** LASTSAVE on every server: Unix seconds per server. */
  lastsave(options?: CommandOptions): Promise<ServerOutcomes<number>>;
  /**
   * Any command on every server: the raw reply per server.
   * @throws TypeError / RangeError / DialectError for a command no server's dialect can carry (nothing is sent)
   */
  sendCommand(command: Command, options?: CommandOptions): Promise<ServerOutcomes<Reply>>;
}

/** Runs `run` on every server that is up, in parallel; ejected servers get their `ServerEjectedError`. */
export function eachServer<T>(servers: readonly FleetServer[], run: (server: FleetServer) => Promise<T>): Promise<ServerOutcomes<T>> {
  const work = servers.map((server) => (server.health === 'up' ? server.track(run(server)) : Promise.reject(server.ejectedError())));
  return Promise.allSettled(work).then((settled) => {
    const outcomes = new Map<string, ServerOutcome<T>>();
    settled.forEach((outcome, index) => {
      const id = servers[index]!.id;
      outcomes.set(
        id,
        outcome.status === 'fulfilled'
          ? { status: 'fulfilled', value: outcome.value }
          : { status: 'rejected', reason: outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason)) },
      );
    });
    return outcomes;
  });
}

/** The per-server commands over the servers `servers()` returns at each call; arguments checked as the fleet's (nothing sent when refused). */
export function perServerCommands(servers: () => readonly FleetServer[]): PerServerCommands {
  return Object.freeze({
    ping(options?: CommandOptions) {
      checkCall(CALLS.ping, arguments.length, options);
      return eachServer(servers(), (server) => server.client.ping(options));
    },
    keys(options?: CommandOptions) {
      checkCall(CALLS.keys, arguments.length, options);
      return eachServer(servers(), (server) => server.client.keys(options));
    },
    dbsize(options?: CommandOptions) {
      checkCall(CALLS.dbsize, arguments.length, options);
      return eachServer(servers(), (server) => server.client.dbsize(options));
    },
    flush(options?: CommandOptions) {
      checkCall(CALLS.flush, arguments.length, options);
      return eachServer(servers(), (server) => server.client.flush(options));
    },
    save(options?: CommandOptions) {
      checkCall(CALLS.save, arguments.length, options);
      return eachServer(servers(), (server) => server.client.save(options));
    },
    lastsave(options?: CommandOptions) {
      checkCall(CALLS.lastsave, arguments.length, options);
      return eachServer(servers(), (server) => server.client.lastsave(options));
    },
    sendCommand(command: Command, options?: CommandOptions) {
      checkCommandCall(CALLS.sendCommand, arguments.length, command, options);
      const list = servers();
      // Refused arguments throw here, before anything is sent to any server.
      for (const dialect of new Set(list.map((server) => server.dialect))) checkEncodable(command, dialect);
      return eachServer(list, (server) => server.client.sendCommand(command, options));
    },
  });
}

/**
 * Merges every server's outcome into one value with `merge`, or rejects
 * with a {@link FanOutError} holding every outcome when one failed.
 */
export function mergeOutcomes<T, R>(command: string, outcomes: ServerOutcomes<T>, merge: (values: T[]) => R): R {
  const values: T[] = [];
  for (const outcome of outcomes.values()) {
    if (outcome.status === 'rejected') throw new FanOutError(command, outcomes);
    values.push(outcome.value);
  }
  return merge(values);
}

/** KEYS merged: every server's keys once each, in fleet order (after a `'rehash'` window a key can sit on two servers). */
export function unionOfKeys(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/**
 * `mget` and `mset` over a fleet: split the keys by server, check every part
 * before any is sent, run the parts in parallel, and merge the answers in
 * the caller's key order, with a {@link PartialFailureError} that names the
 * failed keys, per server, when some part fails.
 *
 * @module
 */

import type { CommandOptions } from '../client/client.js';
import { replies } from '../client/commands.js';
import { DialectError } from '../errors.js';
import { encodeRequest, type Command } from '../protocol/encoder.js';
import { withArgumentName } from '../protocol/value-rules.js';
import type { Reply, Value } from '../protocol/values.js';
import { PartialFailureError, type ServerFailure } from './errors.js';
import type { FleetServer } from './server.js';

/** The keys (and, for `mset`, values) of one server's part of a multi-key command. */
export interface ServerPart {
  /** The server. */
  readonly server: FleetServer;
  /** Its keys, in the caller's order (repeats kept). */
  readonly keys: string[];
  /** The arguments of its command after the name: keys for MGET, key-value pairs for MSET. */
  readonly args: Value[];
  /** For each key, its 1-based number in the caller's call (`mget key #n`, `mset entry n`). */
  readonly numbers: number[];
}

/** The keys and the values of an MSET command (`['MSET', key, value, ...]`), in its order. */
export function msetArguments(command: Command): { keys: string[]; values: Value[] } {
  const keys: string[] = [];
  const values: Value[] = [];
  for (let at = 1; at < command.length; at += 2) {
    keys.push(command[at] as string);
    values.push(command[at + 1] as Value);
  }
  return { keys, values };
}

/**
 * Splits `keys` by the server `placeKey` gives (in the caller's order within
 * each part). `values`, when given, are the `mset` values, one per key.
 */
export function splitByServer(keys: readonly string[], placeKey: (key: string) => FleetServer, values?: readonly Value[]): Map<FleetServer, ServerPart> {
  const parts = new Map<FleetServer, ServerPart>();
  keys.forEach((key, index) => {
    const server = placeKey(key);
    let part = parts.get(server);
    if (part === undefined) {
      part = { server, keys: [], args: [], numbers: [] };
      parts.set(server, part);
    }
    part.keys.push(key);
    part.numbers.push(index + 1);
    part.args.push(key);
    if (values !== undefined) part.args.push(values[index] as Value);
  });
  return parts;
}

/**
 * Checks each part against its server's dialect, so that a refused argument
 * throws before any part is sent (nothing is ever half-sent because of an
 * argument). A `DialectError` is renamed after the caller's argument
 * (`mget key #7`, `mset entry 3 value`), the encoder's error as its cause.
 *
 * @throws TypeError / RangeError / DialectError as the client's `mget` / `mset`
 */
export function checkParts(name: 'MGET' | 'MSET', parts: Iterable<ServerPart>): void {
  for (const part of parts) {
    const command: Command = [name, ...part.args];
    try {
      encodeRequest(part.server.dialect, command);
    } catch (error) {
      if (!(error instanceof DialectError) || error.argument === undefined || error.argument < 1) throw error;
      const index = name === 'MGET' ? error.argument - 1 : (error.argument - 1) >> 1;
      const number = part.numbers[index];
      if (number === undefined) throw error;
      throw withArgumentName(error, name === 'MGET' ? `mget key #${number}` : `mset entry ${number} ${error.argument % 2 === 1 ? 'key' : 'value'}`);
    }
  }
}

/** Sends one part: MGET or MSET to its server (rejects at once, nothing sent, when the server is ejected). */
function sendPart(name: 'MGET' | 'MSET', part: ServerPart, options: CommandOptions | undefined, bytes = false): Promise<Reply> {
  const { server } = part;
  if (server.health !== 'up') return Promise.reject(server.ejectedError());
  // MGET of bytes: through the client's mgetBuffer, which asks the connection for them.
  if (bytes) return server.track(options === undefined ? server.client.mgetBuffer(part.args as string[]) : server.client.mgetBuffer(part.args as string[], options));
  return server.track(server.client.sendCommand([name, ...part.args], options));
}

/**
 * MGET over the parts, in parallel. Resolves with a `Map` from each key, in
 * the caller's order (each once), to its value (`null` when missing).
 * Rejects with a {@link PartialFailureError} when some part failed (its
 * `values` hold the rest). Not `async`: an argument the client refuses
 * throws here, synchronously (the caller checked multi-part commands
 * first, so nothing was sent). With `bytes`, values come as
 * `ZCached.mgetBuffer` gives them.
 */
export function mgetParts(keys: readonly string[], parts: Map<FleetServer, ServerPart>, options: CommandOptions | undefined, bytes = false): Promise<Map<string, Reply>> {
  const list = [...parts.values()];
  const requests = list.map((part) => sendPart('MGET', part, options, bytes).then(replies.mget));
  return Promise.allSettled(requests).then((settled) => {
    const answers = new Map<FleetServer, Map<string, Reply>>();
    const failures = new Map<string, ServerFailure>();
    settled.forEach((outcome, index) => {
      const part = list[index]!;
      if (outcome.status === 'fulfilled') answers.set(part.server, outcome.value);
      else failures.set(part.server.id, { server: part.server.id, keys: unique(part.keys), error: asError(outcome.reason) });
    });
    const owner = new Map<string, FleetServer>();
    for (const part of list) for (const key of part.keys) owner.set(key, part.server);
    const values = new Map<string, Reply>();
    const failed = new Set<string>();
    for (const key of keys) {
      const server = owner.get(key);
      const answer = server === undefined ? undefined : answers.get(server);
      if (answer === undefined) failed.add(key);
      else if (!values.has(key)) values.set(key, answer.get(key) ?? null);
    }
    if (failures.size > 0) throw new PartialFailureError('MGET', failures, [...failed], values);
    return values;
  });
}

/**
 * MSET over the parts, in parallel. Resolves with `'OK'` when every part
 * did; otherwise rejects with a {@link PartialFailureError} naming the keys
 * of the failed parts (the other parts were written). Not `async`, for the
 * same reason as {@link mgetParts}.
 */
export function msetParts(keys: readonly string[], parts: Map<FleetServer, ServerPart>, options: CommandOptions | undefined): Promise<'OK'> {
  const list = [...parts.values()];
  const requests = list.map((part) => sendPart('MSET', part, options));
  return Promise.allSettled(requests).then((settled) => {
    const failures = new Map<string, ServerFailure>();
    const failedKeys = new Set<string>();
    settled.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') return;
      const part = list[index]!;
      failures.set(part.server.id, { server: part.server.id, keys: unique(part.keys), error: asError(outcome.reason) });
      for (const key of part.keys) failedKeys.add(key);
    });
    if (failures.size > 0) throw new PartialFailureError('MSET', failures, keys.filter((key) => failedKeys.delete(key)));
    return 'OK' as const;
  });
}

function unique(keys: readonly string[]): string[] {
  return [...new Set(keys)];
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

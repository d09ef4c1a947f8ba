/**
 * The small tables of the replica paths: how each read's replies read
 * (which is a miss, what a read gives when no replica may answer), how
 * confirmed write replies merge, and which commands `sendCommand` refuses
 * with replicas.
 *
 * @module
 */

import type { CopyOptions } from '../client/commands.js';
import type { Command } from '../protocol/encoder.js';
import { NoServerError } from './errors.js';
import type { ReadShape } from './replica-reads.js';

/** Nothing may answer: every live replica of the key is being swept after a placement change (see docs/fleet.md). */
function unanswerable<T>(): Promise<T> {
  return Promise.reject(new NoServerError('no replica of the key may answer now: those that are up hold copies that may be old until their sweep ends'));
}

const VALUE: ReadShape<unknown> = { missing: (value) => value === undefined, absent: () => Promise.resolve(undefined), repairs: true };
const ANSWER: ReadShape<unknown> = { missing: () => false, absent: unanswerable, repairs: false };

/** The read shapes of `ZCachedFleet`'s commands. */
export const READS = {
  /** `get`, `getBuffer`: `undefined` is a miss (and the answer when no replica may answer). */
  value: <T>(): ReadShape<T> => VALUE as ReadShape<T>,
  /** `exists`: `false` is a miss. */
  exists: { missing: (value: boolean) => !value, absent: () => Promise.resolve(false), repairs: true } satisfies ReadShape<boolean>,
  /** `sizeof`: the server's "not found" error reply is a miss. */
  sizeof: { missing: () => false, missingError: (error) => /not found/i.test(error.message), absent: () => unanswerable<number>(), repairs: true } satisfies ReadShape<number> as ReadShape<number>,
  /** `echo`, `sendCommand`: any reply is an answer; only failures go on to the next replica. */
  answer: <T>(): ReadShape<T> => ANSWER as ReadShape<T>,
} as const;

/** A write's confirmed replies: the first one (`'OK'`). */
export const first = <T>(values: T[]): T => values[0]!;

/** `delete`'s confirmed replies: true when the key existed on any replica. */
export const anyTrue = (values: boolean[]): boolean => values.includes(true);

/** The copy options without `signal` and `timeout` (a replica's COPY gets only `replace`). */
export function copyOnly(options: (CopyOptions & { readonly signal?: unknown; readonly timeout?: unknown }) | undefined): CopyOptions | undefined {
  return options?.replace === undefined ? undefined : { replace: options.replace };
}

/** Commands that change data: with replicas they must reach every replica, which `sendCommand` cannot do. */
const WRITES: Readonly<Record<string, string>> = { SET: 'set', DELETE: 'delete', RENAME: 'rename', COPY: 'copy', MSET: 'mset' };

/**
 * Refuses, with replicas, a `sendCommand` that writes: it would reach one replica only.
 * @throws TypeError naming the method to use
 */
export function checkReplicatedCommand(command: Command): void {
  const name = typeof command[0] === 'string' ? command[0].toUpperCase() : '';
  const method = WRITES[name];
  if (method !== undefined) {
    throw new TypeError(`ZCachedFleet.sendCommand: ${name} with replicas would reach one replica only; use fleet.${method}(), which writes to every replica of the key`);
  }
}

/**
 * The fp-ts view of the client: the same commands, returning
 * `TaskEither<ZCachedError, T>`. Built on the promise API, not beside it.
 *
 * @module
 */

import * as TE from 'fp-ts/lib/TaskEither.js';
import { InvalidArgumentError, ZCachedError } from '../errors.js';
import type { ZCached } from './client.js';

/** The client methods offered as tasks. */
export const FP_COMMANDS = [
  'ping',
  'get',
  'getBuffer',
  'set',
  'delete',
  'exists',
  'flush',
  'dbsize',
  'save',
  'lastsave',
  'keys',
  'mget',
  'mgetBuffer',
  'mset',
  'echo',
  'sizeof',
  'rename',
  'copy',
  'isAlive',
  'sendCommand',
] as const;

/** The name of a command of the fp view. */
export type FpCommand = (typeof FP_COMMANDS)[number];

/** Each command as a function returning a lazy `TaskEither<ZCachedError, T>`. */
export type ZCachedFp = {
  readonly [K in FpCommand]: (...args: Parameters<ZCached[K]>) => TE.TaskEither<ZCachedError, Awaited<ReturnType<ZCached[K]>>>;
};

/**
 * Turns anything a command threw or rejected with into a {@link ZCachedError}:
 * ours pass through, argument errors become {@link InvalidArgumentError}
 * with the original as `cause`.
 */
export function toZCachedError(error: unknown): ZCachedError {
  if (error instanceof ZCachedError) return error as ZCachedError;
  const message = error instanceof Error ? error.message : String(error);
  return new InvalidArgumentError(message, { cause: error });
}

/** Builds the fp view of a client. */
export function fpView(client: ZCached): ZCachedFp {
  const view: Record<string, unknown> = {};
  for (const name of FP_COMMANDS) {
    const method = client[name] as (...args: unknown[]) => Promise<unknown>;
    view[name] = (...args: unknown[]) => TE.tryCatch(() => method.apply(client, args), toZCachedError);
  }
  return Object.freeze(view) as ZCachedFp;
}

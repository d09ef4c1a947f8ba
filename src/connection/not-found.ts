/**
 * The server's "key not found" reply, and the commands for which it is a
 * normal outcome rather than a failure. Shared by the client's commands
 * (GET resolves `undefined`, DELETE `false`) and by the tracing of commands
 * (src/connection/diagnostics.ts), which must agree on it; it lives here so
 * the connection layer can use it without importing the client.
 *
 * @module
 */

import { ServerError } from '../errors.js';

/** True when `error` is the server's "key not found" reply (`-ERR 'key' not found`). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ServerError && error.code === 'ERR' && error.message.endsWith(' not found');
}

/**
 * The commands (upper-case names) whose not-found reply the client turns into
 * a value: GET (`get()` gives `undefined`, `exists()` `false`) and DELETE
 * (`delete()` gives `false`). For the others (RENAME, SIZEOF, …) it stays an
 * error the caller gets.
 */
export const NOT_FOUND_IS_A_VALUE: ReadonlySet<string> = new Set(['GET', 'DELETE']);

/** Turns the not-found rejection into `undefined`; any other error stays a rejection. */
export function undefinedWhenNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}

/**
 * The key of `Connection`'s internal send with the reply's form chosen per
 * request: the not-found reply resolving `undefined` with no promise added
 * (the client's `get`), bulk strings as `Buffer`s (`getBuffer`, `mgetBuffer`).
 */
export const sendAs: unique symbol = Symbol('zcached.sendAs');

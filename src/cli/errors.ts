/**
 * The command line's own error: a command line it cannot run (unknown flag,
 * wrong number of arguments, a value that is not valid JSON). The tool
 * prints its message and exits with code 2.
 *
 * @module
 */

import { rootCauseText } from '../connection/root-cause.js';
import { ConnectError, ServerError, ZCachedError, type ZCachedErrorOptions } from '../errors.js';

/** A command line (or a REPL line) the tool cannot run. Code `EUSAGE`; exit code 2. */
export class CliUsageError extends ZCachedError {
  constructor(message: string, options?: ZCachedErrorOptions) {
    super('EUSAGE', message, options);
  }
}

/** The exit code of a command: 0 a reply, 1 an error reply (`ServerError`), 2 anything else (usage, a refused value, no connection). */
export function exitCodeOf(error: unknown): 1 | 2 {
  return error instanceof ServerError ? 1 : 2;
}

/**
 * What to print for a failure that is not an error reply: its message, the
 * error's class in front unless it is a usage error; a failed connect as
 * `cannot connect to <address> (root cause)`.
 * @param address - `host:port` the CLI connected to, when it got that far
 */
export function failureText(error: unknown, address?: string): string {
  if (error instanceof CliUsageError) return error.message;
  if (error instanceof ConnectError) return connectFailureText(error, address);
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * A failed connect as a terminal user needs it: the address and the root
 * cause, without the library's advice to its callers (`call run() again`);
 * a connection closed by the peer at once may be a TLS server spoken to in
 * plain TCP, and the text says what to try.
 */
function connectFailureText(error: ConnectError, address: string | undefined): string {
  const cause = rootCauseText(error);
  const hint = /\bclosed\b|ECONNRESET/.test(cause) ? '; if the server serves TLS, use zcacheds:// or --tls' : '';
  return `ConnectError: cannot connect to ${address ?? 'the server'} (${cause})${hint}`;
}

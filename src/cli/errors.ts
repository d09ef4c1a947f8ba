/**
 * The command line's own error: a command line it cannot run (unknown flag,
 * wrong number of arguments, a value that is not valid JSON). The tool
 * prints its message and exits with code 2.
 *
 * @module
 */

import { ServerError, ZCachedError, type ZCachedErrorOptions } from '../errors.js';

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

/** What to print for a failure that is not an error reply: its message, the error's class in front unless it is a usage error. */
export function failureText(error: unknown): string {
  if (error instanceof CliUsageError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * `zcached [url] <command> [argument ...]`: one command, its reply on
 * stdout, and an exit code (0 a reply, 1 an error reply, 2 bad usage, a
 * refused value or no connection).
 *
 * @module
 */

import { ServerError } from '../errors.js';
import type { CliSettings } from './args.js';
import { prepareCommand } from './commands.js';
import { createCliClient } from './connect.js';
import { exitCodeOf, failureText } from './errors.js';
import { formatErrorReply, formatReply, paletteFor } from './format.js';
import type { CliIo } from './io.js';

/**
 * Runs one command: checks it, connects (one attempt, `settings.timeoutMs`
 * at most), sends it, prints the reply and closes the client.
 * @returns the exit code; never rejects (failures are printed on stderr)
 */
export async function runOneShot(settings: CliSettings, command: string, args: readonly string[], io: CliIo): Promise<number> {
  let cli;
  try {
    const call = prepareCommand(command, args, settings.output === 'json' ? 'json' : 'string');
    cli = createCliClient(settings, false);
    await cli.client.run();
    const answer = await call(cli.client, {});
    io.stdout.write(`${formatReply(answer, settings.output, paletteFor(io.stdout, io.env))}\n`);
    return 0;
  } catch (error) {
    return reportFailure(error, settings, io, cli?.address);
  } finally {
    await cli?.client.close({ force: true });
  }
}

/**
 * Prints a command's failure where it belongs (an error reply on stdout, as
 * a reply; anything else on stderr) and returns the exit code: 1 for an
 * error reply, 2 for the rest.
 */
export function reportFailure(error: unknown, settings: CliSettings, io: CliIo, address?: string): 1 | 2 {
  if (error instanceof ServerError) io.stdout.write(`${formatErrorReply(error, settings.output, paletteFor(io.stdout, io.env))}\n`);
  else io.stderr.write(`zcached: ${failureText(error, address)}\n`);
  return exitCodeOf(error);
}

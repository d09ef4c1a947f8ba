/**
 * `npm start`: the demo. With one server (the embedded one, or
 * `ZCACHED_URL=host:port`), see {@link runPoolDemo}; with `--fleet n`, see
 * {@link runFleetDemo}, and with `--fleet n --replicas k` (k > 1),
 * {@link runReplicasDemo}. Arguments: {@link parseDemoArgs} (`--help` lists
 * them); an unknown flag or a bad value exits with code 2 and the usage.
 *
 * The demo is not part of the published library (`src/demo/` is left out of
 * the package).
 *
 * @module
 */

import { fileURLToPath } from 'node:url';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from './args.js';
import { runFleetDemo } from './fleet.js';
import { runPoolDemo } from './pool-demo.js';
import { runReplicasDemo } from './replicas.js';

/** Where {@link runDemo} writes. Default: `console.log`, `console.error`, and the live progress line of the one-server demo. */
export interface DemoOutput {
  readonly print?: (line: string) => void;
  readonly printError?: (line: string) => void;
  /** The one-server demo's live progress line. Default true. */
  readonly progress?: boolean;
}

/**
 * Runs the demo for a command line (`process.argv.slice(2)`) and
 * environment; resolves with the exit code (2 for a bad command line,
 * after the message and the usage).
 */
export async function runDemo(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, output: DemoOutput = {}): Promise<number> {
  const print = output.print ?? ((line: string) => console.log(line));
  const printError = output.printError ?? ((line: string) => console.error(line));
  let command;
  try {
    command = parseDemoArgs(argv, env);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    printError(`error: ${error.message}\n${DEMO_USAGE}`);
    return 2;
  }
  if (command.kind === 'help') {
    print(command.usage);
    return 0;
  }
  const { settings } = command;
  if (settings.fleet !== undefined && settings.replicas > 1) {
    const result = await runReplicasDemo({
      servers: settings.fleet,
      replicas: settings.replicas,
      durationMs: settings.durationMs,
      workers: settings.workers,
      dialect: settings.dialect,
      print,
      printError,
    });
    return result.exitCode;
  }
  if (settings.fleet !== undefined) {
    const result = await runFleetDemo({
      servers: settings.fleet,
      durationMs: settings.durationMs,
      workers: settings.workers,
      failover: settings.failover,
      dialect: settings.dialect,
      print,
      printError,
    });
    return result.exitCode;
  }
  return (await runPoolDemo(settings, { print, printError, ...(output.progress === undefined ? {} : { progress: output.progress }) })).exitCode;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runDemo(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}

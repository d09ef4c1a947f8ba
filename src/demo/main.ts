/**
 * `npm start`: the demo. With one server (the embedded one, or
 * `ZCACHED_URL=host:port`), see {@link runPoolDemo}; with `--fleet n`, see
 * {@link runFleetDemo}. Arguments: {@link parseDemoArgs} (`--help` lists
 * them); an unknown flag or a bad value exits with code 2 and the usage.
 *
 * The demo is not part of the published library (`src/demo/` is left out of
 * the package).
 *
 * @module
 */

import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from './args.js';
import { runFleetDemo } from './fleet.js';
import { runPoolDemo } from './pool-demo.js';

async function main(): Promise<number> {
  let command;
  try {
    command = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`error: ${error.message}\n${DEMO_USAGE}`);
    return 2;
  }
  if (command.kind === 'help') {
    console.log(command.usage);
    return 0;
  }
  const { settings } = command;
  if (settings.fleet !== undefined) {
    const result = await runFleetDemo({
      servers: settings.fleet,
      durationMs: settings.durationMs,
      workers: settings.workers,
      failover: settings.failover,
      dialect: settings.dialect,
    });
    return result.exitCode;
  }
  return (await runPoolDemo(settings)).exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);

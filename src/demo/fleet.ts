/**
 * The fleet demo (`npm start -- --fleet 3`, or `node dist/demo/fleet.js
 * --servers 3`): starts embedded servers on 127.0.0.1, 127.0.0.2, ...,
 * runs a checked GET/SET/MGET workload through a `ZCachedFleet`, stops one
 * server half-way (it is ejected; its keys fail fast, or move with
 * `--failover rehash`), brings it back with its data (it is probed and
 * returns), and prints the timeline and a report, with the errors caused
 * by the stop labelled as expected. The exit code is not 0 when a reply was
 * wrong, the server was not ejected, or it did not return. With
 * `--replicas k` (k > 1), `node dist/demo/fleet.js` runs the replicas demo
 * instead (`./replicas.ts`).
 *
 * @module
 */

import { fileURLToPath } from 'node:url';
import { ZCachedFleet } from '../fleet/fleet.js';
import type { FailoverPolicy } from '../fleet/options.js';
import type { FleetEvent } from '../fleet/state.js';
import { GENERATION_LABELS } from '../protocol/dialect.js';
import { startServer, type ZCachedServer } from '../testing/server.js';
import { DemoUsageError, FLEET_DEMO_USAGE, parseFleetDemoArgs } from './args.js';
import { describeGenerations, embeddedGeneration, findMismatch, generationsOf, mismatchLines, newRunId, type DemoDialect } from './generation.js';
import { runReplicasDemo } from './replicas.js';

/** Options of {@link runFleetDemo}. */
export interface FleetDemoOptions {
  /** Embedded servers, on 127.0.0.1 … 127.0.0.n. Default 3. */
  readonly servers?: number;
  /** Length of the run, in ms; the server stops at 1/3 and returns at 2/3 of it. Default 6 000. */
  readonly durationMs?: number;
  /** Requests in flight. Default 32. */
  readonly workers?: number;
  /** Failover policy. Default `'fail-fast'`. */
  readonly failover?: FailoverPolicy;
  /** The client's dialect, and the generation the embedded servers play (`'etx'` for `'auto'`). Default `'auto'`. */
  readonly dialect?: DemoDialect;
  /** The run's id, in every key it writes (`{<runId>:w<worker>}:<n>`). Default: a new random one. */
  readonly runId?: string;
  /** Where the report goes. Default `console.log`. */
  readonly print?: (line: string) => void;
  /** Where errors go. Default `console.error`. */
  readonly printError?: (line: string) => void;
}

/** What the demo saw. */
export interface FleetDemoResult {
  readonly requests: number;
  readonly wrongReplies: number;
  /** Failures by error name, expected ones included. */
  readonly errors: ReadonlyMap<string, number>;
  /** The failures while the stopped server was away (from its stop until 1 s after it returned), by error name. */
  readonly expectedErrors: ReadonlyMap<string, number>;
  readonly events: readonly (FleetEvent & { readonly atMs: number })[];
  /** 0 when every reply was right and the stopped server was ejected and returned; 2 for a dialect mismatch. */
  readonly exitCode: number;
  /** The run's id, in every key it wrote. */
  readonly runId: string;
  /** What each server's connections found at connect, by server id (at the start of the run). */
  readonly generations: ReadonlyMap<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the demo; resolves with what it saw (it closes everything it opened). */
export async function runFleetDemo(options: FleetDemoOptions = {}): Promise<FleetDemoResult> {
  const count = options.servers ?? 3;
  const durationMs = options.durationMs ?? 6_000;
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  const failover = options.failover ?? 'fail-fast';
  const dialect = options.dialect ?? 'auto';
  const runId = options.runId ?? newRunId();
  if (!Number.isInteger(count) || count < 2 || count > 250) throw new RangeError(`servers must be an integer from 2 to 250, got ${count}`);
  const servers: ZCachedServer[] = await Promise.all(Array.from({ length: count }, (_, i) => startServer({ host: `127.0.0.${i + 1}`, dialect: embeddedGeneration(dialect) })));
  const fleet = new ZCachedFleet({
    servers: servers.map((server) => ({ host: server.host, port: server.port })),
    poolSize: 2,
    dialect,
    failover,
    failureLimit: 2,
    retryTimeout: 500,
    connectTimeout: 1_000,
    backoff: { initial: 50, max: 400 },
    timeoutLimit: 2_000,
  });
  const started = performance.now();
  const events: (FleetEvent & { atMs: number })[] = [];
  // The timeline waits for the first line, which says what the connections found at connect.
  let held: string[] | undefined = [];
  const timeline = (line: string): void => {
    if (held === undefined) print(line);
    else held.push(line);
  };
  fleet.subscribe((event) => {
    const atMs = Math.round(performance.now() - started);
    events.push({ ...event, atMs });
    const detail = 'server' in event ? ` ${event.server}` : '';
    timeline(`  [${String(atMs).padStart(5)} ms] ${event.type}${detail}`);
  });
  const errors = new Map<string, number>();
  const expectedErrors = new Map<string, number>();
  let requests = 0;
  let wrongReplies = 0;
  // The stopped server's absence, in performance.now() time: failures then are what the stop causes.
  let stoppedAt: number | undefined;
  let returnedAt: number | undefined;
  const fail = (error: unknown): void => {
    const name = error instanceof Error ? error.name : 'unknown';
    errors.set(name, (errors.get(name) ?? 0) + 1);
    const now = performance.now();
    if (stoppedAt !== undefined && now >= stoppedAt && (returnedAt === undefined || now <= returnedAt + 1_000)) {
      expectedErrors.set(name, (expectedErrors.get(name) ?? 0) + 1);
    }
  };
  fleet.subscribe((event) => {
    if (event.type === 'serverReturned' && stoppedAt !== undefined) returnedAt ??= performance.now();
  });
  try {
    const first = servers[0]!;
    const where =
      `fleet of ${count} embedded zcached servers (${first.faithful ? 'faithful' : 'lenient'} ${first.dialect}, in this process) on ` +
      `${servers.map((server) => `${server.host}:${server.port}`).join(', ')}; failover '${failover}'`;
    try {
      await fleet.run();
    } catch (error) {
      const mismatch = findMismatch(error, [], fleet.servers.flatMap((server) => server.pool.connections));
      if (mismatch === undefined) throw error;
      print(`${where}; detected: ${GENERATION_LABELS[mismatch.detected as keyof typeof GENERATION_LABELS]}`);
      for (const line of mismatchLines(mismatch, `npm start -- --fleet ${count}`)) printError(line);
      return { requests, wrongReplies, errors, expectedErrors, events, exitCode: 2, runId, generations: new Map() };
    }
    const generations = new Map(fleet.servers.map((server) => [server.id, describeGenerations(server.pool.connections)] as const));
    const labels = new Set(generations.values());
    const detected = labels.size === 1 ? `${[...labels][0]!} on each` : [...generations].map(([id, label]) => `${id} ${label}`).join('; ');
    print(`${where}; detected: ${detected}; this run's keys: {${runId}:w<worker>}:<n>`);
    for (const line of held ?? []) print(line);
    held = undefined;
    const deadline = started + durationMs;
    const worker = async (id: number): Promise<void> => {
      const written = new Map<string, string>();
      for (let n = 0; performance.now() < deadline; n++) {
        const key = `{${runId}:w${id}}:${n % 50}`;
        const value = `${id}:${n}`;
        requests++;
        try {
          if (n % 3 === 0) {
            await fleet.set(key, value);
            written.set(key, value);
          } else {
            const got = await fleet.get(key);
            const expected = written.get(key);
            // A read may miss (a key that moved with 'rehash', or was never written); it may never be another value.
            if (got !== undefined && expected !== undefined && got !== expected && failover === 'fail-fast') wrongReplies++;
          }
        } catch (error) {
          fail(error);
          written.delete(key); // a failed write may or may not have landed
          // A fail-fast rejection settles at once: pause, as an application would, rather than spin on it.
          await sleep(20);
        }
      }
    };
    const victim = servers[count - 1]!;
    const chaos = (async () => {
      await sleep(durationMs / 3);
      stoppedAt = performance.now();
      timeline(`  [${String(Math.round(stoppedAt - started)).padStart(5)} ms] stopping server ${victim.host}:${victim.port}`);
      await victim.close();
      await sleep(durationMs / 3);
      timeline(`  [${String(Math.round(performance.now() - started)).padStart(5)} ms] starting it again (same address, same data)`);
      servers[count - 1] = await startServer({ host: victim.host, port: victim.port, store: victim.store, dialect: embeddedGeneration(dialect) });
    })();
    await Promise.all([...Array.from({ length: options.workers ?? 32 }, (_, id) => worker(id)), chaos]);
    // Give the returning server its probe (retryTimeout 500 ms), if the run ended first.
    for (let waited = 0; waited < 3_000 && !events.some((event) => event.type === 'serverReturned'); waited += 50) await sleep(50);
    const ejected = events.some((event) => event.type === 'serverEjected');
    const returned = events.some((event) => event.type === 'serverReturned');
    const sizes = await fleet.byServer.dbsize();
    print('');
    print(`requests: ${requests}, wrong replies: ${wrongReplies}`);
    const list = (counts: ReadonlyMap<string, number>) => [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
    const unexpected = new Map<string, number>();
    for (const [name, n] of errors) if (n > (expectedErrors.get(name) ?? 0)) unexpected.set(name, n - (expectedErrors.get(name) ?? 0));
    const stopAt = stoppedAt === undefined ? '' : ` at ${((stoppedAt - started) / 1000).toFixed(1)} s`;
    print(`errors: expected: ${expectedErrors.size === 0 ? 'none' : list(expectedErrors)} while ${victim.host}:${victim.port} was stopped${stopAt}`);
    print(`        unexpected: ${unexpected.size === 0 ? 'none' : `${list(unexpected)} (reported; only wrong replies, no ejection or no return fail the run)`}`);
    const generationAt = (id: string): string => {
      const found = generationsOf(fleet.servers.find((server) => server.id === id)?.pool.connections ?? []);
      return found.length === 0 ? '' : ` ('${found.join("', '")}')`;
    };
    print(
      `keys per server: ${[...sizes].map(([id, outcome]) => `${id} ${outcome.status === 'fulfilled' ? outcome.value : outcome.reason.name}${generationAt(id)}`).join(', ')}`,
    );
    print(`ejected: ${ejected ? 'yes' : 'NO'}, returned: ${returned ? 'yes' : 'NO'}`);
    return { requests, wrongReplies, errors, expectedErrors, events, exitCode: wrongReplies === 0 && ejected && returned ? 0 : 1, runId, generations };
  } finally {
    await fleet.close();
    await Promise.all(servers.map((server) => server.close()));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let command: ReturnType<typeof parseFleetDemoArgs> | undefined;
  try {
    command = parseFleetDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`error: ${error.message}\n${FLEET_DEMO_USAGE}`);
    process.exitCode = 2;
  }
  if (command?.kind === 'help') console.log(command.usage);
  else if (command?.kind === 'run') {
    const { replicas, ...settings } = command.settings;
    (replicas > 1 ? runReplicasDemo({ ...settings, replicas }) : runFleetDemo(settings)).then(
      (result) => {
        process.exitCode = result.exitCode;
      },
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  }
}

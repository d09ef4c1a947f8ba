/**
 * The demo of one server (`npm start`): starts the embedded server (or uses
 * `ZCACHED_URL`), builds a pool whose first connection goes through a fault
 * proxy, runs the checked workload with a live progress line, cuts that
 * connection's socket half-way to show the pool healing, and prints a report
 * that says what bounds the figures and which errors were expected.
 *
 * @module
 */

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ZCached } from '../client/client.js';
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import type { ConnectionStateChange } from '../connection/state.js';
import { ConnectError } from '../errors.js';
import { ConnectionPool } from '../pool/pool.js';
import { DIALECTS, GENERATION_LABELS, resolveDialect, type Dialect, type ServerGeneration } from '../protocol/dialect.js';
import { startProxy } from '../testing/proxy.js';
import { startServer, type ZCachedServer } from '../testing/server.js';
import { parseServerAddress, type DemoSettings } from './args.js';
import { describeGenerations, embeddedGeneration, findMismatch, generationsOf, mismatchLines, newRunId } from './generation.js';
import { runWorkload, type WorkloadResult } from './workload.js';

/** Options of {@link runPoolDemo}. */
export interface PoolDemoOptions {
  /** Where the report goes. Default `console.log`. */
  readonly print?: (line: string) => void;
  /** Where errors go. Default `console.error`. */
  readonly printError?: (line: string) => void;
  /** Print the live progress line (on a TTY it rewrites itself). Default true. */
  readonly progress?: boolean;
  /** The run's id, in every key it writes (`demo:<runId>:<worker>:<i>`). Default: a new random one ({@link newRunId}). */
  readonly runId?: string;
}

/** What the demo saw. */
export interface PoolDemoResult {
  /**
   * 0: every reply right and the pool healed; 1: a wrong reply or no healing;
   * 2: the server could not be reached, or is of another generation than the
   * `--dialect` given (a `DialectMismatchError`: the message names the one found).
   */
  readonly exitCode: number;
  /** The run's id, in every key it wrote. */
  readonly runId: string;
  /** The generations the connections' handshakes found (one, unless the server changed between connects). */
  readonly generations: readonly ServerGeneration[];
  /** The workload's figures (undefined when the server could not be reached). */
  readonly workload: WorkloadResult | undefined;
  /** When the socket was cut, in ms after the start (undefined if the run ended first). */
  readonly cutAtMs: number | undefined;
  /** How long the cut connection took to be connected again, in ms. */
  readonly healedAfterMs: number | undefined;
}

/** After the reconnect, a `ConnectionError` within this many ms is still put down to the cut (its request failed as the socket closed). */
const CUT_GRACE_MS = 1_000;

/** Whether a TCP connection to `target` opens within `timeoutMs`; resolves with the error otherwise. */
function probe(target: { host: string; port: number }, timeoutMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const done = (error: Error | undefined) => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('connect', () => done(undefined));
    socket.once('error', done);
  });
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const countList = (counts: ReadonlyMap<string, number>): string =>
  [...counts].map(([name, n]) => `${fmt(n)} ${name}`).join(', ');

/**
 * What bounds this run's ops/s, in a few lines: the server sharing the
 * thread (embedded) and the dialect's send policy. `bench/README.md`'s
 * figures come from another set-up, said here so they are not compared.
 */
function boundsLines(settings: DemoSettings, dialect: Dialect, embedded: boolean, busy: number, onCpu: number): string[] {
  const lines: string[] = [];
  const load = `event loop busy ${fmt(100 * busy)} % of the run; on a CPU ${fmt(100 * onCpu)} % of it`;
  const contention = busy > 0.5 && onCpu < 0.9 * busy ? ': other processes had the core the rest of the time' : '';
  if (embedded) {
    lines.push(
      `client and embedded server share this process's one JavaScript thread: each request costs`,
      `both sides' work, one after the other`,
    );
  } else {
    lines.push(`each request pays the round trip to the server at ${settings.url}`);
  }
  lines.push(`(${load}${contention})`);
  if (dialect.pipelining) {
    lines.push(
      `the '${dialect.name}' send policy: at most ${fmt(dialect.maxUnansweredBytes)} bytes (one TCP segment) unanswered per connection,`,
      `about ten of this workload's 100-byte SETs: a connection sends more only as replies come back`,
      `(what keeps a real server of this generation alive)`,
    );
  } else {
    lines.push(
      `the '${dialect.name}' dialect does not pipeline: each connection has one request on the wire at a time`,
      `(${settings.poolSize} for this pool; the other requests in flight wait in the queues)`,
    );
  }
  return lines;
}

/** Why `bench/README.md`'s figures are not this demo's: another set-up. */
const BENCH_LINES = [
  `bench/README.md's 658k ops/s is GET of 100 B, 256 in flight on one connection, against redis-server`,
  `(a process of its own, on the other core) with unlimited pipelining; compare the ratios there, not ops/s`,
];

/** Runs the demo; resolves with what it saw (it closes everything it opened). */
export async function runPoolDemo(settings: DemoSettings, options: PoolDemoOptions = {}): Promise<PoolDemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  const runId = options.runId ?? newRunId();
  const failed = (exitCode: number, generations: readonly ServerGeneration[] = []): PoolDemoResult => ({
    exitCode,
    runId,
    generations,
    workload: undefined,
    cutAtMs: undefined,
    healedAfterMs: undefined,
  });
  let server: ZCachedServer | undefined;
  let target: { host: string; port: number };
  if (settings.url === undefined) {
    server = await startServer({ dialect: embeddedGeneration(settings.dialect) });
    target = { host: server.host, port: server.port };
  } else {
    target = parseServerAddress(settings.url);
    // Connection #1 goes through the proxy, which accepts even when the server is down: check the server itself first.
    const unreachable = await probe(target, 2_000);
    if (unreachable !== undefined) {
      printError(`error: cannot reach the zcached server at ${target.host}:${target.port} (${unreachable.message})`);
      return failed(2);
    }
  }
  // The first connection of the pool goes through a fault-injection proxy, so that half-way
  // through its socket can be cut for real (an RST) while the others are left alone.
  const proxy = await startProxy({ target });
  const where =
    server === undefined
      ? `zcached server at ${target.host}:${target.port} (from ZCACHED_URL, '${settings.dialect}' dialect)`
      : `embedded zcached server (${server.faithful ? 'faithful' : 'lenient'} ${server.dialect}, in this process) on ${target.host}:${target.port}`;
  const proxied = `fault proxy on ${proxy.host}:${proxy.port} in front of connection #1`;

  const connectionOptions: ConnectionOptions = {
    ...target,
    dialect: settings.dialect,
    timeoutLimit: 2_000,
    connectTimeout: 2_000,
    connectionAttempts: 3,
    backoff: { initial: 50, max: 1_000 },
  };
  // Every connection made, kept here too: a failed run() empties the pool, and their errors say why.
  const made: Connection[] = [];
  const client = ZCached.fromConnectionPool(
    new ConnectionPool(settings.poolSize, () => {
      const connection = new Connection(made.length === 0 ? { ...connectionOptions, host: proxy.host, port: proxy.port } : connectionOptions);
      made.push(connection);
      return connection;
    }),
  );
  const pool = client.connectionPool;
  const lifecycle: string[] = [];
  const started = performance.now();
  pool.subscribe((event) => {
    if (event.type === 'connectionStateChanged') {
      const change: ConnectionStateChange = event.change;
      lifecycle.push(`  +${fmt(performance.now() - started)} ms  ${change.id}: ${change.from} -> ${change.to}`);
    }
  });

  try {
    await client.run();
  } catch (error) {
    // Name the root cause seen by a connection that does not go through the proxy, if any.
    let root: unknown = made.at(-1)?.lastError ?? error;
    // A server of another generation than --dialect: say which one, and the option to use.
    const mismatch = findMismatch(error, made.slice(1), made);
    await client.close();
    await proxy.close();
    await server?.close();
    if (mismatch !== undefined) {
      const detected = mismatch.detected as ServerGeneration;
      print(`${where}; detected: ${GENERATION_LABELS[detected]}`);
      for (const line of mismatchLines(mismatch, 'npm start --')) printError(line);
      return failed(2, [detected]);
    }
    if (error instanceof ConnectError) {
      while (root instanceof Error && root.cause instanceof Error) root = root.cause;
      const cause = root instanceof Error && root !== error ? ` (${root.message})` : '';
      printError(`error: cannot reach the zcached server at ${target.host}:${target.port}${cause}`);
      return failed(2);
    }
    throw error;
  }
  const generations = generationsOf(pool.connections);
  print(`${where}; detected: ${describeGenerations(pool.connections)}; ${proxied}`);
  // The framing in use: the detected generation's (with 'auto'), else the one given (the handshake confirmed it).
  const inUse = generations.length === 1 && settings.dialect === 'auto' ? DIALECTS[generations[0]!] : resolveDialect(settings.dialect);
  const keyPrefix = `demo:${runId}`;
  print(
    `pool of ${pool.poolSize}: ${pool.connectedConnections.length} connected; ${settings.workers} requests in flight for ${settings.durationMs / 1000} s; ` +
      `this run's keys: ${keyPrefix}:*`,
  );

  // Half-way, cut the first connection's socket and watch it reconnect by itself.
  const victim = pool.connections[0] as Connection;
  let healedAt: number | undefined;
  let dropAt: number | undefined;
  victim.subscribe((change) => {
    if (dropAt !== undefined && healedAt === undefined && change.to === 'connected') healedAt = performance.now();
  });
  const dropTimer = setTimeout(() => {
    dropAt = performance.now();
    lifecycle.push(`  +${fmt(dropAt - started)} ms  cutting ${victim.id} (TCP reset through the proxy)`);
    proxy.cutConnections({ mode: 'rst' });
  }, settings.durationMs / 2);

  // A request that was on the cut socket (or queued for it) fails with a ConnectionError: expected.
  const isExpected = (error: Error): boolean =>
    error.name === 'ConnectionError' && dropAt !== undefined && (healedAt === undefined || performance.now() <= healedAt + CUT_GRACE_MS);

  let lastPrint = 0;
  const showProgress = options.progress ?? true;
  const interactive = showProgress && process.stdout.isTTY === true;
  const busyBefore = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const result = await runWorkload(client, {
    workers: settings.workers,
    durationMs: settings.durationMs,
    keysPerWorker: 32,
    valueBytes: 100,
    keyPrefix,
    isExpected,
    onProgress: (requests, failed) => {
      if (!showProgress) return;
      const now = performance.now();
      if (now - lastPrint < 250) return;
      lastPrint = now;
      const elapsed = (now - started) / 1000;
      const line = `  ${fmt(elapsed, 1)} s  ${fmt(requests)} requests  ${fmt(requests / elapsed)} ops/s  ${failed} failed  ${pool.connectedConnections.length}/${pool.connections.length} connected`;
      if (interactive) process.stdout.write(`\r${line}   `);
      else print(line);
    },
  });
  const busy = performance.eventLoopUtilization(busyBefore).utilization;
  const cpu = process.cpuUsage(cpuBefore);
  const onCpu = (cpu.user + cpu.system) / 1000 / Math.max(1, result.elapsedMs);
  clearTimeout(dropTimer);
  if (interactive) process.stdout.write('\n');

  const shares = pool.connections.map((c) => [c.id, c.totalRequests] as const);
  const total = shares.reduce((sum, [, n]) => sum + n, 0);
  const connectedAtEnd = pool.connectedConnections.length;
  const generationsAtEnd = generationsOf(pool.connections);
  await client.close();
  await proxy.close();
  await server?.close();

  const cutAtMs = dropAt === undefined ? undefined : dropAt - started;
  const healedAfterMs = dropAt === undefined || healedAt === undefined ? undefined : healedAt - dropAt;
  const unexpected = new Map<string, number>();
  for (const [name, n] of result.errors) {
    const rest = n - (result.expectedErrors.get(name) ?? 0);
    if (rest > 0) unexpected.set(name, rest);
  }

  print('');
  print('lifecycle events:');
  for (const line of lifecycle) print(line);
  print('');
  print('report');
  print(`  requests        ${fmt(result.requests)} in ${fmt(result.elapsedMs / 1000, 2)} s`);
  print(`  throughput      ${fmt(result.requests / (result.elapsedMs / 1000))} ops/s`);
  const [firstBound, ...otherBounds] = boundsLines(settings, inUse, server !== undefined, busy, onCpu);
  print(`  what bounds it  ${firstBound}`);
  for (const line of otherBounds) print(`                  ${line}`);
  print(`  not the bench   ${BENCH_LINES[0]}`);
  for (const line of BENCH_LINES.slice(1)) print(`                  ${line}`);
  print(`  latency         p50 ${fmt(result.latency.p50Ms, 3)} ms   p99 ${fmt(result.latency.p99Ms, 3)} ms   (perf_hooks histogram)`);
  print(`  succeeded       ${fmt(result.succeeded)}`);
  print(`  wrong replies   ${result.wrongReplies}`);
  const cutAt = cutAtMs === undefined ? '' : ` at ${fmt(cutAtMs / 1000, 1)} s`;
  print(
    `  errors          expected: ${result.expectedErrors.size === 0 ? 'none' : countList(result.expectedErrors)} from the deliberate cut${cutAt}` +
      (cutAtMs === undefined ? ' (the run ended before it)' : ''),
  );
  print(
    `                  unexpected: ${unexpected.size === 0 ? 'none' : `${countList(unexpected)} (reported; only wrong replies or a pool that does not heal fail the run)`}`,
  );
  print(`  reconnect       ${healedAfterMs === undefined ? 'did not complete' : `${fmt(healedAfterMs, 1)} ms`}; ${connectedAtEnd}/${shares.length} connected at the end`);
  print('  share per connection:');
  for (const [id, n] of shares) {
    const note = id === victim.id ? '  (#1, through the proxy: an extra hop, so it is chosen less)' : '';
    print(`    ${id.padEnd(24)} ${fmt(n).padStart(10)}  ${fmt((100 * n) / Math.max(1, total), 1).padStart(5)} %${note}`);
  }

  let exitCode = 0;
  if (result.wrongReplies > 0) {
    printError(`error: ${result.wrongReplies} replies did not match what was written`);
    exitCode = 1;
  } else if (healedAfterMs === undefined || connectedAtEnd !== shares.length) {
    printError('error: the pool did not heal after the dropped connection');
    exitCode = 1;
  }
  return { exitCode, runId, generations: generationsAtEnd, workload: result, cutAtMs, healedAfterMs };
}

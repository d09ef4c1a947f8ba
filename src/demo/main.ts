/**
 * `npm start`: the main job. Starts the embedded server (or uses
 * `ZCACHED_URL=host:port`), builds a pool of 4, runs a mixed workload with a
 * live progress line, cuts one connection's socket half-way (through a
 * fault-injection proxy) to show the pool healing, and prints a report.
 *
 * Options: `--dialect legacy|etx-request|etx`, `--duration <seconds>`,
 * `--pool <size>`, `--workers <in flight>`.
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { ZCached } from '../client/client.js';
import { Connection, type ConnectionOptions } from '../connection/connection.js';
import { ConnectionPool } from '../pool/pool.js';
import { startProxy } from '../testing/proxy.js';
import type { ConnectionStateChange } from '../connection/state.js';
import { ConnectError } from '../errors.js';
import type { DialectName } from '../protocol/dialect.js';
import { startServer, type ZCachedServer } from '../testing/server.js';
import { percentile, runWorkload } from './workload.js';

const DIALECTS: readonly DialectName[] = ['legacy', 'etx-request', 'etx'];

interface DemoSettings {
  readonly url: string | undefined;
  readonly dialect: DialectName;
  readonly durationMs: number;
  readonly poolSize: number;
  readonly workers: number;
  /** `--fleet n`: the demo over a fleet of n embedded servers instead of one pool. */
  readonly fleet: number | undefined;
  readonly failover: 'fail-fast' | 'rehash';
}

function parseSettings(argv: readonly string[]): DemoSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dialect: { type: 'string', default: 'etx' },
      duration: { type: 'string', default: '4' },
      pool: { type: 'string', default: '4' },
      workers: { type: 'string', default: '64' },
      fleet: { type: 'string' },
      failover: { type: 'string', default: 'fail-fast' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) {
    console.log('usage: npm start -- [--dialect legacy|etx-request|etx] [--duration seconds] [--pool size] [--workers n]');
    console.log('       npm start -- --fleet 3 [--failover fail-fast|rehash] [--duration seconds]   (a fleet of embedded servers)');
    console.log('       ZCACHED_URL=host:port npm start   (use a running server instead of the embedded one)');
    process.exit(0);
  }
  const dialect = values.dialect as DialectName;
  if (!DIALECTS.includes(dialect)) throw new Error(`--dialect must be one of ${DIALECTS.join(', ')}, got ${values.dialect}`);
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${text}`);
    return n;
  };
  if (values.failover !== 'fail-fast' && values.failover !== 'rehash') throw new Error(`--failover must be fail-fast or rehash, got ${values.failover}`);
  return {
    url: process.env['ZCACHED_URL'] || undefined,
    fleet: values.fleet === undefined ? undefined : Math.floor(number('fleet', values.fleet, 2)),
    failover: values.failover,
    dialect,
    durationMs: number('duration', values.duration, 0.5) * 1000,
    poolSize: Math.floor(number('pool', values.pool, 1)),
    workers: Math.floor(number('workers', values.workers, 1)),
  };
}

function parseUrl(url: string): { host: string; port: number } {
  const match = /^(?:zcached:\/\/)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(url.trim());
  if (match === null) throw new Error(`ZCACHED_URL must look like host:port, got ${JSON.stringify(url)}`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<number> {
  const settings = parseSettings(process.argv.slice(2));
  if (settings.fleet !== undefined) {
    const { runFleetDemo } = await import('../fleet/demo.js');
    return (await runFleetDemo({ servers: settings.fleet, durationMs: settings.durationMs, failover: settings.failover })).exitCode;
  }
  let server: ZCachedServer | undefined;
  let target: { host: string; port: number };
  if (settings.url === undefined) {
    server = await startServer({ dialect: settings.dialect });
    target = { host: server.host, port: server.port };
    console.log(`embedded zcached server (${settings.dialect} dialect) listening on ${target.host}:${target.port}`);
  } else {
    target = parseUrl(settings.url);
    console.log(`using the zcached server at ${target.host}:${target.port} (${settings.dialect} dialect)`);
  }

  // The first connection of the pool goes through a fault-injection proxy, so that half-way
  // through its socket can be cut for real (an RST) while the others are left alone.
  const proxy = await startProxy({ target });
  const options: ConnectionOptions = {
    ...target,
    dialect: settings.dialect,
    timeoutLimit: 2_000,
    connectTimeout: 2_000,
    connectionAttempts: 3,
    backoff: { initial: 50, max: 1_000 },
  };
  let created = 0;
  const client = ZCached.fromConnectionPool(
    new ConnectionPool(settings.poolSize, () =>
      new Connection(created++ === 0 ? { ...options, host: proxy.host, port: proxy.port } : options),
    ),
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
    let root: unknown = pool.connections.at(-1)?.lastError ?? error;
    await client.close();
    await proxy.close();
    await server?.close();
    if (error instanceof ConnectError) {
      while (root instanceof Error && root.cause instanceof Error) root = root.cause;
      const cause = root instanceof Error && root !== error ? ` (${root.message})` : '';
      console.error(`error: cannot reach the zcached server at ${target.host}:${target.port}${cause}`);
      return 2;
    }
    throw error;
  }
  console.log(`pool of ${pool.poolSize}: ${pool.connectedConnections.length} connected; ${settings.workers} requests in flight for ${settings.durationMs / 1000} s`);

  // Half-way, cut the first connection's socket and watch it reconnect by itself.
  const victim = pool.connections[0] as Connection;
  let healed: number | undefined;
  let dropAt = 0;
  victim.subscribe((change) => {
    if (dropAt > 0 && healed === undefined && change.to === 'connected') healed = performance.now() - dropAt;
  });
  const dropTimer = setTimeout(() => {
    dropAt = performance.now();
    lifecycle.push(`  +${fmt(dropAt - started)} ms  cutting ${victim.id} (TCP reset through the proxy)`);
    proxy.cutConnections({ mode: 'rst' });
  }, settings.durationMs / 2);

  let lastPrint = 0;
  const interactive = process.stdout.isTTY === true;
  const result = await runWorkload(client, {
    workers: settings.workers,
    durationMs: settings.durationMs,
    keysPerWorker: 32,
    valueBytes: 100,
    onProgress: (requests, failed) => {
      const now = performance.now();
      if (now - lastPrint < 250) return;
      lastPrint = now;
      const elapsed = (now - started) / 1000;
      const line = `  ${fmt(elapsed, 1)} s  ${fmt(requests)} requests  ${fmt(requests / elapsed)} ops/s  ${failed} failed  ${pool.connectedConnections.length}/${pool.connections.length} connected`;
      if (interactive) process.stdout.write(`\r${line}   `);
      else console.log(line);
    },
  });
  clearTimeout(dropTimer);
  if (interactive) process.stdout.write('\n');

  const shares = pool.connections.map((c) => [c.id, c.totalRequests] as const);
  const total = shares.reduce((sum, [, n]) => sum + n, 0);
  const connectedAtEnd = pool.connectedConnections.length;
  await client.close();
  await proxy.close();
  await server?.close();

  console.log('\nlifecycle events:');
  for (const line of lifecycle) console.log(line);
  console.log('\nreport');
  console.log(`  requests        ${fmt(result.requests)} in ${fmt(result.elapsedMs / 1000, 2)} s`);
  console.log(`  throughput      ${fmt(result.requests / (result.elapsedMs / 1000))} ops/s`);
  console.log(`  latency         p50 ${fmt(percentile(result.latencies, 50), 3)} ms   p99 ${fmt(percentile(result.latencies, 99), 3)} ms`);
  console.log(`  succeeded       ${fmt(result.succeeded)}`);
  console.log(`  wrong replies   ${result.wrongReplies}`);
  console.log(`  errors by type  ${result.errors.size === 0 ? 'none' : [...result.errors].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  console.log(`  reconnect       ${healed === undefined ? 'did not complete' : `${fmt(healed, 1)} ms`}; ${connectedAtEnd}/${shares.length} connected at the end`);
  console.log('  share per connection:');
  for (const [id, n] of shares) {
    const note = id === victim.id ? '  (through the proxy: an extra hop, so it is chosen less)' : '';
    console.log(`    ${id.padEnd(24)} ${fmt(n).padStart(10)}  ${fmt((100 * n) / Math.max(1, total), 1).padStart(5)} %${note}`);
  }

  if (result.wrongReplies > 0) {
    console.error(`error: ${result.wrongReplies} replies did not match what was written`);
    return 1;
  }
  if (healed === undefined || connectedAtEnd !== shares.length) {
    console.error('error: the pool did not heal after the dropped connection');
    return 1;
  }
  return 0;
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

/**
 * Reliability: reconnect storms.
 *
 * 32 connections lose the server at the same moment and it stays away:
 * - jitter spreads their reconnect attempts: the retries land over the whole
 *   jitter window instead of in one burst (compared with a pool without
 *   jitter, which retries in lock-step);
 * - each run of attempts stops at `connectionAttempts`; the connection then
 *   rests (the back-off maximum, jittered) before a fresh run, so the pool
 *   keeps healing itself at a bounded rate.
 *
 * A server (or a proxy in front of a dead server) that accepts connections
 * and drops them at once must meet the same growing back-off, not a
 * reconnect every `backoff.initial` ms.
 */
import { describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { startProxy } from '../../src/testing/proxy.js';
import { startServer } from '../../src/testing/server.js';
import { deferredCleanup, sleep, until as poll } from '../support.js';

const cleanup = deferredCleanup();


/** Polls every 2 ms: these tests time state changes closely. */
const until = (condition: () => boolean, timeoutMs = 5_000): Promise<void> => poll(condition, timeoutMs, 2);

const CONNECTIONS = 32;
const ATTEMPTS = 4;
const BACKOFF = { initial: 100, multiplier: 2, max: 400 } as const;
/** Connected this long, a connection is stable: its drop starts a fresh run of attempts. */
const STABLE_AFTER = 50;

function standardDeviation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length);
}

/** The most values that fall into one `width`-ms bucket. */
function peakPerBucket(values: readonly number[], width: number): number {
  const buckets = new Map<number, number>();
  for (const v of values) buckets.set(Math.floor(v / width), (buckets.get(Math.floor(v / width)) ?? 0) + 1);
  return Math.max(...buckets.values());
}

/** The reconnect attempts of one connection after the server went away, grouped in runs. */
interface AttemptLog {
  /** Start of every attempt, in ms after the server went away. */
  readonly attempts: number[];
  /** Completed runs: the attempts each made before the connection gave up and rested. */
  readonly runs: number[][];
  /** When the connection noticed the server was gone (its first 'broken'), in ms after it went away. */
  brokenAt: number | undefined;
}

/** The wait each connection chose before its first retry: what jitter spreads, free of drop-notice skew. */
function firstWaits(logs: readonly AttemptLog[]): number[] {
  return logs.map((log) => (log.attempts[0] as number) - (log.brokenAt as number));
}

/**
 * Connects 32 connections, lets them become stable, takes the server away
 * for good, and records every reconnect attempt, grouped in runs (a run ends
 * when the connection is broken and no longer connecting: out of attempts).
 */
async function storm(jitter: number): Promise<{ logs: AttemptLog[]; pool: ConnectionPool<Connection> }> {
  const server = await startServer();
  cleanup.push(() => server.close());
  const pool = new ConnectionPool(
    CONNECTIONS,
    () =>
      new Connection({
        host: server.host,
        port: server.port,
        connectionAttempts: ATTEMPTS,
        connectTimeout: 500,
        stableAfter: STABLE_AFTER,
        backoff: { ...BACKOFF, jitter },
      }),
  );
  cleanup.push(() => pool.close());
  await pool.setup();
  expect(pool.connectedConnections).toHaveLength(CONNECTIONS);
  await sleep(2 * STABLE_AFTER);

  let wentAway = 0;
  const logs: AttemptLog[] = [];
  for (const connection of pool.connections) {
    const log: AttemptLog = { attempts: [], runs: [], brokenAt: undefined };
    let run: number[] = [];
    logs.push(log);
    connection.subscribe((change) => {
      const at = performance.now() - wentAway;
      if (change.to === 'broken') log.brokenAt ??= at;
      if (change.to === 'connecting') {
        log.attempts.push(at);
        run.push(at);
      } else if (change.to === 'broken' && !connection.isConnecting() && run.length > 0) {
        log.runs.push(run);
        run = [];
      }
    });
  }
  wentAway = performance.now();
  await server.close();
  return { logs, pool };
}

describe('reconnect storm: 32 connections lose the server together', () => {
  it('jitter spreads their attempts; each run stops at connectionAttempts, then rests', async () => {
    const jitter = 0.5;
    const { logs, pool } = await storm(jitter);

    // Every connection completes a first run and a second one: the server never comes back.
    await until(() => logs.every((log) => log.runs.length >= 2));
    expect(pool.connectedConnections).toHaveLength(0);
    for (const log of logs) {
      // The bound: exactly connectionAttempts attempts per run (none connected).
      for (const run of log.runs) expect(run).toHaveLength(ATTEMPTS);
      // Between runs the connection rests at least the jittered back-off maximum.
      const [first, second] = log.runs as [number[], number[]];
      expect((second[0] as number) - (first.at(-1) as number)).toBeGreaterThanOrEqual(BACKOFF.max * (1 - jitter) - 1);
    }

    // The spread: with jitter 0.5 the first retry falls anywhere in [50, 100] ms (std dev ~14 ms);
    // in lock-step it would be one burst of 32.
    const firstRetries = logs.map((log) => log.attempts[0] as number);
    expect(Math.min(...firstRetries)).toBeGreaterThanOrEqual(BACKOFF.initial * (1 - jitter) - 1);
    expect(standardDeviation(firstRetries)).toBeGreaterThan(8);
    const waits = firstWaits(logs);
    expect(standardDeviation(waits)).toBeGreaterThan(8);
    expect(peakPerBucket(waits, 10)).toBeLessThanOrEqual(16);
    expect(new Set(waits.map((t) => Math.floor(t / 10))).size).toBeGreaterThanOrEqual(4);
    // Every later attempt stays spread too (the windows grow: [50, 100], [100, 200], [200, 400] ...).
    for (let k = 1; k < 2 * ATTEMPTS; k++) {
      expect(standardDeviation(logs.map((log) => log.attempts[k] as number))).toBeGreaterThan(8);
    }
  });

  it('without jitter the same pool retries in lock-step (what jitter prevents)', async () => {
    const { logs } = await storm(0);
    await until(() => logs.every((log) => log.runs.length >= 1));
    for (const log of logs) expect(log.runs[0]).toHaveLength(ATTEMPTS);
    // Every connection waits exactly the same time after noticing the drop.
    const waits = firstWaits(logs);
    expect(peakPerBucket(waits, 10)).toBeGreaterThan(16);
    expect(standardDeviation(waits)).toBeLessThan(8);
  });
});

describe('a server that accepts connections and drops them at once', () => {
  it('meets a growing back-off and the attempt bound, not a reconnect every backoff.initial ms', async () => {
    const server = await startServer();
    cleanup.push(() => server.close());
    // A proxy (a load balancer, a sidecar) in front of the server: once the server is gone,
    // every connection to the proxy is accepted, then reset.
    const proxy = await startProxy({ target: { host: server.host, port: server.port } });
    cleanup.push(() => proxy.close());
    const connection = new Connection({
      host: proxy.host,
      port: proxy.port,
      connectionAttempts: 10,
      backoff: { initial: 20, multiplier: 2, max: 400, jitter: 0 },
    });
    cleanup.push(() => connection.close());
    await connection.connect();
    let attempts = 0;
    connection.subscribe((change) => {
      if (change.to === 'connecting') attempts++;
    });

    await server.close();
    await sleep(1_000);
    // With the back-off honoured, 1 s holds about 5 attempts (20, 40, 80, 160, 320 ms apart);
    // restarting the run on every drop would make it ~45.
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(8);
  });
});

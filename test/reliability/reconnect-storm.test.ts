/**
 * Reliability: a reconnect storm. 32 connections lose the server at the same
 * moment and it stays away.
 *
 * - Jitter spreads their reconnect attempts: the first retries land over the
 *   whole jitter window instead of in one burst (compared with a pool
 *   without jitter, which retries in lock-step).
 * - Each connection stops after `connectionAttempts` attempts, and makes no
 *   more afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/connection/connection.js';
import { ConnectionPool } from '../../src/pool/pool.js';
import { startServer } from '../../src/testing/server.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

const CONNECTIONS = 32;
const ATTEMPTS = 4;
const BACKOFF = { initial: 100, multiplier: 2, max: 400 } as const;

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

/**
 * Connects 32 connections, takes the server away for good, and records, per
 * connection, when (ms after the server went away) each reconnect attempt started.
 */
async function storm(jitter: number): Promise<{ attempts: number[][]; pool: ConnectionPool<Connection> }> {
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
        backoff: { ...BACKOFF, jitter },
      }),
  );
  cleanup.push(() => pool.close());
  await pool.setup();
  expect(pool.connectedConnections).toHaveLength(CONNECTIONS);

  let wentAway = 0;
  const attempts = new Map<string, number[]>(pool.connections.map((c) => [c.id, []]));
  for (const connection of pool.connections) {
    connection.subscribe((change) => {
      if (change.to === 'connecting') attempts.get(change.id)?.push(performance.now() - wentAway);
    });
  }
  wentAway = performance.now();
  await server.close();
  // Every run ends out of attempts: broken, and no longer trying.
  await until(() => pool.connections.every((c) => c.state === 'broken' && !c.isConnecting()));
  return { attempts: [...attempts.values()], pool };
}

describe('reconnect storm: 32 connections lose the server together', () => {
  it('jitter spreads their attempts, and each stops at connectionAttempts', async () => {
    const { attempts, pool } = await storm(0.5);

    // The bound: exactly connectionAttempts attempts each (the server never came back).
    for (const times of attempts) expect(times).toHaveLength(ATTEMPTS);
    // ... and no more afterwards.
    await sleep(BACKOFF.max + 100);
    for (const times of attempts) expect(times).toHaveLength(ATTEMPTS);
    expect(pool.connectedConnections).toHaveLength(0);

    // The spread: with jitter 0.5 the first retry falls anywhere in [50, 100] ms (std dev ~14 ms);
    // in lock-step it would be one burst of 32.
    const firstRetries = attempts.map((times) => times[0] as number);
    expect(Math.min(...firstRetries)).toBeGreaterThanOrEqual(BACKOFF.initial * 0.5 - 1);
    expect(standardDeviation(firstRetries)).toBeGreaterThan(8);
    expect(peakPerBucket(firstRetries, 10)).toBeLessThanOrEqual(16);
    expect(new Set(firstRetries.map((t) => Math.floor(t / 10))).size).toBeGreaterThanOrEqual(4);
    // Every later attempt stays spread too (the windows grow: [100, 200], [200, 400] ...).
    for (let k = 1; k < ATTEMPTS; k++) {
      expect(standardDeviation(attempts.map((times) => times[k] as number))).toBeGreaterThan(8);
    }
  });

  it('without jitter the same pool retries in lock-step (what jitter prevents)', async () => {
    const { attempts } = await storm(0);
    for (const times of attempts) expect(times).toHaveLength(ATTEMPTS);
    const firstRetries = attempts.map((times) => times[0] as number);
    expect(peakPerBucket(firstRetries, 10)).toBeGreaterThan(16);
    expect(standardDeviation(firstRetries)).toBeLessThan(8);
  });
});
